"""The customer topology through the offline plan (the real program under mocks): what is created, through
which identity, with which roles, kept on offboarding, and valid against Microsoft's schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT_DIR, by_type, example_manifest
from schema_util import errors

from components.config import load_stack
from components.config.topology import WORKSPACE_SOC_ROLES
from components.facts import roles
from mssp.plan.command import build_manifest

WORKSPACE = "azure-native:operationalinsights:Workspace"
ONBOARDING = "azure-native:securityinsights:SentinelOnboardingState"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
DEFINITION = "azure-native:managedservices:RegistrationDefinition"
ASSIGNMENT = "azure-native:managedservices:RegistrationAssignment"
DIAG = "azure-native:monitor:DiagnosticSetting"
SUB_DIAG = "azure-native:monitor:SubscriptionDiagnosticSetting"
OPERATIONAL_INSIGHTS = "arm-schema_2022-10-01_Microsoft.OperationalInsights.json"
MANAGED_SERVICES = "arm-schema_2022-10-01_Microsoft.ManagedServices.json"
ONBOARDING_SPEC = Path(__file__).parents[2] / "fixtures" / "rest-specs" / "securityinsights_2024-09-01_OnboardingStates.json"

# What the deploy identity needs on the workspace's resource group, by name (issue #26: creating the workspace
# needs workspaces/write, only in Log Analytics Contributor; Sentinel's onboarding state and content need
# Microsoft.SecurityInsights/*). Not the delete role (issue 20): the platform's offboarding group, people, holds it.
# Written out here, not taken from the component, so a change to the component's role list fails this test.
DEPLOY_ROLES_ON_WORKSPACE = {"Log Analytics Contributor", "Microsoft Sentinel Contributor"}


def customer(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["mssp-sentinel:customer"]


def plan_doc(doc: dict[str, Any], write_stack, stack: str = "northwind") -> dict[str, Any]:
    return build_manifest(stack, PROJECT_DIR, write_stack(doc))


def grants(definition: dict[str, Any]) -> set[tuple[str, str]]:
    """(principal display name, role name) of a definition's permanent authorizations."""
    return {(a["principalIdDisplayName"], roles.BY_GUID[a["roleDefinitionId"]].name)
            for a in definition["inputs"]["properties"]["authorizations"]}


def workspace_definition(m: dict[str, Any]) -> dict[str, Any]:
    [d] = [d for d in by_type(m, DEFINITION) if "/resourceGroups/" in d["inputs"]["scope"]]
    return d


def test_customer_mode_creates_the_workspace_sentinel_and_its_delegation():
    m = example_manifest("northwind")
    ws = load_stack("northwind", PROJECT_DIR).customer.workspace
    [workspace] = by_type(m, WORKSPACE)
    assert workspace["inputs"] == {"location": ws.location, "resourceGroupName": ws.resource_group,
                                   "workspaceName": ws.name, "retentionInDays": ws.retention_in_days,
                                   "sku": {"name": "PerGB2018"}, "workspaceCapping": {"dailyQuotaGb": 20}}
    [onboarding] = by_type(m, ONBOARDING)
    assert onboarding["inputs"] == {"resourceGroupName": ws.resource_group, "workspaceName": ws.name,
                                    "sentinelOnboardingStateName": "default"}
    [group] = by_type(m, RESOURCE_GROUP)
    assert group["inputs"] == {"resourceGroupName": ws.resource_group, "location": ws.location}
    scope = f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}"
    assert workspace_definition(m)["inputs"]["scope"] == scope
    assert [a["inputs"]["scope"] for a in by_type(m, ASSIGNMENT) if "/resourceGroups/" in a["inputs"]["scope"]] == [scope]
    # The workspace is created by the MSSP identity through the delegation, the group by the customer's Owner.
    assert workspace["provider"] == onboarding["provider"] == f"forward-{ws.subscription_id}"
    assert group["provider"] == workspace_definition(m)["provider"] == f"customer-admin-{ws.subscription_id}"


