"""The ITSM sync's workflow definitions, as pure functions: checker, request shapes, idempotency, no credential.

Request shapes are pinned against the documented APIs:
- ServiceNow Table API: GET /api/now/table/{tableName} with sysparm_query / sysparm_limit / sysparm_fields,
  PATCH /api/now/table/{tableName}/{sys_id} with a JSON body of field values, responses {"result": ...}.
  Source: https://www.servicenow.com/docs/r/api-reference/rest-apis/c_TableAPI.html
- Microsoft Graph: GET /v1.0/security/incidents[/{id}], $filter on status and lastUpdateDateTime,
  paging through @odata.nextLink. Source: microsoftgraph/microsoft-graph-docs-contrib
  api-reference/v1.0/api/security-list-incidents.md, resources/security-incident.md.
- Sentinel connector trigger and "Update incident": Azure/Azure-Sentinel
  Solutions/Servicenow/Playbooks/ServiceNow-CreateAndUpdateIncident/azuredeploy.json.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from components.config.itsm import ItsmConfig
from components.itsm.workflows import (
    CREDENTIAL_PARAMETER,
    EVENT_SCHEMA,
    SYNCED_LABEL,
    CredentialSource,
    playbook_definition,
    poller_definition,
)
from testing.logic_apps_check import check_workflow

SERVICENOW = {"kind": "servicenow",
              "servicenow": {"instanceUrl": "https://acme.service-now.com", "userName": "svc-sync"}}
WEBHOOK = {"kind": "webhook", "webhook": {"url": "https://itsm.example.com/hooks/sentinel", "headerName": "X-Api-Key"},
           "allowedHosts": ["itsm.example.com"]}
WEBHOOK_SECRET_URL = {"kind": "webhook", "webhook": {}, "allowedHosts": ["itsm.example.com"]}
KEY_VAULT = {"keyVaultSecretUri": "https://kv-acme.vault.azure.net/secrets/itsm",
             "keyVaultId": "/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg/providers/"
                           "Microsoft.KeyVault/vaults/kv-acme"}

# (config, credential source) combinations the config accepts.
CASES = {
    "servicenow-secret": (SERVICENOW, CredentialSource("parameter")),
    "servicenow-keyvault": ({**SERVICENOW, "credential": KEY_VAULT},
                            CredentialSource("keyvault", KEY_VAULT["keyVaultSecretUri"])),
    "servicenow-no-raise": ({**SERVICENOW, "raisePriorityOnMerge": False}, CredentialSource("parameter")),
    "webhook-header": (WEBHOOK, CredentialSource("parameter")),
    "webhook-no-auth": (WEBHOOK, CredentialSource("none")),
    "webhook-secret-url": (WEBHOOK_SECRET_URL, CredentialSource("parameter")),
    "webhook-keyvault": ({**WEBHOOK, "credential": KEY_VAULT},
                         CredentialSource("keyvault", KEY_VAULT["keyVaultSecretUri"])),
}


def definitions(case: str) -> tuple[dict[str, Any], dict[str, Any], CredentialSource]:
    cfg, cred = CASES[case]
    itsm = ItsmConfig.model_validate(cfg)
    return playbook_definition(itsm, cred), poller_definition(itsm, cred), cred


def all_actions(actions: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, action in actions.items():
        yield name, action
        for nested in (action.get("actions"), (action.get("else") or {}).get("actions")):
            if nested:
                yield from all_actions(nested)


def action(definition: dict[str, Any], name: str) -> dict[str, Any]:
    found = dict(all_actions(definition["actions"]))
    assert name in found, sorted(found)
    return found[name]


def supplied(definition: dict[str, Any]) -> dict[str, Any]:
    """The parameter values the component supplies on the workflow resource."""
    values: dict[str, Any] = {}
    if "$connections" in definition["parameters"]:
        values["$connections"] = {"azuresentinel": {"connectionId": "/subscriptions/x/connections/y"}}
    if CREDENTIAL_PARAMETER in definition["parameters"]:
        values[CREDENTIAL_PARAMETER] = "supplied-at-deployment"
    return values


@pytest.mark.parametrize("case", sorted(CASES))
def test_both_workflows_pass_the_checker(case):
    playbook, poller, _ = definitions(case)
    assert check_workflow(playbook, supplied(playbook)) == []
    assert check_workflow(poller, supplied(poller)) == []


def test_the_checker_catches_a_broken_reference():
    # The checker is not vacuous on these definitions: break one reference and it reports it.
    playbook, _, _ = definitions("servicenow-secret")
    action(playbook, "Close_source_ticket")["runAfter"] = {"No_such_action": ["Succeeded"]}
    assert any("No_such_action" in p for p in check_workflow(playbook, supplied(playbook)))


@pytest.mark.parametrize("case", sorted(CASES))
def test_credential_only_as_securestring_parameter_or_key_vault(case):
    playbook, poller, cred = definitions(case)
    for definition in (playbook, poller):
        params = definition["parameters"]
        text = json.dumps(definition)
        if cred.kind == "parameter":
            assert params[CREDENTIAL_PARAMETER]["type"] == "SecureString"
            assert "defaultValue" not in params[CREDENTIAL_PARAMETER]
            assert f"@parameters('{CREDENTIAL_PARAMETER}')" in text
        else:
            assert CREDENTIAL_PARAMETER not in params
            assert "parameters('itsmCredential')" not in text
        if cred.kind == "keyvault":
            get = action(definition, "Get_ITSM_credential")
            assert get["inputs"]["uri"] == f"{KEY_VAULT['keyVaultSecretUri']}?api-version=7.4"
            assert get["inputs"]["authentication"] == {"type": "ManagedServiceIdentity",
                                                       "audience": "https://vault.azure.net"}
            assert get["runtimeConfiguration"]["secureData"]["properties"] == ["inputs", "outputs"]


def test_playbook_trigger_and_connection_reference():
    playbook, _, _ = definitions("servicenow-secret")
    trigger = playbook["triggers"]["Microsoft_Sentinel_incident"]
    assert trigger["type"] == "ApiConnectionWebhook"
    assert trigger["inputs"]["path"] == "/incident-creation"
    assert trigger["inputs"]["host"]["connection"]["name"] == "@parameters('$connections')['azuresentinel']['connectionId']"
    assert playbook["parameters"]["$connections"] == {"type": "Object", "defaultValue": {}}


def test_playbook_matches_the_label_case_insensitively_and_skips_synced_incidents():
    playbook, _, _ = definitions("servicenow-secret")
    labels = playbook["actions"]["Redirected_labels"]
    assert labels["type"] == "Query"
    assert labels["inputs"]["where"] == "@equals(toLower(item()?['labelName']), 'redirected')"
    assert "['labels']" in labels["inputs"]["from"]
    gate = playbook["actions"]["Redirected_and_not_synced"]
    assert gate["expression"]["and"][1] == {"equals": ["@length(body('Synced_labels'))", 0]}
    assert playbook["actions"]["Synced_labels"]["inputs"]["where"].endswith(f"'{SYNCED_LABEL}')")
    # The tag that makes a second run a no-op is added last, after the ITSM steps succeeded.
    mark = action(playbook, "Mark_incident_synced")
    assert mark["runAfter"] == {"Source_ticket_open": ["Succeeded"]}
    assert mark["inputs"]["method"] == "put" and mark["inputs"]["path"] == "/Incidents"
    assert mark["inputs"]["body"] == {"incidentArmId": "@triggerBody()?['object']?['id']",
                                      "tagsToAdd": {"TagsToAdd": [{"Tag": SYNCED_LABEL}]}}


def test_playbook_finds_the_target_through_graph_with_managed_identity():
    playbook, _, _ = definitions("servicenow-secret")
    source = action(playbook, "Get_source_incident")
    assert source["inputs"]["method"] == "GET"
    assert source["inputs"]["uri"].startswith("https://graph.microsoft.com/v1.0/security/incidents/@{")
    assert "providerIncidentId" in source["inputs"]["uri"]
    assert source["inputs"]["authentication"] == {"type": "ManagedServiceIdentity",
                                                  "audience": "https://graph.microsoft.com"}
    assert action(playbook, "Has_target")["expression"] == \
        "@not(empty(body('Get_source_incident')?['redirectIncidentId']))"
    target = action(playbook, "Get_target_incident")
    assert "body('Get_source_incident')?['redirectIncidentId']" in target["inputs"]["uri"]
    event = action(playbook, "Sync_event")["inputs"]
    assert "providerIncidentUrl" in event["source"]["url"]  # fallback when Graph has no incidentWebUrl


def test_poller_lists_redirected_incidents_and_follows_next_link():
    _, poller, _ = definitions("servicenow-secret")
    # One run at a time: overlapping runs cannot close the same ticket twice.
    assert poller["triggers"]["Recurrence"] == {"type": "Recurrence",
                                                "recurrence": {"frequency": "Minute", "interval": 15},
                                                "runtimeConfiguration": {"concurrency": {"runs": 1}}}
    graph_filter = poller["actions"]["Graph_filter"]["inputs"]
    assert graph_filter.startswith("status eq 'redirected' and lastUpdateDateTime ge @{")
    assert "addMinutes(utcNow(), -30)" in graph_filter  # two intervals: no gap after a late run
    page = poller["actions"]["Initialize_page_url"]["inputs"]["variables"][0]
    assert page["value"] == ("https://graph.microsoft.com/v1.0/security/incidents?$filter="
                             "@{encodeUriComponent(outputs('Graph_filter'))}")
    until = poller["actions"]["Until_no_next_page"]
    assert until["type"] == "Until" and until["expression"] == "@empty(variables('pageUrl'))"
    listing = until["actions"]["List_redirected_incidents"]
    assert listing["inputs"]["uri"] == "@variables('pageUrl')"
    assert listing["inputs"]["authentication"]["type"] == "ManagedServiceIdentity"
    assert until["actions"]["Set_next_page"]["inputs"]["value"] == \
        "@{coalesce(body('List_redirected_incidents')?['@odata.nextLink'], '')}"
    loop = until["actions"]["For_each_redirected_incident"]
    assert loop["runtimeConfiguration"]["concurrency"]["repetitions"] == 1


def test_both_workflows_run_the_same_itsm_steps():
    playbook, poller, _ = definitions("servicenow-secret")
    names = ("Find_source_ticket", "Find_target_ticket", "Close_source_ticket", "Target_ticket_found")
    for name in names:
        assert action(playbook, name) == action(poller, name)
    # The same gate; only what makes a refusal visible differs (the playbook ends its run, the poller records).
    assert action(playbook, "Source_ticket_open")["expression"] == action(poller, "Source_ticket_open")["expression"]
    pb_event, po_event = action(playbook, "Sync_event")["inputs"], action(poller, "Sync_event")["inputs"]
    assert pb_event.keys() == po_event.keys()
    assert pb_event["source"].keys() == po_event["source"].keys()
    assert (pb_event["detectedBy"], po_event["detectedBy"]) == ("sentinel-playbook", "graph-poller")


def test_servicenow_find_by_correlation_id():
    playbook, _, _ = definitions("servicenow-secret")
    find = action(playbook, "Find_source_ticket")["inputs"]
    assert find["method"] == "GET"
    assert find["uri"] == "https://acme.service-now.com/api/now/table/incident"
    assert find["queries"]["sysparm_query"] == "correlation_id=@{outputs('Sync_event')?['source']?['defenderIncidentId']}"
    assert find["queries"]["sysparm_limit"] == "1"
    assert set(find["queries"]["sysparm_fields"].split(",")) >= {"sys_id", "number", "state", "close_notes"}
    assert find["authentication"] == {"type": "Basic", "username": "svc-sync",
                                      "password": "@parameters('itsmCredential')"}
    target = action(playbook, "Find_target_ticket")["inputs"]
    assert target["queries"]["sysparm_query"].endswith("?['target']?['defenderIncidentId']}")


def test_servicenow_close_source_and_note_target():
    playbook, _, _ = definitions("servicenow-secret")
    close = action(playbook, "Close_source_ticket")["inputs"]
    assert close["method"] == "PATCH"
    assert close["uri"] == ("https://acme.service-now.com/api/now/table/incident/"
                            "@{first(body('Find_source_ticket')?['result'])?['sys_id']}")
    assert close["headers"]["Content-Type"] == "application/json"
    assert close["body"]["state"] == "7"
    assert close["body"]["close_code"] == "Duplicate"  # a current ServiceNow resolution code (config/itsm.py)
    assert close["body"]["close_notes"].startswith("[mssp-sentinel redirected to @{")
    assert "?['target']?['url']" in close["body"]["close_notes"]  # links the target
    note = action(playbook, "Note_on_target_ticket")["inputs"]
    assert note["method"] == "PATCH"
    assert note["uri"].endswith("@{first(body('Find_target_ticket')?['result'])?['sys_id']}")
    assert set(note["body"]) == {"work_notes"}
    assert "?['source']?['defenderIncidentId']" in note["body"]["work_notes"]


def test_servicenow_steps_are_idempotent():
    playbook, _, _ = definitions("servicenow-secret")
    gate = action(playbook, "Source_ticket_open")
    # Nothing happens unless the source ticket exists and does not carry this sync's marker for this target.
    exists, not_marked = gate["expression"]["and"]
    assert exists["greater"][1] == 0 and "Find_source_ticket" in exists["greater"][0]
    contains = not_marked["not"]["contains"]
    assert "close_notes" in contains[0]
    assert contains[1] == "@concat('[mssp-sentinel redirected to ', outputs('Sync_event')?['target']?['defenderIncidentId'], ']')"
    # The target note and priority raise only run after the source was closed in this run.
    assert set(gate["actions"]) == {"Close_source_ticket", "Target_ticket_found", "Ticket_still_open",
                                    "Fail_refused_close"}
    assert gate["actions"]["Target_ticket_found"]["runAfter"] == {"Close_source_ticket": ["Succeeded"]}


def test_priority_raise_is_configurable():
    playbook, _, _ = definitions("servicenow-secret")
    raise_ = action(playbook, "Raise_target_priority")["inputs"]
    assert set(raise_["body"]) == {"impact", "urgency"}
    assert action(playbook, "Source_more_severe")["expression"] == "@equals(outputs('Sync_event')?['raisePriority'], true)"
    assert action(playbook, "Sync_event")["inputs"]["raisePriority"].startswith("@greater(indexOf(")
    off, _, _ = definitions("servicenow-no-raise")
    assert "Raise_target_priority" not in dict(all_actions(off["actions"]))
    assert action(off, "Sync_event")["inputs"]["raisePriority"] is False


def test_webhook_posts_the_documented_event():
    playbook, poller, _ = definitions("webhook-header")
    post = action(playbook, "Post_sync_event")
    assert post["inputs"]["method"] == "POST"
    assert post["inputs"]["uri"] == "https://itsm.example.com/hooks/sentinel"
    assert post["inputs"]["headers"] == {"Content-Type": "application/json",
                                         "X-Api-Key": "@parameters('itsmCredential')"}
    assert post["inputs"]["body"] == "@outputs('Sync_event')"
    assert post["runtimeConfiguration"]["secureData"]["properties"] == ["inputs", "outputs"]
    event = action(playbook, "Sync_event")["inputs"]
    # The documented event (docs/operations/itsm.md "What the ITSM sees").
    assert set(event) == {"schema", "eventType", "eventId", "detectedBy", "raisePriority", "source", "target"}
    assert event["schema"] == EVENT_SCHEMA and event["eventType"] == "incident.redirected"
    assert set(event["source"]) == {"defenderIncidentId", "severity", "url", "sentinelIncidentUrl"}
    assert set(event["target"]) == {"defenderIncidentId", "severity", "url"}
    assert event["eventId"] == "@{body('Get_source_incident')?['id']}->@{body('Get_target_incident')?['id']}"
    assert action(poller, "Post_sync_event") == post


def test_webhook_secret_url_and_no_auth():
    playbook, _, _ = definitions("webhook-secret-url")
    assert action(playbook, "Post_sync_event")["inputs"]["uri"] == "@parameters('itsmCredential')"
    playbook, _, _ = definitions("webhook-no-auth")
    post = action(playbook, "Post_sync_event")
    assert post["inputs"]["headers"] == {"Content-Type": "application/json"}
    # Ticket data stays out of run history even without a credential.
    assert post["runtimeConfiguration"]["secureData"]["properties"] == ["inputs", "outputs"]


@pytest.mark.parametrize("case", ["servicenow-secret", "servicenow-keyvault", "webhook-header", "webhook-secret-url",
                                  "webhook-no-auth"])
def test_every_itsm_http_action_hides_inputs_and_outputs(case: str):

    playbook, poller, _ = definitions(case)

    def http_actions(actions: dict) -> list[tuple[str, dict]]:
        found = []
        for name, a in actions.items():
            if a.get("type") == "Http":
                found.append((name, a))
            for key in ("actions", "else"):
                inner = a.get(key)
                if isinstance(inner, dict):
                    found += http_actions(inner.get("actions", inner) if key == "else" else inner)
        return found

    itsm_names = set()
    for definition in (playbook, poller):
        for name, a in http_actions(definition["actions"]):
            audience = (a["inputs"].get("authentication") or {}).get("audience", "")
            if "graph.microsoft.com" in audience:
                continue  # Graph reads of Defender incidents, not ITSM calls
            itsm_names.add(name)
            assert a["runtimeConfiguration"]["secureData"]["properties"] == ["inputs", "outputs"], name
    assert itsm_names


# ------------------------------------------------------------------------------------------------------
# Refusals and failures are visible, and a failed ticket neither stalls the others nor loops
# ------------------------------------------------------------------------------------------------------
def runs(run_after: dict[str, list[str]], statuses: dict[str, str]) -> bool:
    """Logic Apps' runAfter rule: an action runs when every predecessor ended in one of its listed statuses."""
    return all(statuses[name] in allowed for name, allowed in run_after.items())


