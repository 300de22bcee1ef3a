"""Whole-graph tests of the platform stack with the ITSM sync: automation rule, workflows, grants, secrets.

The automation rule is checked against Microsoft's AutomationRules REST spec (tests/fixtures/rest-specs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ITSM_CREDENTIAL_KEY, PROJECT_DIR, by_type, example_manifest, read_stack

from components.config import load_stack, read_stack_values, stack_file
from components.facts import roles
from components.itsm.sync import AZURE_SECURITY_INSIGHTS_APP_ID, GRAPH_APP_ROLE_ID_OFFLINE, MICROSOFT_GRAPH_APP_ID
from mssp.plan.command import build_manifest
from mssp.plan.mock_azure import offline_guid
from mssp.plan.offline import run_program
from testing.logic_apps_check import check_workflow

SPEC = PROJECT_DIR / "tests" / "fixtures" / "rest-specs" / "securityinsights_2023-02-01_AutomationRules.json"
SPEC_EXAMPLE = PROJECT_DIR / "tests" / "fixtures" / "rest-specs" / "securityinsights_2023-02-01_examples_AutomationRules_Get.json"
KNOWN_SECRET = "Kn0wn-ITSM-secret-value-7f3a"
CREDENTIAL_KEY = ITSM_CREDENTIAL_KEY
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_READ = "Get_ITSM_credential"  # the workflows' action that reads the credential from Key Vault


def one(manifest: dict[str, Any], type_token: str, name_part: str = "") -> dict[str, Any]:
    (found,) = [r for r in by_type(manifest, type_token) if name_part in r["name"]]
    return found


def workflow(manifest: dict[str, Any], which: str) -> dict[str, Any]:
    return one(manifest, "azure-native:logic:Workflow", which)


def example_key_vault() -> dict[str, str]:
    """The example platform stack's ITSM credential: a Key Vault secret (keyVaultSecretUri, keyVaultId)."""
    return read_stack("mssp")["config"]["mssp-sentinel:platform"]["itsm"]["credential"]


