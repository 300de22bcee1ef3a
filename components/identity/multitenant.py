"""MultitenantServicePrincipal: one of the MSSP's two multitenant Entra applications, its service
principal, how it signs in, and the Azure roles it holds in the MSSP tenant.

- purpose "deploy" (`pulumi up` only): the custom role "MSSP Sentinel diagnostic destination" on the
  workspace (workspaces/read + sharedKeys/action, components/facts/roles.py), which is what a diagnostic
  setting in a customer subscription needs on its destination; not Log Analytics Contributor, which
  would also read every customer's logs.
- purpose "read-only" (PR previews, drift): Reader on the workspace and on the platform resource
  group, which is what `pulumi preview --refresh` reads; nothing that writes.

Created in the MSSP tenant (platform stack). Customer stacks use its client id: Lighthouse delegates
customer subscriptions to its service principal, and in the direct model the same application gets a
service principal in the customer tenant. Sign-in is through federated credentials (no secret to
leak or rotate); a client secret exists only when the config asks for one, and then only as a
Pulumi secret output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_azure_native as azure_native
import pulumi_azuread as azuread

from components.config.platform import IdentityConfig
from components.facts import naming, roles

# Entra sign-in audience for an application usable in other organisations' tenants.
# Source: Microsoft Graph application resource, signInAudience values.
MULTITENANT_AUDIENCE = "AzureADMultipleOrgs"


@dataclass(frozen=True)
class MultitenantServicePrincipalArgs:
    identity: IdentityConfig
    tenant_id: str
    subscription_id: str
    workspace_id: str  # the MSSP Log Analytics workspace; the only scope the identity gets a role on
    entra_provider: azuread.Provider
    arm_provider: azure_native.Provider
    purpose: Literal["deploy", "read-only"] = "deploy"
    resource_group: str | None = None  # the platform resource group (read by the read-only identity)


class MultitenantServicePrincipal(pulumi.ComponentResource):
    client_id: pulumi.Output[str]
    object_id: pulumi.Output[str]
    tenant_id: str
    client_secret: pulumi.Output[str] | None

    def __init__(self, name: str, args: MultitenantServicePrincipalArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mssp:identity:MultitenantServicePrincipal", name, None, opts)
        entra = pulumi.ResourceOptions(parent=self, provider=args.entra_provider)

        app = azuread.Application(
            f"{name}-app",
            display_name=args.identity.display_name,
            sign_in_audience=MULTITENANT_AUDIENCE,
            opts=entra,
        )
        sp = azuread.ServicePrincipal(f"{name}-sp", client_id=app.client_id, opts=entra)

        for fic in args.identity.federated_credentials:
            azuread.ApplicationFederatedIdentityCredential(
                f"{name}-fic-{fic.name}",
                application_id=app.id,
                display_name=fic.name,
                issuer=fic.issuer,
                subject=fic.subject,
                audiences=fic.audiences,
                description=fic.description,
                opts=entra,
            )

        self.client_secret = None
        if args.identity.client_secret.enabled:
            password = azuread.ApplicationPassword(
                f"{name}-secret",
                application_id=app.id,
                display_name="mssp-sentinel",
                end_date_relative=f"{args.identity.client_secret.lifetime_hours}h",
                rotate_when_changed={"rotation": args.identity.client_secret.rotation_key},
                opts=entra,
            )
            self.client_secret = pulumi.Output.secret(password.value)

        arm = pulumi.ResourceOptions(parent=self, provider=args.arm_provider)
        self._workspace_id = args.workspace_id
        # A custom role's assignable scopes are management groups, subscriptions or resource groups
        # (MicrosoftDocs azure-docs articles/role-based-access-control/custom-roles.md: "you can assign
        # custom roles ... at management group, subscription, and resource group scopes"), so each is
        # defined on the workspace's resource group and assigned on the workspace alone.
        if args.purpose == "deploy":
            # Only what a diagnostic setting needs on its destination (roles.DIAGNOSTIC_DESTINATION_ACTIONS).
            self._workspace_role(name, sp, arm, "diagnostic-destination", roles.DIAGNOSTIC_DESTINATION_ROLE_NAME,
                                 roles.DIAGNOSTIC_DESTINATION_ACTIONS,
                                 "use this workspace as a diagnostic-setting destination; no log queries",
                                 "mssp-sentinel: diagnostic settings in customer subscriptions send to this workspace")
        else:
            # The workspace's configuration, never its data (roles.WORKSPACE_CONFIG_READER_ACTIONS); Reader on
            # the platform's own resource group (DCRs, Logic Apps), which holds no customer logs.
            self._workspace_role(name, sp, arm, "config-reader", roles.WORKSPACE_CONFIG_READER_ROLE_NAME,
                                 roles.WORKSPACE_CONFIG_READER_ACTIONS,
                                 "read this workspace's configuration (tables, Sentinel rules); no log queries",
                                 "mssp-sentinel read-only identity: previews and drift read the workspace's configuration")
            if args.resource_group:
                scope = f"/subscriptions/{args.subscription_id}/resourceGroups/{args.resource_group}"
                azure_native.authorization.RoleAssignment(
                    f"{name}-platform-rg-reader",
                    role_assignment_name=naming.stable_guid(scope, roles.READER.guid, name),
                    scope=scope,
                    role_definition_id=roles.role_definition_id(args.subscription_id, roles.READER),
                    principal_id=sp.object_id,
                    principal_type="ServicePrincipal",
                    description="mssp-sentinel read-only identity: previews and drift read, never write",
                    opts=arm,
                )

        self.client_id = app.client_id
        self.object_id = sp.object_id
        self.tenant_id = args.tenant_id
        outputs: dict[str, object] = {"clientId": app.client_id, "objectId": sp.object_id, "tenantId": args.tenant_id}
        if self.client_secret is not None:
            outputs["clientSecret"] = self.client_secret
        self.register_outputs(outputs)

    def _workspace_role(self, name: str, sp: azuread.ServicePrincipal, arm: pulumi.ResourceOptions, kind: str,
                        role_name: str, actions: tuple[str, ...], role_description: str, why: str) -> None:
        """A custom role with just `actions`, defined on the workspace's resource group, assigned on the workspace."""
        ws_rg = "/".join(self._workspace_id.split("/")[:5])
        definition = azure_native.authorization.RoleDefinition(
            f"{name}-{kind}-role",
            role_definition_id=naming.stable_guid(self._workspace_id, role_name),
            # A custom role's name is unique in its tenant: a second platform (another workspace) gets its own.
            role_name=f"{role_name} ({self._workspace_id.rstrip('/').rsplit('/', 1)[-1]})",
            description=f"mssp-sentinel: {role_description}",
            role_type="CustomRole",
            scope=ws_rg,
            assignable_scopes=[ws_rg],
            permissions=[{"actions": list(actions), "not_actions": []}],
            opts=arm,
        )
        azure_native.authorization.RoleAssignment(
            f"{name}-workspace-{kind}",
            role_assignment_name=naming.stable_guid(self._workspace_id, role_name, name),
            scope=self._workspace_id,
            role_definition_id=definition.id,
            principal_id=sp.object_id,
            principal_type="ServicePrincipal",
            description=why,
            opts=arm,
        )