@pytest.mark.parametrize("case", ["servicenow-secret", "webhook-secret-url"])
def test_the_poller_moves_to_the_next_page_whatever_happened_to_this_one(case):
    # Bug: Set_next_page ran only after the loop over the incidents succeeded, so one failed ticket left
    # pageUrl unchanged and the Until loop fetched the same Graph page again, up to 100 times.
    _, poller, _ = definitions(case)
    until = action(poller, "Until_no_next_page")["actions"]
    record_page = until["Record_failed_page"]
    next_page = until["Set_next_page"]
    for listed in ("Succeeded", "Failed", "TimedOut"):
        for each in ("Succeeded", "Failed", "TimedOut", "Skipped"):
            statuses = {"List_redirected_incidents": listed, "For_each_redirected_incident":
                        each if listed == "Succeeded" else "Skipped"}
            statuses["Record_failed_page"] = "Succeeded" if runs(record_page["runAfter"], statuses) else "Skipped"
            assert runs(next_page["runAfter"], statuses), statuses
            assert (statuses["Record_failed_page"] == "Succeeded") == (listed != "Succeeded")
    # The next page is the page's nextLink, else '' (the loop ends): never the page just fetched.
    assert next_page["inputs"]["value"] == "@{coalesce(body('List_redirected_incidents')?['@odata.nextLink'], '')}"


