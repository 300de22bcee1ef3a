"""Argument parsing and dispatch for `python -m mssp`.

Each command lives in a folder named for it (`mssp/plan/command.py`, `mssp/splunk/ping.py` for
`splunk-ping`) whose module has `register(subparsers)`, which adds its sub-parser and sets
`func(args) -> int`. Modules import heavy dependencies (the Pulumi SDK, Azure SDKs) inside their
functions, so `--help` and unrelated commands stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from mssp.errors import UserError

# Exit code of an unexpected failure (sysexits.h EX_SOFTWARE): distinct from every command's own codes
# (plan: 1 guardrail, 2 config; drift and health: 1 error, 3 drift / silent; offboard: 1 error, 2 refused).
INTERNAL_ERROR = 70

# Order is the order shown in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "mssp.plan.command",
    "mssp.template.command",
    "mssp.diff.command",
    "mssp.discover.command",
    "mssp.drift.command",
    "mssp.splunk.ping",
    "mssp.health.command",
    "mssp.report.command",
    "mssp.offboard.command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mssp",
        description="Operator CLI of mssp-sentinel: offline plans, templates, diffs, discovery, drift, data health, "
        "the fleet coverage page and offboarding.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a user mistake: keep the traceback for the report
        traceback.print_exc()
        print(f"internal error: {exc}\nThis is a bug in mssp-sentinel, not in your input; please report it "
              "with the traceback above.", file=sys.stderr)
        return INTERNAL_ERROR
