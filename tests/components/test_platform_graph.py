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
    apps = {a["name"]: a for a in by_type(m, "azuread:index/application:Application")}
    assert set(apps) == {"mssp-identity-app", "mssp-readonly-identity-app"}  # deploy and read-only
    assert all(a["inputs"]["signInAudience"] == "AzureADMultipleOrgs" for a in apps.values())
    assert apps["mssp-identity-app"]["inputs"]["displayName"] == platform.identity.display_name
    assert apps["mssp-readonly-identity-app"]["inputs"]["displayName"] == platform.read_only_identity.display_name
    assert len(by_type(m, "azuread:index/servicePrincipal:ServicePrincipal")) == 2
    fics = by_type(m, "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential")
    by_parent = {}
    for f in fics:
        by_parent.setdefault(f["parent"].rsplit("::", 1)[-1], []).append(f["inputs"]["subject"])
        assert f["inputs"]["audiences"] == ["api://AzureADTokenExchange"]
    # The deploy identity trusts only the protected environment; previews and drift get the read-only one,
    # through environments too (no bare pull_request subject, which any job a PR adds could claim).
    assert by_parent["mssp-identity"] == ["repo:acme-mssp/mssp-sentinel:environment:production"]
    assert sorted(by_parent["mssp-readonly-identity"]) == ["repo:acme-mssp/mssp-sentinel:environment:drift",
                                                         "repo:acme-mssp/mssp-sentinel:environment:preview"]
    # Secretless by default.
    assert not by_type(m, "azuread:index/applicationPassword:ApplicationPassword")
    for r in m["resources"]:
        if r["custom"] and not r["type"].startswith("pulumi:"):
            assert r["provider"] in ("mssp-arm", "mssp-entra"), r["urn"]


def test_deploy_identity_gets_only_the_diagnostic_destination_actions_on_the_workspace():
    m = example_manifest("mssp")
    platform = load_stack("mssp", PROJECT_DIR).platform
    # No Log Analytics Contributor anywhere in the platform: it would read every customer's logs.
    assert not any(r["inputs"].get("roleDefinitionId", "").endswith(roles.LOG_ANALYTICS_CONTRIBUTOR.guid)
                   for r in by_type(m, "azure-native:authorization:RoleAssignment"))
    definitions = {d["name"]: d for d in by_type(m, "azure-native:authorization:RoleDefinition")}
    assert set(definitions) == {"mssp-identity-diagnostic-destination-role", "mssp-readonly-identity-config-reader-role"}
    definition = definitions["mssp-identity-diagnostic-destination-role"]
    # Custom roles are assignable at resource-group scope at the narrowest; the assignment is on the workspace.
    ws_rg = platform.workspace_id.split("/providers/")[0]
    assert definition["inputs"]["assignableScopes"] == [ws_rg] and definition["inputs"]["scope"] == ws_rg
    assert definition["inputs"]["permissions"] == [{"actions": [
        "Microsoft.OperationalInsights/workspaces/read",
        "Microsoft.OperationalInsights/workspaces/sharedKeys/action"], "notActions": []}]
    # The read-only identity reads the workspace's configuration, never its logs: no query or search
    # action, no wildcard, no shared keys (Reader's */read would include workspaces/query/*/read).
    reader = definitions["mssp-readonly-identity-config-reader-role"]["inputs"]
    (perm,) = reader["permissions"]
    assert perm["actions"] and all(a.endswith("/read") and "*" not in a and "query" not in a.lower()
                                   for a in perm["actions"])
    ro = [r for r in by_type(m, "azure-native:authorization:RoleAssignment")
          if r["parent"] and r["parent"].endswith("::mssp-readonly-identity")]
    on_workspace = [r for r in ro if r["inputs"]["scope"] == platform.workspace_id]
    assert [r["name"] for r in on_workspace] == ["mssp-readonly-identity-workspace-config-reader"]
    assert not any(r["inputs"]["roleDefinitionId"].endswith(roles.READER.guid) for r in on_workspace)
    # The identities' own assignments (the ITSM sync's are tested in test_itsm_graph.py).
    mine = [r for r in by_type(m, "azure-native:authorization:RoleAssignment")
            if r["parent"] and "MultitenantServicePrincipal" in r["parent"]]
    deploy = [r for r in mine if r["parent"].endswith("::mssp-identity")]
    (assignment,) = deploy
    assert assignment["inputs"]["scope"] == platform.workspace_id
    assert assignment["inputs"]["principalId"] == m["outputs"]["servicePrincipalObjectId"]
    assert assignment["inputs"]["principalType"] == "ServicePrincipal"
    # The read-only identity: its configuration-reader role on the workspace, Reader on the platform resource
    # group, nothing else (offline, the custom role's id ends in the GUID its definition declares, as in ARM).
    reader = [r for r in mine if r["parent"].endswith("::mssp-readonly-identity")]
    assert {(r["inputs"]["scope"], r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1]) for r in reader} == {
        (platform.workspace_id, definitions["mssp-readonly-identity-config-reader-role"]["inputs"]["roleDefinitionId"]),
        (f"/subscriptions/{platform.subscription_id}/resourceGroups/{platform.resource_group}", roles.READER.guid)}
    assert all(r["inputs"]["principalId"] == m["outputs"]["readOnlyServicePrincipalObjectId"] for r in reader)


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
                      if a["name"] == "mssp-readonly-identity-workspace-config-reader")
    assert assignment["inputs"]["scope"].startswith(f"/subscriptions/{other_sub}/")
    definition = next(d for d in by_type(m, "azure-native:authorization:RoleDefinition")
                      if d["name"] == "mssp-readonly-identity-config-reader-role")
    assert definition["inputs"]["scope"].startswith(f"/subscriptions/{other_sub}/")


def test_platform_exports_what_customer_stacks_read():
    import ast
    import inspect

    from components import stacks

    read = {node.args[0].value for node in ast.walk(ast.parse(inspect.getsource(stacks.build_customer)))
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "require_output"}
    assert read == set(stacks.PLATFORM_OUTPUTS)
    assert set(stacks.PLATFORM_OUTPUTS) <= set(example_manifest("mssp")["outputs"])


def test_custom_role_names_are_unique_per_workspace(stack_doc, write_stack):
    # Bug: a fixed custom-role name; a second platform stack in the same MSSP tenant (another workspace)
    # would fail with "role definition with the same name exists".
    doc = stack_doc("mssp")
    doc["config"]["mssp-sentinel:platform"]["workspace"]["name"] = "law-mssp-staging"
    other = build_manifest("mssp", PROJECT_DIR, write_stack(doc, "mssp"))
    names = lambda m: {d["inputs"]["roleName"] for d in by_type(m, "azure-native:authorization:RoleDefinition")}  # noqa: E731
    assert names(example_manifest("mssp")).isdisjoint(names(other))
    assert all("(law-mssp-staging)" in n for n in names(other))
