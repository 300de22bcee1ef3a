"""CustomerWorkspace built alone under Pulumi's mocks (testing/component_mocks.py): the customer's own
workspace and Sentinel, created through the MSSP's delegation; its resource group and delegation only with
the customer-tenant Owner's provider; the customer's logs kept unless deleting is a reviewed decision."""

from __future__ import annotations

from typing import Any

import pulumi_azure_native as azure_native

from components.config.customer import CustomerConfig
from components.facts import roles
from components.workspace.sentinel import WORKSPACE_DEPLOY_ROLES, CustomerWorkspace, CustomerWorkspaceArgs
from testing.component_mocks import Built, build

SUB, WS_SUB = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f", "3f405162-7c8d-4e9f-a0b1-2c3d4e5f6071"
MSSP_TENANT, CUSTOMER_TENANT = "11111111-2222-4333-8444-555555555555", "7a2b4c9d-0e1f-4a3b-82d5-6e7f8091a2b3"
MSSP_SP, SOC = "99999999-2222-4333-8444-555555555555", "5e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091"
WORKSPACE, ONBOARDING = "azure-native:operationalinsights:Workspace", "azure-native:securityinsights:SentinelOnboardingState"
GROUP, DEFINITION = "azure-native:resources:ResourceGroup", "azure-native:managedservices:RegistrationDefinition"
ASSIGNMENT = "azure-native:managedservices:RegistrationAssignment"


def customer(**workspace: Any) -> CustomerConfig:
    return CustomerConfig.model_validate({
        "name": "northwind", "displayName": "Northwind", "tenantId": CUSTOMER_TENANT, "platformStack": "mssp",
        "subscriptions": [{"id": SUB, "displayName": "Prod"}],
        "workspace": {"mode": "customer", "subscriptionId": WS_SUB, "resourceGroup": "rg-northwind-sentinel",
                      "name": "law-northwind-sentinel", "location": "northeurope", "retentionInDays": 180,
                      "dailyQuotaGb": 20,
                      "authorizations": [{"principalId": SOC, "displayName": "SOC Analysts",
                                          "role": "Microsoft Sentinel Responder"}],
                      **workspace},
        "forwarding": {"inventory": "stacks/inventories/northwind.yaml"},
    })


def built(config: CustomerConfig, owner: bool = True) -> Built[CustomerWorkspace]:
    def make() -> CustomerWorkspace:
        mssp = azure_native.Provider("customer-workspace", subscription_id=WS_SUB)
        admin = azure_native.Provider("customer-admin-workspace", subscription_id=WS_SUB) if owner else None
        return CustomerWorkspace("northwind-workspace", CustomerWorkspaceArgs(
            config, MSSP_TENANT, MSSP_SP, "mssp-identity", mssp, admin_provider=admin))
    return build(make)


def test_the_workspace_and_sentinel_are_created_through_the_mssp_delegation() -> None:
    graph = built(customer()).graph
    (ws,) = graph.of_type(WORKSPACE)
    (onboarding,) = graph.of_type(ONBOARDING)
    # Bug caught: the workspace created with the customer's Owner credentials instead of the delegation.
    assert ws.provider == onboarding.provider == "customer-workspace"
    assert (ws.inputs["workspaceName"], ws.inputs["resourceGroupName"], ws.inputs["location"]) == (
        "law-northwind-sentinel", "rg-northwind-sentinel", "northeurope")
    assert ws.inputs["retentionInDays"] == 180 and ws.inputs["workspaceCapping"] == {"dailyQuotaGb": 20}
    assert ws.inputs["sku"] == {"name": "PerGB2018"}
    assert onboarding.inputs["workspaceName"] == "law-northwind-sentinel"
    assert "northwind-workspace-assignment" in ws.depends_on  # the delegation exists before the MSSP writes


def test_the_resource_group_delegation_grants_only_the_workspace_roles_and_the_configured_soc_roles() -> None:
    graph = built(customer()).graph
    for kind in (GROUP, DEFINITION, ASSIGNMENT):
        (node,) = graph.of_type(kind)
        assert node.provider == "customer-admin-workspace", kind
    (definition,) = graph.of_type(DEFINITION)
    # Bug caught: the workspace delegated at subscription scope (every resource group of that subscription).
    assert definition.inputs["scope"] == f"/subscriptions/{WS_SUB}/resourceGroups/rg-northwind-sentinel"
    granted = {(a["principalId"], a["roleDefinitionId"]) for a in definition.inputs["properties"]["authorizations"]}
    assert granted == {(MSSP_SP, r.guid) for r in WORKSPACE_DEPLOY_ROLES} | {
        (SOC, roles.BY_NAME["microsoft sentinel responder"].guid)}


def test_without_the_owner_provider_nothing_is_created_with_customer_credentials() -> None:
    graph = built(customer(), owner=False).graph
    assert graph.of_type(GROUP) == graph.of_type(DEFINITION) == graph.of_type(ASSIGNMENT) == []
    assert {n.provider for n in graph.children_of("mssp:workspace:CustomerWorkspace")} == {"customer-workspace"}


def test_the_logs_are_kept_unless_deleting_is_the_reviewed_decision() -> None:
    kept = built(customer()).graph
    for kind in (WORKSPACE, ONBOARDING, GROUP):
        (node,) = kept.of_type(kind)
        # Retained, not protected: a protected resource would make offboarding's `pulumi destroy` fail.
        assert node.retain_on_delete and not node.protect, kind
    deleted = built(customer(onOffboard="delete", deleteDecision="CHG-1234: customer asked to delete its logs")).graph
    (ws,) = deleted.of_type(WORKSPACE)
    assert not ws.protect and not ws.retain_on_delete
