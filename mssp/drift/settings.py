"""`python -m mssp drift STACK --settings`: the stack's diagnostic settings, read from Azure, against its plan.

No `pulumi refresh`, which reads every resource one at a time (pulumi/pulumi#7682, about 4 minutes for
1,300 resources): the offline plan (mssp.plan.command) says which settings the stack should have, and ARM
`/batch` (mssp.azure.batch) reads the settings collection of 20 targets per call, one list each:
`GET {resourceId}/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview`
(Azure/azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/preview/
2021-05-01-preview/diagnosticsSettings_API.json, DiagnosticSettings_List; for the Activity log the
target is the subscription, subscriptionDiagnosticsSettings_API.json SubscriptionDiagnosticSettings_List).
For S settings that is ceil(S/20) batch calls, plus single GETs only for answers the batch refused
(429/5xx items) and for list pages (nextLink). Reading needs only Reader (`*/read`); a batch of GETs
is a read.

It reports, per expected setting:
- missing: no setting of that name on the resource;
- changed: categories, destination workspace or destination type (logAnalyticsDestinationType)
  differ from the plan;
- foreign: another setting on the same resource sends some of the same categories to the MSSP
  workspace (the data lands twice, and is paid twice);
- gone: the resource itself answers 404 (deleted since the inventory was written);
- error: an answer that cannot be read (403, a malformed body, a failure that outlasted the retries).
  An error never reads as clean: exit 1 (as `mssp drift`), even when drift was found too.

Exit codes as `mssp drift`: 0 clean, 3 drift, 1 error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from components.facts import catalog
from components.facts.pulumi_tokens import DIAGNOSTIC_SETTING
from components.facts.pulumi_tokens import SUBSCRIPTION_DIAGNOSTIC_SETTING as SUBSCRIPTION_SETTING
from mssp import escape
from mssp.azure import arm as arm_api
from mssp.azure.batch import Answer, BatchReader, PagingError, pages
from mssp.azure.rest import AzureRestClient, AzureRestError, status_text
from mssp.discover.discovery import ExistingSetting, parse_settings, settings_path

EXIT_CLEAN, EXIT_ERROR, EXIT_DRIFT = 0, 1, 3  # the same as mssp.drift.command
_GROUPS = frozenset(g.lower() for g in (catalog.ALL_LOGS, catalog.AUDIT))
# A changed property's expected or actual value: a workspace id or destination type (None: unset), or
# the enabled categories and destinations.
Value = str | list[str] | None
# mssp.drift.command.emit: writes the JSON and Markdown reports where asked; returns the exit code.
Emit = Callable[[argparse.Namespace, Mapping[str, Any], str], int]


@dataclass(frozen=True)
class Expected:
    """One diagnostic setting the plan creates."""

    target: str  # the resource id, or /subscriptions/<id> for the Activity log
    name: str  # the setting's Azure name
    logical_name: str  # the Pulumi resource name in the plan
    workspace_id: str
    logs: tuple[str, ...]  # enabled log categories or category groups
    metrics: tuple[str, ...]
    destination_type: str | None


@dataclass(frozen=True)
class Finding:
    kind: str  # missing | changed | foreign | gone | error
    target: str
    setting: str
    detail: str
    changes: Mapping[str, Mapping[str, Value]] = field(default_factory=dict)  # property -> {expected, actual}


def _enabled(entries: object, keys: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict) and e.get("enabled", True) is True:
            name = next((e[k] for k in keys if isinstance(e.get(k), str) and e[k]), None)
            if name:
                out.append(name)
    return tuple(out)


def expected_settings(manifest: Mapping[str, Any]) -> list[Expected]:
    """Every diagnostic setting of a plan manifest, with its target (pure)."""
    providers = {r["name"]: r.get("inputs") or {} for r in manifest["resources"] if r["type"] == "pulumi:providers:azure-native"}
    out = []
    for r in manifest["resources"]:
        inputs = r.get("inputs") or {}
        if r["type"] == DIAGNOSTIC_SETTING:
            target = inputs.get("resourceUri")
        elif r["type"] == SUBSCRIPTION_SETTING:
            sub = providers.get(r.get("provider") or "", {}).get("subscriptionId")
            target = f"/subscriptions/{sub}" if isinstance(sub, str) else None
        else:
            continue
        if not isinstance(target, str) or not isinstance(inputs.get("name"), str):
            continue
        out.append(Expected(
            target=target,
            name=inputs["name"],
            logical_name=r["name"],
            workspace_id=str(inputs.get("workspaceId") or ""),
            logs=_enabled(inputs.get("logs"), ("category", "categoryGroup")),
            metrics=_enabled(inputs.get("metrics"), ("category",)),
            destination_type=inputs.get("logAnalyticsDestinationType") or None,
        ))
    return sorted(out, key=lambda e: (e.target.lower(), e.name.lower()))


def _same_id(a: str | None, b: str | None) -> bool:
    return (a or "").strip().rstrip("/").lower() == (b or "").strip().rstrip("/").lower()


def _overlap(ours: Sequence[str], theirs: Sequence[str]) -> list[str]:
    """The foreign setting's entries that send (or may send) what ours sends.

    A category group (allLogs, audit: components.facts.catalog) covers categories the catalog does not
    enumerate per type, so a group on either side overlaps with every log entry of the other.
    """
    mine, other = {c.lower() for c in ours}, {c.lower() for c in theirs}
    if not mine or not other:
        return []
    if (mine | other) & _GROUPS:
        same = [c for c in theirs if c.lower() in mine]
        return sorted(same or theirs)
    return sorted(c for c in theirs if c.lower() in mine)


def compare_target(expected: Sequence[Expected], existing: Sequence[ExistingSetting]) -> list[Finding]:
    """Findings for one target's settings list (pure)."""
    findings = []
    ours_names = {e.name.lower() for e in expected}
    by_name = {s.name.lower(): s for s in existing}
    for e in expected:
        actual = by_name.get(e.name.lower())
        if actual is None:
            findings.append(Finding("missing", e.target, e.name, "no setting of this name on the resource"))
            continue
        changes: dict[str, dict[str, Value]] = {}
        if not _same_id(actual.workspace_id, e.workspace_id):
            changes["workspaceId"] = {"expected": e.workspace_id, "actual": actual.workspace_id}
        if (actual.destination_type or None) != (e.destination_type or None):
            changes["logAnalyticsDestinationType"] = {"expected": e.destination_type, "actual": actual.destination_type}
        if sorted(c.lower() for c in actual.logs) != sorted(c.lower() for c in e.logs):
            changes["logs"] = {"expected": list(e.logs), "actual": list(actual.logs)}
        if sorted(c.lower() for c in actual.metrics) != sorted(c.lower() for c in e.metrics):
            changes["metrics"] = {"expected": list(e.metrics), "actual": list(actual.metrics)}
        if actual.other_destinations:
            # Our setting sends only to the MSSP workspace; a storage account, event hub or partner added to
            # it sends the customer's logs somewhere else too.
            changes["destinations"] = {"expected": [], "actual": sorted(actual.other_destinations)}
        if changes:
            findings.append(Finding("changed", e.target, e.name, "changed outside Pulumi: " + ", ".join(changes), changes))
    for s in existing:
        if s.name.lower() in ours_names:
            continue
        for e in expected:
            if not _same_id(s.workspace_id, e.workspace_id):
                continue
            same = _overlap(e.logs, s.logs) + [m for m in s.metrics if m.lower() in {x.lower() for x in e.metrics}]
            if same:
                # Azure Policy (DeployIfNotExists) re-creates its settings: the fix is in the assignment.
                by_policy = " (made by Azure Policy: change the policy assignment, not the setting)" \
                    if s.name.lower().startswith(arm_api.POLICY_SETTING_PREFIX) else ""
                findings.append(Finding("foreign", e.target, s.name,
                                        f"also sends {', '.join(same)} to the MSSP workspace (as `{e.name}` does)"
                                        + by_policy))
                break
    return findings


