"""`python -m mssp usage STACK... | --fleet --from DATE --to DATE [--format markdown|csv|json]`: chargeback.

Billable ingestion per customer, in GB per table and day, over whole UTC days from --from to --to (both
included), through azure-monitor-query (mssp.azure.loganalytics):
- central customers: in the MSSP workspace, attributed by each customer's subscriptions (`_SubscriptionId`); all
  central customers of one workspace share one query;
- customer-mode customers: their own workspace, all of it (docs/topologies.md).

The query is Microsoft's (MicrosoftDocs azure-monitor-docs articles/azure-monitor/logs/analyze-usage.md, "Data
volume by Azure subscription" and "by computer": `find ... project _BilledSize, _IsBillable, ... | where
_IsBillable == true and Type != "Usage" | summarize BillableDataBytes = sum(_BilledSize) by ...`); `_BilledSize`,
`_IsBillable` and `_SubscriptionId` are standard columns (azure-monitor-docs logs/log-standard-columns.md). GB are
10^9 bytes, as Azure Monitor bills them.

A workspace whose query failed, was throttled past its retries or came back partial is never reported as complete:
its customers carry status `partial` or `failed`, their totals are marked incomplete, and the exit code is 1.
Exit codes: 0 every customer's usage is complete; 1 some query failed or was partial; 2 invalid arguments or
configuration.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from mssp import PROJECT_DIR
from mssp.errors import UserError
from mssp.output import write_output

EXIT_OK, EXIT_INCOMPLETE = 0, 1
ENDPOINT_ENV = "MSSP_LOGANALYTICS_ENDPOINT"  # as `mssp health`: another query endpoint (a local test server)
MAX_DAYS = 731  # Log Analytics analytics retention is at most two years
GB = 10**9
COLUMNS = ("Type", "Day", "BillableDataBytes", "_SubscriptionId")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "usage",
        help="billable ingestion per customer in GB per table and day (exit 0 complete, 1 incomplete, 2 bad input)",
        description=("Billable ingestion per customer, in GB per table and day, from Log Analytics: central customers "
                     "by their subscriptions in the MSSP workspace, customer-mode customers in their own workspace. "
                     "Exit codes: 0 complete; 1 a query failed, was throttled or partial (never read as complete); "
                     "2 invalid arguments or configuration."),
    )
    p.add_argument("stack", nargs="*", metavar="STACK", help="customer stacks (or --fleet for every customer stack)")
    p.add_argument("--fleet", action="store_true", help="every customer stack in stacks/")
    p.add_argument("--from", dest="start", required=True, metavar="DATE", help="first UTC day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", required=True, metavar="DATE", help="last UTC day, YYYY-MM-DD (included)")
    p.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown")
    p.add_argument("--out", type=Path, metavar="FILE", help="write the report here instead of standard output")
    p.add_argument("--endpoint", default=None,
                   help=f"Log Analytics query endpoint (default ${ENDPOINT_ENV} or https://api.loganalytics.io)")
    p.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def parse_day(flag: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        from components.facts.strict_yaml import shown

        raise UserError(f"{flag}: '{shown(text)}' is not a date; allowed: YYYY-MM-DD (a UTC day)") from None


def window(start: date, end: date) -> tuple[datetime, datetime]:
    """[first day 00:00Z, the day after the last 00:00Z), refused when empty or longer than MAX_DAYS."""
    if end < start:
        raise UserError(f"--to {end} is before --from {start}; allowed: --to on or after --from")
    if (end - start).days + 1 > MAX_DAYS:
        raise UserError(f"--from {start} --to {end} spans {(end - start).days + 1} days; allowed: at most {MAX_DAYS} "
                        "(Log Analytics keeps analytics data at most two years)")
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return begin, begin + timedelta(days=(end - start).days + 1)


@dataclass(frozen=True)
class Customer:
    stack: str
    name: str
    display_name: str
    topology: str  # central | customer
    workspace: str
    subscriptions: tuple[str, ...]


def customers(stacks: Sequence[str], project_dir: Path) -> list[Customer]:
    from components.config import ConfigError, load_stack
    from mssp.plan.command import config_errors_text

    out = []
    for stack in stacks:
        try:
            loaded = load_stack(stack, project_dir)
        except ConfigError as exc:
            raise UserError(f"stack {stack}: " + config_errors_text(exc.issues, exc.file), exit_code=2) from None
        c = loaded.customer
        if c is None:
            raise UserError(f"stack {stack} is the platform stack; usage is reported per customer stack", exit_code=2)
        own = c.workspace.resource_id
        out.append(Customer(stack, c.name, c.display_name, c.workspace.mode, own or loaded.platform.workspace_id,
                            tuple(sorted(s.lower() for s in c.subscription_ids))))
    return out


def build_query(start: datetime, end: datetime, subscriptions: Sequence[str] | None) -> str:
    """Billable bytes by table, UTC day and subscription (Microsoft's analyze-usage query, per day and table).
    `subscriptions`: only these (the central workspace); None: the whole workspace (a customer's own)."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    subs = "" if subscriptions is None else (
        f"| where _SubscriptionId in~ (dynamic({json.dumps(sorted(subscriptions))}))\n")
    return (f"find where TimeGenerated >= datetime({start.strftime(fmt)}) and TimeGenerated < datetime({end.strftime(fmt)}) "
            "project _BilledSize, _IsBillable, _SubscriptionId, Type, TimeGenerated\n"
            "| where _IsBillable == true and Type != \"Usage\"\n"
            f"{subs}"
            "| summarize BillableDataBytes = sum(_BilledSize) by Type, Day = startofday(TimeGenerated), "
            "_SubscriptionId = tolower(_SubscriptionId)\n"
            "| sort by Day asc, Type asc")


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date().isoformat()
    return str(value)[:10]


def compute(stacks: Sequence[str], project_dir: Path, start: datetime, end: datetime, *, endpoint: str | None = None,
            credential: Any = None, client_factory: Callable[..., Any] | None = None) -> dict[str, Any]:
    """The usage report (the JSON contract): per customer its rows, total and whether its answer was complete."""
    from mssp.azure import loganalytics

    members = customers(stacks, project_dir)
    by_workspace: dict[str, list[Customer]] = {}
    for c in members:
        by_workspace.setdefault(c.workspace.lower(), []).append(c)
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    client = (client_factory or loganalytics.make_client)(credential, endpoint or loganalytics.DEFAULT_ENDPOINT)
    results: dict[str, dict[str, Any]] = {}
    for group in by_workspace.values():
        central = group[0].topology == "central"
        subs = sorted({s for c in group for s in c.subscriptions}) if central else None
        query = build_query(start, end, subs)
        status, error, rows = "complete", None, []
        try:
            outcome = loganalytics.run_query(client, group[0].workspace, query, start, end)
            missing = [c for c in COLUMNS if c not in outcome.columns]
            if missing:
                raise loganalytics.LogAnalyticsError(f"malformed answer: no column {', '.join(missing)}")
            rows = outcome.rows
            if outcome.partial_error:
                status, error = "partial", (f"partial result ({outcome.partial_error}): the totals are a lower "
                                            "bound, not the bill; run it again")
        except loganalytics.LogAnalyticsError as exc:
            status, error = "failed", str(exc)
        for c in group:
            mine = [r for r in rows if not central or str(r.get("_SubscriptionId", "")).lower() in c.subscriptions]
            table: dict[tuple[str, str], int] = {}
            for r in mine:
                key = (str(r["Type"]), _day(r["Day"]))
                table[key] = table.get(key, 0) + int(r["BillableDataBytes"] or 0)
            out_rows = [{"table": t, "day": d, "billableBytes": b, "billableGB": round(b / GB, 6)}
                        for (t, d), b in sorted(table.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
            total = sum(r["billableBytes"] for r in out_rows)
            results[c.stack] = {"stack": c.stack, "customer": c.name, "displayName": c.display_name,
                                "topology": c.topology, "workspace": c.workspace, "status": status, "error": error,
                                "rows": out_rows, "totalBytes": total, "totalGB": round(total / GB, 6),
                                "query": query}
    ordered = [results[c.stack] for c in members]
    return {"from": start.date().isoformat(), "to": (end - timedelta(days=1)).date().isoformat(),
            "complete": all(r["status"] == "complete" for r in ordered), "customers": ordered}


def render_markdown(report: Mapping[str, Any]) -> str:
    from mssp.plan.markdown import code, text

    lines = [f"# Billable ingestion {report['from']} to {report['to']} (UTC days)", ""]
    if not report["complete"]:
        lines += ["> ⚠️ **Incomplete**: some queries failed or came back partial; their totals are not the bill.", ""]
    lines += ["| customer | topology | workspace | status | billable GB |", "|---|---|---|---|---:|"]
    for c in report["customers"]:
        total = f"{c['totalGB']:.6f}" + ("" if c["status"] == "complete" else " (incomplete)")
        lines.append(f"| {text(c['displayName'])} ({code(c['customer'])}) | {text(c['topology'])} | "
                     f"{code(c['workspace'].rsplit('/', 1)[-1])} | {text(c['status'])} | {total} |")
    for c in report["customers"]:
        lines += ["", f"## {text(c['displayName'])} ({code(c['customer'])})", ""]
        if c["error"]:
            lines += [f"⚠️ {text(c['error'])}", ""]
        if not c["rows"]:
            lines.append("No billable rows in the window." if c["status"] == "complete" else "No rows received.")
            continue
        lines += ["| day | table | billable GB |", "|---|---|---:|"]
        lines += [f"| {r['day']} | {code(r['table'])} | {r['billableGB']:.6f} |" for r in c["rows"]]
    return "\n".join(lines) + "\n"


def render_csv(report: Mapping[str, Any]) -> str:
    """One row per customer, table and day; a customer without rows still gets one row carrying its status."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["customer", "topology", "workspace", "day", "table", "billable_bytes", "billable_gb", "status"])
    for c in report["customers"]:
        if not c["rows"]:
            writer.writerow([c["customer"], c["topology"], c["workspace"], "", "", 0, "0.000000", c["status"]])
        for r in c["rows"]:
            writer.writerow([c["customer"], c["topology"], c["workspace"], r["day"], r["table"], r["billableBytes"],
                             f"{r['billableGB']:.6f}", c["status"]])
    return out.getvalue()


def run(args: argparse.Namespace, credential: Any = None) -> int:
    from mssp.report.fleet import customer_stacks

    if args.fleet == bool(args.stack):
        raise UserError("give customer stacks or --fleet (not both, not neither); allowed: `mssp usage contoso "
                        "--from ... --to ...` or `mssp usage --fleet --from ... --to ...`", exit_code=2)
    start, end = window(parse_day("--from", args.start), parse_day("--to", args.end))
    stacks = customer_stacks(args.project_dir) if args.fleet else list(dict.fromkeys(args.stack))
    if not stacks:
        raise UserError(f"no customer stack files in {args.project_dir / 'stacks'}", exit_code=2)
    from mssp.azure.endpoints import checked_endpoint

    endpoint = None  # a bearer token goes there: https only (mssp.azure.endpoints), refused before any work
    if args.endpoint:
        endpoint = checked_endpoint(args.endpoint, "--endpoint", "https://api.loganalytics.io")
    elif os.environ.get(ENDPOINT_ENV):
        endpoint = checked_endpoint(os.environ[ENDPOINT_ENV], f"${ENDPOINT_ENV}", "https://api.loganalytics.io")
    report = compute(stacks, args.project_dir, start, end, endpoint=endpoint, credential=credential)
    body = (json.dumps(report, indent=2) + "\n" if args.format == "json"
            else render_csv(report) if args.format == "csv" else render_markdown(report))
    if args.out is not None:
        write_output(args.out, body, EXIT_INCOMPLETE)
    else:
        sys.stdout.write(body)
    for c in report["customers"]:
        if c["error"]:
            print(f"error: {c['customer']}: {c['error']}", file=sys.stderr)
    return EXIT_OK if report["complete"] else EXIT_INCOMPLETE
