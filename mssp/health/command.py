"""`python -m mssp health STACK [--hours N]`: does each customer's data arrive in the MSSP workspace?

One Log Analytics query per stack (mssp.health.query builds it), never one per resource: the last
`TimeGenerated` and the row count in the window
- per inventoried resource that the stack forwards, by `_ResourceId`, over the tables its selected
  categories land in (components/facts/catalog.py records the table per category);
- per subscription, in `AzureActivity` (the Activity log setting);
- for the customer's Splunk alerts, in the platform's custom table, by `CustomerName`.

The expectations come from the same pure function the program uses to plan the settings
(components.forwarding.diagnostics.plan_settings), so health checks exactly what `pulumi up` configures.

Exit codes: 0 healthy (every configured resource and subscription sent data in the window);
3 silent resources or subscriptions found; 1 error (the query failed, was throttled past its retries,
or came back partial: then nothing is reported healthy or silent, only "unverified"); 2 invalid
configuration or arguments. Splunk alerts are event-driven, so a quiet Splunk feed is reported but
does not change the exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mssp import PROJECT_DIR, escape
from mssp.errors import UserError
from mssp.health import query as health_query
from mssp.output import write_output

EXIT_HEALTHY, EXIT_ERROR, EXIT_SILENT = 0, 1, 3
ENDPOINT_ENV = "MSSP_LOGANALYTICS_ENDPOINT"  # another query endpoint (sovereign clouds, a local test server)
DEFAULT_HOURS = 24
MAX_HOURS = 24 * 730  # Log Analytics interactive retention is at most two years


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "health",
        help="does each customer resource's data arrive? one Log Analytics query (exit 0 healthy, 3 silent, 1 error)",
        description=(
            "Query the MSSP workspace once for STACK: last TimeGenerated and row count in the window per "
            "forwarded resource (by _ResourceId), per subscription (AzureActivity) and for the customer's "
            "Splunk alerts. Exit codes: 0 healthy; 3 silent resources or subscriptions found; 1 error (a "
            "failed, throttled or partial query never reads as healthy or silent); 2 invalid configuration."
        ),
    )
    p.add_argument("stack", metavar="STACK", help="customer stack name (stacks/Pulumi.STACK.yaml)")
    p.add_argument("--hours", type=int, default=DEFAULT_HOURS, metavar="N",
                   help=f"window: the last N hours (default {DEFAULT_HOURS})")
    p.add_argument("--json", type=Path, metavar="OUT", dest="json_out", help="write the JSON report here")
    p.add_argument("--markdown", type=Path, metavar="OUT", help="write the Markdown report here")
    p.add_argument("--endpoint", default=None,
                   help=f"Log Analytics query endpoint (default ${ENDPOINT_ENV} or https://api.loganalytics.io)")
    p.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, credential: Any = None, now: datetime | None = None) -> int:
    from mssp.azure.endpoints import checked_endpoint

    if not 1 <= args.hours <= MAX_HOURS:
        raise UserError(f"--hours: {args.hours} is out of range; give 1 to {MAX_HOURS}")
    endpoint = None
    if args.endpoint:
        endpoint = checked_endpoint(args.endpoint, "--endpoint", "https://api.loganalytics.io")
    elif os.environ.get(ENDPOINT_ENV):
        endpoint = checked_endpoint(os.environ[ENDPOINT_ENV], f"${ENDPOINT_ENV}", "https://api.loganalytics.io")
    report = check(args.stack, args.project_dir, args.hours, endpoint=endpoint, credential=credential, now=now)
    markdown = render_markdown(report)
    if args.json_out is not None:
        write_output(args.json_out, json.dumps(report, indent=2) + "\n", EXIT_ERROR)
    if args.markdown is not None:
        write_output(args.markdown, markdown, EXIT_ERROR)
    sys.stdout.write(markdown)
    for message in report["errors"]:
        print(f"error: {escape.clean(message, escape.MAX_TERMINAL)}", file=sys.stderr)
    return int(report["exitCode"])




def check(
    stack: str,
    project_dir: Path,
    hours: int,
    *,
    endpoint: str | None = None,
    credential: Any = None,
    now: datetime | None = None,
    client_factory: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """The health report of a customer stack (a dict, the JSON contract). Raises UserError on bad config."""
    from mssp.azure import loganalytics

    expect = health_query.expectations(stack, project_dir)
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(hours=hours)
    kql = health_query.build_query(expect)
    errors: list[str] = []
    rows: list[dict[str, Any]] = []
    partial = False
    try:
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        make = client_factory or loganalytics.make_client
        client = make(credential, endpoint or loganalytics.DEFAULT_ENDPOINT)
        # Progress on stderr (stdout is the report): sign-in and the one query take seconds.
        print(f"health: querying the workspace for {len(expect.resources)} resource(s) of {stack} over the last "
              f"{hours} h (one Log Analytics query)", file=sys.stderr, flush=True)
        outcome = loganalytics.run_query(client, expect.workspace_resource_id, kql, start, end)
        rows = outcome.rows
        missing = [c for c in health_query.RESULT_COLUMNS if c not in outcome.columns]
        if missing:
            # An answer without the columns asked for would make every resource look silent.
            raise loganalytics.LogAnalyticsError(f"malformed answer: no column {', '.join(missing)} in "
                                                 f"{outcome.tables or 'no table'}")
        if outcome.partial_error:
            partial = True
            errors.append(f"the query returned a partial result ({outcome.partial_error}); resources without "
                          "rows in it are unverified, not silent: run the check again")
    except loganalytics.LogAnalyticsError as exc:
        errors.append(str(exc))
    return health_query.assess(expect, rows, failed=bool(errors) and not partial, partial=partial,
                               errors=errors, start=start, end=end, hours=hours, query=kql)


_STATUS_TEXT = {"forwarding": "forwarding", "silent": "**SILENT**", "unverified": "unverified", "quiet": "quiet"}


def render_markdown(report: dict[str, Any]) -> str:
    """The report for people. Ids, names, times, counts and errors come from config and from Log Analytics'
    answer, so each goes through mssp.escape: none can add a verdict, a heading, a table row or a link."""
    s = report["summary"]
    w = report["window"]
    lines = [f"# Data health: stack {code(report['stack'])}", "",
             f"- verdict: **{escape.md(report['status'])}** (exit code {report['exitCode']})",
             f"- window: last {w['hours']} h ({escape.md(w['start'])} to {escape.md(w['end'])})",
             f"- workspace: {code(report['workspace'])}",
             f"- resources: {s['resources']} configured, {s['forwarding']} forwarding, {s['silent']} silent, "
             f"{s['unverified']} unverified",
             f"- subscriptions (Activity log): {s['subscriptions']}, {s['silentSubscriptions']} silent", ""]
    for e in report["errors"]:
        lines.append(f"> **error:** {escape.md(e)}")
    if report["errors"]:
        lines.append("")
    silent = [r for r in report["resources"] if r["status"] == "silent"]
    lines += ["## Configured but silent resources", ""]
    lines += [f"- {code(r['id'])} ({escape.md(r['type'])}; tables {', '.join(escape.md(t) for t in r['tables'])})"
              for r in silent] or ["None."]
    quiet_subs = [x for x in report["subscriptions"] if x["status"] == "silent"]
    lines += ["", "## Subscriptions with no Activity log rows", ""]
    lines += [f"- {code(x['id'])} ({escape.md(x['displayName'])})" for x in quiet_subs] or ["None."]
    lines += ["", "## Every resource", "", "| resource | type | status | last seen | rows |", "|---|---|---|---|---|"]
    for r in report["resources"]:
        lines.append(f"| {code(r['id'])} | {escape.md(r['type'])} | {_status(r['status'])} | {_seen(r['lastSeen'])} | "
                     f"{_seen(r['rows'])} |")
    lines += ["", "## Subscriptions", "", "| subscription | status | last seen | rows |", "|---|---|---|---|"]
    for x in report["subscriptions"]:
        lines.append(f"| {code(x['id'])} {escape.md(x['displayName'])} | {_status(x['status'])} | "
                     f"{_seen(x['lastSeen'])} | {_seen(x['rows'])} |")
    sp = report["splunk"]
    if sp is not None:
        lines += ["", "## Splunk alerts", "",
                  f"- {code(sp['table'])} for customer {code(sp['customer'])}: {_status(sp['status'])}, "
                  f"{_seen(sp['rows'])} rows, last {_seen(sp['lastSeen'])} "
                  "(alerts are event-driven: no rows is not an error by itself)"]
    return "\n".join(lines) + "\n"


def code(value: Any) -> str:
    return escape.md_code(value)


def _status(status: Any) -> str:
    return _STATUS_TEXT.get(status, escape.md(status)) if isinstance(status, str) else escape.md(status)


def _seen(value: Any) -> str:
    """A last-seen time or a row count as Log Analytics gave it, or '-' when there is none."""
    return "-" if value is None or value == "" else escape.md(value)