def all_actions(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every action of a workflow definition by name, nested ones (If, Until, Foreach, ...) included."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "actions" and isinstance(value, dict):
                    found.update(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(definition)
    return found


def basic_auth_passwords(definition: dict[str, Any]) -> list[str]:
    """The password of every Basic-authenticated HTTP action (the ServiceNow calls)."""
    return [a["inputs"]["authentication"]["password"] for a in all_actions(definition).values()
            if a.get("type") == "Http" and a["inputs"].get("authentication", {}).get("type") == "Basic"]


# -- a small validator for the subset of Swagger 2.0 the AutomationRules spec uses --------------------------

def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["definitions"][schema["$ref"].split("/")[-1]]
    return schema


def _properties(spec: dict[str, Any], schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    props, required = dict(schema.get("properties", {})), set(schema.get("required", []))
    for parent in schema.get("allOf", []):
        p, r = _properties(spec, _resolve(spec, parent))
        props, required = {**p, **props}, required | r
    return props, required


def _subtype(spec: dict[str, Any], base: str, value: str) -> dict[str, Any] | None:
    for name, d in spec["definitions"].items():
        refs = [a.get("$ref", "").split("/")[-1] for a in d.get("allOf", [])]
        if base in refs and d.get("x-ms-discriminator-value") == value:
            return spec["definitions"][name]
    return None


def swagger_problems(spec: dict[str, Any], schema: dict[str, Any], value: Any, path: str) -> list[str]:
    """Problems of `value` against `schema`: types, enums, required and unknown properties, discriminators."""
    base_name = schema["$ref"].split("/")[-1] if "$ref" in schema else None
    schema = _resolve(spec, schema)
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} not in {schema['enum']}"]
    kind = schema.get("type")
    if kind == "array" or "items" in schema:
        if not isinstance(value, list):
            return [f"{path}: expected an array"]
        for i, item in enumerate(value):
            problems += swagger_problems(spec, schema["items"], item, f"{path}[{i}]")
        return problems
    if kind == "string":
        return [] if isinstance(value, str) else [f"{path}: expected a string"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean"]
    if kind == "integer":
        return [] if isinstance(value, (int, float)) and float(value).is_integer() else [f"{path}: expected an integer"]
    if kind == "object" or "properties" in schema or "allOf" in schema:
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        if "discriminator" in schema and base_name is not None:
            sub = _subtype(spec, base_name, value.get(schema["discriminator"]))
            if sub is None:
                return [f"{path}.{schema['discriminator']}: no subtype {value.get(schema['discriminator'])!r}"]
            schema = sub
        props, required = _properties(spec, schema)
        problems += [f"{path}.{k}: required" for k in sorted(required - set(value))]
        for key, item in value.items():
            if key not in props:
                problems.append(f"{path}.{key}: not a property in the spec")
            elif not props[key].get("readOnly"):
                problems += swagger_problems(spec, props[key], item, f"{path}.{key}")
    return problems


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(SPEC.read_text())


def automation_rule_properties(rule: dict[str, Any]) -> dict[str, Any]:
    """The request body's `properties` as azure-native sends them: the rule's inputs minus path parameters."""
    path_params = {"automationRuleId", "resourceGroupName", "workspaceName"}
    return {k: v for k, v in rule["inputs"].items() if k not in path_params}


def test_swagger_validator_is_not_vacuous(spec):
    example = json.loads(SPEC_EXAMPLE.read_text())["responses"]["200"]["body"]["properties"]
    schema = {"$ref": "#/definitions/AutomationRuleProperties"}
    assert swagger_problems(spec, schema, example, "properties") == []
    bad = json.loads(json.dumps(example))
    bad["triggeringLogic"]["conditions"][0]["conditionType"] = "Labels"
    bad["actions"][0]["actionConfiguration"]["playbookId"] = "x"
    del bad["triggeringLogic"]["triggersWhen"]
    problems = swagger_problems(spec, schema, bad, "properties")
    assert any("conditionType" in p for p in problems)
    assert any("triggersWhen: required" in p for p in problems)


def test_automation_rule_matches_the_rest_spec(spec):
    rule = one(example_manifest("mssp"), "azure-native:securityinsights:AutomationRule")
    body = automation_rule_properties(rule)
    assert swagger_problems(spec, {"$ref": "#/definitions/AutomationRuleProperties"}, body, "properties") == []


def test_automation_rule_runs_the_playbook_when_redirected_is_added():
    m = example_manifest("mssp")
    platform = load_stack("mssp", PROJECT_DIR).platform
    rule = one(m, "azure-native:securityinsights:AutomationRule")
    inputs = rule["inputs"]
    assert (inputs["resourceGroupName"], inputs["workspaceName"]) == ("rg-mssp-sentinel", "law-mssp-sentinel")
    logic = inputs["triggeringLogic"]
    assert (logic["isEnabled"], logic["triggersOn"], logic["triggersWhen"]) == (True, "Incidents", "Updated")
    assert {"conditionType": "PropertyArrayChanged",
            "conditionProperties": {"arrayType": "Labels", "changeType": "Added"}} in logic["conditions"]
    # Defender's tag as Microsoft writes it, "Redirected", and the lower-case spelling Microsoft Learn uses
    # (components/itsm/workflows.py REDIRECTED_TAG); Equals, so a tag merely containing the word does not run it.
    assert {"conditionType": "Property",
            "conditionProperties": {"propertyName": "IncidentLabel", "operator": "Equals",
                                    "propertyValues": ["Redirected", "redirected"]}} in logic["conditions"]
    (run,) = inputs["actions"]
    assert run["actionType"] == "RunPlaybook"
    playbook = workflow(m, "playbook")
    assert run["actionConfiguration"]["logicAppResourceId"] == m["outputs"]["itsmPlaybookId"]
    assert run["actionConfiguration"]["logicAppResourceId"].endswith(
        f"/resourceGroups/{platform.resource_group}/providers/Microsoft.Logic/workflows/"
        f"{playbook['inputs']['workflowName']}")
    assert run["actionConfiguration"]["tenantId"] == platform.tenant_id
    assert playbook["urn"] in rule["options"]["dependsOn"]
    grant = one(m, "azure-native:authorization:RoleAssignment", "sentinel-automation-contributor")
    assert grant["urn"] in rule["options"]["dependsOn"]  # Sentinel may run the playbook before the rule exists


def test_workflows_are_consumption_with_system_identity_and_pass_the_checker(itsm_secret_manifest):
    # Both credential forms: the example's Key Vault secret, and the secret key itsmCredential.
    for form, m in (("keyvault", example_manifest("mssp")), ("secret", itsm_secret_manifest)):
        for which in ("playbook", "poller"):
            wf = workflow(m, which)
            assert wf["inputs"]["identity"] == {"type": "SystemAssigned"}, (form, which)
            assert wf["inputs"]["state"] == "Enabled"
            assert wf["provider"] == "mssp-arm"
            definition = wf["inputs"]["definition"]
            # The checker gets stand-in values for the declared parameters.
            stand_ins = {name: {} for name in definition["parameters"]}
            assert check_workflow(definition, stand_ins) == [], (form, which)
            passwords = basic_auth_passwords(definition)
            assert passwords, (form, which)  # the ServiceNow calls are there
            if form == "secret":
                # The supplied parameters are a Pulumi secret as a whole (they carry the credential).
                assert wf["inputs"]["parameters"] == "[secret]"
                assert definition["parameters"]["itsmCredential"]["type"] == "SecureString"
                assert set(passwords) == {"@parameters('itsmCredential')"}
                assert KEY_VAULT_READ not in all_actions(definition)
            else:
                # Nothing secret is supplied: the workflows read the credential from Key Vault at run time.
                assert wf["inputs"]["parameters"] != "[secret]"
                assert "itsmCredential" not in definition["parameters"]
                assert "itsmCredential" not in json.dumps(wf["inputs"]["parameters"])
                assert set(passwords) == {f"@body('{KEY_VAULT_READ}')?['value']"}
    poller = workflow(example_manifest("mssp"), "poller")["inputs"]["definition"]
    graph_filter = poller["actions"]["Graph_filter"]["inputs"]
    assert "status eq 'redirected'" in graph_filter and "lastUpdateDateTime ge" in graph_filter
    assert poller["triggers"]["Recurrence"]["recurrence"] == {"frequency": "Minute", "interval": 15}


def test_sentinel_connection_uses_managed_identity():
    m = example_manifest("mssp")
    platform = load_stack("mssp", PROJECT_DIR).platform
    conn = one(m, "azure-native:resources:Resource", "sentinel-connection")["inputs"]
    assert (conn["resourceProviderNamespace"], conn["resourceType"], conn["apiVersion"], conn["kind"]) == (
        "Microsoft.Web", "connections", "2016-06-01", "V1")
    assert conn["properties"]["parameterValueType"] == "Alternative"
    assert conn["properties"]["api"]["id"] == (
        f"/subscriptions/{platform.subscription_id}/providers/Microsoft.Web/locations/{platform.location}"
        "/managedApis/azuresentinel")
    assert conn["resourceGroupName"] == platform.resource_group


def itsm_role_assignments(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in by_type(manifest, "azure-native:authorization:RoleAssignment")
            if r["parent"] and "RedirectedIncidentSync" in r["parent"]]


def test_role_assignments_at_the_right_scopes(itsm_secret_manifest):
    m = example_manifest("mssp")
    platform = load_stack("mssp", PROJECT_DIR).platform
    rg_scope = f"/subscriptions/{platform.subscription_id}/resourceGroups/{platform.resource_group}"
    automation = one(m, "azure-native:authorization:RoleAssignment", "sentinel-automation-contributor")["inputs"]
    assert automation["scope"] == rg_scope
    assert automation["roleDefinitionId"].endswith(f"/roleDefinitions/{roles.SENTINEL_AUTOMATION_CONTRIBUTOR.guid}")
    assert roles.SENTINEL_AUTOMATION_CONTRIBUTOR.guid == "f4c81013-99ee-4d62-a7ee-b3f1f648599a"
    # Sentinel's service principal, looked up by the well-known app id (offline: the mock's answer).
    assert automation["principalId"] == offline_guid("service-principal", AZURE_SECURITY_INSIGHTS_APP_ID)
    responder = one(m, "azure-native:authorization:RoleAssignment", "playbook-sentinel-responder")["inputs"]
    assert responder["scope"] == platform.workspace_id
    assert responder["roleDefinitionId"].endswith(f"/roleDefinitions/{roles.SENTINEL_RESPONDER.guid}")
    assert roles.SENTINEL_RESPONDER.guid == "3e150937-b8fe-4cfb-8069-0eaf05ecd056"
    assert responder["principalId"] == offline_guid("workflow-identity", "itsm-redirect-playbook")
    assert responder["principalType"] == "ServicePrincipal"
    # The example's credential is a Key Vault secret: each workflow identity reads it as Key Vault
    # Secrets User on that one secret (the secret URI's name under the vault), nothing broader.
    vault = example_key_vault()["keyVaultId"]
    secret_name = example_key_vault()["keyVaultSecretUri"].rstrip("/").split("/secrets/")[1].split("/")[0]
    for who in ("playbook", "poller"):
        kv = one(m, "azure-native:authorization:RoleAssignment", f"itsm-redirect-{who}-keyvault-secrets-user")["inputs"]
        assert kv["scope"] == f"{vault}/secrets/{secret_name}"
        assert kv["roleDefinitionId"] == (f"/subscriptions/{vault.split('/')[2]}/providers/Microsoft.Authorization"
                                          f"/roleDefinitions/{KEY_VAULT_SECRETS_USER}")
        assert roles.BY_NAME["key vault secrets user"].guid == KEY_VAULT_SECRETS_USER
        assert kv["principalId"] == offline_guid("workflow-identity", f"itsm-redirect-{who}")
        assert kv["principalType"] == "ServicePrincipal"
    # Nothing else in the ITSM sync holds an Azure role.
    assert len(itsm_role_assignments(m)) == 4
    # With the credential as the secret key there is no vault to read: only the two grants above.
    assert {r["name"] for r in itsm_role_assignments(itsm_secret_manifest)} == {
        "itsm-redirect-sentinel-automation-contributor", "itsm-redirect-playbook-sentinel-responder"}


def test_graph_permission_is_incident_read_for_each_workflow_and_nothing_broader():
    m = example_manifest("mssp")
    grants = by_type(m, "azuread:index/appRoleAssignment:AppRoleAssignment")
    assert {g["name"] for g in grants} == {"itsm-redirect-playbook-graph-incident-read",
                                           "itsm-redirect-poller-graph-incident-read"}
    principals = {offline_guid("workflow-identity", "itsm-redirect-playbook"),
                  offline_guid("workflow-identity", "itsm-redirect-poller")}
    assert {g["inputs"]["principalObjectId"] for g in grants} == principals
    for g in grants:
        assert g["inputs"]["appRoleId"] == GRAPH_APP_ROLE_ID_OFFLINE
        assert g["inputs"]["resourceObjectId"] == offline_guid("service-principal", MICROSOFT_GRAPH_APP_ID)
        assert g["provider"] == "mssp-entra"


def test_well_known_ids():
    # Sources in components/itsm/sync.py.
    assert AZURE_SECURITY_INSIGHTS_APP_ID == "98785600-1bb7-4fb9-b9fa-19afe2c8a360"
    assert MICROSOFT_GRAPH_APP_ID == "00000003-0000-0000-c000-000000000000"
    assert GRAPH_APP_ROLE_ID_OFFLINE == "45cc0394-e837-488b-a098-1918f48d186c"


def test_no_itsm_credential_in_plain_text_anywhere(itsm_secret_stack_file: Path):
    # The real program with the credential as a secret config value of a known string (as the engine
    # hands it over after `pulumi config set --secret`): it must not appear in any input or output.
    values, secrets = read_stack_values(itsm_secret_stack_file)
    assert CREDENTIAL_KEY in secrets  # the secret-key variant of the example
    values[CREDENTIAL_KEY] = KNOWN_SECRET
    run = run_program(PROJECT_DIR, "mssp", values, secrets | {CREDENTIAL_KEY})
    text = json.dumps([r.inputs for r in run.registrations]) + json.dumps(run.outputs)
    assert KNOWN_SECRET not in text
    playbook = next(r for r in run.registrations if r.name == "itsm-redirect-playbook")
    assert playbook.inputs["parameters"] == "[secret]"  # the value was passed, as a secret
    for r in run.registrations:
        if r.type == "azure-native:logic:Workflow":
            assert "itsmCredential" in json.dumps(r.inputs["definition"])  # referenced, never inlined


def test_example_key_vault_credential_is_read_at_run_time_and_kept_out_of_run_history():
    # The example's form: the program never sees the credential; each workflow reads it from the vault
    # with its managed identity, and neither that read nor the calls that use it show it in run history.
    m = example_manifest("mssp")
    secret_uri = example_key_vault()["keyVaultSecretUri"]
    values, secrets = read_stack_values(stack_file(PROJECT_DIR, "mssp"))
    assert not secrets and CREDENTIAL_KEY not in values  # no secret config in the example at all
    for which in ("playbook", "poller"):
        wf = workflow(m, which)
        assert "[secret]" not in json.dumps(wf["inputs"])  # nothing secret reaches the resource
        actions = all_actions(wf["inputs"]["definition"])
        read = actions[KEY_VAULT_READ]
        assert read["type"] == "Http"
        assert read["inputs"]["method"] == "GET"
        assert read["inputs"]["uri"].startswith(f"{secret_uri}?api-version=")
        assert read["inputs"]["authentication"] == {"type": "ManagedServiceIdentity", "audience": "https://vault.azure.net"}
        assert {"inputs", "outputs"} <= set(read["runtimeConfiguration"]["secureData"]["properties"])
        users = [(name, a) for name, a in actions.items()
                 if name != KEY_VAULT_READ and KEY_VAULT_READ in json.dumps(a.get("inputs", {}))]
        assert users, which
        for name, a in users:
            assert "inputs" in a.get("runtimeConfiguration", {}).get("secureData", {}).get("properties", []), (which, name)


def test_key_vault_credential_and_webhook(stack_doc, write_stack):
    doc = stack_doc("mssp")
    platform = doc["config"]["mssp-sentinel:platform"]
    doc["config"].pop(CREDENTIAL_KEY, None)  # only the Key Vault form below (both is a config error)
    vault = ("/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg-kv/providers/"
             "Microsoft.KeyVault/vaults/kv-acme-mssp")
    platform["itsm"] = {"kind": "webhook", "webhook": {"url": "https://itsm.example.com/hooks/sentinel"},
                        "allowedHosts": ["itsm.example.com"],
                        "poller": {"enabled": False},
                        "credential": {"keyVaultSecretUri": "https://kv-acme-mssp.vault.azure.net/secrets/webhook",
                                       "keyVaultId": vault}}
    m = build_manifest("mssp", PROJECT_DIR, write_stack(doc, "mssp"))
    assert not [w for w in by_type(m, "azure-native:logic:Workflow") if "poller" in w["name"]]
    assert "itsmPollerId" not in m["outputs"]
    playbook = workflow(m, "playbook")
    assert "itsmCredential" not in playbook["inputs"]["definition"]["parameters"]
    (kv,) = [r for r in by_type(m, "azure-native:authorization:RoleAssignment") if "keyvault" in r["name"]]
    # Scoped to the one secret the workflows read, not the vault (issue 10).
    assert kv["inputs"]["scope"] == f"{vault}/secrets/webhook"
    assert kv["inputs"]["roleDefinitionId"].endswith("/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6")
    assert kv["inputs"]["principalId"] == offline_guid("workflow-identity", "itsm-redirect-playbook")


def test_no_itsm_section_no_itsm_resources(stack_doc, write_stack):
    doc = stack_doc("mssp")
    del doc["config"]["mssp-sentinel:platform"]["itsm"]  # the example's Key Vault credential with it
    doc["config"].pop(CREDENTIAL_KEY, None)  # a secret key without the section is a config error
    m = build_manifest("mssp", PROJECT_DIR, write_stack(doc, "mssp"))
    assert not [r for r in m["resources"] if "itsm" in r["urn"]]
    assert "itsmPlaybookId" not in m["outputs"]


def test_configured_sentinel_principal_and_workspace_in_another_subscription(stack_doc, write_stack):
    doc = stack_doc("mssp")
    platform = doc["config"]["mssp-sentinel:platform"]
    object_id = "0d2c4b6a-8e1f-4a3b-9c5d-7e6f8a9b0c1d"
    ws_sub = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
    platform["itsm"]["sentinelServicePrincipalObjectId"] = object_id
    platform["workspace"]["subscriptionId"] = ws_sub
    m = build_manifest("mssp", PROJECT_DIR, write_stack(doc, "mssp"))
    automation = one(m, "azure-native:authorization:RoleAssignment", "sentinel-automation-contributor")
    assert automation["inputs"]["principalId"] == object_id
    rule = one(m, "azure-native:securityinsights:AutomationRule")
    assert rule["provider"] == "mssp-arm-workspace"
    (provider,) = [r for r in m["resources"] if r["name"] == "mssp-arm-workspace"]
    assert provider["inputs"]["subscriptionId"] == ws_sub
    responder = one(m, "azure-native:authorization:RoleAssignment", "playbook-sentinel-responder")["inputs"]
    assert responder["scope"].startswith(f"/subscriptions/{ws_sub}/")
    assert responder["roleDefinitionId"].startswith(f"/subscriptions/{ws_sub}/")
    # The playbook and its connection stay in the platform subscription's resource group.
    assert workflow(m, "playbook")["provider"] == "mssp-arm"