@pytest.mark.parametrize("case", ["servicenow-secret", "webhook-secret-url"])
def test_a_failed_incident_is_recorded_and_the_run_fails_after_the_last_page(case):
    _, poller, _ = definitions(case)
    loop = action(poller, "For_each_redirected_incident")["actions"]
    record = loop["Record_failed_incident"]
    assert record["type"] == "AppendToArrayVariable" and record["inputs"]["name"] == "failures"
    assert runs(record["runAfter"], {"Has_target": "Failed"}) and not runs(record["runAfter"], {"Has_target": "Succeeded"})
    # No Terminate inside the loop: it would end the run and skip every other incident (and Logic Apps does
    # not accept Terminate inside Foreach/Until).
    until = action(poller, "Until_no_next_page")
    assert not [n for n, a in all_actions(until["actions"]) if a.get("type") == "Terminate"]
    report = action(poller, "Any_failure")
    for status in ("Succeeded", "Failed", "TimedOut"):
        assert runs(report["runAfter"], {"Until_no_next_page": status})
    assert report["expression"] == "@greater(length(variables('failures')), 0)"
    (terminate,) = report["actions"].values()
    assert terminate["type"] == "Terminate" and terminate["inputs"]["runStatus"] == "Failed"
    assert "variables('failures')" in terminate["inputs"]["runError"]["message"]
    assert check_workflow(poller, supplied(poller)) == []


