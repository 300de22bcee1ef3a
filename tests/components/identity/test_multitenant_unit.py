"""MultitenantServicePrincipal built alone under Pulumi's mocks (testing/component_mocks.py): what each
identity gets, through which provider, and that its client secret is only ever a secret output."""

from __future__ import annotations

import pulumi_azure_native as azure_native
import pulumi_azuread as azuread

from components.config.platform import IdentityConfig
from components.facts import roles
from components.identity.multitenant import MultitenantServicePrincipal, MultitenantServicePrincipalArgs
from testing.component_mocks import Built, build

TENANT, SUB = "11111111-2222-4333-8444-555555555555", "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"
WS_RG = f"/subscriptions/{SUB}/resourceGroups/rg-soc"
WORKSPACE = f"{WS_RG}/providers/Microsoft.OperationalInsights/workspaces/law-soc"
COMPONENT = "mssp:identity:MultitenantServicePrincipal"
ROLE_DEFINITION, ROLE_ASSIGNMENT = "azure-native:authorization:RoleDefinition", "azure-native:authorization:RoleAssignment"


def identity(**extra: object) -> IdentityConfig:
    return IdentityConfig.model_validate({
        "displayName": "MSSP Sentinel",
        "federatedCredentials": [
            {"name": "production", "issuer": "https://token.actions.githubusercontent.com",
             "subject": "repo:acme-mssp/mssp-sentinel:environment:production"},
            {"name": "drift", "issuer": "https://token.actions.githubusercontent.com",
             "subject": "repo:acme-mssp/mssp-sentinel:environment:drift"},
        ],
        **extra,
    })


def built(config: IdentityConfig, purpose: str = "deploy", resource_group: str | None = None) -> Built[MultitenantServicePrincipal]:
    def make() -> MultitenantServicePrincipal:
        entra = azuread.Provider("entra", tenant_id=TENANT)
        arm = azure_native.Provider("arm", subscription_id=SUB)
        return MultitenantServicePrincipal("mssp-identity", MultitenantServicePrincipalArgs(
            config, TENANT, SUB, WORKSPACE, entra, arm, purpose=purpose, resource_group=resource_group))  # type: ignore[arg-type]
    return build(make, lambda c: {"clientSecret": c.client_secret, "clientId": c.client_id})


def test_every_child_hangs_under_the_component_and_signs_in_through_its_own_provider() -> None:
    graph = built(identity()).graph
    children = graph.children_of(COMPONENT)
    assert len(children) == len(graph.nodes) - 3  # all but the two providers and the component itself
    for node in children:
        # Bug caught: an Entra object created through the ARM provider (or the default provider).
        assert node.provider == ("entra" if node.type.startswith("azuread:") else "arm"), node.name


def test_one_federated_credential_per_configured_trust_and_no_password_without_opt_in() -> None:
    b = built(identity())
    fics = b.graph.of_type("azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential")
    assert sorted(f.inputs["subject"] for f in fics) == [
        "repo:acme-mssp/mssp-sentinel:environment:drift", "repo:acme-mssp/mssp-sentinel:environment:production"]
    assert {f.inputs["audiences"][0] for f in fics} == {"api://AzureADTokenExchange"}
    assert b.graph.of_type("azuread:index/applicationPassword:ApplicationPassword") == []
    assert b.component.client_secret is None


def test_an_enabled_client_secret_is_a_secret_output() -> None:
    b = built(identity(clientSecret={"enabled": True, "lifetimeHours": 48}))
    (password,) = b.graph.of_type("azuread:index/applicationPassword:ApplicationPassword")
    assert password.inputs["endDateRelative"] == "48h"
    value, secret = b.outputs["clientSecret"]
    assert value and secret  # bug caught: the password exported in plain text
    assert b.outputs["clientId"][1] is False


def test_the_deploy_identity_gets_only_the_diagnostic_destination_actions_on_the_workspace() -> None:
    graph = built(identity()).graph
    (definition,) = graph.of_type(ROLE_DEFINITION)
    (assignment,) = graph.of_type(ROLE_ASSIGNMENT)
    actions = definition.inputs["permissions"][0]["actions"]
    assert sorted(actions) == sorted(roles.DIAGNOSTIC_DESTINATION_ACTIONS)
    assert definition.inputs["assignableScopes"] == [WS_RG]
    # Bug caught: the role assigned on the resource group (every workspace there) instead of the one workspace.
    assert assignment.inputs["scope"] == WORKSPACE
    assert assignment.inputs["principalType"] == "ServicePrincipal"


def test_the_read_only_identity_reads_configuration_and_writes_nothing() -> None:
    graph = built(identity(), purpose="read-only", resource_group="rg-mssp-platform").graph
    (definition,) = graph.of_type(ROLE_DEFINITION)
    actions = definition.inputs["permissions"][0]["actions"]
    assert actions and all(a.endswith("/read") for a in actions), actions
    assert not any("query" in a.lower() or "sharedkeys" in a.lower() for a in actions)  # never the logs or keys
    scopes = sorted(a.inputs["scope"] for a in graph.of_type(ROLE_ASSIGNMENT))
    assert scopes == sorted([WORKSPACE, f"/subscriptions/{SUB}/resourceGroups/rg-mssp-platform"])
    reader = [a for a in graph.of_type(ROLE_ASSIGNMENT) if a.inputs["scope"].endswith("rg-mssp-platform")]
    assert reader[0].inputs["roleDefinitionId"].endswith(roles.READER.guid)
