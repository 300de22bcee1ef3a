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

# Command name -> the module that registers it; order is the order shown in --help.
COMMAND_MODULES: dict[str, str] = {
    "plan": "mssp.plan.command",
    "template": "mssp.template.command",
    "diff": "mssp.diff.command",
    "discover": "mssp.discover.command",
    "drift": "mssp.drift.command",
    "splunk-ping": "mssp.splunk.ping",
    "health": "mssp.health.command",
    "report": "mssp.report.command",
    "usage": "mssp.usage.command",
    "offboard": "mssp.offboard.command",
    "cache-prune": "mssp.cache.prune",
    "cache-keygen": "mssp.cache.keygen",
}


# Every command's one-line description and its exit codes, shown by `--help` (the top level lists them
# all). Kept here, beside the dispatch that turns errors into these codes; the commands' own modules say
# the same in their docstrings.
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("Plan a stack offline (no network, no credentials): Markdown for reviewers, JSON manifest.",
             "0 planned; 1 a mandatory guardrail failed; 2 invalid configuration or arguments"),
    "template": ("Write the Lighthouse ARM template that a customer in template mode deploys.",
                 "0 written; 1 the delegation breaks Lighthouse rules; 2 invalid configuration or arguments"),
    "diff": ("Compare two offline plans (manifests or git refs) as a PR comment.",
             "0 compared; 1 HEAD breaks a mandatory guardrail (with --fail-on-mandatory); 2 bad input"),
    "discover": ("Write a customer stack's inventory from Azure Resource Graph (reads Azure, never writes it).",
                 "0 discovery ran; 1 an Azure call failed, a subscription is unreadable, or the answer has no resources "
                 "(write it with --allow-empty); 2 invalid configuration or arguments"),
    "drift": ("Report drift from `pulumi preview --refresh --json`, or of diagnostic settings (--settings).",
              "0 no drift; 3 drift; 1 error (the check could not decide); 2 invalid configuration or arguments"),
    "splunk-ping": ("Send a test Splunk alert to a customer's webhook Logic App and report the result.",
                    "0 the alert was ingested; 1 the workflow refused it or could not be reached; 2 usage problem"),
    "health": ("Does each configured resource's data arrive? One Log Analytics query per stack.",
               "0 healthy; 3 silent resources or subscriptions found; 1 error (the query failed or was partial); "
               "2 invalid configuration or arguments"),
    "report": ("Write the fleet coverage page: one self-contained HTML file plus Markdown and JSON.",
               "0 written; 2 invalid configuration or input files"),
    "usage": ("Billable ingestion per customer in GB per table and day (chargeback), from Log Analytics.",
              "0 complete; 1 a query failed, was throttled or partial (never read as complete); "
              "2 invalid configuration or arguments"),
    "offboard": ("Offboard a customer in one reviewed flow: what goes, what stays, then destroy and verify.",
                 "0 planned, or destroyed and verified; 3 settings remain after destroy; 1 error (also: a setting "
                 "that could not be read back, e.g. its resource is gone); "
                 "2 refused (no --yes) or invalid configuration"),
    "cache-prune": ("Delete plan-cache entries not used for N days, then the least recently used beyond a size cap.",
                    "0 pruned (or nothing to prune); 1 some entries could not be deleted; "
                    "2 invalid arguments or a refused cache folder (a symlink, not yours)"),
    "cache-keygen": ("Make the Ed25519 key pair that signs the plan cache that the judge of pull requests trusts.",
                     "0 written; 2 the private key file exists or cannot be written"),
}
COMMON_EXIT_CODES = f"every command: {INTERNAL_ERROR} internal error (a bug: please report it), 130 interrupted"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser; with `only` (a command's name), just that command's sub-parser, so running one
    command imports only its own module (a plan does not pay for the diff's or offboarding's imports)."""
    parser = argparse.ArgumentParser(
        prog="python -m mssp",
        description="Operator CLI of mssp-sentinel: offline plans, templates, diffs, discovery, drift, data health, "
        "the fleet coverage page and offboarding.",
        epilog="exit codes:\n" + "\n".join(f"  {name:12} {codes}" for name, (_, codes) in COMMANDS.items())
        + f"\n  {COMMON_EXIT_CODES}\nRun `python -m mssp COMMAND --help` for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMAND_MODULES.items():
        if only is None or name == only:
            importlib.import_module(module).register(subparsers)
    for name, sub in subparsers.choices.items():
        if name not in COMMANDS:  # a new command without its entry: tests/mssp/test_cli_help.py says so
            continue
        line, codes = COMMANDS[name]
        sub.description = line + (f"\n\n{sub.description}" if sub.description and sub.description != line else "")
        sub.epilog = f"exit codes: {codes}; {COMMON_EXIT_CODES}"
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
    for action in subparsers._choices_actions:  # the one-line descriptions in the top-level listing
        action.help = COMMANDS.get(action.dest, (action.help, ""))[0]
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
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv and argv[0] in COMMAND_MODULES else None).parse_args(argv)
    try:
        from mssp.output import check_outputs

        check_outputs(args)  # an output path that is a file (or a folder) is a usage error, before any work
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
