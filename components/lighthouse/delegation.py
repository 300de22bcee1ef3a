"""LighthouseDelegation: Azure Lighthouse delegation of each customer subscription to the MSSP.

Per subscription one registration definition (who in the MSSP tenant gets which built-in role) and
one assignment (which applies it to the subscription). Both are created by a customer-tenant Owner
(the "customer-admin" provider); in template mode nothing is created here and `python -m mssp
template` exports the same definition as an ARM template. Ids are deterministic
(`components.facts.naming`), so re-runs and the exported template name the same objects.

Authorizations: the MSSP service principal as Monitoring Contributor (it writes the diagnostic
settings) and Reader, the platform's offboarding group (platform.offboardingGroup, people, not the CI
identity) with the Managed Services Registration assignment Delete Role, plus the SOC authorizations from
config. Where the MSSP enables SQL server auditing with `sqlAudit.scope: resourceGroups`, one more
delegation per resource group holding inventoried SQL servers grants the service principal SQL Security
Manager there and nothing else (Lighthouse delegates resource groups as well as subscriptions:
MicrosoftDocs azure-management-docs articles/lighthouse/how-to/onboard-customer.md, rg templates). It
repeats no (principal, role) pair of the subscription's delegation, so removing one never removes access
granted by the other (articles/lighthouse/how-to/remove-delegation.md, "Important"). The config layer has already enforced
Lighthouse's role rules; the guardrail `lighthouse-delegable-roles` (policies/rules.py) re-checks
finished definitions, in plans, in the CrossGuard pack and in exported templates.
Source of the property names: ARM schema 2022-10-01 Microsoft.ManagedServices (registrationDefinitions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi
import pulumi_azure_native as azure_native

from components.config.customer import CustomerConfig
from components.facts import naming, roles

T = TypeVar("T")

# Roles the MSSP service principal itself holds in every delegated subscription. Not the Managed Services
# Registration assignment Delete Role: the CI identity never removes a delegation (destroy deletes it with the
# customer-Owner provider); a small human group holds it instead (platform.offboardingGroup).
SERVICE_PRINCIPAL_ROLES: tuple[roles.Role, ...] = (
    roles.MONITORING_CONTRIBUTOR,
    roles.READER,
)




def definition_properties(
    customer: CustomerConfig, managing_tenant_id: str, subscription_id: str, mssp_principal_id: T, mssp_principal_name: str,
    read_only_principal_id: T | None = None, read_only_principal_name: str | None = None, sql_audit: bool = False,
    offboarding_group: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The registration definition's `properties`, in ARM's camelCase, for one subscription.

    `sql_audit`: the MSSP identity holds SQL Security Manager on the whole subscription (only with the stack's
    acknowledgeSubscriptionScope). `offboarding_group`: (object id, name) of the MSSP group that may remove the
    delegation (Managed Services Registration assignment Delete Role)."""
    mssp_roles = (*SERVICE_PRINCIPAL_ROLES, *((roles.SQL_SECURITY_MANAGER,) if sql_audit else ()))
    authorizations: list[dict[str, Any]] = [
        {"principalId": mssp_principal_id, "principalIdDisplayName": mssp_principal_name, "roleDefinitionId": role.guid}
        for role in mssp_roles
    ]
    if offboarding_group is not None:
        authorizations.append({"principalId": offboarding_group[0], "principalIdDisplayName": offboarding_group[1],
                               "roleDefinitionId": roles.REGISTRATION_DELETE.guid})
    if read_only_principal_id is not None:
        authorizations += [
            {"principalId": read_only_principal_id, "principalIdDisplayName": read_only_principal_name or "read-only",
             "roleDefinitionId": role.guid}
            for role in roles.READ_ONLY_ROLES
        ]
    eligible: list[dict[str, Any]] = []
    for auth in customer.lighthouse.authorizations:
        if auth.just_in_time is None:
            entry: dict[str, Any] = {
                "principalId": auth.principal_id,
                "principalIdDisplayName": auth.display_name,
                "roleDefinitionId": auth.role,
            }
            if auth.delegated_roles:
                entry["delegatedRoleDefinitionIds"] = list(auth.delegated_roles)
            authorizations.append(entry)
        else:
            jit = auth.just_in_time
            policy: dict[str, Any] = {
                "multiFactorAuthProvider": jit.multi_factor_auth,
                "maximumActivationDuration": jit.maximum_activation_duration,
            }
            if jit.approvers:
                policy["managedByTenantApprovers"] = [
                    {"principalId": a.principal_id, "principalIdDisplayName": a.display_name} for a in jit.approvers
                ]
            eligible.append({
                "principalId": auth.principal_id,
                "principalIdDisplayName": auth.display_name,
                "roleDefinitionId": auth.role,
                "justInTimeAccessPolicy": policy,
            })
    props: dict[str, Any] = {
        "registrationDefinitionName": customer.lighthouse.offer_name,
        "description": customer.lighthouse.offer_description,
        "managedByTenantId": managing_tenant_id,
        "authorizations": authorizations,
    }
    if eligible:
        props["eligibleAuthorizations"] = eligible
    return props


