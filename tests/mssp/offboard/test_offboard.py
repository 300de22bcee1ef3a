"""`mssp offboard`: the plan and the customer runbook from the offline plan, the refusals, `pulumi destroy`
up to the CLI boundary (a recording stand-in on PATH), and the verification against the local fake ARM."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from components.facts import naming
from mssp.azure.rest import AzureRestClient
from mssp.offboard import command as offboard
from mssp.offboard import runbook
from testing.fake_arm import FakeArm, make_setting

PROJECT_DIR = Path(__file__).resolve().parents[3]
MSSP_TENANT = "6f1e8a2c-3b4d-4e5f-9a0b-1c2d3e4f5a6b"


def _tree_hash() -> str:
    h = hashlib.sha256()
    for p in sorted((PROJECT_DIR / "stacks").rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def fake_pulumi(tmp_path, monkeypatch):
    """A stand-in `pulumi` on PATH that records its arguments and exits with $FAKE_PULUMI_RC."""
    log = tmp_path / "pulumi-args.txt"
    script = tmp_path / "bin" / "pulumi"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "Destroying (fake)"\n'
                      'echo "${FAKE_PULUMI_STDERR:-}" >&2\nexit ${FAKE_PULUMI_RC:-0}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return log


def test_contoso_plan_lists_every_resource_and_changes_nothing(manifest, run_cli, tmp_path, fake_pulumi):
    before = _tree_hash()
    code, out, err = run_cli(["offboard", "contoso", "--json", str(tmp_path / "o.json"),
                              "--markdown", str(tmp_path / "o.md")])
    assert code == 0, err
    assert _tree_hash() == before and not fake_pulumi.exists()  # nothing ran, nothing written in the project
    report = json.loads((tmp_path / "o.json").read_text())
    plan = manifest("contoso")
    assert sorted(r["urn"] for r in report["resources"]) == sorted(r["urn"] for r in plan["resources"])
    assert {r["disposition"] for r in report["resources"]} <= {"deleted", "retained"}
    assert report["deleted"] + report["retained"] == len(plan["resources"])
    retained = [r for r in report["resources"] if r["disposition"] == "retained"]
    planned_retained = [r for r in plan["resources"] if r["options"]["retainOnDelete"] or r["options"]["protect"]]
    assert sorted(r["urn"] for r in retained) == sorted(r["urn"] for r in planned_retained)
    assert all(r["reason"] for r in report["resources"])
    md = (tmp_path / "o.md").read_text()
    for r in plan["resources"]:
        assert f"`{r['name']}`" in md
    assert out.startswith("# Offboarding contoso")
    # The platform's shared resources stay, with the reason.
    assert any("mssp-splunk-table" in s["what"] and "protected" in s["reason"] for s in report["stays"])
    # Deploy mode: Pulumi removes the delegation itself; no assignment step for the customer.
    assert not any("managedservices assignment delete" in c for s in report["customerSteps"] for c in s["commands"])
    # The Lighthouse model creates no service principal in the customer tenant: no consent to revoke.
    assert not any("az ad sp delete" in c for s in report["customerSteps"] for c in s["commands"])
    assert {b["id"] for b in report["blockers"]} >= {"alz-deny-diagnostic-delete", "settings-outlive-resources"}
    assert "DenyAction-DiagnosticLogs" in md and "[secret]" not in md


def test_fabrikam_template_mode_gets_the_customer_steps(run_cli, tmp_path):
    code, out, _ = run_cli(["offboard", "fabrikam", "--json", str(tmp_path / "o.json")])
    assert code == 0
    report = json.loads((tmp_path / "o.json").read_text())
    customer_tenant = "8b3c5d0e-1f2a-4b4c-93e6-7f8091021324"
    commands = [c for s in report["customerSteps"] for c in s["commands"]]
    for sub in report["subscriptions"]:
        assignment = naming.registration_assignment_guid(MSSP_TENANT, customer_tenant, sub)
        assert f"az managedservices assignment delete --assignment {assignment} --subscription {sub}" in commands
        assert any(c.startswith("az rest --method delete") and f"/subscriptions/{sub}/providers/Microsoft."
                   f"ManagedServices/registrationAssignments/{assignment}?api-version=2022-10-01" in c for c in commands)
        assert f"az managedservices assignment delete --assignment {assignment}" in out
    assert not any("admin consent" in s["step"] for s in report["customerSteps"])
    # The assignment the customer deploys from the template has the same deterministic name.
    from components.config import load_stack
    from components.lighthouse.template import parameters_file
    loaded = load_stack("fabrikam", PROJECT_DIR)
    params = parameters_file(loaded.customer, MSSP_TENANT, report["subscriptions"][0], "p")["parameters"]
    assert params["registrationAssignmentId"]["value"] in " ".join(commands)


def test_expected_setting_ids(manifest):
    ids = runbook.expected_setting_ids(manifest("contoso"))
    assert len(ids) == 17 + 2  # 17 resource settings (a SQL server's on its master database) + 2 subscriptions
    subs = [s for s in ids if s["scope"].count("/") == 2]
    assert [s["id"] for s in subs] == [
        "/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/providers/Microsoft.Insights/diagnosticSettings/mssp-sentinel",
        "/subscriptions/4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80/providers/Microsoft.Insights/diagnosticSettings/mssp-sentinel"]
    assert all(s["name"] == "mssp-sentinel" for s in ids)


@pytest.mark.parametrize("argv", [["--execute"], ["--yes"], ["--execute", "--verify-only", "--yes"]])
def test_refusals_change_nothing(argv, run_cli, fake_pulumi):
    code, _, err = run_cli(["offboard", "contoso", *argv])
    assert code == 2 and "Traceback" not in err
    assert not fake_pulumi.exists()


def test_platform_stack_is_refused(run_cli):
    code, _, err = run_cli(["offboard", "mssp"])
    assert code == 2 and "platform" in err


def _estate(fake_setting_for: set[str], gone: set[str] = frozenset()):
    """FakeArm holding contoso's resources; settings named mssp-sentinel only on the given scopes."""
    from mssp.plan.command import build_manifest

    expected = runbook.expected_setting_ids(build_manifest("contoso", PROJECT_DIR))
    resources = []
    for s in expected:
        if s["scope"].count("/") > 2 and "Services/default" not in s["scope"]:
            resources.append({"id": s["scope"], "type": s["scope"].split("/providers/")[1].rsplit("/", 1)[0],
                              "subscriptionId": s["scope"].split("/")[2]})
    settings = {s["scope"]: [make_setting(s["scope"], "mssp-sentinel", workspace_id="/ws")]
                for s in expected if s["scope"] in fake_setting_for}
    # A foreign setting everywhere: only ours counts.
    for s in expected:
        settings.setdefault(s["scope"], []).append(make_setting(s["scope"], "setbypolicy", workspace_id="/other"))
    fake = FakeArm(resources, readable_subscriptions=["3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f",
                                                      "4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80"], settings=settings)
    fake.gone = {g.lower() for g in gone}
    return fake, expected


