"""CustomerTenantIdentity: the MSSP's multitenant applications as seen from the customer tenant, in the
direct model only (Lighthouse needs no customer-tenant service principal and no admin consent: it
projects the MSSP-tenant principals into the delegated subscriptions).

- The deploy application's service principal is created in the customer tenant through an azuread
  provider signed in there (adopted if the customer already consented); it holds Monitoring
  Contributor on each customer subscription, which lets it write diagnostic settings.
- The read-only application's service principal (when the platform has one) holds Reader and
  nothing else there (roles.READ_ONLY_ROLES): what previews and drift read.
- The admin-consent link is an output for the customer's administrator (Microsoft identity platform
  admin consent endpoint, https://login.microsoftonline.com/{tenant}/adminconsent?client_id={app}).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native
import pulumi_azuread as azuread

from components.config.customer import CustomerConfig
from components.facts import naming, roles


def admin_consent_url(customer_tenant_id: str, client_id: str) -> str:
    return f"https://login.microsoftonline.com/{customer_tenant_id}/adminconsent?client_id={client_id}"


@dataclass(frozen=True)
class CustomerTenantIdentityArgs:
    customer: CustomerConfig
    app_client_id: pulumi.Input[str]
    entra_provider: azuread.Provider  # signed in to the customer tenant
    admin_providers: dict[str, azure_native.Provider]  # per subscription: the customer-tenant Owner's
    read_only_client_id: pulumi.Input[str] | None = None  # the read-only application, if the platform has one
    # Subscriptions where the MSSP identity holds SQL Security Manager subscription-wide (acknowledged in config).
    sql_audit_subscriptions: frozenset[str] = frozenset()
    # Per subscription, the resource groups holding SQL servers the MSSP audits (sqlAudit.scope: resourceGroups).
    sql_audit_resource_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class CustomerTenantIdentity(pulumi.ComponentResource):
    object_id: pulumi.Output[str]
    consent_url: pulumi.Output[str]

    def __init__(self, name: str, args: CustomerTenantIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        if args.customer.access_model != "direct":
            # Lighthouse projects the MSSP-tenant principals: a customer-tenant principal would be unused
            # access in the customer's tenant (components.stacks builds this for the direct model only).
            raise ValueError(f"CustomerTenantIdentity is for the direct access model, not {args.customer.access_model!r}")
        super().__init__("mssp:identity:CustomerTenantIdentity", name, None, opts)
        customer = args.customer
        self.consent_url = pulumi.Output.from_input(args.app_client_id).apply(
            lambda cid: admin_consent_url(customer.tenant_id, cid)
        )
        sp = azuread.ServicePrincipal(
            f"{name}-sp",
            client_id=args.app_client_id,
            use_existing=True,  # the customer's admin may already have consented
            # It may be the customer's own (created by their consent): removing the customer stack
            # must not delete it from their tenant; their admin removes it if they wish.
            opts=pulumi.ResourceOptions(parent=self, provider=args.entra_provider, retain_on_delete=True),
        )
        self.object_id = sp.object_id
        for sub in customer.subscriptions:
            self._grant(name, args, sp, sub.id, roles.MONITORING_CONTRIBUTOR, "direct",
                        "mssp-sentinel: write diagnostic settings to the MSSP workspace (direct model)")
            if sub.id in args.sql_audit_subscriptions:
                self._grant(name, args, sp, sub.id, roles.SQL_SECURITY_MANAGER, "direct",
                            "mssp-sentinel: enable SQL server auditing to Azure Monitor (direct model; subscription-wide, "
                            "acknowledged in the stack)")
            for rg in args.sql_audit_resource_groups.get(sub.id, ()):
                self._grant(name, args, sp, sub.id, roles.SQL_SECURITY_MANAGER, "direct",
                            "mssp-sentinel: enable SQL server auditing to Azure Monitor (direct model)", resource_group=rg)
        if args.read_only_client_id is not None:
            reader = azuread.ServicePrincipal(
                f"{name}-readonly-sp",
                client_id=args.read_only_client_id,
                use_existing=True,
                opts=pulumi.ResourceOptions(parent=self, provider=args.entra_provider, retain_on_delete=True),
            )
            for sub in customer.subscriptions:
                for role in roles.READ_ONLY_ROLES:
                    self._grant(f"{name}-readonly", args, reader, sub.id, role, "direct-readonly",
                                "mssp-sentinel read-only identity: previews and drift (direct model)")
        self.register_outputs({"adminConsentUrl": self.consent_url, "servicePrincipalObjectId": self.object_id})

    def _grant(self, prefix: str, args: CustomerTenantIdentityArgs, sp: azuread.ServicePrincipal, subscription_id: str,
               role: roles.Role, seed: str, description: str, resource_group: str | None = None) -> None:
        """`role` on the subscription (or one resource group of it) for `sp`, created with the customer-tenant Owner
        provider (direct model)."""
        scope = f"/subscriptions/{subscription_id}" + (f"/resourceGroups/{resource_group}" if resource_group else "")
        where = f"{subscription_id}-{naming.short_hash(resource_group)}" if resource_group else subscription_id
        azure_native.authorization.RoleAssignment(
            f"{prefix}-{role.name.lower().replace(' ', '-')}-{where}",
            role_assignment_name=naming.stable_guid(seed, args.customer.tenant_id, subscription_id, role.guid,
                                                    *((resource_group,) if resource_group else ())),
            scope=scope,
            role_definition_id=roles.role_definition_id(subscription_id, role),
            principal_id=sp.object_id,
            principal_type="ServicePrincipal",
            description=description,
            opts=pulumi.ResourceOptions(parent=self, provider=args.admin_providers[subscription_id]),
        )
