"""`python -m mssp drift STACK`: what changed in Azure behind Pulumi's back, as Markdown and JSON.

It runs `pulumi preview --refresh --expect-no-changes --json` for the stack (or reads a saved copy
with --from-json), classifies every step (mssp.drift.preview_json), and reports resources changed or
deleted outside Pulumi, removed Lighthouse delegations and, with --discover, in-scope Azure resources
that the inventory does not list. A preview never writes state or touches Azure resources.

Exit codes: 0 no drift, 3 drift, 1 error. An error never reads as drift or as clean: older Pulumi
CLIs exit 255 for every failure, --expect-no-changes included, so the verdict comes from the JSON
(error diagnostics, steps, changeSummary) and the exit code only confirms it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mssp import PROJECT_DIR, escape
from mssp.drift import preview_json
from mssp.errors import UserError
from mssp.output import write_output

EXIT_CLEAN, EXIT_ERROR, EXIT_DRIFT = 0, 1, 3
DEFAULT_TIMEOUT_SECONDS = 3 * 3600

# Pulumi CLI exit codes (CLI 3.226.1+). Source: pulumi/pulumi sdk/go/common/util/cmdutil/exitcodes.go.
PULUMI_EXIT_MEANINGS: Mapping[int, str] = {
    0: "success",
    1: "general error",
    2: "invalid configuration or flags",
    3: "authentication or authorization failure",
    4: "cloud resource operation failed",
    5: "a policy blocked the operation",
    6: "stack not found",
    7: "changes found with --expect-no-changes",
    8: "cancelled",
    9: "timed out",
    255: "internal error; older CLIs use it for every failure",
}
PULUMI_EXIT_CHANGES = 7
# Older CLIs exit 1 or 255 for every failure and say on stderr when it was --expect-no-changes.
# Sources: pulumi/pulumi pkg/cmd/pulumi preview.go ("error: no changes were expected but changes were
# proposed"), pkg/backend/backenderr NoChangesExpectedError ("... for <op> but changes occurred").
_NO_CHANGES_EXPECTED = re.compile(r"no changes were expected(?: for \S+)? but changes (?:were proposed|occurred)")
_GENERIC_FAILURE_CODES = frozenset({1, 255})
# Azure's answer when the identity lost access, e.g. because the customer removed the delegation.
_ACCESS_DENIED = re.compile(
    r"AuthorizationFailed|LinkedAuthorizationFailed|InvalidAuthenticationTokenTenant|"
    r"does not have authorization|StatusCode=403|Status=403",
    re.IGNORECASE,
)
ACCESS_HINT = (
    "Azure refused access. If the customer removed the Lighthouse delegation, the MSSP identity can no "
    "longer read their subscriptions: check 'Service providers' in the customer's Azure portal and "
    "re-deploy the delegation (`pulumi up` in deploy mode, or `python -m mssp template STACK`)."
)
_STDERR_TAIL_CHARS = 2000


class DriftError(Exception):
    """A failure that ends the check with exit code 1 but still yields a report (status "error")."""


@dataclass(frozen=True)
class PulumiRun:
    command: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Assessment:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unattributed: dict[str, int] = field(default_factory=dict)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "drift",
        help="drift report from `pulumi preview --refresh --json` (exit 0 clean, 3 drift, 1 error)",
        description=(
            "Run `pulumi preview --refresh --expect-no-changes --json` for STACK (or read a saved copy) and "
            "report resources changed or deleted outside Pulumi and removed Lighthouse delegations. "
            "With --settings, compare the plan's diagnostic settings with Azure's through ARM /batch instead "
            "(no pulumi, read access only). "
            "Never changes anything. Exit 0: no drift; 3: drift; 1: error (the check could not decide); "
            "2: invalid configuration (--settings)."
        ),
    )
    parser.add_argument(
        "stack",
        metavar="STACK",
        help="stack name (stacks/Pulumi.STACK.yaml); ORG/STACK is passed to pulumi as given",
    )
    parser.add_argument(
        "--from-json",
        metavar="FILE",
        type=Path,
        help="read saved `pulumi preview --json` output instead of running pulumi ('-' reads stdin)",
    )
    parser.add_argument(
        "--discover",
        action="store_true",
        help="also report coverage drift: in-scope Azure resources that the stack's inventory does not list",
    )
    parser.add_argument(
        "--settings",
        action="store_true",
        help="read every diagnostic setting the stack's offline plan expects through ARM /batch (20 a call) "
             "and report missing, changed and foreign settings and resources gone (mssp.drift.settings)",
    )
    parser.add_argument("--concurrency", type=int, default=8, metavar="N",
                        help="--settings: ARM calls at once (default 8)")
    parser.add_argument("--markdown", metavar="OUT", type=Path, help="also write the Markdown report to OUT")
    parser.add_argument("--json", metavar="OUT", type=Path, dest="json_out", help="write the JSON report to OUT")
    parser.add_argument(
        "--project-dir",
        metavar="DIR",
        type=Path,
        default=PROJECT_DIR,
        help="the Pulumi project to preview (default: this checkout)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"give up on pulumi after this long (default {DEFAULT_TIMEOUT_SECONDS})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.settings:
        if args.from_json is not None or args.discover:
            raise UserError("--settings reads Azure itself: it takes neither --from-json nor --discover")
        if args.concurrency < 1:
            raise UserError("--concurrency must be at least 1")
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise UserError(f"--timeout {args.timeout:g}: allowed: a number of seconds above 0 (default "
                        f"{DEFAULT_TIMEOUT_SECONDS:g})")
    # An unknown stack is a usage error (exit 2) in every mode, before pulumi runs or a file is read.
    _check_stack_file_or_exit(args.project_dir, args.stack.rsplit("/", 1)[-1])
    if args.settings:
        from mssp.drift import settings as settings_drift

        return settings_drift.run(args, emit)
    stack: str = args.stack
    short_name = stack.rsplit("/", 1)[-1]
    project_dir: Path = args.project_dir
    source: dict[str, Any] = {"kind": "file", "path": str(args.from_json)} if args.from_json else {"kind": "pulumi"}
    classification: preview_json.Classification | None = None
    assessment = Assessment()
    try:
        if args.from_json is not None:
            text = _read_input(args.from_json)
            digest = preview_json.loads(text, str(args.from_json))
            _check_preview_stack(digest, _config_customer_name(text), short_name, args.from_json)
            _check_preview_project(digest, project_dir, args.from_json)
            classification = preview_json.classify(digest)
            assessment = assess(classification, None, "")
        else:
            _check_stack_file(project_dir, short_name)
            # Progress on stderr (stdout is the report): a refresh reads every resource back from Azure.
            print(f"drift: running `pulumi {' '.join(preview_args(stack))}` (reads every resource of the stack back "
                  f"from Azure: a minute or more; gives up after {args.timeout:g} s)", file=sys.stderr, flush=True)
            result = run_preview(stack, project_dir, args.timeout)
            source.update(command=" ".join(["pulumi", *preview_args(stack)]), exitCode=result.exit_code)
            _echo_stderr(result.stderr)
            classification = classify_run(result)
            assessment = assess(classification, result.exit_code, result.stderr)
    except (DriftError, preview_json.PreviewFormatError) as exc:
        assessment.errors.append(str(exc))

    coverage: list[dict[str, str]] | None = None
    if args.discover:
        try:
            coverage = coverage_drift(short_name, project_dir)
        except DriftError as exc:
            assessment.errors.append(str(exc))

    report = build_report(stack, source, classification, assessment, coverage)
    return emit(args, report, render_markdown(report))


def emit(args: argparse.Namespace, report: Mapping[str, Any], markdown: str) -> int:
    """Write the JSON and Markdown reports where asked, print the Markdown and the errors; the exit code."""
    if args.json_out is not None:
        write_output(args.json_out, json.dumps(report, indent=2, sort_keys=False) + "\n", EXIT_ERROR)
    if args.markdown is not None:
        write_output(args.markdown, markdown, EXIT_ERROR)
    sys.stdout.write(markdown)
    for message in report["errors"]:  # one line each, no control or bidi characters (Azure's text inside)
        print(f"error: {escape.clean(message, escape.MAX_TERMINAL)}", file=sys.stderr)
    return int(report["exitCode"])


# --- running pulumi -------------------------------------------------------------------------------


def preview_args(stack: str) -> list[str]:
    # --show-replacement-steps makes the JSON include the non-logical steps, refresh among them: a
    # `refresh` step before a `create` for the same URN proves the resource was in the state and is
    # gone from Azure (pulumi/pulumi pkg/backend/display/json.go shouldShow hides them otherwise).
    return [
        "preview",
        "--refresh",
        "--expect-no-changes",
        "--json",
        "--show-replacement-steps",
        "--non-interactive",
        "--color",
        "never",
        "--stack",
        stack,
    ]


def run_preview(stack: str, project_dir: Path, timeout: float) -> PulumiRun:
    """Run the preview in project_dir and capture what it printed; never raises on a non-zero exit."""
    exe = shutil.which("pulumi")
    if exe is None:
        raise DriftError(
            "the Pulumi CLI (`pulumi`) is not on PATH. Install it (https://www.pulumi.com/docs/install/) "
            "or pass --from-json FILE with saved output of "
            "`pulumi preview --refresh --expect-no-changes --json --show-replacement-steps`"
        )
    command = (exe, *preview_args(stack))
    env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    try:
        proc = subprocess.run(
            command,
            cwd=project_dir,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DriftError(f"`pulumi preview` did not finish within {timeout:g} seconds") from None
    except OSError as exc:
        raise DriftError(f"could not run {exe}: {exc}") from None
    return PulumiRun(command=command, exit_code=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)


def classify_run(result: PulumiRun) -> preview_json.Classification:
    try:
        return preview_json.classify(preview_json.loads(result.stdout))
    except preview_json.PreviewFormatError as exc:
        if result.exit_code == 0:
            raise
        raise DriftError(
            f"pulumi preview failed with exit code {result.exit_code} ({describe_exit(result.exit_code)}) "
            f"and its output is not a preview document ({exc}){_stderr_tail(result.stderr)}"
        ) from None


def describe_exit(code: int) -> str:
    if code < 0:
        return f"killed by signal {-code}"
    return PULUMI_EXIT_MEANINGS.get(code, "unknown exit code")


def assess(classification: preview_json.Classification, pulumi_exit: int | None, stderr: str) -> Assessment:
    """Decide what the preview means, from its JSON first and the CLI's exit code second (pure)."""
    out = Assessment(errors=list(classification.errors), warnings=list(classification.warnings))
    if classification.unattributed:
        out.unattributed = dict(classification.summary_changes)
    if pulumi_exit is None or pulumi_exit == 0:
        if pulumi_exit == 0 and classification.has_changes:
            out.warnings.append("pulumi exited 0 despite --expect-no-changes, but its JSON lists changes")
        return out
    said_changes = pulumi_exit == PULUMI_EXIT_CHANGES or (
        pulumi_exit in _GENERIC_FAILURE_CODES and _NO_CHANGES_EXPECTED.search(stderr) is not None
    )
    if said_changes:
        if not classification.has_changes:
            # The CLI saw changes that no step or count in the JSON shows: drift, but unnamed.
            out.unattributed = {"unknown": 1}
            out.warnings.append(
                f"pulumi reported changes (exit code {pulumi_exit}) that its JSON does not list; "
                "run `pulumi preview --refresh --diff` for this stack to see them"
            )
        return out
    out.errors.append(
        f"pulumi preview failed with exit code {pulumi_exit} ({describe_exit(pulumi_exit)})"
        + (", so the changes it listed may be incomplete" if classification.has_changes else "")
        + _stderr_tail(stderr)
    )
    return out


