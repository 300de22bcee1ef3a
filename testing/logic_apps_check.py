"""A static checker for Logic Apps workflow definitions (Workflow Definition Language, 2016-06-01).

Test support: the tests run it on every workflow definition this project generates, so a definition
that Azure would reject, or that would fail at run time, or that carries a credential, is caught
offline. The product does not import it (the guardrail `workflow-no-credentials` has its own checks). `check_workflow` is pure: it returns a list of problems, each `path: message`.

Rules:
- `$schema` is exactly the 2016-06-01 workflow definition schema.
- Every `body('X')`, `outputs('X')`, `actions('X')`, `result('X')` in an expression names an action
  that exists and has finished before the referring expression runs: a transitive `runAfter`
  predecessor of the referring action (or of an enclosing scope action), or an action nested inside
  such a predecessor. Trigger expressions cannot reference actions; the definition's `outputs`
  can reference any action (they are evaluated when the run ends).
- Action names are unique in the whole workflow; `runAfter` names existing sibling actions with valid
  statuses and the runAfter graph of each scope is a DAG.
- Every `parameters('p')` is declared in the definition's `parameters`; supplied parameter values
  (the `parameters` argument) are declared, and declared parameters without a default are supplied.
- No credential in the definition: literal `Authorization` header values, literal secret/password
  fields (`client_secret`, `clientSecret`, `password`, `secret`, `pfx`), `client_secret=` in a form
  body, `sig=` in URLs, bearer tokens and JWTs, secure parameters with a default value. A reference
  to a `securestring`/`secureobject` parameter is fine (Logic Apps hides those from run history).
- Limits of the definition language: at most 250 actions, 10 triggers, 10 outputs, 50 parameters.
- Trigger concurrency (`runtimeConfiguration.concurrency`): `runs` a whole number from 1 to 50 and
  `maximumWaitingRuns` from 10 + `runs` to 100, the narrowest bounds Microsoft has published
  (logic-apps-limits-and-config.md, "Concurrency, looping, and debatching limits": "a value between 1
  and 50 inclusively"; waiting runs "the minimum ... is 10 plus the number of concurrent runs ... up to
  100"; later revisions allow runs up to 100, so 1-50 is valid under both), and not together with
  `operationOptions: SingleInstance` ("set either property, but not both", logic-apps-workflow-actions-
  triggers.md, "Trigger instances sequentially").

Source for the schema URI, the parameter types and the limits: MicrosoftDocs/azure-docs
articles/logic-apps/logic-apps-workflow-definition-language.md (Workflow Definition Language schema
reference); for runAfter statuses: articles/logic-apps/logic-apps-workflow-actions-triggers.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from components.facts.logic_apps import SCHEMA_URI

RUN_AFTER_STATUSES = frozenset({"Succeeded", "Failed", "Skipped", "TimedOut"})
SECURE_TYPES = frozenset({"securestring", "secureobject"})
PARAMETER_TYPES = frozenset({"int", "float", "string", "securestring", "bool", "array", "object", "secureobject"})
LIMITS: Mapping[str, int] = MappingProxyType({"actions": 250, "triggers": 10, "outputs": 10, "parameters": 50})
TRIGGER_RUNS = (1, 50)  # runtimeConfiguration.concurrency.runs, inclusive (module docstring)
WAITING_RUNS_MIN_OVER_RUNS, WAITING_RUNS_MAX = 10, 100  # maximumWaitingRuns >= runs + 10, <= 100

# Functions whose first argument names an action whose results must already exist.
_ACTION_REF = re.compile(r"\b(body|outputs|actions|result)\s*\(\s*'((?:[^']|'')*)'", re.IGNORECASE)
_PARAM_REF = re.compile(r"\bparameters\s*\(\s*'((?:[^']|'')*)'", re.IGNORECASE)
_SECRET_KEYS = frozenset({"client_secret", "clientsecret", "password", "secret", "pfx", "sharedaccesskey",
                          "accountkey", "apikey", "api_key"})
_SIG = re.compile(r"[?&]sig=([^&\s'\"]+)", re.IGNORECASE)
_FORM_SECRET = re.compile(r"(?:^|[&?\s])(client_secret|password)=([^&\s]*)", re.IGNORECASE)
_BEARER = re.compile(r"\bBearer\s+[A-Za-z0-9\-_.~+/]{16,}=*")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class _Action:
    name: str
    path: str  # e.g. actions.Scope.actions.Inner
    body: Mapping[str, Any]
    scope: tuple[str, ...]  # names of the enclosing scope actions, outermost first
    siblings: frozenset[str]


def expressions(text: str) -> list[str]:
    """The expressions in a WDL string value: `@expr` as a whole, or each `@{expr}` interpolation."""
    if text.startswith("@@"):
        return []  # an escaped literal '@'
    if text.startswith("@") and not text.startswith("@{"):
        return [text[1:]]
    out: list[str] = []
    i = 0
    while True:
        start = text.find("@{", i)
        if start < 0:
            return out
        depth, j, quoted = 0, start + 1, False
        while j < len(text):
            ch = text[j]
            if ch == "'":
                quoted = not quoted
            elif not quoted and ch == "{":
                depth += 1
            elif not quoted and ch == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        out.append(text[start + 2:j])
        i = j + 1


def _strings(value: Any, path: str, skip: frozenset[str] = frozenset(),
             key: str | None = None) -> Iterator[tuple[str, str | None, str]]:
    """(path, key, string) for every string in value (keys in `skip` at the top level are not entered)."""
    if isinstance(value, str):
        yield path, key, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if k in skip:
                continue
            yield from _strings(v, f"{path}.{k}", key=str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]", key=key)


def _child_scopes(action: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The nested action maps of a scope-like action (Scope, If, Foreach, Until, Switch)."""
    out: list[tuple[str, Any]] = []
    if isinstance(action.get("actions"), Mapping):
        out.append(("actions", action["actions"]))
    els = action.get("else")
    if isinstance(els, Mapping) and isinstance(els.get("actions"), Mapping):
        out.append(("else.actions", els["actions"]))
    cases = action.get("cases")
    if isinstance(cases, Mapping):
        for case_name, case in cases.items():
            if isinstance(case, Mapping) and isinstance(case.get("actions"), Mapping):
                out.append((f"cases.{case_name}.actions", case["actions"]))
    default = action.get("default")
    if isinstance(default, Mapping) and isinstance(default.get("actions"), Mapping):
        out.append(("default.actions", default["actions"]))
    return out