def test_a_ticket_servicenow_will_not_close_is_visible_in_both_workflows():
    playbook, poller, _ = definitions("servicenow-secret")
    # Refused with an error (a data policy answers 403): the playbook's run fails with the reason.
    fail = action(playbook, "Fail_refused_close")
    assert fail["type"] == "Terminate" and fail["inputs"]["runStatus"] == "Failed"
    assert runs(fail["runAfter"], {"Close_source_ticket": "Failed"})
    assert not runs(fail["runAfter"], {"Close_source_ticket": "Succeeded"})
    message = fail["inputs"]["runError"]["message"]
    assert "'Duplicate'" in message and "closeCode" in message
    # The poller records the same refusal instead of ending the run.
    assert action(poller, "Record_refused_close")["inputs"]["name"] == "failures"
    # Accepted but left open (a business rule reset state or close code): compared with what was asked.
    still_open = action(playbook, "Ticket_still_open")
    checks = json.dumps(still_open["expression"])
    assert "['result']?['state']" in checks and "['result']?['close_code']" in checks
    assert '"7"' in checks and '"Duplicate"' in checks
    assert action(playbook, "Fail_ticket_still_open")["type"] == "Terminate"
    assert action(poller, "Record_ticket_still_open")["type"] == "AppendToArrayVariable"


@pytest.mark.parametrize("value", ["Closed/Resolved by Caller'", "@{guid()}", "Dup\"licate", ""])
def test_a_close_code_the_workflow_language_would_read_as_code_is_refused(value):
    from pydantic import ValidationError

    cfg = copy.deepcopy(CASES["servicenow-secret"][0])
    cfg["servicenow"]["closeCode"] = value
    with pytest.raises(ValidationError, match=r"closeCode|close_code"):
        ItsmConfig.model_validate(cfg)
