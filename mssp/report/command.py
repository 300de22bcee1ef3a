"""`python -m mssp report`: the fleet coverage page, one self-contained HTML file plus Markdown (and JSON).

Rows are customers (every customer stack in stacks/, or those given with --stack), columns resource
types; each cell counts resources forwarding, silent (with --health reports), not in inventory (with
--drift reports carrying coverage drift), excluded and skipped. Built from the offline plans: no network,
no credentials, so the scheduled drift workflow publishes it as an artifact.

Exit codes: 0 written; 2 invalid configuration or unreadable report files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mssp import PROJECT_DIR
from mssp.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="fleet coverage page: one self-contained HTML file plus Markdown (exit 0 written, 2 bad input)",
        description="Write the fleet coverage page from the customer stacks' offline plans, with silent resources "
        "from `mssp health --json` reports and coverage drift from `mssp drift --discover --json` reports when "
        "given. Exit codes: 0 written; 2 invalid configuration or unreadable report files.",
    )
    p.add_argument("--out", type=Path, default=Path("out/coverage"), metavar="DIR",
                   help="folder for index.html, coverage.md and coverage.json (default out/coverage)")
    p.add_argument("--stack", action="append", default=[], metavar="STACK",
                   help="customer stack to include (repeatable; default: every customer stack in stacks/)")
    p.add_argument("--health", action="append", default=[], type=Path, metavar="FILE",
                   help="a `mssp health --json` report (repeatable)")
    p.add_argument("--drift", action="append", default=[], type=Path, metavar="FILE",
                   help="a `mssp drift --json` report (repeatable; its coverage list gives 'not in inventory')")
    p.add_argument("--usage", type=Path, metavar="FILE",
                   help="a `mssp usage --format json` report: its billable GB per customer become a column")
    p.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mssp.output import check_out_dir
    from mssp.report import fleet, page

    out: Path = args.out
    check_out_dir(out)
    data = fleet.build(args.project_dir, args.stack, args.health, args.drift, args.usage)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "index.html").write_text(page.render_html(data), encoding="utf-8")
        (out / "coverage.md").write_text(page.render_markdown(data), encoding="utf-8")
        (out / "coverage.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write the report to {out}: {exc}", 2) from None
    print(f"wrote {out / 'index.html'}, {out / 'coverage.md'} and {out / 'coverage.json'} "
          f"({len(data['customers'])} customers)")
    return 0