def read_target(reader: BatchReader, target: str, first: Answer) -> tuple[list[ExistingSetting] | None, str, int]:
    """The settings of a target from its first answer, following nextLink pages (mssp.azure.batch.pages).

    Returns (settings or None when the resource is gone, error text or "", pages fetched).
    """
    settings: list[ExistingSetting] = []
    fetched = -1
    try:
        for answer in pages(reader, first, what=f"reading the diagnostic settings of {target}"):
            fetched += 1
            if answer.status == 404:
                return None, "", fetched
            if answer.status != 200:
                return [], status_text(answer.status, answer.content), fetched
            try:
                settings.extend(parse_settings(answer.content))
            except ValueError as exc:
                return [], f"malformed settings list: {exc}", fetched
    except PagingError as exc:
        return [], exc.message, fetched
    return settings, "", fetched


def _readable(answer: Answer) -> bool:
    """A batch item answer worth keeping: anything but a 200 whose body is not a settings list."""
    return answer.status != 200 or (isinstance(answer.content, dict) and isinstance(answer.content.get("value"), list))


@dataclass
class SettingsDrift:
    stack: str
    expected: int
    findings: list[Finding]
    errors: list[str]
    calls: dict[str, int]

    @property
    def status(self) -> str:
        if self.errors or any(f.kind == "error" for f in self.findings):
            return "error"
        return "drift" if self.findings else "clean"

    @property
    def exit_code(self) -> int:
        return {"error": EXIT_ERROR, "drift": EXIT_DRIFT, "clean": EXIT_CLEAN}[self.status]

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.kind] = counts.get(f.kind, 0) + 1
        return {
            "stack": self.stack,
            "mode": "settings",
            "status": self.status,
            "exitCode": self.exit_code,
            "expectedSettings": self.expected,
            "counts": counts,
            "calls": self.calls,
            "findings": [asdict(f) for f in self.findings],
            "errors": self.errors,
        }


