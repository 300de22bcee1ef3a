"""The Lighthouse registration definition's properties, by class: exactly the MSSP identity's roles (SQL
Security Manager only where it audits SQL), every authorization kind in its own list with every field it
needs and none it must not have, role names and GUIDs in any case, and the camelCase-to-snake_case
conversion azure-native's dict inputs take."""

from __future__ import annotations

from typing import Any

import pytest

from components.config.customer import CustomerConfig
from components.facts import roles
from components.lighthouse import delegation as d

A, B = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f", "4d9e1f6a-7b8c-4dae-9f2a-3b4c5d6e7f80"
MSSP_TENANT, CUSTOMER_TENANT = "11111111-2222-4333-8444-555555555555", "7a2b4c9d-0e1f-4a3b-82d5-6e7f8091a2b3"
MSSP_SP, READ_ONLY_SP = "99999999-2222-4333-8444-555555555555", "88888888-2222-4333-8444-555555555555"
SOC, TIER3, LEADS, UAA = ("5e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091", "6e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091",
                          "7e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091", "8e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091")


def customer(*authorizations: dict[str, Any], subscriptions: tuple[str, ...] = (A,), **lighthouse: Any) -> CustomerConfig:
    return CustomerConfig.model_validate({
        "name": "contoso", "displayName": "Contoso", "tenantId": CUSTOMER_TENANT, "platformStack": "mssp",
        "subscriptions": [{"id": s, "displayName": s[:4]} for s in subscriptions],
        "lighthouse": {"authorizations": list(authorizations), **lighthouse},
        "forwarding": {"inventory": "stacks/inventories/contoso.yaml"},
    })


def props(config: CustomerConfig, **kwargs: Any) -> dict[str, Any]:
    return d.definition_properties(config, MSSP_TENANT, A, MSSP_SP, "mssp-identity", **kwargs)


def roles_of(properties: dict[str, Any], principal: str, key: str = "authorizations") -> set[str]:
    return {a["roleDefinitionId"] for a in properties.get(key, []) if a["principalId"] == principal}


def test_the_mssp_identity_gets_exactly_its_two_roles_and_sql_security_manager_only_where_it_audits():
    # Bug caught: a role dropped from (or added to) the MSSP identity's standing access, the Registration
    # assignment Delete Role back on the CI identity (issue 20: the offboarding group's), or SQL Security
    # Manager granted in every subscription instead of those whose SQL servers are audited subscription-wide.
    base = {roles.MONITORING_CONTRIBUTOR.guid, roles.READER.guid}
    assert roles_of(props(customer()), MSSP_SP) == base
    assert roles_of(props(customer(), sql_audit=True), MSSP_SP) == base | {roles.SQL_SECURITY_MANAGER.guid}
    names = {a["principalIdDisplayName"] for a in props(customer())["authorizations"]}
    assert names == {"mssp-identity"}
    group = ("3d4e5f60-7182-4a93-b4c5-d6e7f8091a2b", "offboarders")
    with_group = props(customer(), offboarding_group=group)
    assert roles_of(with_group, MSSP_SP) == base
    assert roles_of(with_group, group[0]) == {roles.REGISTRATION_DELETE.guid}


def test_only_the_offboarding_group_may_remove_the_delegation():
    # Bug caught: the Registration assignment Delete Role given to the CI identity (or to nobody).
    assert all(a["roleDefinitionId"] != roles.REGISTRATION_DELETE.guid for a in props(customer())["authorizations"])
    p = props(customer(), offboarding_group=(LEADS, "MSSP offboarding"))
    holders = [a for a in p["authorizations"] if a["roleDefinitionId"] == roles.REGISTRATION_DELETE.guid]
    assert holders == [{"principalId": LEADS, "principalIdDisplayName": "MSSP offboarding",
                        "roleDefinitionId": roles.REGISTRATION_DELETE.guid}]
    assert roles_of(p, MSSP_SP) == {roles.MONITORING_CONTRIBUTOR.guid, roles.READER.guid}


@pytest.mark.parametrize("offer", ["x", "o" * 200])
def test_a_sql_audit_delegation_grants_only_sql_security_manager_within_the_name_limit(offer):
    p = d.sql_audit_definition_properties(customer(offerName=offer), MSSP_TENANT, "rg-" + "s" * 80, MSSP_SP, "mssp-identity")
    assert p["authorizations"] == [{"principalId": MSSP_SP, "principalIdDisplayName": "mssp-identity",
                                    "roleDefinitionId": roles.SQL_SECURITY_MANAGER.guid}]
    assert p["managedByTenantId"] == MSSP_TENANT
    name = p["registrationDefinitionName"]
    assert name.startswith(offer[:150]) and len(name) <= 200  # registrationDefinitionName: at most 200 characters
    assert len(name) == min(200, len(f"{offer} - SQL auditing (rg-{'s' * 80})"))


def test_the_read_only_identity_gets_the_read_only_roles_under_its_name_or_a_default():
    p = props(customer(), read_only_principal_id=READ_ONLY_SP, read_only_principal_name="mssp-ro")
    assert roles_of(p, READ_ONLY_SP) == {r.guid for r in roles.READ_ONLY_ROLES}
    assert {a["principalIdDisplayName"] for a in p["authorizations"] if a["principalId"] == READ_ONLY_SP} == {"mssp-ro"}
    p = props(customer(), read_only_principal_id=READ_ONLY_SP)
    assert {a["principalIdDisplayName"] for a in p["authorizations"] if a["principalId"] == READ_ONLY_SP} == {"read-only"}
    assert roles_of(props(customer()), READ_ONLY_SP) == set()