def test_every_setting_of_a_customer_mode_customer_goes_to_its_own_workspace():
    m = example_manifest("northwind")
    own = load_stack("northwind", PROJECT_DIR).customer.workspace.resource_id
    settings = by_type(m, DIAG) + by_type(m, SUB_DIAG)
    assert settings and {s["inputs"]["workspaceId"] for s in settings} == {own}
    assert m["outputs"]["logStorage"]["workspaceResourceId"] == own
    assert m["outputs"]["logStorage"]["region"] == "northeurope"


def test_the_roles_granted_are_exactly_what_customer_mode_needs():
    m = example_manifest("northwind")
    loaded = load_stack("northwind", PROJECT_DIR)
    deploy = loaded.platform.identity.display_name
    reader = loaded.platform.read_only_identity.display_name
    soc = {(a.display_name, a.role_name) for a in loaded.customer.workspace.authorizations}
    group = loaded.platform.offboarding_group.display_name
    assert grants(workspace_definition(m)) == ({(deploy, r) for r in DEPLOY_ROLES_ON_WORKSPACE} | {(reader, "Reader")}
                                                | {(group, "Managed Services Registration assignment Delete Role")}
                                                | soc)
    # The subscriptions' delegation is the central mode's: the workspace roles are on the workspace's group only.
    for d in by_type(m, DEFINITION):
        if d is workspace_definition(m) or "/resourceGroups/" in d["inputs"]["scope"]:
            continue
        names = {role for _who, role in grants(d)}
        assert "Log Analytics Contributor" not in names and "Microsoft Sentinel Contributor" not in names
    # Nothing Lighthouse refuses, and the one broad role is named for the guardrail and every diff.
    for d in by_type(m, DEFINITION):
        for a in d["inputs"]["properties"]["authorizations"]:
            assert roles.BY_GUID[a["roleDefinitionId"]].delegable is roles.Delegable.YES
    assert m["outputs"]["lighthouseAcknowledgements"] == {
        f"{deploy} / Log Analytics Contributor": m["outputs"]["lighthouseAcknowledgements"][f"{deploy} / Log Analytics Contributor"]}
    assert not [p for p in m["policies"] if p["level"] == "mandatory"]


def test_central_mode_grants_no_workspace_role_and_creates_no_workspace(stack_doc, write_stack):
    doc = stack_doc("northwind")
    del customer(doc)["workspace"]
    m = plan_doc(doc, write_stack)
    assert not by_type(m, WORKSPACE) and not by_type(m, ONBOARDING) and not by_type(m, RESOURCE_GROUP)
    assert all("/resourceGroups/" not in d["inputs"]["scope"] for d in by_type(m, DEFINITION))
    for d in by_type(m, DEFINITION):
        assert not {r for _w, r in grants(d)} & {"Log Analytics Contributor", "Microsoft Sentinel Contributor"}
    assert "lighthouseAcknowledgements" in m["outputs"] and not m["outputs"]["lighthouseAcknowledgements"]
    mssp = load_stack("mssp", PROJECT_DIR).platform.workspace_id
    assert {s["inputs"]["workspaceId"] for s in by_type(m, DIAG) + by_type(m, SUB_DIAG)} == {mssp}


def test_soc_roles_on_the_workspace_come_only_from_the_config(stack_doc, write_stack):
    doc = stack_doc("northwind")
    customer(doc)["workspace"]["authorizations"] = [
        {"principalId": "5e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091", "displayName": "SOC Analysts",
         "role": "Microsoft Sentinel Reader"}]
    m = plan_doc(doc, write_stack)
    soc = {g for g in grants(workspace_definition(m)) if g[0] == "SOC Analysts"}
    assert soc == {("SOC Analysts", "Microsoft Sentinel Reader")}