def check(stack: str, manifest: Mapping[str, Any], client: AzureRestClient, *, concurrency: int = 8,
          use_batch: bool = True, progress: Callable[[str], None] = lambda _: None) -> SettingsDrift:
    """Read every expected setting's target through /batch and compare (never raises for Azure errors)."""
    expected = expected_settings(manifest)
    by_target: dict[str, list[Expected]] = {}
    for e in expected:
        by_target.setdefault(e.target.lower(), []).append(e)
    targets = sorted(by_target)
    urls = {t: settings_path(by_target[t][0].target) for t in targets}
    reader = BatchReader(client, concurrency=concurrency, use_batch=use_batch, progress=progress)
    findings: list[Finding] = []
    errors: list[str] = []
    pages = 0
    try:
        answers = reader.get_all([urls[t] for t in targets], what="diagnostic settings", readable=_readable)
        for t in targets:
            settings, error, fetched = read_target(reader, t, answers[urls[t]])
            pages += fetched
            exp = by_target[t]
            if error:
                findings += [Finding("error", e.target, e.name, f"cannot read the settings: {error}") for e in exp]
            elif settings is None:
                findings.append(Finding("gone", exp[0].target, ", ".join(e.name for e in exp),
                                        "the resource no longer exists (404): remove it from the inventory "
                                        "(`mssp discover`) or restore it"))
            else:
                findings += compare_target(exp, settings)
    except AzureRestError as exc:
        errors.append(str(exc))
    stats = reader.stats
    calls = {"batch": stats.batch_calls, "batchPolls": stats.poll_calls, "single": stats.single_calls,
             "refusedItems": stats.refused_items, "pages": pages, "http": client.calls}
    if stats.batch_disabled:
        calls["batchDisabled"] = 1
        progress(f"ARM /batch was not usable: {stats.batch_disabled}")
    return SettingsDrift(stack, len(expected), findings, errors, calls)