def test_the_offer_and_the_managing_tenant_are_the_configured_ones():
    p = props(customer(offerName="Contoso SOC", offerDescription="Managed Sentinel by the MSSP"))
    assert p["registrationDefinitionName"] == "Contoso SOC"
    assert p["description"] == "Managed Sentinel by the MSSP"
    assert p["managedByTenantId"] == MSSP_TENANT


def test_without_eligible_authorizations_the_key_is_absent():
    p = props(customer({"principalId": SOC, "displayName": "SOC", "role": "Reader"}))
    assert "eligibleAuthorizations" not in p
    (soc,) = [a for a in p["authorizations"] if a["principalId"] == SOC]
    assert soc == {"principalId": SOC, "principalIdDisplayName": "SOC", "roleDefinitionId": roles.READER.guid}


@pytest.mark.parametrize("role", ["Reader", "reader", "READER", roles.READER.guid, roles.READER.guid.upper()])
def test_a_role_by_name_or_guid_in_any_case_is_the_built_in_roles_guid(role):
    p = props(customer({"principalId": SOC.upper(), "displayName": "SOC", "role": role}))
    assert roles_of(p, SOC) == {roles.READER.guid}  # the principal id lowered too


def test_an_eligible_authorization_carries_its_policy_and_only_its_approvers():
    jit = {"principalId": TIER3, "displayName": "Tier 3", "role": "Monitoring Contributor",
           "justInTime": {"maximumActivationDuration": "PT30M", "approvers": [{"principalId": LEADS, "displayName": "Leads"}]}}
    p = props(customer(jit))
    assert roles_of(p, TIER3) == set()  # never permanent
    (eligible,) = p["eligibleAuthorizations"]
    assert eligible == {
        "principalId": TIER3, "principalIdDisplayName": "Tier 3", "roleDefinitionId": roles.MONITORING_CONTRIBUTOR.guid,
        "justInTimeAccessPolicy": {"multiFactorAuthProvider": "Azure", "maximumActivationDuration": "PT30M",
                                   "managedByTenantApprovers": [{"principalId": LEADS, "principalIdDisplayName": "Leads"}]},
    }


def test_an_eligible_authorization_without_approvers_has_no_approver_list():
    jit = {"principalId": TIER3, "displayName": "Tier 3", "role": "Reader",
           "justInTime": {"maximumActivationDuration": "PT8H", "multiFactorAuth": "None"}}
    (eligible,) = props(customer(jit))["eligibleAuthorizations"]
    assert eligible["justInTimeAccessPolicy"] == {"multiFactorAuthProvider": "None", "maximumActivationDuration": "PT8H"}


def test_delegated_roles_go_only_with_the_authorization_that_names_them():
    uaa = {"principalId": UAA, "displayName": "Remediation", "role": "User Access Administrator",
           "delegatedRoles": ["Monitoring Contributor", roles.READER.guid.upper()]}
    p = props(customer(uaa, {"principalId": SOC, "displayName": "SOC", "role": "Reader"}))
    (entry,) = [a for a in p["authorizations"] if a["principalId"] == UAA]
    assert entry["delegatedRoleDefinitionIds"] == [roles.MONITORING_CONTRIBUTOR.guid, roles.READER.guid]
    assert all("delegatedRoleDefinitionIds" not in a for a in p["authorizations"] if a["principalId"] != UAA)


@pytest.mark.parametrize("camel,snake", [
    ({"principalIdDisplayName": 1}, {"principal_id_display_name": 1}),
    ({"registrationDefinitionName": "X"}, {"registration_definition_name": "X"}),
    ({"description": "Keep CamelCase Values"}, {"description": "Keep CamelCase Values"}),
    ({"Leading": 1}, {"leading": 1}),
    ({"eligibleAuthorizations": [{"justInTimeAccessPolicy": {"managedByTenantApprovers": [{"principalId": "P"}]}}]},
     {"eligible_authorizations": [{"just_in_time_access_policy": {"managed_by_tenant_approvers": [{"principal_id": "P"}]}}]}),
])
def test_snake_case_conversion_reaches_every_depth_and_never_touches_values(camel, snake):
    assert d._snake(camel) == snake


def test_sql_security_manager_reaches_only_the_audited_subscriptions_definition():
    import pulumi_azure_native as azure_native

    from testing.component_mocks import build

    config = customer(subscriptions=(A, B))

    def make() -> d.LighthouseDelegation:
        admins = {s.id: azure_native.Provider(f"customer-admin-{s.id}", subscription_id=s.id) for s in config.subscriptions}
        return d.LighthouseDelegation("contoso-lighthouse", d.LighthouseDelegationArgs(
            config, MSSP_TENANT, MSSP_SP, "mssp-identity", admins, sql_audit_subscriptions=frozenset({B})))

    graph = build(make).graph
    for sub, audited in ((A, False), (B, True)):
        p = graph.named(f"contoso-lighthouse-definition-{sub}").inputs["properties"]
        granted = {a["roleDefinitionId"] for a in p["authorizations"] if a["principalId"] == MSSP_SP}
        assert (roles.SQL_SECURITY_MANAGER.guid in granted) is audited, sub
