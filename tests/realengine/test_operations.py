"""Day-two flows under the real Pulumi engine, against the deployment of test_onboarding: the PR preview,
drift made behind Pulumi's back (both drift commands, then the repair), health, guardrails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from realengine_support import (  # noqa: F401 (fixtures)
    PLATFORM,
    Deployment,
    deployment,
    engine_bin_dir,
    local_azure,
    signed_in,
)

from mssp.drift import preview_json
from testing.engine import add_resources

pytestmark = pytest.mark.realengine

REPLACING = frozenset({"replace", "create-replacement", "delete-replaced"})


def engine_ops(preview_text: str) -> dict[str, str]:
    """URN -> create/update/replace/delete of the custom resources a real `preview --json` would change,
    read with the project's own reader of real preview documents (mssp.drift.preview_json)."""
    digest = preview_json.loads(preview_text)
    ops: dict[str, set[str]] = {}
    for step in digest.steps:
        if step.type.startswith(("pulumi:pulumi:", "pulumi:providers:")) or step.type.startswith("mssp:"):
            continue
        ops.setdefault(step.urn, set()).add(step.op)
    out = {}
    for urn, seen in ops.items():
        op = ("replace" if seen & REPLACING else "create" if "create" in seen else "update" if "update" in seen
              else "delete" if "delete" in seen else None)
        if op:
            out[urn] = op
    return out


def diff_ops(report: dict[str, Any]) -> dict[str, str]:
    return {c["urn"]: c["op"] for s in report["stacks"] for c in s["changes"]}


@pytest.fixture
def edited_contoso(deployment: Deployment) -> Iterator[Path]:
    """contoso's stack file and inventory changed as a pull request would; put back afterwards."""
    root = deployment.project.root
    files = [root / "stacks" / "Pulumi.contoso.yaml", root / "stacks" / "inventories" / "contoso.yaml"]
    before = [f.read_text(encoding="utf-8") for f in files]
    yield root
    for f, text in zip(files, before, strict=True):
        f.write_text(text, encoding="utf-8")


def test_the_real_pr_preview_shows_what_mssp_diff_shows(deployment: Deployment, edited_contoso: Path) -> None:
    """One change of each kind: a create (a new inventoried resource), an update (Key Vault logs), a replace
    (the webhook Logic App's name, a path parameter) and a delete (a resource excluded). The engine's
    `preview --diff --json` read by the project's preview reader must list exactly what `mssp diff` lists."""
    project, root = deployment.project, edited_contoso
    base = root.parent / "pr-base.json"
    assert project.mssp("plan", "contoso", "--json", str(base)).returncode == 0
    new_id = ("/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/resourceGroups/rg-prod/providers/"
              "Microsoft.Network/networkSecurityGroups/nsg-pr")
    inventory = root / "stacks" / "inventories" / "contoso.yaml"
    inventory.write_text(inventory.read_text(encoding="utf-8")
                         + f"- id: {new_id}\n  type: Microsoft.Network/networkSecurityGroups\n", encoding="utf-8")
    add_resources(deployment.arm, [{"id": new_id, "type": "Microsoft.Network/networkSecurityGroups"}])
    stack = root / "stacks" / "Pulumi.contoso.yaml"
    text = stack.read_text(encoding="utf-8")
    text = text.replace("        Microsoft.KeyVault/vaults:\n          logs: audit", "        Microsoft.KeyVault/vaults:\n          logs: allLogs")
    text = text.replace("      logs: allLogs\n      perType:", "      logs: allLogs\n      exclude:\n        - /subscriptions/4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80/resourceGroups/rg-shared/providers/Microsoft.Network/networkSecurityGroups/nsg-shared\n      perType:")
    text = text.replace("      enabled: true\n      allowedCallerIpRanges:", "      enabled: true\n      workflowName: la-splunk-contoso-v2\n      allowedCallerIpRanges:")
    stack.write_text(text, encoding="utf-8")
    head = root.parent / "pr-head.json"
    assert project.mssp("plan", "contoso", "--json", str(head)).returncode == 0
    report_path = root.parent / "pr-diff.json"
    done = project.mssp("diff", str(base), str(head), "--json", str(report_path))
    assert done.returncode in (0, 3), done.stderr
    expected = diff_ops(json.loads(report_path.read_text(encoding="utf-8")))
    assert set(expected.values()) == {"create", "update", "replace", "delete"}, expected

    preview = project.pulumi("preview", "--stack", "contoso", "--diff", "--json", "--non-interactive")
    assert engine_ops(preview.stdout) == expected


