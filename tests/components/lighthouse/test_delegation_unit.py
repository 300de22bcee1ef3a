"""LighthouseDelegation built alone under Pulumi's mocks: one definition and one assignment per
subscription, through that subscription's provider, with permanent and eligible authorizations apart."""

from __future__ import annotations

import pulumi_azure_native as azure_native

from components.config.customer import CustomerConfig
from components.facts import naming, roles
from components.lighthouse.delegation import LighthouseDelegation, LighthouseDelegationArgs
from testing.component_mocks import Built, build

A, B = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f", "4d9e1f6a-7b8c-4dae-9f2a-3b4c5d6e7f80"
MSSP_TENANT, CUSTOMER_TENANT = "11111111-2222-4333-8444-555555555555", "7a2b4c9d-0e1f-4a3b-82d5-6e7f8091a2b3"
MSSP_SP, READ_ONLY_SP = "99999999-2222-4333-8444-555555555555", "88888888-2222-4333-8444-555555555555"
SOC, TIER3, LEADS = ("5e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091", "6e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091",
                     "7e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091")
DEFINITION = "azure-native:managedservices:RegistrationDefinition"
ASSIGNMENT = "azure-native:managedservices:RegistrationAssignment"


def customer(subscriptions: tuple[str, ...] = (A, B)) -> CustomerConfig:
    return CustomerConfig.model_validate({
        "name": "contoso", "displayName": "Contoso", "tenantId": CUSTOMER_TENANT, "platformStack": "mssp",
        "subscriptions": [{"id": s, "displayName": s[:4]} for s in subscriptions],
        "lighthouse": {"authorizations": [
            {"principalId": SOC, "displayName": "SOC Analysts", "role": "Reader"},
            {"principalId": TIER3, "displayName": "SOC Tier 3", "role": "Monitoring Contributor",
             "justInTime": {"maximumActivationDuration": "PT4H",
                            "approvers": [{"principalId": LEADS, "displayName": "SOC Leads"}]}},
        ]},
        "forwarding": {"inventory": "stacks/inventories/contoso.yaml"},
    })


def built(config: CustomerConfig, read_only: bool = False) -> Built[LighthouseDelegation]:
    def make() -> LighthouseDelegation:
        admins = {s.id: azure_native.Provider(f"customer-admin-{s.id}", subscription_id=s.id) for s in config.subscriptions}
        return LighthouseDelegation("contoso-lighthouse", LighthouseDelegationArgs(
            config, MSSP_TENANT, MSSP_SP, "mssp-identity", admins,
            read_only_principal_id=READ_ONLY_SP if read_only else None,
            read_only_principal_name="mssp-readonly" if read_only else None))
    return build(make)


def test_one_definition_and_assignment_per_subscription_through_its_own_provider() -> None:
    graph = built(customer()).graph
    for kind in (DEFINITION, ASSIGNMENT):
        nodes = graph.of_type(kind)
        # Bug caught: a subscription delegated with another subscription's Owner credentials.
        assert sorted((n.inputs["scope"], n.provider) for n in nodes) == [
            (f"/subscriptions/{s}", f"customer-admin-{s}") for s in sorted((A, B))]
        assert {n.parent_type for n in nodes} == {"mssp:lighthouse:LighthouseDelegation"}


def test_ids_are_the_deterministic_ones_the_template_uses_and_each_assignment_names_its_definition() -> None:
    graph = built(customer()).graph
    for sub in (A, B):
        definition = graph.named(f"contoso-lighthouse-definition-{sub}")
        assignment = graph.named(f"contoso-lighthouse-assignment-{sub}")
        guid = naming.registration_definition_guid(MSSP_TENANT, CUSTOMER_TENANT, sub)
        assert definition.inputs["registrationDefinitionId"] == guid
        assert assignment.inputs["registrationAssignmentId"] == naming.registration_assignment_guid(
            MSSP_TENANT, CUSTOMER_TENANT, sub)
        assert assignment.inputs["properties"]["registrationDefinitionId"].endswith(f"/{sub}/providers/"
                                                                                  f"Microsoft.ManagedServices/registrationDefinitions/{guid}")


def test_permanent_and_eligible_authorizations_stay_apart() -> None:
    props = built(customer((A,))).graph.of_type(DEFINITION)[0].inputs["properties"]
    assert props["managedByTenantId"] == MSSP_TENANT
    permanent = {(a["principalId"], a["roleDefinitionId"]) for a in props["authorizations"]}
    assert (SOC, roles.READER.guid) in permanent
    assert {p for p, _ in permanent} == {MSSP_SP, SOC}  # bug caught: the just-in-time group made permanent
    (eligible,) = props["eligibleAuthorizations"]
    assert eligible["principalId"] == TIER3 and eligible["roleDefinitionId"] == roles.MONITORING_CONTRIBUTOR.guid
    policy = eligible["justInTimeAccessPolicy"]
    assert policy["maximumActivationDuration"] == "PT4H" and policy["multiFactorAuthProvider"] == "Azure"
    assert [a["principalId"] for a in policy["managedByTenantApprovers"]] == [LEADS]


def test_the_read_only_identity_is_authorized_to_read_only() -> None:
    props = built(customer((A,)), read_only=True).graph.of_type(DEFINITION)[0].inputs["properties"]
    read_only = {a["roleDefinitionId"] for a in props["authorizations"] if a["principalId"] == READ_ONLY_SP}
    assert read_only == {r.guid for r in roles.READ_ONLY_ROLES}
