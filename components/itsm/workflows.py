"""The two workflow definitions of the ITSM sync for redirected incidents, as pure functions.

- `playbook_definition`: run by Sentinel (incident trigger through the `azuresentinel` managed API
  connection, authenticated by the workflow's managed identity) when an automation rule sees the label
  "redirected" added. It reads the Defender incident from Microsoft Graph to find the target
  (`redirectIncidentId`), runs the ITSM steps, then tags the Sentinel incident so a second run adds
  nothing.
- `poller_definition`: a recurrence that lists Graph `security/incidents` with
  `status eq 'redirected' and lastUpdateDateTime ge <window start>`, follows `@odata.nextLink`, and
  runs the same ITSM steps for each incident. The window is twice the interval, so a late or failed
  run leaves no gap; the overlap is harmless because the ITSM steps are idempotent.

The ITSM steps (`itsm_actions`) read one event, the `Sync_event` Compose action, which both workflows
build with the same shape (documented in docs/operations/itsm.md; it is also the webhook's JSON body):
  {"schema", "eventType", "eventId", "detectedBy", "raisePriority",
   "source": {"defenderIncidentId", "severity", "url", "sentinelIncidentUrl"},
   "target": {"defenderIncidentId", "severity", "url"}}

Credentials: the definitions never hold one. The credential is either the `itsmCredential`
securestring parameter (its value is supplied on the workflow resource as a Pulumi secret) or read at
run time from Key Vault with the managed identity (`Get_ITSM_credential`, inputs and outputs marked
secure so run history hides them).

Sources: trigger, connection reference and "Update incident" shapes: Azure/Azure-Sentinel
Solutions/Servicenow/Playbooks/ServiceNow-CreateAndUpdateIncident/azuredeploy.json. Graph incident
fields (`redirectIncidentId`, `incidentWebUrl`, `severity`, `status`, `lastUpdateDateTime`):
microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/resources/security-incident.md; the
$filter and paging pattern (`$filter=status eq 'redirected' and lastUpdateDateTime ge ...`, `@odata.nextLink`):
microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/api/security-list-incidents.md.
ServiceNow Table API (GET /api/now/table/{tableName} with sysparm_query, sysparm_limit, sysparm_fields;
PATCH /api/now/table/{tableName}/{sys_id}; response {"result": ...}):
https://www.servicenow.com/docs/r/api-reference/rest-apis/c_TableAPI.html. HTTP action managed identity
authentication (`type: ManagedServiceIdentity`, `audience`): MicrosoftDocs/azure-docs
articles/logic-apps/authenticate-with-managed-identity.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from components.config.itsm import ItsmConfig
from components.facts.logic_apps import SCHEMA_URI

GRAPH = "https://graph.microsoft.com"
GRAPH_INCIDENTS = f"{GRAPH}/v1.0/security/incidents"
KEY_VAULT_AUDIENCE = "https://vault.azure.net"
# Key Vault data-plane API version for GET {secretUri}. Source: Key Vault REST reference, Get Secret.
KEY_VAULT_API_VERSION = "7.4"
# The tag Defender adds to the Sentinel incident it closes when it merges ("redirects") it into another.
# Microsoft spells it both ways: "Redirected" in the Microsoft Sentinel blog "Microsoft Sentinel and
# Defender: ITSM Integrations Explained" (techcommunity.microsoft.com/blog/microsoftsentinelblog/4457282)
# and Microsoft's Sentinel support guide for the Defender XDR connector; "redirected" on Microsoft Learn
# (MicrosoftDocs/azure-docs articles/sentinel/microsoft-365-defender-sentinel-integration.md, 'with a tag
# of "redirected" added'). Microsoft documents no case rule for automation-rule string conditions
# (articles/sentinel/automation-rule-reference.md, the AutomationRulePropertyValuesCondition schema in
# Azure/azure-rest-api-specs securityinsights), so the rule lists both spellings and the playbook
# compares lower-cased.
REDIRECTED_TAG = "Redirected"
REDIRECTED_TAGS = (REDIRECTED_TAG, REDIRECTED_TAG.lower())
REDIRECTED_LABEL = REDIRECTED_TAG.lower()  # the playbook's lower-cased comparison
# Graph's incidentStatus enum member (microsoft-graph-docs-contrib api-reference/v1.0/resources/
# security-incident.md: active, resolved, inProgress, redirected, unknownFutureValue): an OData enum
# literal, compared as written.
GRAPH_REDIRECTED_STATUS = "redirected"
SYNCED_LABEL = "itsm-redirect-synced"  # our tag on a Sentinel incident once its ITSM sync is done
EVENT_SCHEMA = "mssp-sentinel/itsm-redirect/v1"
CREDENTIAL_PARAMETER = "itsmCredential"
CONNECTION_KEY = "azuresentinel"
# Marker in the closed source ticket's close notes; the check before closing looks for it.
MARKER_PREFIX = "[mssp-sentinel redirected to "
# Graph/Sentinel severities, least to most severe (comparison by position; unknown values rank lowest).
_SEVERITY_ORDER = ",informational,low,medium,high,"


@dataclass(frozen=True)
class CredentialSource:
    """Where the workflows get the ITSM credential: the securestring parameter, Key Vault, or none."""

    kind: str  # "parameter" | "keyvault" | "none"
    key_vault_secret_uri: str | None = None

    @staticmethod
    def from_config(itsm: ItsmConfig, has_secret: bool) -> CredentialSource:
        if itsm.credential is not None:
            return CredentialSource("keyvault", itsm.credential.key_vault_secret_uri)
        return CredentialSource("parameter" if has_secret else "none")

    @property
    def expression(self) -> str | None:
        """The WDL expression (without the leading @) that yields the credential at run time."""
        if self.kind == "parameter":
            return f"parameters('{CREDENTIAL_PARAMETER}')"
        if self.kind == "keyvault":
            return "body('Get_ITSM_credential')?['value']"
        return None


# Every ITSM HTTP action hides its inputs (auth headers, URL, ticket data) and outputs (ticket data) from
# run history. Source: MicrosoftDocs azure-docs articles/logic-apps/logic-apps-securing-a-logic-app.md
# ("Secure data in run history by using obfuscation": runtimeConfiguration.secureData.properties).
SECURE_INPUTS_OUTPUTS: Mapping[str, Any] = MappingProxyType(
    {"runtimeConfiguration": {"secureData": {"properties": ["inputs", "outputs"]}}})


def _after(*names: str) -> dict[str, list[str]]:
    return {n: ["Succeeded"] for n in names}


def _msi(audience: str) -> dict[str, str]:
    return {"type": "ManagedServiceIdentity", "audience": audience}


def _graph_get(uri: str, run_after: dict[str, list[str]]) -> dict[str, Any]:
    return {"type": "Http", "runAfter": run_after,
            "inputs": {"method": "GET", "uri": uri, "authentication": _msi(GRAPH)}}


def _severity_rank(expr: str) -> str:
    return f"indexOf('{_SEVERITY_ORDER}', concat(',', toLower(coalesce({expr}, '')), ','))"


def _declared_parameters(credential: CredentialSource, with_connections: bool) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if with_connections:
        params["$connections"] = {"type": "Object", "defaultValue": {}}
    if credential.kind == "parameter":
        # No defaultValue: the value exists only on the workflow resource, supplied as a secret.
        params[CREDENTIAL_PARAMETER] = {"type": "SecureString",
                                        "metadata": {"description": "ITSM credential (from Pulumi secret config)"}}
    return params


def credential_actions(credential: CredentialSource) -> dict[str, Any]:
    """The Key Vault read when the credential lives there (secure inputs and outputs); else nothing."""
    if credential.kind != "keyvault":
        return {}
    return {"Get_ITSM_credential": {
        "type": "Http",
        "runAfter": {},
        "inputs": {"method": "GET", "uri": f"{credential.key_vault_secret_uri}?api-version={KEY_VAULT_API_VERSION}",
                   "authentication": _msi(KEY_VAULT_AUDIENCE)},
        "runtimeConfiguration": {"secureData": {"properties": ["inputs", "outputs"]}},
    }}


def sync_event(itsm: ItsmConfig, detected_by: str, source: dict[str, str], target: dict[str, str]) -> dict[str, Any]:
    """The `Sync_event` Compose action: one event shape for both workflows and both adapters.

    `source`/`target` map id, severity, url (and for the source, sentinelUrl) to WDL expressions.
    """
    raise_priority: Any = False
    if itsm.raise_priority_on_merge:
        raise_priority = f"@greater({_severity_rank(source['severity'])}, {_severity_rank(target['severity'])})"
    return {
        "type": "Compose",
        "runAfter": _after("Get_target_incident"),
        "inputs": {
            "schema": EVENT_SCHEMA,
            "eventType": "incident.redirected",
            # Stable per merge: a receiver drops a repeated event by this id.
            "eventId": f"@{{{source['id']}}}->@{{{target['id']}}}",
            "detectedBy": detected_by,
            "raisePriority": raise_priority,
            "source": {"defenderIncidentId": f"@{source['id']}", "severity": f"@{source['severity']}",
                       "url": f"@{source['url']}", "sentinelIncidentUrl": f"@{source.get('sentinelUrl', 'null')}"},
            "target": {"defenderIncidentId": f"@{target['id']}", "severity": f"@{target['severity']}",
                       "url": f"@{target['url']}"},
        },
    }


_EVENT = "outputs('Sync_event')"


# What a workflow does when a ticket action fails or ServiceNow keeps the ticket open: given the message (a
# WDL string) and the runAfter, the actions that make it visible. The playbook ends its run as Failed
# (Terminate); the poller records it and fails its run after the last page (a Terminate inside a loop
# would stop every other ticket).
Refusal = Callable[[str, str, dict[str, list[str]]], dict[str, Any]]


def terminate_failed(name: str, message: str, run_after: dict[str, list[str]]) -> dict[str, Any]:
    """The playbook's refusal: the run ends Failed with the message (logic-apps-workflow-actions-triggers.md,
    "Terminate action": runStatus Failed, runError code and message)."""
    return {f"Fail_{name}": {"type": "Terminate", "runAfter": run_after, "inputs": {
        "runStatus": "Failed", "runError": {"code": "ItsmRefused", "message": message}}}}


def record_failure(name: str, message: str, run_after: dict[str, list[str]]) -> dict[str, Any]:
    """The poller's refusal: appended to the `failures` variable, reported after the last page."""
    return {f"Record_{name}": {"type": "AppendToArrayVariable", "runAfter": run_after,
                               "inputs": {"name": FAILURES_VARIABLE, "value": message}}}


