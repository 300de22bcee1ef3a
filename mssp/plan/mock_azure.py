"""Offline stand-ins for what Azure and Entra would return, for the offline plan and the tests.

The offline plan runs the real program under Pulumi mocks. The engine would send each resource to
its provider and get back the created state; here `new_resource` answers instead, with ids shaped
like Azure's (ARM resource ids as in the REST API examples, Entra object ids as GUIDs) and derived
from the resource's URN, so two plans of the same stack are identical. Nothing here claims to be a
real Azure response: every value is marked as offline where a human could mistake it for one.

Per-type answers live in NEW_RESOURCE and CALLS (read-only tables of pure functions): to teach the
mocks a new type, add an entry there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import pulumi

from components.facts.pulumi_tokens import (
    APP_ROLE_ASSIGNMENT,
    APPLICATION,
    APPLICATION_PASSWORD,
    DATA_COLLECTION_RULE,
    DIAGNOSTIC_SETTING,
    REGISTRATION_ASSIGNMENT,
    REGISTRATION_DEFINITION,
    ROLE_ASSIGNMENT,
    ROLE_DEFINITION,
    SERVICE_PRINCIPAL,
    SUBSCRIPTION_DIAGNOSTIC_SETTING,
    TABLE,
    WORKFLOW,
)

# Namespace for the offline GUIDs (client ids, object ids); not a real tenant's anything.
_OFFLINE = uuid.UUID("a7e5c2f0-6b1d-5e8a-9c3f-0d4b2a1e7f60")


def offline_guid(*parts: str) -> str:
    return str(uuid.uuid5(_OFFLINE, "/".join(parts)))


def _arm_child(parent_key: str, provider_path: str, name_key: str) -> Callable[[pulumi.runtime.MockResourceArgs], dict]:
    """An ARM id `{inputs[parent_key]}/providers/{provider_path}/{inputs[name_key]}`."""

    def state(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        name = args.inputs.get(name_key) or args.name
        return {"id": f"{args.inputs.get(parent_key, '')}/providers/{provider_path}/{name}", "name": name}

    return state


def _subscription_setting(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    # The subscription is the provider's (subscriptionDiagnosticsSettings_API.json: PUT
    # /subscriptions/{subscriptionId}/providers/Microsoft.Insights/diagnosticSettings/{name}). Without it two
    # subscriptions' settings of the same name got one id; the real engine's `up` then failed "already exists".
    name = args.inputs.get("name") or args.name
    return {"id": f"/subscriptions/{_provider_subscription(args)}/providers/Microsoft.Insights/diagnosticSettings/{name}",
            "name": name}


def _entra_application(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    object_id = offline_guid("application", args.name)
    return {"id": f"/applications/{object_id}", "objectId": object_id, "clientId": offline_guid("client", args.name)}


def _entra_service_principal(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    object_id = offline_guid("service-principal", args.name)
    return {"id": f"/servicePrincipals/{object_id}", "objectId": object_id}


def _entra_password(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    key_id = offline_guid("password", args.name)
    return {"id": f"{args.inputs.get('applicationId')}/password/{key_id}", "keyId": key_id,
            "value": "offline-plan-placeholder-not-a-secret"}


def _provider_subscription(args: pulumi.runtime.MockResourceArgs) -> str:
    """The subscription of the resource's explicit azure-native provider (see _azure_provider), if known."""
    ref = args.provider or ""
    marker = "::offline-provider-subscription-"
    return ref.rsplit(marker, 1)[1] if marker in ref else "(from-provider)"