_NESTED_KEYS = frozenset({"actions", "else", "cases", "default"})


def _collect(actions: Mapping[str, Any], path: str, scope: tuple[str, ...], out: list[_Action]) -> None:
    siblings = frozenset(actions)
    for name, body in actions.items():
        if not isinstance(body, Mapping):
            continue
        out.append(_Action(name, f"{path}.{name}", body, scope, siblings))
        for sub_path, sub in _child_scopes(body):
            _collect(sub, f"{path}.{name}.{sub_path}", (*scope, name), out)


def _run_after(body: Mapping[str, Any]) -> Mapping[str, Any]:
    ra = body.get("runAfter")
    return ra if isinstance(ra, Mapping) else {}


def _ancestors(name: str, by_name: Mapping[str, _Action]) -> set[str]:
    """Sibling actions that finish before `name` (transitively through runAfter; cycle-safe)."""
    seen: set[str] = set()
    stack = [name]
    while stack:
        current = by_name.get(stack.pop())
        if current is None:
            continue
        for pred in _run_after(current.body):
            if pred not in seen and pred in current.siblings:
                seen.add(pred)
                stack.append(pred)
    seen.discard(name)
    return seen


def _descendants(name: str, actions: list[_Action]) -> set[str]:
    return {a.name for a in actions if name in a.scope}


def _finished_before(action: _Action, by_name: Mapping[str, _Action], actions: list[_Action]) -> set[str]:
    done: set[str] = set()
    for holder in (action.name, *action.scope):
        for pred in _ancestors(holder, by_name):
            done.add(pred)
            done |= _descendants(pred, actions)
    return done