def _use_fake(monkeypatch, fake):
    def client(endpoint, tenant):
        return AzureRestClient(lambda: fake.token, fake.base_url, sleep=lambda s: None, max_retries=1)
    monkeypatch.setattr(offboard, "make_arm_client", client)


def test_execute_destroys_then_verifies_clean(run_cli, fake_pulumi, monkeypatch, tmp_path):
    fake, expected = _estate(set())
    with fake:
        _use_fake(monkeypatch, fake)
        code, out, err = run_cli(["offboard", "contoso", "--execute", "--yes", "--json", str(tmp_path / "o.json")])
        reads = fake.count("get")
    assert code == 0, err
    assert fake_pulumi.read_text().split() == ["destroy", "--stack", "contoso", "--yes", "--non-interactive",
                                               "--color", "never"]
    assert out.index("# Offboarding contoso") < out.index("## Verification")
    assert "Destroying (fake)" in err  # pulumi's own output is passed through
    report = json.loads((tmp_path / "o.json").read_text())
    assert report["status"] == "verified" and report["verification"]["counts"]["removed"] == len(expected)
    assert reads == len(expected)


def test_leftover_settings_exit_3_and_are_named(run_cli, fake_pulumi, monkeypatch, tmp_path):
    _, expected = _estate(set())
    kv = next(s["scope"] for s in expected if "kv-contoso-shared" in s["scope"])
    fake, _ = _estate({kv, "/subscriptions/4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80"})
    with fake:
        _use_fake(monkeypatch, fake)
        code, out, _ = run_cli(["offboard", "contoso", "--verify-only", "--json", str(tmp_path / "o.json")])
    assert code == 3
    assert not fake_pulumi.exists()  # --verify-only never destroys
    report = json.loads((tmp_path / "o.json").read_text())
    remains = sorted(v["scope"] for v in report["verification"]["settings"] if v["result"] == "remains")
    assert remains == sorted([kv, "/subscriptions/4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80"])
    assert "still sends to /ws" in out


