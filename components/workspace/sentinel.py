"""CustomerWorkspace: a customer-mode customer's own Log Analytics workspace with Microsoft Sentinel.

In the customer topology (components.config.topology, docs/topologies.md) the customer's logs stay in
its own tenant, region and bill, in a workspace the MSSP manages through Azure Lighthouse:
- the workspace's resource group, delegated to the MSSP on its own (a registration definition and
  assignment at resource-group scope): the deploy identity holds what creating and maintaining the
  workspace and its Sentinel content needs, the read-only identity Reader, the SOC's groups the Sentinel
  roles the config lists. In Lighthouse deploy mode the customer-tenant Owner creates the group and its
  delegation here; in template mode the customer deploys them (`mssp template`) and this creates neither;
- the Log Analytics workspace (PerGB2018, retention and daily cap from config), created by the MSSP
  identity through the delegation;
- Microsoft Sentinel on it: the onboarding state `default` (securityinsights onboardingStates).

The resource group, the workspace and its onboarding state are retained on delete unless the config records
a reviewed decision to delete them (workspace.onOffboard: delete, deleteDecision): offboarding a customer
must not silently destroy its logs. Shapes: Azure/azure-rest-api-specs operationalinsights
Workspaces.json (2023-09-01, what azure-native 3.29 sends), securityinsights OnboardingStates.json
(2024-09-01); ARM schema 2022-10-01 Microsoft.ManagedServices for the delegation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_azure_native as azure_native

from components.config.customer import CustomerConfig
from components.facts import naming, roles

T = TypeVar("T")

# What the deploy identity holds on the workspace's resource group, and why (nothing on any other scope):
# - Log Analytics Contributor: create and update the workspace and its tables
#   (Microsoft.OperationalInsights/workspaces/write, .../tables/write; no Sentinel or monitoring role has them:
#   MicrosoftDocs azure-monitor-docs articles/azure-monitor/logs/manage-access.md, data-retention-configure.md);
#   it also writes VM extensions and lists storage keys, which is why the resource group holds the workspace
#   alone and the grant is acknowledged by name in the plan (lighthouseAcknowledgements);
# - Microsoft Sentinel Contributor: the onboarding state and the Sentinel content (Microsoft.SecurityInsights/*);
# Not the Managed Services Registration assignment Delete Role (issue 20): the platform's offboarding group (people)
# holds it; `pulumi destroy` removes the delegation with the customer-Owner provider.
WORKSPACE_DEPLOY_ROLES: tuple[roles.Role, ...] = (
    roles.LOG_ANALYTICS_CONTRIBUTOR,
    roles.BY_NAME["microsoft sentinel contributor"],
)
WORKSPACE_SKU = "PerGB2018"  # the pay-as-you-go tier Microsoft Sentinel runs on
ONBOARDING_STATE_NAME = "default"  # "Supports - default" (OnboardingStates.json, SentinelOnboardingStateName)


def deploy_role_acknowledgement(customer: CustomerConfig) -> str:
    """Why the deploy identity holds Log Analytics Contributor (a broad role) on the workspace's resource group."""
    return (f"creates and maintains the customer's Log Analytics workspace {customer.workspace.name} in resource group "
            f"{customer.workspace.resource_group}, which holds that workspace only")