# --- reports ------------------------------------------------------------------------------------

_TITLES = {"missing": "Missing", "changed": "Changed outside Pulumi", "foreign": "Foreign settings to the MSSP workspace",
           "gone": "Resources gone", "error": "Could not read"}


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report for people. Every text read from Azure (ids, names, values, error messages) goes through
    mssp.escape, so it cannot add a status line, a heading, a table row, a link or an image."""
    lines = [f"# Settings drift: stack {escape.md_code(report['stack'])}", ""]
    status = report["status"]
    if status == "error":
        lines.append("**Status: error** (exit 1). The check could not decide; this is neither drift nor clean.")
    elif status == "drift":
        counts = ", ".join(f"{n} {escape.md(k)}" for k, n in sorted(report["counts"].items()))
        lines.append(f"**Status: drift** (exit 3): {counts}.")
    else:
        lines.append("**Status: clean** (exit 0): every expected diagnostic setting is in Azure as planned.")
    c = report["calls"]
    if report["errors"] and not any(f["kind"] != "error" for f in report["findings"]):
        # Nothing was read (sign-in failed, or every read failed): never "N settings read".
        lines += ["", f"{report['expectedSettings']} settings expected; none could be read (see the error below)."]
    else:
        lines += ["", f"{report['expectedSettings']} expected settings read with {c['batch']} ARM `/batch` call(s), "
                  f"{c['batchPolls']} poll(s), {c['single']} single GET(s) ({c['refusedItems']} refused by the batch, "
                  f"{c['pages']} further page(s)); {c['http']} HTTP requests in all, retries included."]
    for kind in ("error", "gone", "missing", "changed", "foreign"):
        rows = [f for f in report["findings"] if f["kind"] == kind]
        if not rows:
            continue
        lines += ["", f"## {_TITLES[kind]} ({len(rows)})", "", "| resource | setting | detail |", "|---|---|---|"]
        for f in rows:
            detail = escape.md(f["detail"])
            if f["changes"]:
                detail = "<br>".join(f"{escape.md_code(k)}: {escape.md_code(json.dumps(v['expected']), _VALUE_CHARS)}"
                                     f" → {escape.md_code(json.dumps(v['actual']), _VALUE_CHARS)}"
                                     for k, v in f["changes"].items())
            lines.append(f"| {escape.md_code(f['target'])} | {escape.md_code(f['setting'])} | {detail} |")
    for e in report["errors"]:
        lines += ["", f"Error: {escape.md(e)}"]
    return "\n".join(lines) + "\n"


_VALUE_CHARS = 200


def run(args: argparse.Namespace, emit: Emit) -> int:
    """The --settings mode of `mssp drift`: plan offline, read Azure, report through `emit` (mssp.drift.command.emit)."""
    from components.config import ConfigError, load_stack
    from mssp.discover.command import arm_client
    from mssp.plan.command import PlanSession, build_manifest, config_errors_text

    stack: str = args.stack.rsplit("/", 1)[-1]
    try:
        loaded = load_stack(stack, args.project_dir)
        manifest = build_manifest(stack, args.project_dir, session=PlanSession())
    except ConfigError as exc:
        print(f"error: {config_errors_text(exc.issues)}", file=sys.stderr)
        return 2
    result: SettingsDrift
    try:
        client = arm_client(loaded.customer)
        result = check(stack, manifest, client, concurrency=args.concurrency,
                       progress=lambda m: print(m, file=sys.stderr))
    except AzureRestError as exc:
        result = SettingsDrift(stack, len(expected_settings(manifest)), [], [str(exc)], {
            "batch": 0, "batchPolls": 0, "single": 0, "refusedItems": 0, "pages": 0, "http": 0})
    report = result.to_json()
    return int(emit(args, report, render_markdown(report)))