def test_gone_resource_cannot_be_verified_and_403_is_an_error(run_cli, fake_pulumi, monkeypatch, tmp_path):
    fake, expected = _estate(set())
    nsg = next(s["scope"] for s in expected if "nsg-web" in s["scope"])
    fake.gone = {nsg.lower()}  # deleted since onboarding: ARM answers 404 for its settings
    with fake:
        _use_fake(monkeypatch, fake)
        code, _, err = run_cli(["offboard", "contoso", "--verify-only", "--json", str(tmp_path / "a.json")])
        report = json.loads((tmp_path / "a.json").read_text())
        # Nothing could be read back for the gone resource (its setting may survive it): never "verified".
        assert code == 1 and report["status"] == "error" and "cannot be verified" in err
        assert [v["scope"] for v in report["verification"]["settings"] if v["result"] == "resource-gone"] == [nsg]
        fake.item_faults[expected[0]["scope"].lower()] = [403]
        code, _, err = run_cli(["offboard", "contoso", "--verify-only", "--json", str(tmp_path / "b.json")])
    assert code == 1 and "could not be read" in err
    assert json.loads((tmp_path / "b.json").read_text())["status"] == "error"


def test_failed_destroy_is_an_error_and_names_the_policy_blocker(run_cli, fake_pulumi, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_PULUMI_RC", "1")
    monkeypatch.setenv("FAKE_PULUMI_STDERR", "error: RequestDisallowedByPolicy: DenyAction-DiagnosticLogs")
    monkeypatch.setattr(offboard, "make_arm_client", lambda *a: pytest.fail("no verification after a failed destroy"))
    code, _, err = run_cli(["offboard", "contoso", "--execute", "--yes", "--json", str(tmp_path / "o.json")])
    assert code == 1 and "DenyAction-DiagnosticLogs blocker" in err
    assert json.loads((tmp_path / "o.json").read_text())["verification"] is None


def test_missing_pulumi_is_an_error(run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = run_cli(["offboard", "contoso", "--execute", "--yes"])
    assert code == 1 and "not on PATH" in err


SCOPE = "/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"
OURS = {"id": f"{SCOPE}/providers/microsoft.insights/diagnosticSettings/mssp-sentinel", "scope": SCOPE,
        "name": "mssp-sentinel"}


def _verify(fake: FakeArm) -> dict[str, str]:
    from mssp.offboard.verify import verify_settings_removed

    with fake:
        (result,) = verify_settings_removed(AzureRestClient(lambda: fake.token, fake.base_url, sleep=lambda s: None,
                                                            max_retries=1), [OURS])
    return result


def test_verification_follows_next_link_to_the_last_page():
    # Ours is on the third page: a check that stops at page one would call it removed.
    fake = FakeArm([{"id": SCOPE, "type": "microsoft.keyvault/vaults", "subscriptionId": SCOPE.split("/")[2]}],
                   settings={SCOPE: [make_setting(SCOPE, "setbypolicy", workspace_id="/other"),
                                     make_setting(SCOPE, "export", workspace_id="/other"),
                                     make_setting(SCOPE, "mssp-sentinel", workspace_id="/ws")]})
    fake.settings_page_size = 1
    result = _verify(fake)
    assert (result["result"], result["detail"]) == ("remains", "still sends to /ws")
    assert fake.count("get") == 3


@pytest.mark.parametrize("body", [[{"name": "mssp-sentinel"}], {}, {"value": "none"}, b"", None],
                         ids=["list", "no-value", "value-not-a-list", "empty", "null"])
def test_an_answer_that_is_not_a_settings_list_is_unreadable_never_removed(body):
    fake = FakeArm([{"id": SCOPE, "type": "microsoft.keyvault/vaults", "subscriptionId": SCOPE.split("/")[2]}])
    fake.bodies = {SCOPE.lower(): body}
    result = _verify(fake)
    assert result["result"] == "unreadable" and "malformed answer" in result["detail"], result


def test_a_next_link_off_the_arm_endpoint_is_unreadable():
    fake = FakeArm([{"id": SCOPE, "type": "microsoft.keyvault/vaults", "subscriptionId": SCOPE.split("/")[2]}],
                   settings={SCOPE: [make_setting(SCOPE, "a"), make_setting(SCOPE, "b")]})
    fake.settings_page_size = 1
    fake.link_base = "https://evil.example"
    result = _verify(fake)
    assert result["result"] == "unreadable" and "nextLink off the ARM endpoint" in result["detail"]
    assert fake.count("get") == 1  # the first page only; nothing went to the foreign link