# -- drift made behind Pulumi's back ---------------------------------------------------------------

def _setting(deployment: Deployment, scope_part: str) -> tuple[str, dict[str, Any]]:
    scope = next(k for k in deployment.arm.settings if scope_part in k and deployment.arm.settings[k])
    return scope, next(s for s in deployment.arm.settings[scope] if s["name"] == "mssp-sentinel")


def _drift(deployment: Deployment, stack: str, *extra: str) -> tuple[int, dict[str, Any]]:
    out = deployment.project.root.parent / f"drift-{stack}-{len(extra)}.json"
    out.unlink(missing_ok=True)
    done = deployment.project.mssp("drift", stack, "--project-dir", str(deployment.project.root), "--json", str(out), *extra)
    assert out.exists(), done.stdout + done.stderr
    return done.returncode, json.loads(out.read_text(encoding="utf-8"))


def _settings_drift(deployment: Deployment, stack: str, signed: Any) -> tuple[int, dict[str, Any]]:
    from mssp.cli import main

    out = deployment.project.root.parent / f"settings-drift-{stack}.json"
    out.unlink(missing_ok=True)
    with signed:
        code = main(["drift", stack, "--settings", "--project-dir", str(deployment.project.root), "--json", str(out)])
    return code, json.loads(out.read_text(encoding="utf-8"))


def test_settings_changed_and_deleted_in_azure_are_reported_by_both_drift_commands_and_up_repairs_them(
        deployment: Deployment, signed_in: Any) -> None:
    """Change one setting and delete another in the local Azure: `mssp drift` (a real refresh preview)
    and `mssp drift --settings` (ARM reads) both report each; `pulumi up --refresh` puts them back."""
    changed_scope, changed = _setting(deployment, "/vaults/kv-contoso-prod")
    deleted_scope, deleted = _setting(deployment, "/networksecuritygroups/nsg-web")
    changed["properties"]["logs"] = [{"category": "AuditEvent", "enabled": True, "retentionPolicy": {"enabled": False, "days": 0}}]
    deployment.arm.settings[deleted_scope].remove(deleted)

    code, report = _drift(deployment, "contoso")
    assert code == 3, report
    by_category = {r["category"]: r for r in report["resources"]} if isinstance(report.get("resources"), list) else {}
    names = {(r["category"], r["name"]) for r in report["resources"]}
    assert any(c == "changed" and "kv-contoso-prod" in n.lower() for c, n in names), names
    assert any(c in ("deleted", "missing") and "nsg-web" in n.lower() for c, n in names), names
    assert by_category

    code, settings = _settings_drift(deployment, "contoso", signed_in("contoso"))
    assert code == 3, settings
    kinds = {(f["kind"], f["target"].lower()) for f in settings["findings"]}
    assert any(k == "changed" and t == changed_scope for k, t in kinds), kinds
    assert any(k == "missing" and t == deleted_scope for k, t in kinds), kinds

    deployment.project.pulumi("up", "--stack", "contoso", "--refresh", "--yes", "--non-interactive", "--skip-preview")
    assert _drift(deployment, "contoso")[0] == 0
    assert _settings_drift(deployment, "contoso", signed_in("contoso"))[0] == 0


