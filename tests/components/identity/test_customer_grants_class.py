"""CustomerTenantIdentity's role assignments, by class: each grant goes to the right principal (the deploy
application's, or the read-only one's), names its role definition in its own subscription, has a name that
is the same on every run and unique, and both principals survive the stack's removal; the admin-consent
link goes to Microsoft's login host for this tenant and application only."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pulumi_azure_native as azure_native
import pulumi_azuread as azuread

from components.facts import roles
from components.identity.customer import CustomerTenantIdentity, CustomerTenantIdentityArgs, admin_consent_url
from testing.component_mocks import Built, build
from tests.components.identity.test_customer_identity_unit import (
    APP,
    CUSTOMER_TENANT,
    READ_ONLY_APP,
    ROLE_ASSIGNMENT,
    A,
    B,
    customer,
)

SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"


def built() -> Built[CustomerTenantIdentity]:
    def make() -> CustomerTenantIdentity:
        entra = azuread.Provider("customer-entra", tenant_id=CUSTOMER_TENANT)
        admins = {s: azure_native.Provider(f"customer-admin-{s}", subscription_id=s) for s in (A, B)}
        return CustomerTenantIdentity("northwind-identity", CustomerTenantIdentityArgs(
            customer(), APP, entra, admins, read_only_client_id=READ_ONLY_APP, sql_audit_subscriptions=frozenset({A})))
    return build(make, lambda c: {"objectId": c.object_id})


def test_each_grant_goes_to_its_own_principal():
    # Bug caught: the read-only roles granted to the deploy principal (or Monitoring Contributor to the
    # read-only one), which hands write access to the identity that previews and drift use.
    b = built()
    deploy_oid, _ = b.outputs["objectId"]
    assignments = b.graph.of_type(ROLE_ASSIGNMENT)
    read_only = [n for n in assignments if n.name.startswith("northwind-identity-readonly-")]
    deploy = [n for n in assignments if n not in read_only]
    assert {n.inputs["principalId"] for n in deploy} == {deploy_oid}
    (reader_oid,) = {n.inputs["principalId"] for n in read_only}
    assert reader_oid != deploy_oid
    writing = {roles.MONITORING_CONTRIBUTOR.guid, roles.SQL_SECURITY_MANAGER.guid}
    assert not {n.inputs["roleDefinitionId"].rsplit("/", 1)[-1] for n in read_only} & writing
    assert {n.inputs["principalType"] for n in assignments} == {"ServicePrincipal"}


def test_each_role_definition_id_is_in_the_assignments_own_subscription():
    for n in built().graph.of_type(ROLE_ASSIGNMENT):
        sub = n.inputs["scope"].removeprefix("/subscriptions/")
        assert n.inputs["scope"] == f"/subscriptions/{sub}" and sub in (A, B)
        role = n.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        assert n.inputs["roleDefinitionId"] == roles.role_definition_id(sub, roles.BY_GUID[role])
        assert n.inputs["roleDefinitionId"].lower().startswith(f"/subscriptions/{sub}/providers/microsoft.authorization/")
        assert n.provider == f"customer-admin-{sub}"


def test_assignment_names_are_stable_across_runs_and_unique():
    first = {n.name: n.inputs["roleAssignmentName"] for n in built().graph.of_type(ROLE_ASSIGNMENT)}
    again = {n.name: n.inputs["roleAssignmentName"] for n in built().graph.of_type(ROLE_ASSIGNMENT)}
    assert first == again
    assert len(set(first.values())) == len(first) == 2 + 1 + 2 * len(roles.READ_ONLY_ROLES)


def test_both_principals_are_kept_when_the_stack_goes():
    sps = built().graph.of_type(SERVICE_PRINCIPAL)
    assert {n.inputs["clientId"] for n in sps} == {APP, READ_ONLY_APP}
    assert all(n.retain_on_delete and n.inputs["useExisting"] is True for n in sps)
    assert {n.provider for n in sps} == {"customer-entra"}


def test_the_admin_consent_link_is_microsofts_endpoint_for_this_tenant_and_app():
    url = urlsplit(admin_consent_url(CUSTOMER_TENANT, APP))
    assert (url.scheme, url.netloc, url.path) == ("https", "login.microsoftonline.com", f"/{CUSTOMER_TENANT}/adminconsent")
    assert parse_qs(url.query) == {"client_id": [APP]}
