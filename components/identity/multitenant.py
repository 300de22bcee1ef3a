"""MultitenantServicePrincipal: the MSSP's multitenant Entra application, its service principal, how it
signs in, and the one Azure role it holds in the MSSP tenant.

Created in the MSSP tenant (platform stack). Customer stacks use its client id: Lighthouse delegates
customer subscriptions to its service principal, and in the direct model the same application gets a
service principal in the customer tenant. Sign-in is through federated credentials (no secret to
leak or rotate); a client secret exists only when the config asks for one, and then only as a
Pulumi secret output.
"""

from __future__ import annotations

from dataclasses import dataclass

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

        # Diagnostic settings in customer subscriptions write to this workspace: the identity needs
        # Log Analytics Contributor there, scoped to the workspace itself and nothing above it.
        azure_native.authorization.RoleAssignment(
            f"{name}-workspace-la-contributor",
            role_assignment_name=naming.stable_guid(args.workspace_id, roles.LOG_ANALYTICS_CONTRIBUTOR.guid, name),
            scope=args.workspace_id,
            # The role definition id names the subscription of the scope (the workspace's, which may differ).
            role_definition_id=roles.role_definition_id(args.workspace_id.split("/")[2], roles.LOG_ANALYTICS_CONTRIBUTOR),
            principal_id=sp.object_id,
            principal_type="ServicePrincipal",
            description="mssp-sentinel: write diagnostic settings that target the MSSP workspace",
            opts=pulumi.ResourceOptions(parent=self, provider=args.arm_provider),
        )

        self.client_id = app.client_id
        self.object_id = sp.object_id
        self.tenant_id = args.tenant_id
        outputs: dict[str, object] = {"clientId": app.client_id, "objectId": sp.object_id, "tenantId": args.tenant_id}
        if self.client_secret is not None:
            outputs["clientSecret"] = self.client_secret
        self.register_outputs(outputs)