def _stderr_tail(stderr: str) -> str:
    text = stderr.strip()
    if not text:
        return ""
    if len(text) > _STDERR_TAIL_CHARS:
        text = "..." + text[-_STDERR_TAIL_CHARS:]
    return f"; pulumi said: {text}"


def _echo_stderr(stderr: str) -> None:
    # Keep pulumi's own messages visible in CI logs, marked as pulumi's.
    for line in stderr.splitlines():
        if line.strip():
            print(f"pulumi: {line}", file=sys.stderr)


def _check_stack_file(project_dir: Path, stack: str) -> None:
    from components.config import stack_name_problem

    problem = stack_name_problem(stack, project_dir)
    if problem is not None:
        raise DriftError(problem)


def _config_customer_name(text: str) -> str | None:
    """customer.name from the preview's `config` (`pulumi preview --json` echoes the stack's config; structured
    values arrive as JSON text), or None when the document does not say."""
    try:
        config = json.loads(text).get("config") or {}
        customer = config.get("mssp-sentinel:customer")
        customer = json.loads(customer) if isinstance(customer, str) else customer
        name = customer.get("name") if isinstance(customer, dict) else None
    except (ValueError, AttributeError, RecursionError):
        return None
    return name if isinstance(name, str) else None


def _check_preview_stack(digest: preview_json.PreviewDigest, customer_name: str | None, stack: str,
                         path: Path) -> None:
    """Refuse a saved preview of another stack: its steps would say nothing about this one (a clean
    preview of fabrikam must not report contoso clean). URNs name their stack:
    `urn:pulumi:<stack>::<project>::<type>::<name>` (pulumi/pulumi sdk/go/common/resource/urn.go), and a
    customer stack's config names its customer (customer.name equals the stack name)."""
    seen = {step.urn.removeprefix("urn:pulumi:").split("::", 1)[0] for step in digest.steps
            if step.urn.startswith("urn:pulumi:")}
    if customer_name is not None:
        seen.add(customer_name)
    others = sorted(s for s in seen if s != stack)
    if others:
        raise DriftError(f"--from-json {path}: this is a preview of stack {', '.join(repr(s) for s in others)}, "
                         f"not of '{stack}'; allowed: the saved `pulumi preview --json` output of stack '{stack}' "
                         f"(`pulumi {' '.join(preview_args(stack))}`)")