FAILURES_VARIABLE = "failures"


def _servicenow_actions(itsm: ItsmConfig, credential: CredentialSource,
                        refusal: Refusal = terminate_failed) -> tuple[dict[str, Any], str]:
    sn = itsm.servicenow
    assert sn is not None
    table_url = f"{sn.instance_url}/api/now/table/{sn.table}"
    auth = {"type": "Basic", "username": sn.user_name, "password": f"@{credential.expression}"}
    secure = dict(SECURE_INPUTS_OUTPUTS)

    def find(name: str, side: str) -> dict[str, Any]:
        return {"type": "Http", "runAfter": _after("Sync_event"), **secure, "inputs": {
            "method": "GET", "uri": table_url, "authentication": auth,
            "headers": {"Accept": "application/json"},
            "queries": {"sysparm_query": f"{sn.correlation_field}=@{{{_EVENT}?['{side}']?['defenderIncidentId']}}",
                        "sysparm_limit": "1", "sysparm_fields": "sys_id,number,state,priority,close_notes"}}}

    def patch(sys_id_expr: str, body: dict[str, Any], run_after: dict[str, list[str]]) -> dict[str, Any]:
        return {"type": "Http", "runAfter": run_after, **secure, "inputs": {
            "method": "PATCH", "uri": f"{table_url}/@{{{sys_id_expr}}}", "authentication": auth,
            "headers": {"Accept": "application/json", "Content-Type": "application/json"}, "body": body}}

    source_ticket = "first(body('Find_source_ticket')?['result'])"
    target_ticket = "first(body('Find_target_ticket')?['result'])"
    marker = f"{MARKER_PREFIX}@{{{_EVENT}?['target']?['defenderIncidentId']}}]"
    marker_expr = f"concat('{MARKER_PREFIX}', {_EVENT}?['target']?['defenderIncidentId'], ']')"
    target_actions: dict[str, Any] = {
        "Note_on_target_ticket": patch(f"{target_ticket}?['sys_id']", {
            "work_notes": (f"Microsoft Defender merged incident @{{{_EVENT}?['source']?['defenderIncidentId']}} "
                           f"(severity @{{{_EVENT}?['source']?['severity']}}, ITSM ticket "
                           f"@{{{source_ticket}?['number']}}) into this incident: "
                           f"@{{{_EVENT}?['source']?['url']}}"),
        }, {}),
    }
    if itsm.raise_priority_on_merge:
        # Impact/urgency 1 (High), 2 (Medium), 3 otherwise, as the Azure-Sentinel ServiceNow playbook maps
        # Sentinel severities; ServiceNow derives priority from them.
        sev = f"toLower({_EVENT}?['source']?['severity'])"
        level = f"if(equals({sev}, 'high'), '1', if(equals({sev}, 'medium'), '2', '3'))"
        target_actions["Source_more_severe"] = {
            "type": "If", "runAfter": _after("Note_on_target_ticket"),
            "expression": f"@equals({_EVENT}?['raisePriority'], true)",
            "actions": {"Raise_target_priority": patch(f"{target_ticket}?['sys_id']",
                                                       {"impact": f"@{{{level}}}", "urgency": f"@{{{level}}}"}, {})},
        }
    actions: dict[str, Any] = {
        "Find_source_ticket": find("Find_source_ticket", "source"),
        "Find_target_ticket": find("Find_target_ticket", "target"),
        # Idempotent: act only when the source ticket exists and was not already closed by this sync
        # for this target (its close notes carry the marker).
        "Source_ticket_open": {
            "type": "If",
            "runAfter": _after("Find_source_ticket", "Find_target_ticket"),
            "expression": {"and": [
                {"greater": ["@length(coalesce(body('Find_source_ticket')?['result'], json('[]')))", 0]},
                {"not": {"contains": [f"@string(coalesce({source_ticket}?['close_notes'], ''))", f"@{marker_expr}"]}},
            ]},
            "actions": {
                "Close_source_ticket": patch(f"{source_ticket}?['sys_id']", {
                    "state": sn.closed_state,
                    "close_code": sn.close_code,
                    "close_notes": (f"{marker} Microsoft Defender merged this incident into incident "
                                    f"@{{{_EVENT}?['target']?['defenderIncidentId']}} "
                                    f"(ITSM ticket @{{{target_ticket}?['number']}}): "
                                    f"@{{{_EVENT}?['target']?['url']}}"),
                }, {}),
                # ServiceNow answers a data policy or business rule that refuses the close with an error
                # (the action fails) or, for a business rule that resets fields, with the ticket still
                # open: both end visibly (refusal), never as a silent success.
                **refusal(
                        "refused_close",
                        f"ServiceNow refused to close ticket @{{{source_ticket}?['number']}} (HTTP "
                        f"@{{outputs('Close_source_ticket')?['statusCode']}}) with close_code '{sn.close_code}' "
                        f"and state '{sn.closed_state}': check itsm.servicenow.closeCode against the instance's "
                        "incident close codes and data policies", {"Close_source_ticket": ["Failed", "TimedOut"]}),
                "Ticket_still_open": {
                    "type": "If", "runAfter": _after("Close_source_ticket"),
                    "expression": {"or": [
                        {"not": {"equals": [
                            "@string(body('Close_source_ticket')?['result']?['state'])", sn.closed_state]}},
                        {"not": {"equals": [
                            "@string(body('Close_source_ticket')?['result']?['close_code'])", sn.close_code]}},
                    ]},
                    "actions": refusal(
                        "ticket_still_open",
                        f"ServiceNow kept ticket @{{{source_ticket}?['number']}} at state "
                        "'@{body('Close_source_ticket')?['result']?['state']}', close_code "
                        "'@{body('Close_source_ticket')?['result']?['close_code']}' (asked: state "
                        f"'{sn.closed_state}', close_code '{sn.close_code}'): a business rule changed it", {}),
                },
                "Target_ticket_found": {
                    "type": "If", "runAfter": _after("Close_source_ticket"),
                    "expression": "@greater(length(coalesce(body('Find_target_ticket')?['result'], json('[]'))), 0)",
                    "actions": target_actions,
                },
            },
        },
    }
    return actions, "Source_ticket_open"


