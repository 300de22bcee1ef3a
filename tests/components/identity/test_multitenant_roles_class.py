"""MultitenantServicePrincipal's custom roles, by class: defined on exactly the workspace's resource group,
named after the workspace (a custom role's name is unique per tenant), assigned to this identity's own
service principal with this definition, and nothing granted that the purpose does not name."""

from __future__ import annotations

import pytest

from components.identity.multitenant import MULTITENANT_AUDIENCE
from tests.components.identity.test_multitenant_unit import (
    ROLE_ASSIGNMENT,
    ROLE_DEFINITION,
    SUB,
    WORKSPACE,
    WS_RG,
    built,
    identity,
)


@pytest.mark.parametrize("purpose", ["deploy", "read-only"])
def test_the_custom_role_lives_on_the_workspaces_resource_group_and_is_named_after_the_workspace(purpose):
    # Bug caught: the resource group cut from the workspace id one segment short or long (the role defined
    # on ".../resourceGroups" or on ".../providers"), or two platforms' roles with the same tenant-wide name.
    graph = built(identity(), purpose=purpose).graph
    (definition,) = graph.of_type(ROLE_DEFINITION)
    assert definition.inputs["scope"] == WS_RG and definition.inputs["assignableScopes"] == [WS_RG]
    assert definition.inputs["roleName"].endswith(" (law-soc)")
    assert definition.inputs["roleType"] == "CustomRole"
    assert definition.inputs["permissions"][0].get("notActions", []) == []


@pytest.mark.parametrize("purpose", ["deploy", "read-only"])
def test_the_workspace_role_goes_to_this_identitys_principal_with_its_own_definition(purpose):
    b = built(identity(), purpose=purpose)
    (definition,) = b.graph.of_type(ROLE_DEFINITION)
    (assignment,) = [a for a in b.graph.of_type(ROLE_ASSIGNMENT) if a.inputs["scope"] == WORKSPACE]
    assert assignment.inputs["roleDefinitionId"].endswith(definition.inputs["roleDefinitionId"])
    assert assignment.inputs["principalType"] == "ServicePrincipal" and assignment.inputs["principalId"]
    # Every grant of the identity goes to one principal: its own service principal.
    assert len({a.inputs["principalId"] for a in b.graph.of_type(ROLE_ASSIGNMENT)}) == 1


def test_the_read_only_identity_without_a_platform_group_reads_the_workspace_only():
    assignments = built(identity(), purpose="read-only").graph.of_type(ROLE_ASSIGNMENT)
    assert [a.inputs["scope"] for a in assignments] == [WORKSPACE]


def test_the_platform_group_reader_is_in_the_platforms_subscription():
    graph = built(identity(), purpose="read-only", resource_group="rg-mssp-platform").graph
    (reader,) = [a for a in graph.of_type(ROLE_ASSIGNMENT) if a.inputs["scope"] != WORKSPACE]
    assert reader.inputs["scope"] == f"/subscriptions/{SUB}/resourceGroups/rg-mssp-platform"
    assert reader.inputs["roleDefinitionId"].lower().startswith(f"/subscriptions/{SUB}/providers/microsoft.authorization/")


def test_the_application_is_multitenant_and_named_from_the_config():
    (app,) = built(identity()).graph.of_type("azuread:index/application:Application")
    assert app.inputs["signInAudience"] == MULTITENANT_AUDIENCE == "AzureADMultipleOrgs"
    assert app.inputs["displayName"] == "MSSP Sentinel"


def test_role_and_assignment_ids_are_the_same_on_every_run():
    def ids() -> list[str]:
        graph = built(identity(), purpose="read-only", resource_group="rg-p").graph
        return sorted([d.inputs["roleDefinitionId"] for d in graph.of_type(ROLE_DEFINITION)]
                      + [a.inputs["roleAssignmentName"] for a in graph.of_type(ROLE_ASSIGNMENT)])
    first = ids()
    assert first == ids() and len(set(first)) == 3