def test_the_workspace_is_kept_on_offboarding_unless_a_reviewed_decision_says_delete(stack_doc, write_stack):
    from mssp.offboard.runbook import build_runbook

    kept = example_manifest("northwind")
    platform = example_manifest("mssp")
    for t in (WORKSPACE, ONBOARDING, RESOURCE_GROUP):
        [r] = by_type(kept, t)
        # Retained, not protected: a protected resource would make offboarding's `pulumi destroy` fail.
        assert r["options"]["retainOnDelete"] is True and r["options"]["protect"] is False, t
    assert kept["outputs"]["logStorage"]["onOffboard"] == "retain"
    book = build_runbook(kept, platform, platform["outputs"]["tenantId"])
    disposition = {r["type"]: r["disposition"] for r in book["resources"]}
    assert disposition[WORKSPACE] == disposition[ONBOARDING] == disposition[RESOURCE_GROUP] == "retained"
    assert any("law-northwind-sentinel" in s["what"] and "retained" in s["reason"] for s in book["stays"])
    assert any("Defender portal" in step["step"] for step in book["customerSteps"])
    doc = stack_doc("northwind")
    customer(doc)["workspace"] |= {"onOffboard": "delete", "deleteDecision": "CAB-4711: Jane Doe for Northwind, 2026-12-01"}
    deleted = plan_doc(doc, write_stack)
    for t in (WORKSPACE, ONBOARDING, RESOURCE_GROUP):
        [r] = by_type(deleted, t)
        assert r["options"]["protect"] is False and r["options"]["retainOnDelete"] is False, t
    assert deleted["outputs"]["logStorage"]["deleteDecision"].startswith("CAB-4711")
    book = build_runbook(deleted, platform, platform["outputs"]["tenantId"])
    assert {r["disposition"] for r in book["resources"] if r["type"] in (WORKSPACE, ONBOARDING, RESOURCE_GROUP)} == {"deleted"}
    assert any("CAB-4711" in s["reason"] for s in book["stays"])


def test_template_mode_creates_nothing_with_customer_credentials(stack_doc, write_stack):
    doc = stack_doc("northwind")
    customer(doc)["lighthouse"]["mode"] = "template"
    m = plan_doc(doc, write_stack)
    assert not by_type(m, DEFINITION) and not by_type(m, ASSIGNMENT) and not by_type(m, RESOURCE_GROUP)
    assert not [r for r in m["resources"] if (r["provider"] or "").startswith("customer-admin")]
    [workspace] = by_type(m, WORKSPACE)
    assert workspace["provider"].startswith("forward-")
    assert not [p for p in m["policies"] if p["level"] == "mandatory"]


def test_the_workspace_matches_the_operational_insights_schema():
    assert errors(OPERATIONAL_INSIGHTS, "#/resourceDefinitions/workspaces", {"name": "x"})  # the check can fail
    [w] = by_type(example_manifest("northwind"), WORKSPACE)
    inputs = w["inputs"]
    body = {"name": inputs["workspaceName"], "type": "Microsoft.OperationalInsights/workspaces", "apiVersion": "2022-10-01",
            "location": inputs["location"],
            "properties": {k: v for k, v in inputs.items() if k not in ("workspaceName", "resourceGroupName", "location")}}
    assert errors(OPERATIONAL_INSIGHTS, "#/resourceDefinitions/workspaces", body) == []


def test_the_workspace_delegation_matches_the_managed_services_schema():
    m = example_manifest("northwind")
    d = workspace_definition(m)
    assert errors(MANAGED_SERVICES, "#/definitions/RegistrationDefinitionProperties", d["inputs"]["properties"]) == []
    for a in by_type(m, ASSIGNMENT):
        assert errors(MANAGED_SERVICES, "#/definitions/RegistrationAssignmentProperties", a["inputs"]["properties"]) == []