def _webhook_actions(itsm: ItsmConfig, credential: CredentialSource) -> tuple[dict[str, Any], str]:
    wh = itsm.webhook
    assert wh is not None
    headers = {**dict(sorted(wh.extra_headers.items())), "Content-Type": "application/json"}
    if wh.url is None:
        uri = f"@{credential.expression}"  # the whole URL is the secret (it carries a SAS signature)
    else:
        uri = wh.url
        if credential.expression is not None:
            headers[wh.header_name] = f"@{credential.expression}"
    action: dict[str, Any] = {"type": "Http", "runAfter": _after("Sync_event"), **SECURE_INPUTS_OUTPUTS,
                              "inputs": {"method": "POST", "uri": uri, "headers": headers, "body": f"@{_EVENT}"}}
    return {"Post_sync_event": action}, "Post_sync_event"


def itsm_actions(itsm: ItsmConfig, credential: CredentialSource,
                 refusal: Refusal = terminate_failed) -> tuple[dict[str, Any], str]:
    """The ITSM adapter's actions (all after `Sync_event`) and the name of the last one."""
    if itsm.kind == "servicenow":
        return _servicenow_actions(itsm, credential, refusal)
    return _webhook_actions(itsm, credential)


def _target_steps(itsm: ItsmConfig, credential: CredentialSource, detected_by: str,
                  source: dict[str, str], target_id: str,
                  refusal: Refusal = terminate_failed) -> tuple[dict[str, Any], str]:
    target = {"id": "body('Get_target_incident')?['id']", "severity": "body('Get_target_incident')?['severity']",
              "url": "body('Get_target_incident')?['incidentWebUrl']"}
    steps: dict[str, Any] = {
        "Get_target_incident": _graph_get(f"{GRAPH_INCIDENTS}/@{{encodeUriComponent({target_id})}}", {}),
        "Sync_event": sync_event(itsm, detected_by, source, target),
    }
    adapter, last = itsm_actions(itsm, credential, refusal)
    steps.update(adapter)
    return steps, last


