"""CustomerTenantIdentity (direct access model) built alone under Pulumi's mocks: which roles the MSSP's
service principal gets in the customer tenant, where, and through which subscription's provider."""

from __future__ import annotations

import pulumi_azure_native as azure_native
import pulumi_azuread as azuread
import pytest

from components.config.customer import CustomerConfig
from components.facts import roles
from components.identity.customer import CustomerTenantIdentity, CustomerTenantIdentityArgs
from testing.component_mocks import Built, build

A, B = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f", "4d9e1f6a-7b8c-4dae-9f2a-3b4c5d6e7f80"
CUSTOMER_TENANT = "7a2b4c9d-0e1f-4a3b-82d5-6e7f8091a2b3"
APP, READ_ONLY_APP = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "1b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def customer(access_model: str = "direct") -> CustomerConfig:
    return CustomerConfig.model_validate({
        "name": "northwind", "displayName": "Northwind", "tenantId": CUSTOMER_TENANT, "platformStack": "mssp",
        "accessModel": access_model,
        "subscriptions": [{"id": A, "displayName": "Prod"}, {"id": B, "displayName": "Dev"}],
        "forwarding": {"inventory": "stacks/inventories/northwind.yaml"},
    })


def built(read_only: str | None = None, sql_audit: frozenset[str] = frozenset()) -> Built[CustomerTenantIdentity]:
    def make() -> CustomerTenantIdentity:
        entra = azuread.Provider("customer-entra", tenant_id=CUSTOMER_TENANT)
        admins = {s: azure_native.Provider(f"customer-admin-{s}", subscription_id=s) for s in (A, B)}
        return CustomerTenantIdentity("northwind-identity", CustomerTenantIdentityArgs(
            customer(), APP, entra, admins, read_only_client_id=read_only, sql_audit_subscriptions=sql_audit))
    return build(make, lambda c: {"consentUrl": c.consent_url})


def grants(b: Built[CustomerTenantIdentity]) -> list[tuple[str, str, str | None]]:
    return sorted((n.inputs["scope"], n.inputs["roleDefinitionId"].rsplit("/", 1)[-1], n.provider)
                  for n in b.graph.of_type(ROLE_ASSIGNMENT))


def test_monitoring_contributor_on_each_subscription_through_that_subscriptions_owner_provider() -> None:
    b = built()
    # Bug caught: a grant created through another subscription's provider, or on a broader scope.
    assert grants(b) == sorted((f"/subscriptions/{s}", roles.MONITORING_CONTRIBUTOR.guid, f"customer-admin-{s}")
                               for s in (A, B))
    (sp,) = b.graph.of_type("azuread:index/servicePrincipal:ServicePrincipal")
    assert sp.inputs["clientId"] == APP and sp.inputs["useExisting"] is True and sp.provider == "customer-entra"


def test_sql_security_manager_only_where_sql_servers_are_audited() -> None:
    found = grants(built(sql_audit=frozenset({B})))
    assert (f"/subscriptions/{B}", roles.SQL_SECURITY_MANAGER.guid, f"customer-admin-{B}") in found
    assert not any(role == roles.SQL_SECURITY_MANAGER.guid for scope, role, _ in found if scope.endswith(A))


def test_the_read_only_application_gets_only_the_read_only_roles() -> None:
    b = built(read_only=READ_ONLY_APP)
    sps = {n.inputs["clientId"]: n.name for n in b.graph.of_type("azuread:index/servicePrincipal:ServicePrincipal")}
    assert set(sps) == {APP, READ_ONLY_APP}
    read_only = [n for n in b.graph.of_type(ROLE_ASSIGNMENT) if n.name.startswith("northwind-identity-readonly-")]
    assert sorted(n.inputs["roleDefinitionId"].rsplit("/", 1)[-1] for n in read_only) == sorted(
        r.guid for r in roles.READ_ONLY_ROLES for _ in (A, B))


def test_the_consent_url_names_the_customer_tenant_and_the_application() -> None:
    url, secret = built().outputs["consentUrl"]
    assert CUSTOMER_TENANT in url and APP in url and not secret


def test_a_lighthouse_customer_gets_no_customer_tenant_principal() -> None:
    with pytest.raises(ValueError, match="direct access model"):
        CustomerTenantIdentity("x", CustomerTenantIdentityArgs(customer("lighthouse"), APP, None, {}))  # type: ignore[arg-type]
