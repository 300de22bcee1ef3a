"""Every guardrail: a resource that passes and one that fails, through the CrossGuard policy
(`ResourceValidationArgs` / `StackValidationArgs`, built as pulumi_policy 1.21's servicer builds them)
and through the offline `evaluate_manifest`; plus the parts only one runner can see.

Resource shapes are the engine (camelCase) inputs of azure-native 3.x as `mssp plan` records them
(pulumi_azure_native 3.29 `@pulumi.getter(name=...)`); URNs follow the plan manifest's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from components.facts import roles
from policies import rules

SUB = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
WS = f"/subscriptions/{SUB}/resourceGroups/rg-mssp-sentinel/providers/Microsoft.OperationalInsights/workspaces/law-mssp"
OTHER_WS = f"/subscriptions/{SUB}/resourceGroups/rg-other/providers/Microsoft.OperationalInsights/workspaces/law-other"
DCR = f"/subscriptions/{SUB}/resourceGroups/rg-mssp-sentinel/providers/Microsoft.Insights/dataCollectionRules/dcr-splunk"
KV = f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv-prod"
CONTEXT = {"workspaceResourceId": WS, "workspaceLocation": "westeurope"}
CALLBACK = (
    "https://prod-01.westeurope.logic.azure.com:443/workflows/0123/triggers/manual/paths/invoke"
    "?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
)


def urn(rtype: str, name: str) -> str:
    return f"urn:pulumi:test::mssp-sentinel::{rtype}::{name}"


def mmp_definition_id() -> str:
    return roles.role_definition_id(SUB, roles.MONITORING_METRICS_PUBLISHER)


def lac_definition_id() -> str:
    return roles.role_definition_id(SUB, roles.LOG_ANALYTICS_CONTRIBUTOR)


def lighthouse(*auths: dict[str, Any], eligible: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "authorizations": list(auths),
        "managedByTenantId": "6f1e8a2c-3b4d-4e5f-9a0b-1c2d3e4f5a6b",
        "registrationDefinitionName": "Acme MSSP",
    }
    if eligible is not None:
        props["eligibleAuthorizations"] = eligible
    return {"properties": props, "registrationDefinitionId": "0a87cac7-36f1-561b-8b62-88e6260c9fe1",
            "scope": f"/subscriptions/{SUB}"}


def auth(role: roles.Role, **extra: Any) -> dict[str, Any]:
    return {"principalId": "5e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091", "principalIdDisplayName": "SOC", "roleDefinitionId": role.guid, **extra}


def diag(**over: Any) -> dict[str, Any]:
    props = {"name": "mssp-sentinel", "resourceUri": KV, "workspaceId": WS,
             "logs": [{"categoryGroup": "audit", "enabled": True}], "metrics": [{"category": "AllMetrics", "enabled": True}]}
    props.update(over)
    return props


def table(**over: Any) -> dict[str, Any]:
    props = {"resourceGroupName": "rg-mssp-sentinel", "workspaceName": "law-mssp", "tableName": "SplunkAlerts_CL",
             "schema": {"name": "SplunkAlerts_CL", "columns": [
                 {"name": "TimeGenerated", "type": "dateTime"}, {"name": "result", "type": "dynamic"}]}}
    props.update(over)
    return props


def dcr(**over: Any) -> dict[str, Any]:
    props = {"resourceGroupName": "rg-mssp-sentinel", "dataCollectionRuleName": "dcr-splunk", "kind": "Direct",
             "location": "westeurope",
             "destinations": {"logAnalytics": [{"name": "mssp", "workspaceResourceId": WS}]}}
    props.update(over)
    return props


def workflow(definition: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"resourceGroupName": "rg-soc", "location": "westeurope", "definition": definition}
    if parameters is not None:
        props["parameters"] = parameters
    return props


def http_action(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
            "triggers": {"manual": {"type": "Request", "kind": "Http"}},
            "actions": {"Send": {"type": "Http", "inputs": inputs}}}


MSI_POST = http_action({"method": "POST", "uri": "https://dcr.ingest.monitor.azure.com/dataCollectionRules/dcr-1/streams/Custom-X",
                        "authentication": {"type": "ManagedServiceIdentity", "audience": "https://monitor.azure.com"}})


def role_assignment(definition_id: str, scope: str) -> dict[str, Any]:
    return {"principalId": "6a256914-6252-544b-99f2-98195e83b59f", "principalType": "ServicePrincipal",
            "roleDefinitionId": definition_id, "scope": scope}


@dataclass
class Case:
    rule: str
    type: str
    good: dict[str, Any]
    bad: dict[str, Any]
    expect: str  # a fragment of the failing message
    good_protect: bool = False
    bad_protect: bool = False
    good_retain: bool = False
    bad_retain: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


RESOURCE_CASES = [
    Case("lighthouse-delegable-roles", rules.REGISTRATION_DEFINITION,
         lighthouse(auth(roles.READER), auth(roles.USER_ACCESS_ADMINISTRATOR,
                                             delegatedRoleDefinitionIds=[roles.MONITORING_CONTRIBUTOR.guid])),
         lighthouse(auth(roles.READER), auth(roles.OWNER)), "Owner"),
    Case("lighthouse-delegable-roles", rules.REGISTRATION_DEFINITION,
         lighthouse(auth(roles.SENTINEL_RESPONDER)),
         lighthouse(auth(roles.MONITORING_METRICS_PUBLISHER)), "DataActions"),
    Case("lighthouse-delegable-roles", rules.REGISTRATION_DEFINITION,
         lighthouse(auth(roles.READER), eligible=[auth(roles.MONITORING_CONTRIBUTOR)]),
         lighthouse(auth(roles.USER_ACCESS_ADMINISTRATOR)), "delegatedRoleDefinitionIds"),
    Case("lighthouse-delegable-roles", rules.REGISTRATION_DEFINITION,
         lighthouse(auth(roles.READER)),
         lighthouse(auth(roles.READER), eligible=[auth(roles.USER_ACCESS_ADMINISTRATOR,
                                                        delegatedRoleDefinitionIds=[roles.READER.guid])]),
         "cannot be an eligible authorization"),
    Case("lighthouse-delegable-roles", rules.REGISTRATION_DEFINITION,
         lighthouse(auth(roles.READER)),
         lighthouse({**auth(roles.READER), "roleDefinitionId": roles.role_definition_id(SUB, roles.READER)}),
         "bare GUID"),
    # Lighthouse tenants-users-roles.md: "My customers" needs Reader or a role including it. Sentinel Reader
    # does not include it; Monitoring Contributor (*/read) does; an eligible Reader grants nothing until activated.
    Case("lighthouse-my-customers-reader", rules.REGISTRATION_DEFINITION,
         lighthouse(auth(roles.READER), auth(roles.resolve("Microsoft Sentinel Reader"))),
         lighthouse(auth(roles.resolve("Microsoft Sentinel Reader"))), "My customers"),
    Case("lighthouse-my-customers-reader", rules.REGISTRATION_DEFINITION,
         lighthouse(auth(roles.MONITORING_CONTRIBUTOR)),
         lighthouse(auth(roles.SENTINEL_RESPONDER), eligible=[auth(roles.READER)]), "add a Reader authorization"),
    Case("diagnostic-settings-to-mssp-workspace", rules.DIAGNOSTIC_SETTING, diag(), diag(workspaceId=OTHER_WS),
         "is not the MSSP workspace"),
    Case("diagnostic-settings-to-mssp-workspace", rules.SUBSCRIPTION_DIAGNOSTIC_SETTING,
         {"name": "mssp-sentinel", "workspaceId": WS.upper(), "logs": [{"category": "Administrative", "enabled": True}]},
         {"name": "mssp-sentinel", "storageAccountId": KV, "logs": [{"category": "Administrative", "enabled": True}]},
         "workspaceId is not set"),
    Case("diagnostic-settings-log-entries", rules.DIAGNOSTIC_SETTING,
         diag(logs=[{"category": "AuditEvent", "enabled": True}, {"category": "AzurePolicyEvaluationDetails", "enabled": True}]),
         diag(logs=[{"category": "AuditEvent", "enabled": True}, {"categoryGroup": "allLogs", "enabled": True}]),
         "mixes category and categoryGroup"),
    Case("diagnostic-settings-log-entries", rules.DIAGNOSTIC_SETTING, diag(),
         diag(metrics=[{"category": "AllMetrics", "enabled": False}]), "metrics[0] has enabled: false"),
    Case("diagnostic-settings-log-entries", rules.SUBSCRIPTION_DIAGNOSTIC_SETTING,
         {"name": "s", "workspaceId": WS, "logs": [{"category": "Security", "enabled": True}]},
         {"name": "s", "workspaceId": WS, "logs": [{"category": "Security", "enabled": False}]}, "logs[0] has enabled: false"),
    Case("custom-table-schema", rules.TABLE, table(), table(tableName="SplunkAlerts", schema={"name": "SplunkAlerts", "columns": [
        {"name": "TimeGenerated", "type": "dateTime"}]}), "must end in _CL", good_protect=True, good_retain=True),
    Case("custom-table-schema", rules.TABLE, table(), table(schema={"name": "SplunkAlerts_CL", "columns": [
        {"name": "result", "type": "dynamic"}]}), "no TimeGenerated"),
    Case("custom-table-schema", rules.TABLE, table(), table(schema={"name": "SplunkAlerts_CL", "columns": [
        {"name": "TimeGenerated", "type": "string"}]}), "must be of type dateTime"),
    Case("tables-and-dcrs-protected", rules.TABLE, table(), table(), "protect is not set",
         good_protect=True, good_retain=True, bad_protect=False, bad_retain=True),
    Case("tables-and-dcrs-protected", rules.DATA_COLLECTION_RULE, dcr(), dcr(), "protect is not set",
         good_protect=True, good_retain=True, bad_protect=False, bad_retain=False),
    Case("workflow-no-credentials", rules.WORKFLOW, workflow(MSI_POST),
         workflow(http_action({"method": "POST", "uri": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
                               "authentication": {"type": "ActiveDirectoryOAuth", "tenant": "t", "clientId": "c",
                                                  "secret": "s3cr3t-Value~abc", "audience": "https://monitor.azure.com"}})),
         "authentication.secret is a literal credential"),
    Case("workflow-no-credentials", rules.WORKFLOW,
         workflow(http_action({"method": "GET", "uri": "https://api.example.com/",
                               "headers": {"Authorization": "@{concat('Bearer ', parameters('token'))}"}})),
         workflow(http_action({"method": "GET", "uri": "https://api.example.com/",
                               "headers": {"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz012345"}})),
         "headers.Authorization is a literal credential header"),
    Case("workflow-no-credentials", rules.WORKFLOW,
         workflow(http_action({"method": "POST", "uri": "@parameters('target')"})),
         workflow(http_action({"method": "POST", "uri": CALLBACK})), "inputs.uri contains a credential"),
    Case("workflow-no-credentials", rules.WORKFLOW,
         workflow(http_action({"method": "POST", "uri": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
                               "body": "grant_type=client_credentials&client_id=c&client_secret=@{parameters('clientSecret')}"})),
         workflow(http_action({"method": "POST", "uri": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
                               "body": "grant_type=client_credentials&client_id=c&client_secret=abc~DEF123"})),
         "inputs.body contains a credential"),
    Case("workflow-no-credentials", rules.WORKFLOW,
         workflow(http_action({"method": "GET", "uri": "https://acme.service-now.com/api/now/table/incident"})),
         workflow(http_action({"method": "GET", "uri": "https://svc:Hunter2Pw@acme.service-now.com/api/now/table/incident"})),
         "inputs.uri contains a credential"),
    Case("workflow-no-credentials", rules.WORKFLOW,
         workflow({**MSI_POST, "parameters": {"clientSecret": {"type": "SecureString"}}},
                  {"clientSecret": {"type": "SecureString", "value": "s3cr3t-Value~abc"}}),
         workflow({**MSI_POST, "parameters": {"clientSecret": {"type": "SecureString", "defaultValue": "s3cr3t-Value~abc"}}}),
         "carries a defaultValue"),
    Case("workflow-no-credentials", rules.WORKFLOW,
         workflow({**MSI_POST, "parameters": {"apiKey": {"type": "SecureString"}}}, {"apiKey": {"value": "k-123456789"}}),
         workflow({**MSI_POST, "parameters": {"apiKey": {"type": "String"}}}, {"apiKey": {"value": "k-123456789"}}),
         "parameters.apiKey passes a credential"),
    Case("data-plane-role-scope", rules.ROLE_ASSIGNMENT,
         role_assignment(mmp_definition_id(), DCR),
         role_assignment(mmp_definition_id(), f"/subscriptions/{SUB}/resourceGroups/rg-mssp-sentinel"),
         "Monitoring Metrics Publisher is assigned at scope"),
    Case("data-plane-role-scope", rules.ROLE_ASSIGNMENT,
         role_assignment(lac_definition_id(), WS),
         role_assignment(lac_definition_id(), f"/subscriptions/{SUB}"),
         "Log Analytics Contributor is assigned at scope"),
    Case("webhook-caller-ip-restriction", rules.WORKFLOW,
         {**workflow({"triggers": {"splunk_alert": {"type": "Request", "kind": "Http"}}}),
          "accessControl": {"triggers": {"allowedCallerIpAddresses": [{"addressRange": "198.51.100.0/28"}]}}},
         workflow({"triggers": {"splunk_alert": {"type": "Request", "kind": "Http"}}}),
         "accepts calls from any IP address"),
    # Issue 20: the deploy identity's credential (no parent: judged as the deploy identity's) trusts production only.
    Case("federated-credential-trust", rules.APP_FEDERATED_CREDENTIAL,
         {"issuer": "https://token.actions.githubusercontent.com", "audiences": ["api://AzureADTokenExchange"],
          "subject": "repo:acme-mssp/mssp-sentinel:environment:production", "displayName": "gh"},
         {"issuer": "https://token.actions.githubusercontent.com", "audiences": ["api://AzureADTokenExchange"],
          "subject": "repo:acme-mssp/mssp-sentinel:pull_request", "displayName": "gh"},
         "pull requests can obtain it"),
    Case("custom-role-actions", rules.ROLE_DEFINITION,
         {"roleName": "r", "assignableScopes": [f"/subscriptions/{SUB}/resourceGroups/rg"],
          "permissions": [{"actions": ["Microsoft.OperationalInsights/workspaces/read"]}]},
         {"roleName": "r", "assignableScopes": [f"/subscriptions/{SUB}/resourceGroups/rg"],
          "permissions": [{"actions": ["Microsoft.OperationalInsights/workspaces/query/*/read"]}]},
         "reads the workspace's logs"),
    Case("graph-app-role-allowlist", rules.APP_ROLE_ASSIGNMENT,
         {"appRoleId": "45cc0394-e837-488b-a098-1918f48d186c", "principalObjectId": "p", "resourceObjectId": "g"},
         {"appRoleId": "19dbc75e-c2e2-444c-a770-ec69d8559fc7", "principalObjectId": "p", "resourceObjectId": "g"},
         "not in the reviewed Graph app-role table"),
    Case("dcr-workspace-same-region", rules.DATA_COLLECTION_RULE, dcr(location="West Europe"), dcr(location="northeurope"),
         "differs from the MSSP workspace's region", good_protect=True, good_retain=True),
]


def case_id(c: Case) -> str:
    return f"{c.rule}:{c.expect[:30]}"


def _opts(protect: bool) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def resource_args(rtype: str, props: dict[str, Any], protect: bool = False, config: dict[str, Any] | None = None) -> ResourceValidationArgs:
    # The servicer wraps props in unknown_checking_proxy (pulumi_policy/policy.py Analyze); so do we.
    return ResourceValidationArgs(rtype, unknown_checking_proxy(props), urn(rtype, "r"), "r", _opts(protect), None,
                                  config if config is not None else CONTEXT)


def policy(name: str) -> Any:
    return next(p for p in rules.build_policies() if p.name == name)


def pack_messages(name: str, args: Any) -> list[str]:
    reported: list[str] = []
    policy(name).validate(args, lambda message, urn=None: reported.append(message))
    return reported


def manifest_of(*resources: tuple[str, dict[str, Any], bool, bool], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "stack": "test",
        "resources": [
            {"urn": urn(t, f"r{i}"), "type": t, "name": f"r{i}", "parent": None, "custom": True, "provider": None,
             "inputs": props, "options": {"protect": protect, "retainOnDelete": retain, "dependsOn": []}}
            for i, (t, props, protect, retain) in enumerate(resources)
        ],
        "outputs": outputs or {},
        "policies": [],
    }


def offline_messages(name: str, manifest: dict[str, Any]) -> list[str]:
    return [r["message"] for r in rules.evaluate_manifest(manifest, rules.PolicyContext.from_mapping(CONTEXT)) if r["policy"] == name]


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=case_id)
def test_resource_rule_through_the_pack(case: Case):
    assert pack_messages(case.rule, resource_args(case.type, case.good, case.good_protect)) == []
    bad = pack_messages(case.rule, resource_args(case.type, case.bad, case.bad_protect))
    assert any(case.expect in m for m in bad), bad


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=case_id)
def test_resource_rule_through_the_manifest(case: Case):
    assert offline_messages(case.rule, manifest_of((case.type, case.good, case.good_protect, case.good_retain))) == []
    bad = offline_messages(case.rule, manifest_of((case.type, case.bad, case.bad_protect, case.bad_retain)))
    assert any(case.expect in m for m in bad), bad


def test_every_resource_rule_has_a_passing_and_a_failing_case():
    covered = {c.rule for c in RESOURCE_CASES}
    assert covered == {r.name for r in rules.RULES if r.kind == "resource"}


def test_retain_on_delete_is_checked_offline_only():
    # The analyzer protocol has no retainOnDelete (pulumi_policy 1.21 PolicyResourceOptions), so the pack
    # passes a protected table and the offline plan still demands retainOnDelete.
    assert not hasattr(_opts(True), "retain_on_delete")
    assert pack_messages("tables-and-dcrs-protected", resource_args(rules.TABLE, table(), protect=True)) == []
    offline = offline_messages("tables-and-dcrs-protected", manifest_of((rules.TABLE, table(), True, False)))
    assert offline == ["retainOnDelete is not set: removing it from the program would delete it in Azure"]


def test_rules_ignore_other_types_and_versioned_tokens_count():
    # A Table rule never fires on a diagnostic setting, and a versioned token is the same type.
    assert pack_messages("custom-table-schema", resource_args(rules.DIAGNOSTIC_SETTING, diag())) == []
    versioned = "azure-native:monitor/v20210501preview:DiagnosticSetting"
    assert pack_messages("diagnostic-settings-to-mssp-workspace", resource_args(versioned, diag(workspaceId=OTHER_WS)))


def test_unknown_values_during_preview_are_not_reported():
    props = diag(workspaceId=UNKNOWN_STRING_VALUE, logs=[{"categoryGroup": "allLogs", "enabled": True}])
    assert pack_messages("diagnostic-settings-to-mssp-workspace", resource_args(rules.DIAGNOSTIC_SETTING, props)) == []
    ra = role_assignment(mmp_definition_id(), UNKNOWN_STRING_VALUE)
    assert pack_messages("data-plane-role-scope", resource_args(rules.ROLE_ASSIGNMENT, ra)) == []


def test_credential_messages_name_the_path_never_the_value():
    bad = workflow(http_action({"method": "GET", "uri": CALLBACK, "headers": {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}}))
    messages = offline_messages("workflow-no-credentials", manifest_of((rules.WORKFLOW, bad, False, False)))
    assert len(messages) == 2
    assert not any("dXNlcjpwYXNzd29yZA" in m or "AbCdEfGh" in m for m in messages)


def test_a_pulumi_secret_inside_a_definition_is_a_violation_offline():
    bad = workflow(http_action({"method": "POST", "uri": "https://x/", "body": {"token": rules.SECRET}}))
    messages = offline_messages("workflow-no-credentials", manifest_of((rules.WORKFLOW, bad, False, False)))
    assert messages == ["definition.actions.Send.inputs.body.token holds a secret value; pass it as a securestring parameter instead"]


def test_without_context_the_workspace_rule_checks_the_shape():
    no_ctx = rules.PolicyContext()
    good = manifest_of((rules.DIAGNOSTIC_SETTING, diag(workspaceId=OTHER_WS), False, False))
    bad = manifest_of((rules.DIAGNOSTIC_SETTING, diag(workspaceId=KV), False, False))
    assert rules.evaluate_manifest(good, no_ctx) == []
    assert [r["policy"] for r in rules.evaluate_manifest(bad, no_ctx)] == ["diagnostic-settings-to-mssp-workspace"]
    # The DCR region rule needs the workspace's region; without it there is nothing to compare.
    assert rules.evaluate_manifest(manifest_of((rules.DATA_COLLECTION_RULE, dcr(location="eastus"), True, True)), no_ctx) == []


def test_pack_context_comes_from_policy_config_then_environment():
    env = {rules.ENV_WORKSPACE_RESOURCE_ID: OTHER_WS, rules.ENV_WORKSPACE_LOCATION: "northeurope"}
    assert rules.pack_context({}, env) == rules.PolicyContext(OTHER_WS, "northeurope")
    assert rules.pack_context(CONTEXT, env) == rules.PolicyContext(WS, "westeurope")
    assert rules.pack_context(None, {}) == rules.PolicyContext()


def test_pack_reads_the_workspace_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(rules.ENV_WORKSPACE_RESOURCE_ID, OTHER_WS)
    args = resource_args(rules.DIAGNOSTIC_SETTING, diag(), config={})
    assert pack_messages("diagnostic-settings-to-mssp-workspace", args) == [f"workspaceId {WS} is not the MSSP workspace {OTHER_WS}"]


def test_context_from_a_loaded_stack():
    class Platform:
        workspace_id = WS
        location = "westeurope"

    class Loaded:
        platform = Platform()

    assert rules.context_from_config(Loaded()) == rules.PolicyContext(WS, "westeurope")
    assert rules.context_from_config(object()) == rules.PolicyContext()


# ------------------------------------------------------------------------------------------------
# Stack rules
# ------------------------------------------------------------------------------------------------
def policy_resource(rtype: str, props: dict[str, Any], name: str) -> PolicyResource:
    return PolicyResource(rtype, unknown_checking_proxy(props), urn(rtype, name), name, _opts(False), None, None, [], {})


def settings_on(target: str, n: int) -> list[tuple[str, dict[str, Any], bool, bool]]:
    return [(rules.DIAGNOSTIC_SETTING, diag(name=f"s{i}", resourceUri=target), False, False) for i in range(n)]


def test_settings_per_resource_limit_through_the_pack():
    five = [policy_resource(rules.DIAGNOSTIC_SETTING, diag(name=f"s{i}"), f"s{i}") for i in range(5)]
    six = [*five, policy_resource(rules.DIAGNOSTIC_SETTING, diag(name="s5", resourceUri=KV.upper()), "s5")]
    assert pack_messages("diagnostic-settings-per-resource-limit", StackValidationArgs(five, {})) == []
    assert pack_messages("diagnostic-settings-per-resource-limit", StackValidationArgs(six, {})) == [
        f"6 diagnostic settings target {KV}; Azure allows at most 5 per resource (settings already there, "
        "e.g. setByPolicy, count too)"
    ]


def test_settings_per_resource_limit_reads_outputs_ids_in_stack_analysis():
    # AnalyzeStack passes outputs; a setting's id is <resourceUri>/providers/Microsoft.Insights/diagnosticSettings/<name>.
    out = [policy_resource(rules.DIAGNOSTIC_SETTING, {"id": f"{KV}/providers/Microsoft.Insights/diagnosticSettings/s{i}"}, f"s{i}")
           for i in range(6)]
    assert len(pack_messages("diagnostic-settings-per-resource-limit", StackValidationArgs(out, {}))) == 1


def test_settings_per_resource_limit_through_the_manifest():
    assert offline_messages("diagnostic-settings-per-resource-limit", manifest_of(*settings_on(KV, 5))) == []
    found = rules.evaluate_manifest(manifest_of(*settings_on(KV, 6)))
    assert [(r["policy"], r["level"]) for r in found] == [("diagnostic-settings-per-resource-limit", "advisory")]


def test_webhook_url_output_through_the_manifest():
    assert offline_messages("webhook-url-secret-output", manifest_of(outputs={"splunkWebhookUrl": rules.SECRET, "n": 1})) == []
    plain = offline_messages("webhook-url-secret-output", manifest_of(outputs={"splunkWebhookUrl": CALLBACK}))
    nested = offline_messages("webhook-url-secret-output", manifest_of(outputs={"hooks": {"contoso": CALLBACK}}))
    assert plain == ["stack output splunkWebhookUrl exposes a webhook URL in plain text; export it with pulumi.Output.secret"]
    assert nested == ["stack output hooks.contoso exposes a webhook URL in plain text; export it with pulumi.Output.secret"]
    assert CALLBACK not in plain[0]


def test_webhook_url_output_is_not_applicable_in_the_pack():
    # pulumi_policy unwraps secrets before a stack policy sees them: the pack says so instead of guessing.
    stack = policy_resource(rules.STACK, {"splunkWebhookUrl": CALLBACK}, "mssp-sentinel-test")
    with pytest.raises(_NotApplicableError) as exc:
        pack_messages("webhook-url-secret-output", StackValidationArgs([stack], {}))
    assert "unwraps secrets" in (exc.value.reason or "")


# ------------------------------------------------------------------------------------------------
# Change rules
# ------------------------------------------------------------------------------------------------
def test_change_rules_flag_deletes_and_replaces():
    changes = [
        {"op": "delete", "urn": urn(rules.DIAGNOSTIC_SETTING, "a"), "type": rules.DIAGNOSTIC_SETTING},
        {"op": "replace", "urn": urn(rules.DIAGNOSTIC_SETTING, "b"), "type": rules.DIAGNOSTIC_SETTING, "reasons": ["resourceUri"]},
        {"op": "update", "urn": urn(rules.DIAGNOSTIC_SETTING, "c"), "type": rules.DIAGNOSTIC_SETTING},
        {"op": "replace", "urn": urn(rules.TABLE, "t"), "type": rules.TABLE, "reasons": ["tableName"]},
        {"op": "delete", "urn": urn(rules.TABLE, "u"), "type": rules.TABLE},
        {"op": "create-replacement", "urn": urn(rules.DATA_COLLECTION_RULE, "d"), "type": rules.DATA_COLLECTION_RULE},
        {"op": "delete-replaced", "urn": urn(rules.DATA_COLLECTION_RULE, "d"), "type": rules.DATA_COLLECTION_RULE},
    ]
    found = [(r["policy"], r["level"], r["urn"].rsplit("::", 1)[1]) for r in rules.evaluate_changes(changes)]
    assert found == [
        ("diagnostic-settings-delete-or-replace", "advisory", "a"),
        ("diagnostic-settings-delete-or-replace", "advisory", "b"),
        ("table-or-dcr-replace", "advisory", "d"),
        ("table-or-dcr-replace", "advisory", "t"),
    ]
    assert "forced by resourceUri" in rules.evaluate_changes(changes)[1]["message"]
    assert rules.evaluate_changes([c for c in changes if c["op"] == "update"]) == []


@pytest.mark.parametrize("name", ["diagnostic-settings-delete-or-replace", "table-or-dcr-replace"])
def test_change_rules_are_not_applicable_in_the_pack(name: str):
    with pytest.raises(_NotApplicableError) as exc:
        pack_messages(name, StackValidationArgs([], {}))
    assert "python -m mssp diff" in (exc.value.reason or "")


# ------------------------------------------------------------------------------------------------
# The rule set itself
# ------------------------------------------------------------------------------------------------
def test_rule_metadata_is_complete_and_levels_match_the_issue():
    mandatory = {r.name for r in rules.RULES if r.level == "mandatory"}
    advisory = {r.name for r in rules.RULES if r.level == "advisory"}
    assert mandatory == {
        "lighthouse-delegable-roles", "diagnostic-settings-to-mssp-workspace", "diagnostic-settings-log-entries",
        "custom-table-schema", "tables-and-dcrs-protected", "workflow-no-credentials", "webhook-url-secret-output",
        "data-plane-role-scope", "dcr-workspace-same-region", "lighthouse-least-privilege",
        "federated-credential-trust", "role-assignment-allowlist", "custom-role-actions", "graph-app-role-allowlist",
        "data-residency",
    }
    assert advisory == {"diagnostic-settings-per-resource-limit", "diagnostic-settings-delete-or-replace",
                        "sql-security-manager-grant",
                        "table-or-dcr-replace", "webhook-caller-ip-restriction", "lighthouse-my-customers-reader"}
    for r in rules.RULES:
        assert r.description and r.remediation and re_name(r.name)
        checks = [r.resource_check, r.stack_check, r.change_check]
        assert sum(c is not None for c in checks) == 1
        assert {"resource": r.resource_check, "stack": r.stack_check, "change": r.change_check}[r.kind] is not None


def re_name(name: str) -> bool:
    import re

    return re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) is not None


def test_results_come_in_a_stable_order():
    m = manifest_of(
        (rules.TABLE, table(tableName="B"), False, False),
        (rules.DIAGNOSTIC_SETTING, diag(workspaceId=OTHER_WS), False, False),
        (rules.TABLE, table(tableName="A"), False, False),
    )
    first = rules.evaluate_manifest(m, CONTEXT)
    m["resources"].reverse()
    assert rules.evaluate_manifest(m, CONTEXT) == first
    order = [r.name for r in rules.RULES]
    assert [order.index(r["policy"]) for r in first] == sorted(order.index(r["policy"]) for r in first)
    assert all(r["level"] == "mandatory" for r in first)


def test_importing_the_rules_module_does_not_import_the_policy_sdk():
    import subprocess
    import sys

    code = "import sys; from policies import rules; print('pulumi_policy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
