"""Each rule of the workflow-definition checker, with a definition that passes and one that fails."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.facts.logic_apps import SCHEMA_URI
from testing.logic_apps_check import check_workflow, expressions


def base() -> dict[str, Any]:
    """A small valid workflow: Request trigger, Compose, HTTP with managed identity, Response."""
    return {
        "$schema": SCHEMA_URI,
        "contentVersion": "1.0.0.0",
        "parameters": {
            "endpoint": {"type": "string", "defaultValue": "https://example.invalid"},
            "token": {"type": "securestring"},
        },
        "triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {"schema": {}}}},
        "actions": {
            "Compose": {"type": "Compose", "inputs": {"sid": "@triggerBody()?['sid']"}, "runAfter": {}},
            "Send": {
                "type": "Http",
                "inputs": {
                    "method": "POST",
                    "uri": "@{parameters('endpoint')}/streams/x?api-version=2023-01-01",
                    "body": ["@outputs('Compose')"],
                    "authentication": {"type": "ManagedServiceIdentity", "audience": "https://monitor.azure.com"},
                },
                "runAfter": {"Compose": ["Succeeded"]},
            },
            "Ok": {"type": "Response", "inputs": {"statusCode": 200, "body": "@body('Send')"},
                   "runAfter": {"Send": ["Succeeded"]}},
        },
        "outputs": {"status": {"type": "int", "value": "@outputs('Send')['statusCode']"}},
    }


def test_base_definition_passes() -> None:
    assert check_workflow(base(), {"token": "x"}) == []


def test_expressions_parsing() -> None:
    assert expressions("@body('A')") == ["body('A')"]
    assert expressions("@@body('A')") == []
    assert expressions("x @{body('A')} y @{outputs('B')['x']}") == ["body('A')", "outputs('B')['x']"]
    assert expressions("plain text body('A')") == []


def test_schema_must_be_exact() -> None:
    d = base()
    d["$schema"] = SCHEMA_URI.rstrip("#")
    problems = check_workflow(d, {"token": "x"})
    assert len(problems) == 1 and problems[0].startswith("$schema")


@pytest.mark.parametrize("fn", ["body", "outputs", "actions", "result"])
def test_reference_to_missing_action(fn: str) -> None:
    d = base()
    d["actions"]["Ok"]["inputs"]["body"] = f"@{fn}('Nope')"
    assert check_workflow(d, {"token": "x"}) == [f"actions.Ok.inputs.body: {fn}('Nope') names no action"]


def test_reference_to_action_that_runs_later() -> None:
    d = base()
    d["actions"]["Compose"]["inputs"]["x"] = "@{body('Send')}"
    problems = check_workflow(d, {"token": "x"})
    assert problems == ["actions.Compose.inputs.x: body('Send') is not guaranteed to have run before 'Compose'"]


def test_reference_to_parallel_branch_fails_and_transitive_passes() -> None:
    d = base()
    d["actions"]["Other"] = {"type": "Compose", "inputs": "@body('Send')", "runAfter": {"Compose": ["Succeeded"]}}
    assert any("body('Send') is not guaranteed" in p for p in check_workflow(d, {"token": "x"}))
    # Transitive: Ok runs after Send which runs after Compose, so Ok may read Compose.
    d = base()
    d["actions"]["Ok"]["inputs"]["body"] = "@outputs('Compose')"
    assert check_workflow(d, {"token": "x"}) == []


def test_trigger_cannot_reference_actions() -> None:
    d = base()
    d["triggers"]["manual"]["conditions"] = [{"expression": "@equals(body('Compose'), 1)"}]
    assert any("before the trigger" in p for p in check_workflow(d, {"token": "x"}))


def scoped() -> dict[str, Any]:
    d = base()
    d["actions"]["Check"] = {
        "type": "If",
        "expression": {"and": [{"equals": ["@outputs('Send')['statusCode']", 200]}]},
        "actions": {
            "Inner": {"type": "Compose", "inputs": "@body('Compose')", "runAfter": {}},
            "Inner2": {"type": "Compose", "inputs": "@outputs('Inner')", "runAfter": {"Inner": ["Succeeded"]}},
        },
        "else": {"actions": {"Nested": {"type": "Foreach", "foreach": "@body('Send')", "actions": {
            "Deep": {"type": "Compose", "inputs": "@items('Nested')", "runAfter": {}}}}}},
        "runAfter": {"Send": ["Succeeded", "Failed"]},
    }
    d["actions"]["After"] = {"type": "Compose", "inputs": "@outputs('Inner2')", "runAfter": {"Check": ["Succeeded"]}}
    return d


def test_nested_scopes_pass() -> None:
    # Inner reads Compose (a predecessor of its enclosing If); After reads Inner2 (nested in a predecessor).
    assert check_workflow(scoped(), {"token": "x"}) == []


def test_nested_scope_reference_to_later_sibling_fails() -> None:
    d = scoped()
    d["actions"]["Check"]["actions"]["Inner"]["inputs"] = "@outputs('Inner2')"
    problems = check_workflow(d, {"token": "x"})
    assert any(p.startswith("actions.Check.actions.Inner.inputs") and "Inner2" in p for p in problems)
    d = scoped()
    d["actions"]["Check"]["else"]["actions"]["Nested"]["actions"]["Deep"]["inputs"] = "@body('After')"
    problems = check_workflow(d, {"token": "x"})
    assert problems == ["actions.Check.else.actions.Nested.actions.Deep.inputs: body('After') is not guaranteed "
                        "to have run before 'Deep'"]


def test_run_after_must_name_existing_sibling() -> None:
    d = base()
    d["actions"]["Ok"]["runAfter"] = {"Missing": ["Succeeded"]}
    assert "actions.Ok.runAfter: 'Missing' does not exist" in check_workflow(d, {"token": "x"})
    d = scoped()
    d["actions"]["Check"]["actions"]["Inner"]["runAfter"] = {"Compose": ["Succeeded"]}
    assert "actions.Check.actions.Inner.runAfter: 'Compose' is not in the same scope" in check_workflow(d, {"token": "x"})


def test_run_after_status_values() -> None:
    d = base()
    d["actions"]["Ok"]["runAfter"] = {"Send": ["Succeded"]}
    assert any("runAfter.Send: statuses" in p for p in check_workflow(d, {"token": "x"}))


def test_run_after_cycle() -> None:
    d = base()
    d["actions"]["Compose"]["runAfter"] = {"Ok": ["Succeeded"]}
    problems = check_workflow(d, {"token": "x"})
    assert any("runAfter cycle" in p for p in problems)


def test_duplicate_action_names() -> None:
    d = scoped()
    d["actions"]["Check"]["actions"]["Compose"] = {"type": "Compose", "inputs": 1, "runAfter": {}}
    assert any("'Compose' is used twice" in p for p in check_workflow(d, {"token": "x"}))


def test_parameters_declared_and_supplied() -> None:
    d = base()
    d["actions"]["Compose"]["inputs"]["x"] = "@parameters('undeclared')"
    assert check_workflow(d, {"token": "x"}) == [
        "actions.Compose.inputs.x: parameters('undeclared') is not declared in the definition"]
    assert check_workflow(base(), {}) == ["parameters.token: no defaultValue and no value supplied"]
    assert check_workflow(base(), {"token": "x", "extra": 1}) == [
        "parameters (supplied).extra: not declared in the definition's parameters"]


def with_http_auth(auth: Any = None, headers: Any = None) -> dict[str, Any]:
    d = base()
    inputs = d["actions"]["Send"]["inputs"]
    if auth is not None:
        inputs["authentication"] = auth
    if headers is not None:
        inputs["headers"] = headers
    return d


@pytest.mark.parametrize(
    ("definition", "needle"),
    [
        (with_http_auth(headers={"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz0123456789"}), "Authorization"),
        (with_http_auth(headers={"Authorization": "Basic dXNlcjpwYXNz"}), "Authorization"),
        (with_http_auth(auth={"type": "ActiveDirectoryOAuth", "tenant": "t", "audience": "a",
                              "clientId": "c", "secret": "s3cr3t"}), "(secret)"),
        (with_http_auth(auth={"type": "Basic", "username": "u", "password": "p"}), "(password)"),
        (with_http_auth(headers={"X-Token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc"}), "bearer token"),
    ],
)
def test_credentials_in_http_inputs(definition: dict[str, Any], needle: str) -> None:
    problems = check_workflow(definition, {"token": "x"})
    assert problems and any(needle in p for p in problems), problems


def test_form_body_client_secret() -> None:
    d = base()
    d["actions"]["Compose"]["inputs"] = "grant_type=client_credentials&client_id=abc&client_secret=Xyz~123&scope=s"
    assert any("client_secret=" in p for p in check_workflow(d, {"token": "x"}))
    d["actions"]["Compose"]["inputs"] = "grant_type=client_credentials&client_secret=@{parameters('token')}"
    assert check_workflow(d, {"token": "x"}) == []


def test_clientsecret_key_literal() -> None:
    d = base()
    d["actions"]["Compose"]["inputs"]["clientSecret"] = "abc"
    assert any("(clientSecret)" in p for p in check_workflow(d, {"token": "x"}))


def test_sig_in_url() -> None:
    d = base()
    d["actions"]["Send"]["inputs"]["uri"] = ("https://prod-00.westeurope.logic.azure.com/workflows/x/triggers/manual/"
                                             "paths/invoke?api-version=2016-10-01&sp=%2Ftriggers&sv=1.0&sig=AbCdEf123")
    assert any("sig=" in p for p in check_workflow(d, {"token": "x"}))


def test_secure_parameter_reference_is_fine_but_plain_parameter_is_not() -> None:
    d = with_http_auth(headers={"Authorization": "Bearer @{parameters('token')}"})
    assert check_workflow(d, {"token": "x"}) == []
    d = with_http_auth(headers={"Authorization": "@parameters('endpoint')"})
    assert any("of type string" in p for p in check_workflow(d, {"token": "x"}))


def test_secure_parameter_default_is_a_credential() -> None:
    d = base()
    d["parameters"]["token"]["defaultValue"] = "hunter2"
    assert any("parameters.token.defaultValue" in p for p in check_workflow(d))


def test_supplied_plain_parameter_with_credential() -> None:
    d = base()
    d["parameters"]["cfg"] = {"type": "object", "defaultValue": {}}
    problems = check_workflow(d, {"token": "x", "cfg": {"password": "p"}})
    assert any("(password)" in p for p in problems)
    # The same value for a secureobject parameter is not in the definition's plain text.
    d["parameters"]["cfg"]["type"] = "secureobject"
    d["parameters"]["cfg"].pop("defaultValue")
    assert check_workflow(d, {"token": "x", "cfg": {"password": "p"}}) == []


def test_limits() -> None:
    d = base()
    for i in range(251):
        d["actions"][f"A{i}"] = {"type": "Compose", "inputs": i, "runAfter": {}}
    assert any(p.startswith("actions: 254 exceed the limit of 250") for p in check_workflow(d, {"token": "x"}))
    d = copy.deepcopy(base())
    for i in range(11):
        d["outputs"][f"o{i}"] = {"type": "int", "value": 1}
    assert any(p.startswith("outputs: 12 exceed") for p in check_workflow(d, {"token": "x"}))


def test_microsoft_tool_shape_is_caught() -> None:
    # The shape of Azure/Azure-Sentinel Tools/SplunkAlertIngestion/LogicApp.json once its ARM expressions
    # are evaluated (values here are fake): a token call with the client secret in a form body.
    d = {
        "$schema": SCHEMA_URI,
        "contentVersion": "1.0.0.0",
        "parameters": {"$connections": {"defaultValue": {}, "type": "Object"}},
        "triggers": {"When_a_HTTP_request_is_received": {"type": "Request", "kind": "Http"}},
        "actions": {
            "Compose": {"runAfter": {}, "type": "Compose", "inputs": "@triggerBody()"},
            "GetToken": {"runAfter": {"Compose": ["Succeeded"]}, "type": "Http", "inputs": {
                "uri": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token", "method": "POST",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "body": "Client_Id=client\n&Client_Secret=Abc~fake~secret\n&grant_type=client_credentials"}},
            "SendData": {"runAfter": {"GetToken": ["Succeeded"]}, "type": "Http", "inputs": {
                "uri": "https://x.ingest.monitor.azure.com/dataCollectionRules/dcr-1/streams/Custom-T_CL",
                "method": "POST",
                "headers": {"Authorization": "Bearer @{body('GetToken').access_token}"},
                "body": ["@outputs('Compose')"]}},
        },
        "outputs": {},
    }
    problems = check_workflow(d)
    assert problems == ["actions.GetToken.inputs.body: a literal Client_Secret= value in the text; it is a credential"]
