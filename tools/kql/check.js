// Parses KQL texts with Microsoft's own Kusto parser (Kusto.Language, npm @kusto/language-service-next) and
// reports every diagnostic. Input on stdin (JSON): {"queries": [{"name", "text", "tables": {TABLE: [[COLUMN,
// TYPE], ...]}}]}; output on stdout (JSON): [{"name", "diagnostics": [{"code", "severity", "message",
// "start", "length"}], "columns": [[COLUMN, TYPE], ...], "functions": [NAME, ...], "operators": [KIND, ...]}]:
// the result's columns (when tabular), and the functions called and query operators used (syntax node kinds,
// e.g. ExtendOperator), so a caller can hold a text to a documented subset (DCR transforms, Resource Graph).
"use strict";
// Bridge.NET runtime first (it defines the global Bridge), then the Kusto.Language assembly.
require("@kusto/language-service-next/bridge.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.js");

const Kusto = global.Kusto;
const Symbols = Kusto.Language.Symbols;

function readStdin() {
  return require("fs").readFileSync(0, "utf8");
}

function globalsFor(tables) {
  const symbols = Object.entries(tables || {}).map(([name, columns]) =>
    new Symbols.TableSymbol.$ctor7(name, "(" + columns.map(([c, t]) => `['${c}']:${t}`).join(", ") + ")", null));
  const db = new Symbols.DatabaseSymbol.$ctor2("db", null, symbols);
  return Kusto.Language.GlobalState.Default.WithDatabase(db);
}

function toArray(list) {
  const out = [];
  const n = list.Count;
  for (let i = 0; i < n; i++) out.push(list.getItem(i));
  return out;
}

function check(query) {
  const code = Kusto.Language.KustoCode.ParseAndAnalyze(query.text, globalsFor(query.tables));
  const diagnostics = toArray(code.GetDiagnostics()).map((d) => ({
    code: d.Code, severity: d.Severity, message: d.Message, start: d.Start, length: d.Length,
  }));
  let columns = null;
  const result = code.ResultType;
  if (result && result instanceof Symbols.TableSymbol) {
    columns = toArray(result.Columns).map((c) => [c.Name, c.Type.Name]);
  }
  const Syntax = Kusto.Language.Syntax;
  const functions = toArray(code.Syntax.GetDescendants(Syntax.FunctionCallExpression))
    .map((f) => f.Name.SimpleName);
  // The operator's syntax class (Bridge.NET keeps the .NET type name): ExtendOperator, UnionOperator, ...
  const operators = toArray(code.Syntax.GetDescendants(Syntax.QueryOperator))
    .map((o) => String(o.constructor.$$name).split(".").pop());
  return { name: query.name, diagnostics, columns, functions: [...new Set(functions)].sort(),
           operators: [...new Set(operators)].sort() };
}

const input = JSON.parse(readStdin());
process.stdout.write(JSON.stringify(input.queries.map(check)));