def workspace_definition_properties(
    customer: CustomerConfig, managing_tenant_id: str, mssp_principal_id: T, mssp_principal_name: str,
    read_only_principal_id: T | None = None, read_only_principal_name: str | None = None,
    offboarding_group: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The workspace resource group's registration definition `properties`, in ARM's camelCase. `offboarding_group`:
    (object id, name) of the MSSP group holding the Registration assignment Delete Role (platform.offboardingGroup)."""
    ws = customer.workspace
    authorizations: list[dict[str, Any]] = [
        {"principalId": mssp_principal_id, "principalIdDisplayName": mssp_principal_name, "roleDefinitionId": role.guid}
        for role in WORKSPACE_DEPLOY_ROLES
    ]
    if read_only_principal_id is not None:
        authorizations += [
            {"principalId": read_only_principal_id, "principalIdDisplayName": read_only_principal_name or "read-only",
             "roleDefinitionId": role.guid}
            for role in roles.READ_ONLY_ROLES
        ]
    if offboarding_group is not None:
        authorizations.append({"principalId": offboarding_group[0], "principalIdDisplayName": offboarding_group[1],
                               "roleDefinitionId": roles.REGISTRATION_DELETE.guid})
    authorizations += [
        {"principalId": auth.principal_id, "principalIdDisplayName": auth.display_name, "roleDefinitionId": auth.role}
        for auth in ws.authorizations
    ]
    return {
        "registrationDefinitionName": f"{customer.lighthouse.offer_name} - Sentinel workspace",
        "description": (f"Lets the MSSP run Microsoft Sentinel for {customer.display_name} on workspace {ws.name} "
                        f"(resource group {ws.resource_group} only)."),
        "managedByTenantId": managing_tenant_id,
        "authorizations": authorizations,
    }


def _snake(value: Any) -> Any:
    from components.lighthouse.delegation import _snake as snake

    return snake(value)


@dataclass(frozen=True)
class CustomerWorkspaceArgs:
    customer: CustomerConfig
    managing_tenant_id: str
    mssp_principal_id: pulumi.Input[str]
    mssp_principal_name: str
    # Signed in as the MSSP identity, in the workspace's subscription (through the delegation).
    mssp_provider: azure_native.Provider
    # Signed in as a customer-tenant Owner of the workspace's subscription (Lighthouse deploy mode only).
    admin_provider: azure_native.Provider | None = None
    read_only_principal_id: pulumi.Input[str] | None = None
    read_only_principal_name: str | None = None
    offboarding_group: tuple[str, str] | None = None  # platform.offboardingGroup: (object id, name)


class CustomerWorkspace(pulumi.ComponentResource):
    workspace: azure_native.operationalinsights.Workspace
    workspace_id: pulumi.Output[str]

    def __init__(self, name: str, args: CustomerWorkspaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mssp:workspace:CustomerWorkspace", name, None, opts)
        customer = args.customer
        ws = customer.workspace
        assert ws.customer_mode and ws.subscription_id and ws.resource_group and ws.name and ws.location
        # The customer's logs: kept when the program stops managing them (offboarding's `pulumi destroy` forgets them,
        # Azure keeps them, with the data, for the customer), unless deleting is the reviewed decision. Retained, not
        # protected: a protected resource would make that destroy fail, and a replace (a new name or region) keeps
        # the old workspace too; the diff's table-or-dcr-replace advisory names any replace of it.
        kept = pulumi.ResourceOptions(retain_on_delete=ws.on_offboard == "retain")
        depends_on: list[pulumi.Resource] = []
        if args.admin_provider is not None:
            admin = pulumi.ResourceOptions(parent=self, provider=args.admin_provider)
            group = azure_native.resources.ResourceGroup(
                f"{name}-resource-group",
                resource_group_name=ws.resource_group,
                location=ws.location,
                opts=pulumi.ResourceOptions.merge(admin, kept),
            )
            scope = ws.resource_group_id
            definition = azure_native.managedservices.RegistrationDefinition(
                f"{name}-definition",
                registration_definition_id=naming.workspace_definition_guid(
                    args.managing_tenant_id, customer.tenant_id, ws.subscription_id, ws.resource_group),
                scope=scope,
                properties=_snake(workspace_definition_properties(
                    customer, args.managing_tenant_id, args.mssp_principal_id, args.mssp_principal_name,
                    args.read_only_principal_id, args.read_only_principal_name, args.offboarding_group)),
                opts=pulumi.ResourceOptions.merge(admin, pulumi.ResourceOptions(depends_on=[group])),
            )
            assignment = azure_native.managedservices.RegistrationAssignment(
                f"{name}-assignment",
                registration_assignment_id=naming.workspace_assignment_guid(
                    args.managing_tenant_id, customer.tenant_id, ws.subscription_id, ws.resource_group),
                scope=scope,
                properties={"registration_definition_id": definition.id},
                opts=admin,
            )
            depends_on = [assignment]
        mssp = pulumi.ResourceOptions(parent=self, provider=args.mssp_provider, depends_on=depends_on)
        capping = ({"daily_quota_gb": int(ws.daily_quota_gb) if float(ws.daily_quota_gb).is_integer() else ws.daily_quota_gb}
                   if ws.daily_quota_gb is not None else None)
        self.workspace = azure_native.operationalinsights.Workspace(
            f"{name}-workspace",
            workspace_name=ws.name,
            resource_group_name=ws.resource_group,
            location=ws.location,
            sku={"name": WORKSPACE_SKU},
            retention_in_days=ws.retention,
            workspace_capping=capping,
            opts=pulumi.ResourceOptions.merge(mssp, kept),
        )
        self.onboarding = azure_native.securityinsights.SentinelOnboardingState(
            f"{name}-sentinel",
            sentinel_onboarding_state_name=ONBOARDING_STATE_NAME,
            resource_group_name=ws.resource_group,
            workspace_name=self.workspace.name,
            opts=pulumi.ResourceOptions.merge(mssp, kept),
        )
        self.workspace_id = self.workspace.id
        self.register_outputs({"workspaceId": self.workspace.id, "onboardingStateId": self.onboarding.id})


# Template mode: what the customer deploys for the workspace (`mssp template`), one subscription-scope deployment
# in the workspace's subscription: the resource group, the registration definition, and (nested, at the resource
# group) its assignment, as Azure/Azure-Lighthouse-samples' resource-group delegation does. Shapes: ARM
# subscriptionDeploymentTemplate 2018-05-01; Microsoft.Resources 2021-04-01 (resourceGroups, deployments);
# Microsoft.ManagedServices 2022-10-01.
RESOURCES_API = "2021-04-01"
DEPLOYMENT_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def workspace_arm_template(customer: CustomerConfig, managing_tenant_id: str, mssp_principal_name: str,
                           read_only_principal_name: str | None = None,
                           offboarding_group: tuple[str, str] | None = None) -> dict[str, Any]:
    """The workspace resource group and its delegation as one template; principal ids are parameters, as in the
    subscriptions' template (components.lighthouse.template)."""
    from components.lighthouse.template import (
        MANAGED_SERVICES_API,
        PRINCIPAL_PARAMETER,
        READ_ONLY_PARAMETER,
        TEMPLATE_SCHEMA,
    )

    ws = customer.workspace
    assert ws.customer_mode and ws.subscription_id and ws.resource_group and ws.location
    props = workspace_definition_properties(
        customer, managing_tenant_id, f"[parameters('{PRINCIPAL_PARAMETER}')]", mssp_principal_name,
        f"[parameters('{READ_ONLY_PARAMETER}')]" if read_only_principal_name else None, read_only_principal_name,
        offboarding_group)
    definition = naming.workspace_definition_guid(managing_tenant_id, customer.tenant_id, ws.subscription_id,
                                                  ws.resource_group)
    assignment = naming.workspace_assignment_guid(managing_tenant_id, customer.tenant_id, ws.subscription_id,
                                                  ws.resource_group)
    definition_id = f"[subscriptionResourceId('Microsoft.ManagedServices/registrationDefinitions', '{definition}')]"
    parameters = {PRINCIPAL_PARAMETER: {"type": "string", "metadata": {
        "description": "Object id of the MSSP's service principal in the MSSP tenant"}}}
    if read_only_principal_name:
        parameters[READ_ONLY_PARAMETER] = {"type": "string", "metadata": {
            "description": "Object id of the MSSP's read-only service principal (previews, drift)"}}
    return {
        "$schema": TEMPLATE_SCHEMA,
        "contentVersion": "1.0.0.0",
        "metadata": {"description": f"The Microsoft Sentinel workspace resource group of {customer.display_name}, "
                                    "delegated to the MSSP with Azure Lighthouse (mssp-sentinel)"},
        "parameters": parameters,
        "resources": [
            {"type": "Microsoft.Resources/resourceGroups", "apiVersion": RESOURCES_API, "name": ws.resource_group,
             "location": ws.location},
            {"type": "Microsoft.ManagedServices/registrationDefinitions", "apiVersion": MANAGED_SERVICES_API,
             "name": definition, "properties": props},
            {"type": "Microsoft.Resources/deployments", "apiVersion": RESOURCES_API,
             "name": "mssp-sentinel-workspace-delegation", "resourceGroup": ws.resource_group,
             "dependsOn": [f"[subscriptionResourceId('Microsoft.Resources/resourceGroups', '{ws.resource_group}')]",
                           definition_id],
             "properties": {"mode": "Incremental", "template": {
                 "$schema": DEPLOYMENT_SCHEMA, "contentVersion": "1.0.0.0",
                 "resources": [{"type": "Microsoft.ManagedServices/registrationAssignments",
                                "apiVersion": MANAGED_SERVICES_API, "name": assignment,
                                "properties": {"registrationDefinitionId": definition_id}}]}}},
        ],
    }