def test_a_delegation_removed_in_azure_is_reported_by_both_drift_commands_and_up_repairs_it(
        deployment: Deployment, signed_in: Any) -> None:
    """The customer removes the Lighthouse assignment of one subscription: the MSSP identity loses access
    there (403 from the local Azure, as from ARM). `mssp drift` says so with its access hint and
    `mssp drift --settings` cannot read that subscription's settings; refreshing the delegation and
    `pulumi up` (deploy mode) re-create it, and both are clean again."""
    sub = "4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80"
    store = deployment.arm.store
    assignment = next(k for k in store.resources if k.startswith(f"/subscriptions/{sub}/providers/microsoft.managedservices/registrationassignments/"))
    del store.resources[assignment]

    code, report = _drift(deployment, "contoso")
    assert (code, report["status"]) == (1, "error"), report
    refused = [e for e in report["errors"] if "AuthorizationFailed" in e]
    assert refused and all(sub in e for e in refused), report["errors"]
    assert any("Lighthouse delegation" in h for h in report["hints"]), report["hints"]

    code, settings = _settings_drift(deployment, "contoso", signed_in("contoso"))
    assert (code, settings["status"]) == (1, "error"), settings
    unreadable = {f["target"].lower() for f in settings["findings"] if f["kind"] == "error" and "403" in f["detail"]}
    in_sub = {k for k, v in deployment.arm.settings.items() if k.startswith(f"/subscriptions/{sub}") and v}
    assert unreadable == in_sub, (unreadable, in_sub)

    # The repair: refresh the delegation alone (the MSSP cannot read the rest), then `up` re-creates it.
    urn = next(r["urn"] for r in deployment.project.export("contoso")["deployment"]["resources"]
               if r["type"] == "azure-native:managedservices:RegistrationAssignment" and r["urn"].endswith(sub))
    deployment.project.pulumi("refresh", "--stack", "contoso", "--target", urn, "--yes", "--non-interactive",
                              "--skip-preview")
    deployment.project.pulumi("up", "--stack", "contoso", "--yes", "--non-interactive", "--skip-preview")
    assert _drift(deployment, "contoso")[0] == 0
    assert _settings_drift(deployment, "contoso", signed_in("contoso"))[0] == 0


# -- health -------------------------------------------------------------------------------------------

def test_health_of_what_was_deployed_is_healthy_and_a_resource_that_sends_nothing_is_silent(deployment: Deployment) -> None:
    """The local Log Analytics receives what the settings in the local Azure send (and the Splunk alerts
    of the deployed webhook workflows): contoso is healthy; the Key Vault that sends nothing is silent."""
    from datetime import UTC, datetime, timedelta

    from mssp.azure.loganalytics import make_client
    from mssp.health import command as health
    from testing.credentials import StaticTokenCredential
    from testing.fake_loganalytics import FakeLogAnalytics, Record, records_from_settings

    workspace = deployment.project.outputs(PLATFORM)["workspaceResourceId"]
    now = datetime.now(UTC).replace(microsecond=0)
    alerts = [Record("SplunkAlerts_CL", now - timedelta(hours=1), "", "", r["tags"]["mssp-sentinel:customer"])
              for r in deployment.arm.store.resources.values()
              if r["type"] == "Microsoft.Logic/workflows" and "mssp-sentinel:customer" in (r.get("tags") or {})]
    assert alerts

    def check(quiet: tuple[str, ...] = ()) -> dict[str, Any]:
        records = records_from_settings(deployment.arm.settings, workspace, now - timedelta(hours=2), quiet) + alerts
        with FakeLogAnalytics(records) as la:
            return health.check("contoso", deployment.project.root, 24, endpoint=la.endpoint,
                                credential=StaticTokenCredential(), now=now,
                                client_factory=lambda c, e: make_client(c, e, retries=1, backoff=0.01))

    report = check()
    assert report["exitCode"] == 0 and report["silentResources"] == [], report["summary"]
    assert report["summary"]["forwarding"] == report["summary"]["resources"] > 0
    quiet = next(k for k in deployment.arm.settings if k.endswith("/vaults/kv-contoso-prod"))
    report = check((quiet,))
    assert report["exitCode"] != 0
    assert [r.lower() for r in report["silentResources"]] == [quiet], report["silentResources"]