def _check_preview_project(digest: preview_json.PreviewDigest, project_dir: Path, path: Path) -> None:
    """Refuse a saved preview of another Pulumi project: `urn:pulumi:<stack>::<project>::...` names the project
    (pulumi/pulumi sdk/go/common/resource/urn.go); a stack of the same name in another project says nothing
    about this one (its steps would read as this stack's deletes, or its emptiness as clean)."""
    from components.config.project import load_project

    try:
        project = load_project(project_dir).name
    except Exception:
        return
    others = sorted({step.urn.removeprefix("urn:pulumi:").split("::")[1] for step in digest.steps
                     if step.urn.startswith("urn:pulumi:") and step.urn.count("::") >= 1} - {project})
    if others:
        from components.facts.strict_yaml import shown

        raise DriftError(f"--from-json {shown(str(path))}: this is a preview of Pulumi project "
                         f"{', '.join(repr(shown(o)) for o in others)}, not of '{project}' (its URNs name the project: "
                         "urn:pulumi:STACK::PROJECT::...); allowed: the saved `pulumi preview --json` output of this "
                         "project's stack")


def _check_stack_file_or_exit(project_dir: Path, stack: str) -> None:
    try:
        _check_stack_file(project_dir, stack)
    except DriftError as exc:
        raise UserError(str(exc), 2) from None


