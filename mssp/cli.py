"""Argument parsing and dispatch for `python -m mssp`.

Each command lives in its own module with `register(subparsers)`, which adds its sub-parser and sets
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
# (plan: 1 guardrail, 2 config; drift: 1 error, 3 drift).
INTERNAL_ERROR = 70

# Order is the order shown in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "mssp.plan",
    "mssp.template",
    "mssp.diff",
    "mssp.discover",
    "mssp.drift",
    "mssp.splunk_ping",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mssp",
        description="Operator CLI of mssp-sentinel: offline plans, templates, diffs, discovery and drift.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


# The project's own top-level packages: a missing one of these is a bug, any other missing module means
# the CLI runs in a Python without the pinned requirements.
PROJECT_PACKAGES = frozenset({"mssp", "components", "policies", "testing", "scripts"})
# Exit code when the CLI runs outside the project's environment (a usage error, like argparse's).
WRONG_ENVIRONMENT = 2


def environment_hint(exc: ModuleNotFoundError) -> str | None:
    """How to run the CLI, when `exc` says a third-party package is missing (None when it is a bug)."""
    top = (exc.name or "").split(".", 1)[0]
    if not top or top in PROJECT_PACKAGES:
        return None
    return (f"the Python package '{top}' is not installed in this Python ({sys.executable}).\n"
            "Run the CLI in the project's virtual environment: `./dev plan STACK` (any `python -m mssp` "
            "command works as `./dev COMMAND ...`; it creates .venv and installs the pinned requirements on "
            "first use), or activate it first: `source .venv/bin/activate`, then `python -m mssp ...`.")


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except ModuleNotFoundError as exc:
        hint = environment_hint(exc)
        if hint is None:
            raise
        print(f"error: {hint}", file=sys.stderr)
        return WRONG_ENVIRONMENT


def _main(argv: list[str] | None) -> int:
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
        if isinstance(exc, ModuleNotFoundError) and environment_hint(exc) is not None:
            raise  # not a bug: main() says how to run the CLI
        traceback.print_exc()
        print(f"internal error: {exc}\nThis is a bug in mssp-sentinel, not in your input; please report it "
              "with the traceback above.", file=sys.stderr)
        return INTERNAL_ERROR