def test_the_onboarding_state_uses_the_rest_spec_names():
    spec = json.loads(ONBOARDING_SPEC.read_text())
    [path] = [p for p in spec["paths"] if p.endswith("/onboardingStates/{sentinelOnboardingStateName}")]
    names = set(re.findall(r"{(\w+)}", path)) | set(spec["definitions"]["SentinelOnboardingStateProperties"]["properties"])
    assert "Supports - default" in spec["parameters"]["SentinelOnboardingStateName"]["description"]
    [o] = by_type(example_manifest("northwind"), ONBOARDING)
    assert set(o["inputs"]) <= names and o["inputs"]["sentinelOnboardingStateName"] == "default"


@pytest.mark.parametrize("stack", ["mssp", "contoso", "fabrikam", "northwind"])
def test_the_mixed_fleet_plans_cleanly(stack):
    # One fleet: two central customers (contoso, fabrikam) and a customer-mode one (northwind) on one platform.
    m = example_manifest(stack)
    assert not [p for p in m["policies"] if p["level"] == "mandatory"], m["policies"]
    if stack != "mssp":
        topology = m["outputs"].get("workspaceTopology", "central")
        assert topology == ("customer" if stack == "northwind" else "central")


def test_allowed_soc_roles_are_listed_in_the_docs():
    text = (PROJECT_DIR / "docs" / "topologies.md").read_text()
    for role in WORKSPACE_SOC_ROLES:
        assert role.name in text, role.name


def test_template_mode_exports_the_workspace_group_and_delegation_the_plan_reviews(run_cli, stack_doc, write_stack,
                                                                                   tmp_path):
    doc = stack_doc("northwind")
    customer(doc)["lighthouse"]["mode"] = "template"
    path = write_stack(doc, "northwind")
    deploy_id, reader_id = "6a256914-6252-544b-99f2-98195e83b59f", "8bf04397-2c0a-52f6-b11b-c1b1756bd5ee"
    code, _out, err = run_cli(["template", "northwind", "--config", str(path), "--out", str(tmp_path / "t"),
                               "--mssp-principal-id", deploy_id, "--read-only-principal-id", reader_id])
    assert code == 0, err
    template = json.loads((tmp_path / "t" / "workspace-template.json").read_text())
    params = json.loads((tmp_path / "t" / "workspace-parameters.json").read_text())["parameters"]
    by_type = {r["type"]: r for r in template["resources"]}
    ws = customer(doc)["workspace"]
    assert by_type["Microsoft.Resources/resourceGroups"]["name"] == ws["resourceGroup"]
    assert by_type["Microsoft.Resources/resourceGroups"]["location"] == ws["location"]
    props = by_type["Microsoft.ManagedServices/registrationDefinitions"]["properties"]
    assert errors(MANAGED_SERVICES, "#/definitions/RegistrationDefinitionProperties", props) == []
    nested = by_type["Microsoft.Resources/deployments"]
    assert nested["resourceGroup"] == ws["resourceGroup"]
    [assignment] = nested["properties"]["template"]["resources"]
    assert assignment["properties"]["registrationDefinitionId"].endswith(
        f"'{by_type['Microsoft.ManagedServices/registrationDefinitions']['name']}')]")
    # What the customer deploys is what the plan reviewed: the same authorizations once parameters are filled in.
    filled = [{**a, "principalId": params[a["principalId"][len("[parameters('"):-len("')]")]]["value"]
               if a["principalId"].startswith("[parameters(") else a["principalId"]} for a in props["authorizations"]]
    m = build_manifest("northwind", PROJECT_DIR, path)
    reviewed = m["review"]["workspaceDelegationTemplate"]["properties"]["authorizations"]
    assert sorted(map(json.dumps, filled)) == sorted(map(json.dumps, reviewed))
    assert {roles.BY_GUID[a["roleDefinitionId"]].name for a in filled if a["principalId"] == deploy_id} \
        == DEPLOY_ROLES_ON_WORKSPACE