def playbook_definition(itsm: ItsmConfig, credential: CredentialSource) -> dict[str, Any]:
    """The Sentinel-triggered playbook."""
    incident = "triggerBody()?['object']?['properties']"
    labels = f"@coalesce({incident}?['labels'], json('[]'))"
    source = {"id": "body('Get_source_incident')?['id']", "severity": "body('Get_source_incident')?['severity']",
              "url": f"coalesce(body('Get_source_incident')?['incidentWebUrl'], "
                     f"{incident}?['additionalData']?['providerIncidentUrl'])",
              "sentinelUrl": f"{incident}?['incidentUrl']"}
    steps, last = _target_steps(itsm, credential, "sentinel-playbook", source,
                                "body('Get_source_incident')?['redirectIncidentId']")
    steps["Mark_incident_synced"] = {
        "type": "ApiConnection",
        "runAfter": _after(last),
        "inputs": {
            "host": {"connection": {"name": f"@parameters('$connections')['{CONNECTION_KEY}']['connectionId']"}},
            "method": "put",
            "path": "/Incidents",
            "body": {"incidentArmId": "@triggerBody()?['object']?['id']",
                     "tagsToAdd": {"TagsToAdd": [{"Tag": SYNCED_LABEL}]}},
        },
    }
    creds = credential_actions(credential)
    inner: dict[str, Any] = {
        **creds,
        # The Defender incident behind the Sentinel incident: its redirectIncidentId is the target.
        "Get_source_incident": _graph_get(
            f"{GRAPH_INCIDENTS}/@{{encodeUriComponent({incident}?['providerIncidentId'])}}", {}),
        "Has_target": {
            "type": "If",
            "runAfter": _after("Get_source_incident", *creds),
            "expression": "@not(empty(body('Get_source_incident')?['redirectIncidentId']))",
            "actions": steps,
        },
    }
    return {
        "$schema": SCHEMA_URI,
        "contentVersion": "1.0.0.0",
        "parameters": _declared_parameters(credential, with_connections=True),
        "triggers": {
            "Microsoft_Sentinel_incident": {
                "type": "ApiConnectionWebhook",
                "inputs": {
                    "body": {"callback_url": "@{listCallbackUrl()}"},
                    "host": {"connection": {
                        "name": f"@parameters('$connections')['{CONNECTION_KEY}']['connectionId']"}},
                    "path": "/incident-creation",
                },
            },
        },
        "actions": {
            # Labels compared lower-cased: sources spell "redirected" with varying case.
            "Redirected_labels": {"type": "Query", "runAfter": {}, "inputs": {
                "from": labels, "where": f"@equals(toLower(item()?['labelName']), '{REDIRECTED_LABEL}')"}},
            "Synced_labels": {"type": "Query", "runAfter": {}, "inputs": {
                "from": labels, "where": f"@equals(toLower(item()?['labelName']), '{SYNCED_LABEL}')"}},
            # Idempotent: an incident already tagged as synced is left alone.
            "Redirected_and_not_synced": {
                "type": "If",
                "runAfter": _after("Redirected_labels", "Synced_labels"),
                "expression": {"and": [
                    {"greater": ["@length(body('Redirected_labels'))", 0]},
                    {"equals": ["@length(body('Synced_labels'))", 0]},
                ]},
                "actions": inner,
            },
        },
        "outputs": {},
    }


