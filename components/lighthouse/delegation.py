"""LighthouseDelegation: Azure Lighthouse delegation of each customer subscription to the MSSP.

Per subscription one registration definition (who in the MSSP tenant gets which built-in role) and
one assignment (which applies it to the subscription). Both are created by a customer-tenant Owner
(the "customer-admin" provider); in template mode nothing is created here and `python -m mssp
template` exports the same definition as an ARM template. Ids are deterministic
(`components.facts.naming`), so re-runs and the exported template name the same objects.

Authorizations: the MSSP service principal as Monitoring Contributor (it writes the diagnostic
settings) and Reader, the Managed Services Registration assignment Delete Role (so the MSSP can remove
its own delegation), plus the SOC authorizations from config. The config layer has already enforced
Lighthouse's role rules; the guardrail `lighthouse-delegable-roles` (policies/rules.py) re-checks
finished definitions, in plans, in the CrossGuard pack and in exported templates.
Source of the property names: ARM schema 2022-10-01 Microsoft.ManagedServices (registrationDefinitions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_azure_native as azure_native

from components.config.customer import CustomerConfig
from components.facts import naming, roles

T = TypeVar("T")

# Roles the MSSP service principal itself holds in every delegated subscription.
SERVICE_PRINCIPAL_ROLES: tuple[roles.Role, ...] = (
    roles.MONITORING_CONTRIBUTOR,
    roles.READER,
    roles.REGISTRATION_DELETE,
)




def definition_properties(
    customer: CustomerConfig, managing_tenant_id: str, subscription_id: str, mssp_principal_id: T, mssp_principal_name: str,
    read_only_principal_id: T | None = None, read_only_principal_name: str | None = None, sql_audit: bool = False,
) -> dict[str, Any]:
    """The registration definition's `properties`, in ARM's camelCase, for one subscription.

    `sql_audit`: the MSSP identity also enables SQL server auditing there (roles.SQL_SECURITY_MANAGER)."""
    mssp_roles = (*SERVICE_PRINCIPAL_ROLES, *((roles.SQL_SECURITY_MANAGER,) if sql_audit else ()))
    authorizations: list[dict[str, Any]] = [
        {"principalId": mssp_principal_id, "principalIdDisplayName": mssp_principal_name, "roleDefinitionId": role.guid}
        for role in mssp_roles
    ]
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
    # Subscriptions whose SQL servers the MSSP identity audits (components.forwarding.diagnostics).
    sql_audit_subscriptions: frozenset[str] = frozenset()


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
        self.register_outputs({"assignmentIds": {s: a.id for s, a in self.assignments.items()}})
