"""RedirectedIncidentSync: keeps the MSSP's ITSM in step when Defender merges ("redirects") incidents.

Created on the platform stack, in the MSSP tenant (docs/operations/itsm.md):
- the Sentinel API connection (`azuresentinel` managed API, managed-identity authentication) and the
  playbook, a Consumption Logic App with a system-assigned identity (definition: itsm_workflows);
- the automation rule on the MSSP workspace: incidents, when updated, a label was added and the labels
  contain Defender's "Redirected" tag: run the playbook;
- the Graph poller (optional), a Consumption Logic App on a recurrence;
- the permissions, each the narrowest that works: Microsoft Sentinel Automation Contributor for
  Sentinel's own service principal ("Azure Security Insights") on the playbook's resource group, so
  automation rules may run it; Microsoft Sentinel Responder for the playbook's identity on the
  workspace (read the incident, add the "synced" tag); the Graph application permission
  SecurityIncident.Read.All for each workflow identity (read `redirectIncidentId`; nothing is
  written to Defender); Key Vault Secrets User on the one secret when the credential lives in Key Vault.

The ITSM credential reaches the workflows only as the value of their `itsmCredential` securestring
parameter, as a Pulumi secret; the definitions never contain it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native
import pulumi_azuread as azuread

from components.config.itsm import ItsmConfig
from components.facts import naming, roles

# Well-known application ids (the same in every tenant), with their sources.
from components.facts.apps import AZURE_SECURITY_INSIGHTS_APP_ID, MICROSOFT_GRAPH_APP_ID
from components.itsm.workflows import (
    CONNECTION_KEY,
    CREDENTIAL_PARAMETER,
    REDIRECTED_TAGS,
    CredentialSource,
    playbook_definition,
    poller_definition,
)

# The Graph application permission the workflows need: read incidents (GET security/incidents[/{id}]).
# Source: microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/api/security-incident-get.md and
# security-list-incidents.md (Application: SecurityIncident.Read.All, least privileged).
GRAPH_APP_ROLE = "SecurityIncident.Read.All"
# Its app role id, only for the offline mocks and docs: the program resolves the id from Graph's service
# principal (`app_role_ids`) at deploy time, so a wrong constant here cannot grant the wrong role.
# Source: Graph service principal appRoles as listed in several public dumps (e.g. the Entra "first party
# permissions" tables); UNVERIFIED against Microsoft's permissions reference, which the index lacks.
GRAPH_APP_ROLE_ID_OFFLINE = "45cc0394-e837-488b-a098-1918f48d186c"
# Managed API connection and Logic Apps API facts: kind V1, parameterValueType Alternative (managed
# identity). Source: Azure/Azure-Sentinel Solutions/Servicenow/Playbooks/ServiceNow-CreateAndUpdateIncident/
# azuredeploy.json (Microsoft.Web/connections 2016-06-01); MicrosoftDocs/azure-docs
# articles/logic-apps/authenticate-with-managed-identity.md ("Single-authentication").
WEB_CONNECTIONS_API_VERSION = "2016-06-01"
SENTINEL_MANAGED_API = "azuresentinel"


@dataclass(frozen=True)
class RedirectedIncidentSyncArgs:
    itsm: ItsmConfig
    tenant_id: str
    subscription_id: str  # of the playbook's resource group
    resource_group: str  # where the workflows and the connection go (the platform resource group)
    location: str
    workspace_id: str
    workspace_subscription_id: str
    workspace_resource_group: str
    workspace_name: str
    arm_provider: azure_native.Provider
    entra_provider: azuread.Provider
    # The ITSM credential from secret config (None when it comes from Key Vault or is not needed).
    credential: pulumi.Output[str] | None = None
    # Provider for the workspace's subscription when it differs from the playbook's.
    workspace_provider: azure_native.Provider | None = None
    tags: dict[str, str] = field(default_factory=lambda: {"managed-by": "mssp-sentinel"})


def managed_api_id(subscription_id: str, location: str, api: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Web/locations/{location}/managedApis/{api}"


def automation_rule_conditions() -> list[dict[str, object]]:
    """The automation rule's conditions: a tag was added, and one of the incident's tags is Defender's
    `Redirected` (either spelling Microsoft uses: workflows.REDIRECTED_TAGS, with the sources)."""
    return [
        azure_native.securityinsights.PropertyArrayChangedConditionPropertiesArgs(
            condition_type="PropertyArrayChanged",
            condition_properties=azure_native.securityinsights.AutomationRulePropertyArrayChangedValuesConditionArgs(
                array_type="Labels", change_type="Added"),
        ),
        # Equals any of the listed values (the portal's multi-value "Equals" condition). Whether the
        # comparison ignores case is not documented (workflows.REDIRECTED_TAG), so both documented
        # spellings are listed; the playbook compares lower-cased and does nothing for other tags.
        azure_native.securityinsights.PropertyConditionPropertiesArgs(
            condition_type="Property",
            condition_properties=azure_native.securityinsights.AutomationRulePropertyValuesConditionArgs(
                property_name="IncidentLabel", operator="Equals", property_values=list(REDIRECTED_TAGS)),
        ),
    ]


class RedirectedIncidentSync(pulumi.ComponentResource):
    playbook_id: pulumi.Output[str]
    poller_id: pulumi.Output[str] | None
    playbook_principal_id: pulumi.Output[str]

    def __init__(self, name: str, args: RedirectedIncidentSyncArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mssp:itsm:RedirectedIncidentSync", name, None, opts)
        arm = pulumi.ResourceOptions(parent=self, provider=args.arm_provider)
        ws_arm = pulumi.ResourceOptions(parent=self, provider=args.workspace_provider or args.arm_provider)
        entra = pulumi.ResourceOptions(parent=self, provider=args.entra_provider)
        invoke = pulumi.InvokeOptions(parent=self, provider=args.entra_provider)
        itsm = args.itsm
        credential = CredentialSource.from_config(itsm, args.credential is not None)
        rg_id = f"/subscriptions/{args.subscription_id}/resourceGroups/{args.resource_group}"

        def workflow_parameters(extra: dict[str, object]) -> dict[str, azure_native.logic.WorkflowParameterArgs]:
            params = {k: azure_native.logic.WorkflowParameterArgs(value=v) for k, v in extra.items()}
            if credential.kind == "parameter":
                assert args.credential is not None
                params[CREDENTIAL_PARAMETER] = azure_native.logic.WorkflowParameterArgs(
                    type="SecureString", value=pulumi.Output.secret(args.credential))
            return params

        def workflow(role: str, definition: object, parameters: dict[str, object]) -> azure_native.logic.Workflow:
            """One of the sync's Consumption Logic Apps, `{name}-{role}`, signed in as its own managed identity."""
            return azure_native.logic.Workflow(
                f"{name}-{role}",
                workflow_name=f"{name}-{role}",
                resource_group_name=args.resource_group,
                location=args.location,
                identity=azure_native.logic.ManagedServiceIdentityArgs(type="SystemAssigned"),
                state="Enabled",
                definition=definition,
                parameters=workflow_parameters(parameters),
                tags=args.tags,
                opts=arm,
            )

        # The Sentinel connection, authenticated by the playbook's managed identity. azure-native's
        # web.Connection (spec 2016-06-01) has no `parameterValueType` (Azure/azure-rest-api-specs#20851),
        # so the connection is a generic ARM resource carrying the property exactly as the ARM template does.
        connection_name = f"{name}-azuresentinel"
        connection = azure_native.resources.Resource(
            f"{name}-sentinel-connection",
            resource_group_name=args.resource_group,
            resource_provider_namespace="Microsoft.Web",
            parent_resource_path="",
            resource_type="connections",
            resource_name_=connection_name,
            api_version=WEB_CONNECTIONS_API_VERSION,
            location=args.location,
            kind="V1",
            properties={
                "displayName": connection_name,
                "customParameterValues": {},
                "parameterValueType": "Alternative",
                "api": {"id": managed_api_id(args.subscription_id, args.location, SENTINEL_MANAGED_API)},
            },
            tags=args.tags,
            opts=arm,
        )

        playbook = workflow("playbook", playbook_definition(itsm, credential), {
            "$connections": {CONNECTION_KEY: {
                "connectionId": connection.id,
                "connectionName": connection_name,
                "id": managed_api_id(args.subscription_id, args.location, SENTINEL_MANAGED_API),
                "connectionProperties": {"authentication": {"type": "ManagedServiceIdentity"}},
            }},
        })
        playbook_principal = playbook.identity.apply(lambda i: i.principal_id if i else None)

        # Sentinel's own service principal runs playbooks for automation rules.
        sentinel_sp = itsm.sentinel_service_principal_object_id or azuread.get_service_principal_output(
            client_id=AZURE_SECURITY_INSIGHTS_APP_ID, opts=invoke).object_id
        run_grant = azure_native.authorization.RoleAssignment(
            f"{name}-sentinel-automation-contributor",
            role_assignment_name=naming.stable_guid(rg_id, roles.SENTINEL_AUTOMATION_CONTRIBUTOR.guid, name),
            scope=rg_id,
            role_definition_id=roles.role_definition_id(args.subscription_id, roles.SENTINEL_AUTOMATION_CONTRIBUTOR),
            principal_id=sentinel_sp,
            principal_type="ServicePrincipal",
            description="mssp-sentinel: let automation rules run the ITSM sync playbook",
            opts=arm,
        )
        # Run the playbook when a label is added to an incident and the labels contain "redirected".
        azure_native.securityinsights.AutomationRule(
            f"{name}-automation-rule",
            automation_rule_id=naming.stable_guid("itsm-redirect-automation-rule", args.workspace_id),
            resource_group_name=args.workspace_resource_group,
            workspace_name=args.workspace_name,
            display_name="mssp-sentinel: sync ITSM tickets of redirected incidents",
            order=100,
            triggering_logic=azure_native.securityinsights.AutomationRuleTriggeringLogicArgs(
                is_enabled=True, triggers_on="Incidents", triggers_when="Updated",
                conditions=automation_rule_conditions(),
            ),
            actions=[azure_native.securityinsights.AutomationRuleRunPlaybookActionArgs(
                action_type="RunPlaybook", order=1,
                action_configuration=azure_native.securityinsights.PlaybookActionPropertiesArgs(
                    logic_app_resource_id=playbook.id, tenant_id=args.tenant_id),
            )],
            # Sentinel refuses a rule whose playbook it may not run: the grant comes first.
            opts=pulumi.ResourceOptions.merge(ws_arm, pulumi.ResourceOptions(depends_on=[run_grant])),
        )

        # The playbook reads the incident and tags it as synced.
        azure_native.authorization.RoleAssignment(
            f"{name}-playbook-sentinel-responder",
            role_assignment_name=naming.stable_guid(args.workspace_id, roles.SENTINEL_RESPONDER.guid, name),
            scope=args.workspace_id,
            role_definition_id=roles.role_definition_id(args.workspace_subscription_id, roles.SENTINEL_RESPONDER),
            principal_id=playbook_principal,
            principal_type="ServicePrincipal",
            description="mssp-sentinel: the ITSM sync playbook reads and tags incidents",
            opts=ws_arm,
        )

        principals: dict[str, pulumi.Output[str]] = {"playbook": playbook_principal}
        self.poller_id = None
        if itsm.poller.enabled:
            poller = workflow("poller", poller_definition(itsm, credential), {})
            principals["poller"] = poller.identity.apply(lambda i: i.principal_id if i else None)
            self.poller_id = poller.id

        # Graph: read incidents (redirectIncidentId), for each workflow identity. The app role id is
        # resolved from Graph's own service principal, by the permission's name.
        graph = azuread.get_service_principal_output(client_id=MICROSOFT_GRAPH_APP_ID, opts=invoke)
        for who, principal in principals.items():
            azuread.AppRoleAssignment(
                f"{name}-{who}-graph-incident-read",
                app_role_id=graph.app_role_ids.apply(lambda ids: ids[GRAPH_APP_ROLE]),
                principal_object_id=principal,
                resource_object_id=graph.object_id,
                opts=entra,
            )
            if itsm.credential is not None:
                # On the one secret the workflows read, not the vault (credential.secret_scope).
                vault = itsm.credential.key_vault_id
                secret = itsm.credential.secret_scope
                azure_native.authorization.RoleAssignment(
                    f"{name}-{who}-keyvault-secrets-user",
                    role_assignment_name=naming.stable_guid(secret, roles.BY_NAME["key vault secrets user"].guid, name, who),
                    scope=secret,
                    role_definition_id=roles.role_definition_id(vault.split("/")[2], roles.BY_NAME["key vault secrets user"]),
                    principal_id=principal,
                    principal_type="ServicePrincipal",
                    description="mssp-sentinel: the ITSM sync reads its credential",
                    opts=arm,
                )

        self.playbook_id = playbook.id
        self.playbook_principal_id = playbook_principal
        outputs: dict[str, object] = {"playbookId": playbook.id, "playbookPrincipalId": playbook_principal}
        if self.poller_id is not None:
            outputs["pollerId"] = self.poller_id
        self.register_outputs(outputs)