def _read_input(path: Path) -> str:
    from components.facts import documents

    if str(path) == "-":
        text = sys.stdin.read(documents.MAX_JSON_BYTES + 1)
        if len(text) > documents.MAX_JSON_BYTES:
            raise DriftError(f"--from-json -: standard input is larger than {documents.MAX_JSON_BYTES // 2**20} "
                             "MiB; allowed: at most that (docs/input-limits.md)")
        return text
    try:
        return documents.read_text(path, documents.MAX_JSON_BYTES, "preview document")
    except documents.DocumentError as exc:
        raise DriftError(f"--from-json {exc}") from None
    except FileNotFoundError:
        raise DriftError(f"cannot read {documents.describe(path)}: file not found; allowed: a saved "
                         "`pulumi preview --json` output, or '-' for standard input") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DriftError(f"cannot read {documents.describe(path)}: {exc}") from None


# --- coverage drift -------------------------------------------------------------------------------


def coverage_drift(stack: str, project_dir: Path) -> list[dict[str, str]]:
    """In-scope resources missing from the inventory, from mssp.discover.command (imported only when asked for)."""
    try:
        from mssp.discover.command import coverage_drift as discover_coverage
    except ImportError as exc:
        raise DriftError(f"--discover needs mssp.discover.command.coverage_drift, which cannot be imported: {exc}") from None
    try:
        found = discover_coverage(stack, project_dir)
    except UserError as exc:
        raise DriftError(f"coverage check failed: {exc}") from None
    except Exception as exc:  # an SDK or network failure must end as an error report, not a traceback
        raise DriftError(f"coverage check failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(found, list) or not all(isinstance(item, Mapping) for item in found):
        raise DriftError("coverage check returned something other than a list of {id, type, reason}")
    items = [{k: str(item.get(k, "")) for k in ("id", "type", "reason")} for item in found]
    return sorted(items, key=lambda item: (item["type"].lower(), item["id"].lower()))


# --- the report -----------------------------------------------------------------------------------


def build_report(
    stack: str,
    source: Mapping[str, Any],
    classification: preview_json.Classification | None,
    assessment: Assessment,
    coverage: list[dict[str, str]] | None,
) -> dict[str, Any]:
    resources = [r.as_dict() for r in classification.resources] if classification else []
    summary: dict[str, int] = {c: 0 for c in preview_json.CATEGORIES}
    for r in resources:
        summary[r["category"]] += 1
    summary["uncovered"] = len(coverage or [])
    hints = [ACCESS_HINT] if any(_ACCESS_DENIED.search(e) for e in assessment.errors) else []
    drift = bool(resources) or bool(assessment.unattributed) or bool(coverage)
    if assessment.errors:
        status, exit_code = "error", EXIT_ERROR
    elif drift:
        status, exit_code = "drift", EXIT_DRIFT
    else:
        status, exit_code = "clean", EXIT_CLEAN
    return {
        "stack": stack,
        "status": status,
        "exitCode": exit_code,
        "source": dict(source),
        "summary": summary,
        "resources": resources,
        "unattributedChanges": dict(assessment.unattributed),
        "coverage": coverage,
        "errors": list(assessment.errors),
        "hints": hints,
        "warnings": list(assessment.warnings),
    }


_HEADINGS: Mapping[str, tuple[str, str]] = {
    "delegation-removed": (
        "Lighthouse delegations removed",
        "In the program but no longer in Azure: the customer removed the delegation, so the MSSP loses access "
        "to the subscription. `pulumi up` with the customer's credentials re-creates it.",
    ),
    "deleted": (
        "Deleted outside Pulumi",
        "Pulumi's state had these, Azure no longer does (the refresh dropped them): `pulumi up` would create "
        "them again.",
    ),
    "missing": (
        "Not in the state",
        "Declared by the program with no record in the state: deleted outside Pulumi, or never deployed "
        "(the preview showed no refresh step that would tell which).",
    ),
    "replaced": (
        "Would be replaced",
        "`pulumi up` would delete and re-create these because of the properties named. In tenants that deny "
        "deleting diagnostic settings (Azure Landing Zones DenyAction-DiagnosticLogs) the delete will fail.",
    ),
    "changed": (
        "Changed",
        "Azure differs from the program: changed outside Pulumi, or a program change not yet applied. "
        "'Azure' is the value read back from Azure, 'program' the value `pulumi up` would set.",
    ),
    "removed-from-program": (
        "No longer in the program",
        "Still in the state but no longer declared (for example removed from the inventory): `pulumi up` "
        "would delete them.",
    ),
    "other": ("Other pending changes", "Steps that would change the stack but fit none of the groups above."),
}
_SHORT: Mapping[str, str] = {
    "delegation-removed": "delegation(s) removed",
    "deleted": "deleted outside Pulumi",
    "missing": "missing from the state",
    "replaced": "to be replaced",
    "changed": "changed",
    "removed-from-program": "no longer in the program",
    "other": "other change(s)",
}
_VALUE_CHARS = 200


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report for people: status first, then each category with operation, name, type, URN, paths."""
    lines = [f"# Drift report: {_code(report['stack'])}", ""]
    status = report["status"]
    counts = [f"{n} {_SHORT[c]}" for c, n in report["summary"].items() if c in _SHORT and n]
    if report["summary"]["uncovered"]:
        counts.append(f"{report['summary']['uncovered']} not covered by the inventory")
    if status == "error":
        lines.append("**Status: error** (exit 1). The check could not decide; this is neither drift nor clean.")
    elif status == "drift":
        lines.append(f"**Status: drift** (exit 3): {', '.join(counts) or 'changes pending'}.")
    else:
        lines.append("**Status: clean** (exit 0): Azure matches the program; nothing changed outside Pulumi.")
    lines += ["", _source_line(report["source"]), ""]

    if report["errors"]:
        lines += ["## Errors", ""]
        lines += [f"- {escape.md(e)}" for e in report["errors"]]
        lines += [f"- Hint: {h}" for h in report["hints"]]
        lines.append("")
        if report["resources"]:
            lines += ["The preview did not complete: the changes below may be incomplete.", ""]

    by_category: dict[str, list[Mapping[str, Any]]] = {}
    for r in report["resources"]:
        by_category.setdefault(r["category"], []).append(r)
    for category in preview_json.CATEGORIES:
        items = by_category.get(category, [])
        if not items:
            continue
        heading, explanation = _HEADINGS[category]
        lines += [f"## {heading} ({len(items)})", "", explanation, ""]
        for r in items:
            lines += _resource_lines(r)
        lines.append("")

    if report["unattributedChanges"]:
        ops = ", ".join(f"{op}: {n}" for op, n in report["unattributedChanges"].items())
        lines += [
            "## Changes Pulumi counted but did not list",
            "",
            f"- {ops}. Run `pulumi preview --refresh --diff` for this stack to see them.",
            "",
        ]

    if report["coverage"] is not None:
        cov = report["coverage"]
        lines += [f"## Not covered: in scope but not in the inventory ({len(cov)})", ""]
        if cov:
            lines += [f"- {_code(c['id'])} ({_code(c['type'])}): {escape.md(c['reason'])}" for c in cov]
            lines += ["", "Run `python -m mssp discover` for this stack to add them to the inventory."]
        else:
            lines.append("Every in-scope resource is in the inventory.")
        lines.append("")

    if report["warnings"]:
        lines += ["<details><summary>Warnings from the preview ({})</summary>".format(len(report["warnings"])), ""]
        lines += [f"- {escape.md(w)}" for w in report["warnings"]]
        lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


def _source_line(source: Mapping[str, Any]) -> str:
    if source.get("kind") == "file":
        return f"Source: saved preview {_code(str(source.get('path')))}."
    if "command" in source:
        code = source.get("exitCode")
        meaning = describe_exit(code) if isinstance(code, int) else "not run"
        return f"Source: {_code(str(source['command']))}, pulumi exit code {code} ({meaning})."
    return "Source: `pulumi preview` (not run)."


def _resource_lines(r: Mapping[str, Any]) -> list[str]:
    out = [f"- **{escape.md(r['name'])}** {_code(r['type'])}: operation {_code(r['operation'])}"]
    out.append(f"  - URN: {_code(r['urn'])}")
    if r["replaceReasons"]:
        out.append(f"  - replaced because of: {', '.join(_code(p) for p in r['replaceReasons'])}")
    for p in r["properties"]:
        detail = []
        if "current" in p:
            detail.append(f"Azure {_value(p['current'])}")
        if "desired" in p:
            detail.append(f"program {_value(p['desired'])}")
        kind = f" ({escape.md(p['kind'])})" if p.get("kind") else ""
        out.append(f"  - {_code(p['path'])}{kind}" + (f": {', '.join(detail)}" if detail else ""))
    if r["category"] == "delegation-removed" and not r["refreshed"]:
        out.append("  - no refresh step for it in the preview: removed in Azure, or never deployed")
    if not r["properties"] and r["category"] in ("changed", "replaced"):
        out.append("  - (the provider named no properties)")
    return out


def _value(value: Any) -> str:
    return escape.md_code(json.dumps(value, sort_keys=True, ensure_ascii=False), _VALUE_CHARS)


def _code(text: Any) -> str:
    """Every name, id, type and path of the report, Azure's and Pulumi's text included (mssp.escape)."""
    return escape.md_code(text)