def sql_audit_definition_properties(customer: CustomerConfig, managing_tenant_id: str, resource_group: str,
                                    mssp_principal_id: T, mssp_principal_name: str) -> dict[str, Any]:
    """A resource group's delegation that grants the MSSP service principal SQL Security Manager and nothing else."""
    return {
        "registrationDefinitionName": f"{customer.lighthouse.offer_name} - SQL auditing ({resource_group})"[:200],
        "description": "Lets the MSSP enable auditing (Azure Monitor target) on the SQL servers of this resource group.",
        "managedByTenantId": managing_tenant_id,
        "authorizations": [{"principalId": mssp_principal_id, "principalIdDisplayName": mssp_principal_name,
                            "roleDefinitionId": roles.SQL_SECURITY_MANAGER.guid}],
    }


def _snake(value: Any) -> Any:
    """camelCase ARM properties to the snake_case keys azure-native's Python dict inputs take."""
    import re

    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


@dataclass(frozen=True)
class LighthouseDelegationArgs:
    customer: CustomerConfig
    managing_tenant_id: str
    mssp_principal_id: pulumi.Input[str]
    mssp_principal_name: str
    # One provider per subscription, signed in as a customer-tenant Owner.
    admin_providers: dict[str, azure_native.Provider]
    read_only_principal_id: pulumi.Input[str] | None = None  # the read-only identity (previews, drift)
    read_only_principal_name: str | None = None
    # Subscriptions where the MSSP identity holds SQL Security Manager subscription-wide (acknowledged in config).
    sql_audit_subscriptions: frozenset[str] = frozenset()
    # Per subscription, the resource groups holding SQL servers the MSSP audits (sqlAudit.scope: resourceGroups).
    sql_audit_resource_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    offboarding_group: tuple[str, str] | None = None  # (object id, display name) in the MSSP tenant


class LighthouseDelegation(pulumi.ComponentResource):
    assignments: dict[str, azure_native.managedservices.RegistrationAssignment]

    def __init__(self, name: str, args: LighthouseDelegationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mssp:lighthouse:LighthouseDelegation", name, None, opts)
        self.assignments = {}
        customer = args.customer
        for sub in customer.subscriptions:
            scope = f"/subscriptions/{sub.id}"
            child = pulumi.ResourceOptions(parent=self, provider=args.admin_providers[sub.id])
            definition = azure_native.managedservices.RegistrationDefinition(
                f"{name}-definition-{sub.id}",
                registration_definition_id=naming.registration_definition_guid(
                    args.managing_tenant_id, customer.tenant_id, sub.id
                ),
                scope=scope,
                properties=_snake(definition_properties(
                    customer, args.managing_tenant_id, sub.id, args.mssp_principal_id, args.mssp_principal_name,
                    args.read_only_principal_id, args.read_only_principal_name, sub.id in args.sql_audit_subscriptions,
                    args.offboarding_group,
                )),
                opts=child,
            )
            self.assignments[sub.id] = azure_native.managedservices.RegistrationAssignment(
                f"{name}-assignment-{sub.id}",
                registration_assignment_id=naming.registration_assignment_guid(
                    args.managing_tenant_id, customer.tenant_id, sub.id
                ),
                scope=scope,
                properties={"registration_definition_id": definition.id},
                opts=child,
            )
        # SQL Security Manager on just the resource groups that hold audited SQL servers.
        self.sql_assignments: dict[str, list[azure_native.managedservices.RegistrationAssignment]] = {}
        for sub_id, groups in sorted(args.sql_audit_resource_groups.items()):
            child = pulumi.ResourceOptions(parent=self, provider=args.admin_providers[sub_id])
            for rg in groups:
                scope = f"/subscriptions/{sub_id}/resourceGroups/{rg}"
                suffix = f"{sub_id}-{naming.short_hash(rg)}"
                definition = azure_native.managedservices.RegistrationDefinition(
                    f"{name}-sql-audit-definition-{suffix}",
                    registration_definition_id=naming.sql_audit_definition_guid(
                        args.managing_tenant_id, customer.tenant_id, sub_id, rg),
                    scope=scope,
                    properties=_snake(sql_audit_definition_properties(
                        customer, args.managing_tenant_id, rg, args.mssp_principal_id, args.mssp_principal_name)),
                    opts=child,
                )
                self.sql_assignments.setdefault(sub_id, []).append(azure_native.managedservices.RegistrationAssignment(
                    f"{name}-sql-audit-assignment-{suffix}",
                    registration_assignment_id=naming.sql_audit_assignment_guid(
                        args.managing_tenant_id, customer.tenant_id, sub_id, rg),
                    scope=scope,
                    properties={"registration_definition_id": definition.id},
                    opts=child,
                ))
        self.register_outputs({"assignmentIds": {s: a.id for s, a in self.assignments.items()}})