def graph_filter_text(window_minutes: int) -> str:
    """The Graph `$filter` as a WDL string: literal text plus the window start, computed at run time."""
    start = f"formatDateTime(addMinutes(utcNow(), -{window_minutes}), 'yyyy-MM-ddTHH:mm:ssZ')"
    return f"status eq '{GRAPH_REDIRECTED_STATUS}' and lastUpdateDateTime ge @{{{start}}}"


def poller_definition(itsm: ItsmConfig, credential: CredentialSource) -> dict[str, Any]:
    """The Graph poller: every `intervalMinutes`, the redirected incidents updated in the last two intervals."""
    interval = itsm.poller.interval_minutes
    item = "items('For_each_redirected_incident')"
    source = {"id": f"{item}?['id']", "severity": f"{item}?['severity']", "url": f"{item}?['incidentWebUrl']"}
    steps, _ = _target_steps(itsm, credential, "graph-poller", source, f"{item}?['redirectIncidentId']",
                             record_failure)
    creds = credential_actions(credential)
    return {
        "$schema": SCHEMA_URI,
        "contentVersion": "1.0.0.0",
        "parameters": _declared_parameters(credential, with_connections=False),
        "triggers": {
            # One run at a time: a run still working when the next interval starts must not race it and
            # close (or note) the same ticket twice. Source: logic-apps-workflow-actions-triggers.md
            # ("Change trigger concurrency", runtimeConfiguration.concurrency.runs).
            "Recurrence": {"type": "Recurrence", "recurrence": {"frequency": "Minute", "interval": interval},
                           "runtimeConfiguration": {"concurrency": {"runs": 1}}},
        },
        "actions": {
            **creds,
            "Graph_filter": {"type": "Compose", "runAfter": {}, "inputs": graph_filter_text(2 * interval)},
            "Initialize_page_url": {
                "type": "InitializeVariable",
                "runAfter": _after("Graph_filter"),
                "inputs": {"variables": [{
                    "name": "pageUrl", "type": "string",
                    "value": f"{GRAPH_INCIDENTS}?$filter=@{{encodeUriComponent(outputs('Graph_filter'))}}",
                }]},
            },
            # What failed in this run (a Graph page, an incident's steps, a ticket ServiceNow would not
            # close): reported after the last page, so one failure neither stops the other incidents nor
            # makes the loop fetch the same page again.
            "Initialize_failures": {
                "type": "InitializeVariable",
                "runAfter": _after("Initialize_page_url"),
                "inputs": {"variables": [{"name": FAILURES_VARIABLE, "type": "array", "value": []}]},
            },
            # Do-until: one page per iteration; the next page is @odata.nextLink, absent on the last page.
            "Until_no_next_page": {
                "type": "Until",
                "runAfter": _after("Initialize_failures", *creds),
                "expression": "@empty(variables('pageUrl'))",
                "limit": {"count": 100, "timeout": "PT1H"},
                "actions": {
                    "List_redirected_incidents": _graph_get("@variables('pageUrl')", {}),
                    "Record_failed_page": {
                        "type": "AppendToArrayVariable",
                        "runAfter": {"List_redirected_incidents": ["Failed", "TimedOut"]},
                        "inputs": {"name": FAILURES_VARIABLE, "value": "Graph page @{variables('pageUrl')}: "
                                   "HTTP @{outputs('List_redirected_incidents')?['statusCode']}"},
                    },
                    "For_each_redirected_incident": {
                        "type": "Foreach",
                        "runAfter": _after("List_redirected_incidents"),
                        "foreach": "@coalesce(body('List_redirected_incidents')?['value'], json('[]'))",
                        # One at a time: two merges into the same target update the same ticket.
                        "runtimeConfiguration": {"concurrency": {"repetitions": 1}},
                        "actions": {
                            "Has_target": {
                                "type": "If",
                                "runAfter": {},
                                "expression": f"@not(empty({item}?['redirectIncidentId']))",
                                "actions": steps,
                            },
                            # A failed incident is recorded; the loop goes on with the next one.
                            "Record_failed_incident": {
                                "type": "AppendToArrayVariable",
                                "runAfter": {"Has_target": ["Failed", "TimedOut"]},
                                "inputs": {"name": FAILURES_VARIABLE,
                                           "value": f"incident @{{{item}?['id']}}: a sync step failed"},
                            },
                        },
                    },
                    # Runs whatever happened to the incidents of this page (or to the page itself: then the
                    # next link is absent and the loop ends), so a failure never re-runs the same page.
                    "Set_next_page": {
                        "type": "SetVariable",
                        "runAfter": {"For_each_redirected_incident": ["Succeeded", "Failed", "Skipped", "TimedOut"],
                                     "Record_failed_page": ["Succeeded", "Skipped"]},
                        "inputs": {"name": "pageUrl",
                                   "value": "@{coalesce(body('List_redirected_incidents')?['@odata.nextLink'], '')}"},
                    },
                },
            },
            "Any_failure": {
                "type": "If",
                "runAfter": {"Until_no_next_page": ["Succeeded", "Failed", "TimedOut"]},
                "expression": f"@greater(length(variables('{FAILURES_VARIABLE}')), 0)",
                "actions": {"Report_failures": {
                    "type": "Terminate", "runAfter": {},
                    "inputs": {"runStatus": "Failed", "runError": {
                        "code": "ItsmSyncFailed",
                        "message": f"@{{join(variables('{FAILURES_VARIABLE}'), '; ')}}"}},
                }},
            },
        },
        "outputs": {},
    }
