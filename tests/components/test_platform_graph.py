"""Whole-graph tests of the platform stack."""

from __future__ import annotations

import json

from conftest import PROJECT_DIR, by_type, example_manifest

from components.config import load_stack
from components.facts import roles
from mssp.plan.command import build_manifest


def test_multitenant_application_and_its_service_principal():
    m = example_manifest("mssp")
    platform = load_stack("mssp", PROJECT_DIR).platform
    apps = by_type(m, "azuread:index/application:Application")
    assert len(apps) == 1
    assert apps[0]["inputs"]["signInAudience"] == "AzureADMultipleOrgs"
    assert apps[0]["inputs"]["displayName"] == platform.identity.display_name
    assert len(by_type(m, "azuread:index/servicePrincipal:ServicePrincipal")) == 1
    fics = by_type(m, "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential")
    assert [f["inputs"]["subject"] for f in fics] == [platform.identity.federated_credentials[0].subject]
    assert fics[0]["inputs"]["audiences"] == ["api://AzureADTokenExchange"]
    # Secretless by default.
    assert not by_type(m, "azuread:index/applicationPassword:ApplicationPassword")
    for r in m["resources"]:
        if r["custom"] and not r["type"].startswith("pulumi:"):
            assert r["provider"] in ("mssp-arm", "mssp-entra"), r["urn"]


def test_log_analytics_contributor_only_on_the_workspace():
    m = example_manifest("mssp")
    platform = load_stack("mssp", PROJECT_DIR).platform
    # The identity's own assignments (the ITSM sync's are tested in test_itsm_graph.py).
    (assignment,) = [r for r in by_type(m, "azure-native:authorization:RoleAssignment")
                     if r["parent"] and "MultitenantServicePrincipal" in r["parent"]]
    assert assignment["inputs"]["scope"] == platform.workspace_id
    assert assignment["inputs"]["roleDefinitionId"] == (
        f"/subscriptions/{platform.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/"
        f"{roles.LOG_ANALYTICS_CONTRIBUTOR.guid}"
    )
    assert assignment["inputs"]["principalType"] == "ServicePrincipal"
    assert m["outputs"]["servicePrincipalObjectId"] == assignment["inputs"]["principalId"]


def test_components_parent_their_children():
    m = example_manifest("mssp")
    components = {r["urn"] for r in m["resources"] if not r["custom"]}
    assert components
    for r in m["resources"]:
        if r["custom"] and not r["type"].startswith("pulumi:providers:"):
            assert r["parent"] in components, r["urn"]


def test_client_secret_only_when_enabled_and_never_in_plain_text(stack_doc, write_stack):
    doc = stack_doc("mssp")
    doc["config"]["mssp-sentinel:platform"]["identity"]["clientSecret"] = {"enabled": True}
    m = build_manifest("mssp", PROJECT_DIR, write_stack(doc, "mssp"))
    (password,) = by_type(m, "azuread:index/applicationPassword:ApplicationPassword")
    assert password["inputs"]["endDateRelative"] == "4380h"
    assert m["outputs"]["applicationClientSecret"] == "[secret]"
    text = json.dumps(m)
    assert "offline-plan-placeholder-not-a-secret" not in text  # the mock's password value


def test_role_definition_id_names_the_workspace_subscription(stack_doc, write_stack):
    other_sub = "5a5a5a5a-1b1b-4c2c-8d3d-4e4e4e4e4e4e"
    doc = stack_doc("mssp")
    doc["config"]["mssp-sentinel:platform"]["workspace"]["subscriptionId"] = other_sub
    m = build_manifest("mssp", PROJECT_DIR, write_stack(doc, "mssp"))
    assignment = next(a for a in by_type(m, "azure-native:authorization:RoleAssignment")
                      if a["inputs"]["roleDefinitionId"].endswith(roles.LOG_ANALYTICS_CONTRIBUTOR.guid))
    assert assignment["inputs"]["scope"].startswith(f"/subscriptions/{other_sub}/")
    assert assignment["inputs"]["roleDefinitionId"].startswith(f"/subscriptions/{other_sub}/")


def test_platform_exports_what_customer_stacks_read():
    import ast
    import inspect

    from components import stacks

    read = {node.args[0].value for node in ast.walk(ast.parse(inspect.getsource(stacks.build_customer)))
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "require_output"}
    assert read == set(stacks.PLATFORM_OUTPUTS)
    assert set(stacks.PLATFORM_OUTPUTS) <= set(example_manifest("mssp")["outputs"])
