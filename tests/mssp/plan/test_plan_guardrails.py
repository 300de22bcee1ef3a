"""`mssp plan` runs the guardrails: results land in the manifest and the Markdown, a mandatory one exits 1.

Every rule input that comes from stack config is validated by components/config first (exit 2 with the
bad key's path), so the violations here come from the program: the guardrails are what stops a change
to a component that would, say, delegate Owner to the MSSP.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, example_manifest

from components.config import load_stack
from components.facts import roles
from components.lighthouse import delegation as lighthouse
from policies import rules

STACKS = ("mssp", "contoso", "fabrikam")


@pytest.mark.parametrize("stack", STACKS)
def test_example_stacks_have_no_mandatory_violation_and_the_manifest_holds_the_rules_results(stack: str):
    m = example_manifest(stack)
    assert not rules.has_mandatory(m["policies"])
    context = rules.context_from_config(load_stack(stack, PROJECT_DIR))
    assert context.workspace_resource_id and context.workspace_location
    assert m["policies"] == rules.evaluate_manifest(m, context)


def test_a_component_that_delegates_owner_makes_plan_exit_1_naming_the_rule(
    run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setattr(lighthouse, "SERVICE_PRINCIPAL_ROLES", (roles.OWNER, roles.READER, roles.REGISTRATION_DELETE))
    out, md = tmp_path / "plan.json", tmp_path / "plan.md"
    code, stdout, _ = run_cli(["plan", "contoso", "--json", str(out), "--markdown", str(md), "--quiet"])
    assert code == 1
    assert "mandatory guardrail failed: lighthouse-delegable-roles: properties.authorizations[0] (MSSP Sentinel onboarding): Owner" in stdout
    policies = json.loads(out.read_text())["policies"]
    # Owner is also a permanent broad role, so the least-privilege rule fires too.
    assert {(p["policy"], p["level"]) for p in policies} == {("lighthouse-delegable-roles", "mandatory"),
                                                             ("lighthouse-least-privilege", "mandatory")}
    assert len(policies) == 4  # each rule once per definition, one definition per subscription
    assert "`lighthouse-delegable-roles`" in md.read_text()


def test_a_diagnostic_setting_aimed_elsewhere_makes_plan_exit_1(run_cli, monkeypatch: pytest.MonkeyPatch):
    # The guardrail's context is the platform config's workspace; a program sending elsewhere is stopped.
    other = "/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg-x/providers/Microsoft.OperationalInsights/workspaces/law-x"
    real = rules.context_from_config
    monkeypatch.setattr(rules, "context_from_config", lambda loaded: rules.PolicyContext(other, real(loaded).workspace_location))
    code, stdout, _ = run_cli(["plan", "fabrikam", "--quiet"])
    assert code == 1
    assert stdout.count("mandatory guardrail failed: diagnostic-settings-to-mssp-workspace") == 3


def test_a_stack_config_with_a_credential_in_a_static_header_makes_plan_exit_1(run_cli, stack_doc, write_stack):
    # Valid config (static webhook headers are allowed), but a credential in one would sit in plain text
    # in the workflow definition: the mandatory guardrail stops the plan and names itself.
    doc = stack_doc("mssp")
    doc["config"]["mssp-sentinel:platform"]["itsm"] = {
        "kind": "webhook", "allowedHosts": ["itsm.example.net"],
        "webhook": {"url": "https://itsm.example.net/events", "extraHeaders": {"X-Source": "Bearer abcdefghijklmnopqrstuvwxyz012345"}},
    }
    code, stdout, err = run_cli(["plan", "mssp", "--config", str(write_stack(doc, "mssp")), "--quiet"])
    assert code == 1, err
    assert "mandatory guardrail failed: workflow-no-credentials" in stdout
    assert "Traceback" not in stdout + err


def test_harmless_static_headers_pass(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    doc["config"]["mssp-sentinel:platform"]["itsm"] = {
        "kind": "webhook", "allowedHosts": ["itsm.example.net"],
        "webhook": {"url": "https://itsm.example.net/events", "extraHeaders": {"X-Source": "mssp-sentinel"}},
    }
    code, stdout, err = run_cli(["plan", "mssp", "--config", str(write_stack(doc, "mssp")), "--quiet"])
    assert code == 0, stdout + err