def _azure_provider(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    # The provider's id carries its subscription, so resources created through it can get ARM ids
    # with the right subscription (resources see their provider only as "<urn>::<id>").
    sub = args.inputs.get("subscriptionId")
    return {"id": f"offline-provider-subscription-{sub}"} if sub else {}


def _rg_child(provider_path: str, name_key: str) -> Callable[[pulumi.runtime.MockResourceArgs], dict]:
    """An ARM id in a resource group, in the subscription of the resource's provider (when it names one)."""

    def state(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        name = args.inputs.get(name_key) or args.name
        rg = args.inputs.get("resourceGroupName", "")
        return {"id": f"/subscriptions/{_provider_subscription(args)}/resourceGroups/{rg}/providers/{provider_path}/{name}",
                "name": name}

    return state


def _workspace_child(path: str, name_key: str) -> Callable[[pulumi.runtime.MockResourceArgs], dict]:
    """A workspace child id .../workspaces/{workspaceName}/{path}/{inputs[name_key]}."""

    def state(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        name = args.inputs.get(name_key) or args.name
        ws = _rg_child("Microsoft.OperationalInsights/workspaces", "workspaceName")(args)["id"]
        return {"id": f"{ws}/{path}/{name}", "name": name}

    return state


def _resource_group(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = args.inputs.get("resourceGroupName") or args.name
    return {"id": f"/subscriptions/{_provider_subscription(args)}/resourceGroups/{name}", "name": name}


def _workspace(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    # customerId: the workspace GUID queries and agents use (Workspaces.json WorkspaceProperties.customerId); offline.
    state = _rg_child("Microsoft.OperationalInsights/workspaces", "workspaceName")(args)
    return state | {"customerId": offline_guid("workspace", state["id"].lower())}


def _dcr_immutable_id(name: str) -> str:
    # Shaped like the REST example's "dcr-d2a09c11a66243009af059a655750000": "dcr-" + 32 hex digits.
    return "dcr-" + uuid.UUID(offline_guid("dcr", name)).hex


def _dcr_logs_ingestion(name: str) -> str:
    # Shaped like the REST example's endpoints.logsIngestion, marked offline in the host name.
    return f"https://{name.lower()}-offline.logs.z1.ingest.monitor.azure.com"


def _data_collection_rule(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    # Shape: Azure/azure-rest-api-specs monitor 2023-03-11 examples/DataCollectionRulesCreateEmbeddedDCE.json
    # (response: immutableId, endpoints.logsIngestion/metricsIngestion, kind Direct).
    state = _rg_child("Microsoft.Insights/dataCollectionRules", "dataCollectionRuleName")(args)
    name = state["name"]
    state.update({
        "immutableId": _dcr_immutable_id(name),
        "endpoints": {"logsIngestion": _dcr_logs_ingestion(name),
                      "metricsIngestion": f"https://{name.lower()}-offline.metrics.z1.ingest.monitor.azure.com"},
        "provisioningState": "Succeeded",
    })
    return state


def _workflow(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    # A system-assigned identity's principalId is known only after creation (Microsoft.Logic/workflows
    # response, identity.principalId): an offline GUID stands in for it.
    state = _rg_child("Microsoft.Logic/workflows", "workflowName")(args)
    identity = dict(args.inputs.get("identity") or {})
    if identity.get("type") == "SystemAssigned":
        identity["principalId"] = offline_guid("workflow-identity", args.name)
    return {**state, "identity": identity}


def _generic_resource(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    inputs = args.inputs
    parent = f"{inputs['parentResourcePath']}/" if inputs.get("parentResourcePath") else ""
    name = inputs.get("resourceName") or args.name
    state: dict[str, Any] = {
        "id": f"/subscriptions/{_provider_subscription(args)}/resourceGroups/{inputs.get('resourceGroupName', '')}/"
              f"providers/{inputs.get('resourceProviderNamespace', '')}/{parent}{inputs.get('resourceType', '')}/{name}",
        "name": name}
    if (inputs.get("resourceProviderNamespace"), inputs.get("resourceType")) == ("Microsoft.Insights",
                                                                                  "dataCollectionRules"):
        # Shape: Azure/azure-rest-api-specs monitor 2023-03-11 examples/DataCollectionRulesCreateEmbeddedDCE.json
        # (response: immutableId, endpoints.logsIngestion/metricsIngestion, kind Direct).
        state.update({"kind": inputs.get("kind"), "properties": {
            **dict(inputs.get("properties") or {}),
            "immutableId": _dcr_immutable_id(name),
            "endpoints": {"logsIngestion": _dcr_logs_ingestion(name),
                          "metricsIngestion": f"https://{name.lower()}-offline.metrics.z1.ingest.monitor.azure.com"},
            "provisioningState": "Succeeded"}})
    return state


def _automation_rule(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    state = _rg_child(f"Microsoft.OperationalInsights/workspaces/{args.inputs.get('workspaceName', '')}/providers/"
                      "Microsoft.SecurityInsights/automationRules", "automationRuleId")(args)
    return state


def _app_role_assignment(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"id": f"/servicePrincipals/{args.inputs.get('resourceObjectId', '')}/appRoleAssignedTo/"
                  f"{offline_guid('app-role-assignment', args.name)}"}


# Well-known app roles the program resolves by name from a service principal's `app_role_ids`.
# SecurityIncident.Read.All on Microsoft Graph: see components/itsm/sync.py for the source.
_APP_ROLE_IDS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "00000003-0000-0000-c000-000000000000": MappingProxyType({
        "SecurityIncident.Read.All": "45cc0394-e837-488b-a098-1918f48d186c"}),
})


def _get_service_principal(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    # Shape: pulumi-azuread getServicePrincipal result (objectId, clientId, appRoleIds); ids are offline.
    client_id = args.args.get("clientId") or offline_guid("client", str(args.args.get("displayName")))
    object_id = offline_guid("service-principal", client_id)
    return {"id": object_id, "objectId": object_id, "clientId": client_id,
            "displayName": args.args.get("displayName") or f"(offline) {client_id}",
            "appRoleIds": dict(_APP_ROLE_IDS.get(client_id, {}))}


NEW_RESOURCE: Mapping[str, Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]]] = MappingProxyType({
    DIAGNOSTIC_SETTING: _arm_child("resourceUri", "Microsoft.Insights/diagnosticSettings", "name"),
    SUBSCRIPTION_DIAGNOSTIC_SETTING: _subscription_setting,
    REGISTRATION_DEFINITION: _arm_child(
        "scope", "Microsoft.ManagedServices/registrationDefinitions", "registrationDefinitionId"),
    REGISTRATION_ASSIGNMENT: _arm_child(
        "scope", "Microsoft.ManagedServices/registrationAssignments", "registrationAssignmentId"),
    ROLE_ASSIGNMENT: _arm_child(
        "scope", "Microsoft.Authorization/roleAssignments", "roleAssignmentName"),
    # A custom role's id ends in its GUID (ARM: {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}),
    # so an assignment of it names the GUID the guardrail role-assignment-allowlist matches to the definition.
    ROLE_DEFINITION: _arm_child(
        "scope", "Microsoft.Authorization/roleDefinitions", "roleDefinitionId"),
    "pulumi:providers:azure-native": _azure_provider,
    TABLE: _workspace_child("tables", "tableName"),
    DATA_COLLECTION_RULE: _data_collection_rule,
    "azure-native:securityinsights:ScheduledAlertRule": _workspace_child(
        "providers/Microsoft.SecurityInsights/alertRules", "ruleId"),
    APPLICATION: _entra_application,
    SERVICE_PRINCIPAL: _entra_service_principal,
    APPLICATION_PASSWORD: _entra_password,
    APP_ROLE_ASSIGNMENT: _app_role_assignment,
    WORKFLOW: _workflow,
    "azure-native:resources:Resource": _generic_resource,
    "azure-native:securityinsights:AutomationRule": _automation_rule,
    # A customer-mode customer's own workspace (components.workspace.sentinel): ARM ids in the provider's subscription.
    "azure-native:resources:ResourceGroup": _resource_group,
    "azure-native:operationalinsights:Workspace": _workspace,
    "azure-native:securityinsights:SentinelOnboardingState": _workspace_child(
        "providers/Microsoft.SecurityInsights/onboardingStates", "sentinelOnboardingStateName"),
})

def _get_resource(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    """resources.getResource: only data collection rules are read back (their 2023-03-11 endpoints)."""
    a = args.args
    if (a.get("resourceProviderNamespace"), a.get("resourceType")) != ("Microsoft.Insights", "dataCollectionRules"):
        raise NotImplementedError(f"the offline plan reads only data collection rules with getResource, not {a}")
    name = a.get("resourceName", "")
    return {
        "id": f"/subscriptions/(from-provider)/resourceGroups/{a.get('resourceGroupName')}/providers/"
              f"Microsoft.Insights/dataCollectionRules/{name}",
        "name": name,
        "type": "Microsoft.Insights/dataCollectionRules",
        "kind": "Direct",
        "properties": {"immutableId": _dcr_immutable_id(name),
                       "endpoints": {"logsIngestion": _dcr_logs_ingestion(name)}},
    }


def _trigger_callback_url(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    # Shape of Logic Apps' listCallbackUrl response (WorkflowTriggerCallbackUrl: value, method, basePath,
    # queries{api-version, sp, sv, sig}); the host and the signature say offline, so nobody mistakes it.
    trigger = args.args.get("triggerName", "manual")
    workflow = offline_guid("workflow", str(args.args.get("resourceGroupName")), str(args.args.get("workflowName")))
    base = f"https://prod-00.offline.logic.azure.com:443/workflows/{uuid.UUID(workflow).hex}/triggers/{trigger}/paths/invoke"
    queries = {"api-version": "2016-10-01", "sp": f"/triggers/{trigger}/run", "sv": "1.0",
               "sig": "offline-plan-placeholder-not-a-signature"}
    return {
        "value": f"{base}?api-version=2016-10-01&sp=%2Ftriggers%2F{trigger}%2Frun&sv=1.0&sig={queries['sig']}",
        "method": "POST",
        "basePath": base,
        "queries": queries,
    }


CALLS: Mapping[str, Callable[[pulumi.runtime.MockCallArgs], dict[str, Any]]] = MappingProxyType({
    "azure-native:resources:getResource": _get_resource,
    "azure-native:logic:listWorkflowTriggerCallbackUrl": _trigger_callback_url,
    "azuread:index/getServicePrincipal:getServicePrincipal": _get_service_principal,
})


class OfflineMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes offline; StackReferences read given outputs."""

    def __init__(self, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None):
        # Stack reference name -> outputs (e.g. the platform stack's own offline plan outputs).
        self._stack_outputs = dict(stack_outputs or {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if args.typ == "pulumi:pulumi:StackReference":
            ref = args.inputs.get("name", args.name)
            outputs = self._stack_outputs.get(ref) or self._stack_outputs.get(ref.rsplit("/", 1)[-1], {})
            return ref, {"name": ref, "outputs": dict(outputs), "secretOutputNames": []}
        state = dict(args.inputs)
        extra = NEW_RESOURCE.get(args.typ)
        if extra is not None:
            state.update(extra(args))
        state.setdefault("name", args.name)
        resource_id = state.pop("id", None) or f"offline-{args.name}"
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        handler = CALLS.get(args.token)
        if handler is None:
            raise NotImplementedError(f"the offline plan has no answer for invoke {args.token}; add one to mock_azure.CALLS")
        return handler(args)
