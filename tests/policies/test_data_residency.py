"""The mandatory guardrail data-residency and the customer-mode destination rule (policies/rules.py)."""

from __future__ import annotations

from typing import Any

import pytest

from policies import rules

MSSP_WS = "/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg-mssp/providers/Microsoft.OperationalInsights/workspaces/law-mssp"
OWN_WS = "/subscriptions/3f405162-7c8d-4e9f-a0b1-2c3d4e5f6071/resourceGroups/rg-own/providers/Microsoft.OperationalInsights/workspaces/law-own"


def resource(type_: str, name: str, **inputs: Any) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:s::p::{type_}::{name}", "type": type_, "name": name, "inputs": inputs,
            "options": {"protect": True, "retainOnDelete": True}, "custom": True}


def own_workspace(location: Any = "northeurope") -> dict[str, Any]:
    return resource(rules.WORKSPACE, "ws", workspaceName="law-own", resourceGroupName="rg-own", location=location)


def setting(workspace_id: Any, name: str = "diag") -> dict[str, Any]:
    return resource(rules.DIAGNOSTIC_SETTING, name, workspaceId=workspace_id, resourceUri="/subscriptions/x/r",
                    logs=[{"categoryGroup": "allLogs", "enabled": True}])


def residency(resources: list[dict[str, Any]], allowed: tuple[str, ...] | None, **ctx: Any) -> list[dict[str, str]]:
    context = rules.PolicyContext(workspace_resource_id=MSSP_WS, workspace_location="westeurope",
                                  allowed_regions=allowed, **ctx)
    return [r for r in rules.evaluate_manifest({"resources": resources, "outputs": {}}, context)
            if r["policy"] == "data-residency"]


def test_a_customer_workspace_outside_the_allowed_regions_is_refused():
    found = residency([own_workspace("eastus"), setting(OWN_WS)], ("northeurope", "westeurope"))
    assert [f["level"] for f in found] == ["mandatory"]
    assert "eastus" in found[0]["message"] and "northeurope, westeurope" in found[0]["message"]
    assert residency([own_workspace("northeurope"), setting(OWN_WS)], ("northeurope", "westeurope")) == []


@pytest.mark.parametrize("spelling", ["North Europe", "NorthEurope"])
def test_region_spellings_compare_as_arm_names(spelling):
    assert residency([own_workspace(spelling), setting(OWN_WS)], ("northeurope",)) == []


def test_the_central_workspace_outside_the_allowed_regions_is_refused():
    found = residency([setting(MSSP_WS, "a"), setting(MSSP_WS, "b")], ("northeurope",))
    assert len(found) == 1 and "2 diagnostic setting(s)" in found[0]["message"] and "westeurope" in found[0]["message"]
    assert residency([setting(MSSP_WS)], ("westeurope",)) == []


def test_a_destination_of_unknown_region_is_refused_not_assumed():
    found = residency([setting("/subscriptions/x/resourceGroups/y/providers/Microsoft.OperationalInsights/workspaces/z")],
                      ("westeurope",))
    assert len(found) == 1 and "cannot tell" in found[0]["message"]


def test_without_declared_residency_the_rule_says_nothing():
    assert residency([own_workspace("eastus"), setting("/elsewhere")], None) == []


def test_unknown_values_in_a_preview_are_skipped():
    assert residency([own_workspace(rules.UNKNOWN), setting(rules.UNKNOWN)], ("westeurope",)) == []


def test_customer_mode_settings_must_go_to_the_customer_workspace():
    ctx = rules.PolicyContext(workspace_resource_id=MSSP_WS, customer_workspace_resource_id=OWN_WS)
    view = rules.ResourceView(type=rules.DIAGNOSTIC_SETTING, props={"workspaceId": MSSP_WS})
    assert "customer's own workspace" in rules.check_diagnostic_destination(view, ctx)[0]
    ok = rules.ResourceView(type=rules.DIAGNOSTIC_SETTING, props={"workspaceId": OWN_WS.upper()})
    assert rules.check_diagnostic_destination(ok, ctx) == []


def test_the_pack_reads_residency_from_its_config_or_the_environment():
    assert rules.pack_context({"allowedRegions": ["West Europe"]}, {}).allowed_regions == ("westeurope",)
    env = {rules.ENV_ALLOWED_REGIONS: "northeurope, westeurope", rules.ENV_CUSTOMER_WORKSPACE_RESOURCE_ID: OWN_WS}
    ctx = rules.pack_context({}, env)
    assert ctx.allowed_regions == ("northeurope", "westeurope") and ctx.customer_workspace_resource_id == OWN_WS
    assert rules.pack_context({}, {}).allowed_regions is None


def customer(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["mssp-sentinel:customer"]


def test_plan_refuses_a_customer_workspace_outside_its_residency(run_cli, stack_doc, write_stack):
    doc = stack_doc("northwind")
    customer(doc)["workspace"]["location"] = "eastus"
    code, out, _err = run_cli(["plan", "northwind", "--config", str(write_stack(doc)), "--quiet"])
    assert code == 1 and "mandatory guardrail failed: data-residency" in out and "eastus" in out


def test_plan_refuses_a_central_customer_whose_residency_excludes_the_mssp_region(run_cli, stack_doc, write_stack):
    doc = stack_doc("fabrikam")
    customer(doc)["dataResidency"] = {"allowedRegions": ["northeurope"]}
    code, out, _err = run_cli(["plan", "fabrikam", "--config", str(write_stack(doc)), "--quiet"])
    assert code == 1 and "data-residency" in out and "westeurope" in out
    customer(doc)["dataResidency"] = {"allowedRegions": ["westeurope"]}
    code, out, _err = run_cli(["plan", "fabrikam", "--config", str(write_stack(doc)), "--quiet"])
    assert code == 0, out