def _find_cycle(siblings: Mapping[str, Any]) -> list[str] | None:
    graph = {n: [p for p in _run_after(b) if p in siblings] for n, b in siblings.items() if isinstance(b, Mapping)}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*trail[trail.index(nxt):], nxt] if nxt in trail else [node, nxt]
            if nxt not in state:
                found = visit(nxt, [*trail, nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def _credential_problems(path: str, key: str | None, text: str, params: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    exprs = expressions(text)
    # A whole-string expression ("@concat(...)") has no literal part; an interpolated string does.
    whole_expression = text.startswith("@") and not text.startswith(("@@", "@{"))
    lowered = (key or "").lower()
    if lowered == "authorization" or lowered in _SECRET_KEYS:
        if not exprs and text.strip():
            problems.append(f"{path}: a literal credential ({key}); take it from a securestring parameter "
                            "or use managed identity authentication")
        for expr in exprs:
            for m in _PARAM_REF.finditer(expr):
                ptype = str((params.get(m[1]) or {}).get("type", "")).lower()
                if ptype and ptype not in SECURE_TYPES:
                    problems.append(f"{path}: credential from parameter '{m[1]}' of type {ptype}; "
                                    "declare it securestring or secureobject")
    literal = "" if whole_expression else text
    for m in _SIG.finditer(text):
        if not m[1].startswith(("@", "{")) and "@{" not in m[1]:
            problems.append(f"{path}: a SAS signature (sig=) in a URL; it is a credential")
            break
    for m in _FORM_SECRET.finditer(literal):
        if m[2] and not m[2].startswith("@{"):
            problems.append(f"{path}: a literal {m[1]}= value in the text; it is a credential")
    if _BEARER.search(text) or _JWT.search(text):
        problems.append(f"{path}: a bearer token in the definition; it is a credential")
    return problems


def check_workflow(definition: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> list[str]:
    """Problems of a workflow definition (empty when it passes); `parameters` are the supplied values."""
    problems: list[str] = []
    if not isinstance(definition, Mapping):
        return ["definition: must be a JSON object"]
    if definition.get("$schema") != SCHEMA_URI:
        problems.append(f"$schema: must be {SCHEMA_URI} (found {definition.get('$schema')!r})")

    declared = definition.get("parameters") or {}
    if not isinstance(declared, Mapping):
        problems.append("parameters: must be an object")
        declared = {}
    for pname, spec in declared.items():
        ptype = str((spec or {}).get("type", "")).lower() if isinstance(spec, Mapping) else ""
        if ptype not in PARAMETER_TYPES:
            problems.append(f"parameters.{pname}.type: must be one of {', '.join(sorted(PARAMETER_TYPES))}")
        if ptype in SECURE_TYPES and isinstance(spec, Mapping) and spec.get("defaultValue") not in (None, "", {}):
            problems.append(f"parameters.{pname}.defaultValue: a secure parameter must not carry a default "
                            "value in the definition (it is a credential)")
    supplied = parameters or {}
    for pname in supplied:
        if pname not in declared:
            problems.append(f"parameters (supplied).{pname}: not declared in the definition's parameters")
    for pname, spec in declared.items():
        if isinstance(spec, Mapping) and "defaultValue" not in spec and pname not in supplied:
            problems.append(f"parameters.{pname}: no defaultValue and no value supplied")

    triggers = definition.get("triggers") or {}
    top_actions = definition.get("actions") or {}
    outputs = definition.get("outputs") or {}
    for section, value in (("triggers", triggers), ("actions", top_actions), ("outputs", outputs)):
        if not isinstance(value, Mapping):
            problems.append(f"{section}: must be an object")
    if not isinstance(triggers, Mapping):
        triggers = {}
    if not isinstance(top_actions, Mapping):
        top_actions = {}
    if not isinstance(outputs, Mapping):
        outputs = {}

    actions: list[_Action] = []
    _collect(top_actions, "actions", (), actions)
    counts = {"actions": len(actions), "triggers": len(triggers), "outputs": len(outputs), "parameters": len(declared)}
    for section, limit in LIMITS.items():
        if counts[section] > limit:
            problems.append(f"{section}: {counts[section]} exceed the limit of {limit}")

    for tname, trigger in triggers.items():
        problems += _trigger_concurrency_problems(f"triggers.{tname}", trigger)

    by_name: dict[str, _Action] = {}
    for action in actions:
        if action.name in by_name:
            problems.append(f"{action.path}: action name '{action.name}' is used twice (names are workflow-wide)")
        by_name.setdefault(action.name, action)

    # runAfter: existing siblings, valid statuses, no cycles (per scope).
    scopes: list[tuple[str, Mapping[str, Any]]] = [("actions", top_actions)]
    for action in actions:
        scopes.extend((f"{action.path}.{p}", sub) for p, sub in _child_scopes(action.body))
        ra = action.body.get("runAfter")
        if ra is not None and not isinstance(ra, Mapping):
            problems.append(f"{action.path}.runAfter: must be an object of action name -> statuses")
            continue
        for pred, statuses in _run_after(action.body).items():
            if pred not in action.siblings:
                where = "does not exist" if pred not in by_name else "is not in the same scope"
                problems.append(f"{action.path}.runAfter: '{pred}' {where}")
            if not isinstance(statuses, list) or not statuses or not set(statuses) <= RUN_AFTER_STATUSES:
                problems.append(f"{action.path}.runAfter.{pred}: statuses must be a non-empty list of "
                                f"{', '.join(sorted(RUN_AFTER_STATUSES))}")
    for path, siblings in scopes:
        cycle = _find_cycle(siblings)
        if cycle:
            problems.append(f"{path}: runAfter cycle {' -> '.join(cycle)}")

    def check_refs(path: str, text: str, allowed: set[str] | None, who: str) -> None:
        for expr in expressions(text):
            for m in _ACTION_REF.finditer(expr):
                ref = m[2].replace("''", "'")
                if ref not in by_name:
                    problems.append(f"{path}: {m[1]}('{ref}') names no action")
                elif allowed is not None and ref not in allowed:
                    problems.append(f"{path}: {m[1]}('{ref}') is not guaranteed to have run before {who}")
            for m in _PARAM_REF.finditer(expr):
                pname = m[1].replace("''", "'")
                if pname not in declared:
                    problems.append(f"{path}: parameters('{pname}') is not declared in the definition")

    for path, key, text in _strings(triggers, "triggers"):
        check_refs(path, text, set(), "the trigger")
        problems.extend(_credential_problems(path, key, text, declared))
    for action in actions:
        done = _finished_before(action, by_name, actions)
        for path, key, text in _strings(action.body, action.path, skip=_NESTED_KEYS):
            check_refs(path, text, done, f"'{action.name}'")
            problems.extend(_credential_problems(path, key, text, declared))
    for path, key, text in _strings(outputs, "outputs"):
        check_refs(path, text, None, "the outputs")
        problems.extend(_credential_problems(path, key, text, declared))
    for pname, value in supplied.items():
        ptype = str((declared.get(pname) or {}).get("type", "")).lower() if isinstance(declared.get(pname), Mapping) else ""
        if ptype in SECURE_TYPES:
            continue  # secure values are supplied at deployment and never shown in run history
        for path, key, text in _strings(value, f"parameters (supplied).{pname}"):
            problems.extend(_credential_problems(path, key, text, declared))
    return problems


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _trigger_concurrency_problems(path: str, trigger: Any) -> list[str]:
    """A trigger's concurrency settings against the published bounds (module docstring)."""
    if not isinstance(trigger, Mapping):
        return [f"{path}: must be an object"]
    runtime = trigger.get("runtimeConfiguration") or {}
    concurrency = runtime.get("concurrency") if isinstance(runtime, Mapping) else None
    if concurrency is None:
        return []
    where = f"{path}.runtimeConfiguration.concurrency"
    if not isinstance(concurrency, Mapping):
        return [f"{where}: must be an object"]
    problems = []
    runs, waiting = concurrency.get("runs"), concurrency.get("maximumWaitingRuns")
    low, high = TRIGGER_RUNS
    if runs is not None and not (_whole(runs) and low <= runs <= high):
        problems.append(f"{where}.runs: must be a whole number from {low} to {high} (found {runs!r})")
    if waiting is not None:
        floor = (runs if _whole(runs) else low) + WAITING_RUNS_MIN_OVER_RUNS
        if not (_whole(waiting) and floor <= waiting <= WAITING_RUNS_MAX):
            problems.append(f"{where}.maximumWaitingRuns: must be a whole number from {floor} (runs + "
                            f"{WAITING_RUNS_MIN_OVER_RUNS}) to {WAITING_RUNS_MAX} (found {waiting!r})")
    if runs is not None and trigger.get("operationOptions") == "SingleInstance":
        problems.append(f"{path}: operationOptions SingleInstance and runtimeConfiguration.concurrency.runs "
                        "cannot both be set")
    return problems
