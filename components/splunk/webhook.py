"""SplunkWebhook: one customer's Splunk alerts into the MSSP's Sentinel (customer stack).

A Consumption Logic App with a system-assigned managed identity:
  Request trigger (JSON schema of Splunk's webhook body, optional allowed caller IP ranges)
  -> Build_record (Compose: the stream's record, stamped with the customer, `Result` kept as an object)
  -> Send_to_Sentinel (HTTP POST to the DCR's Logs Ingestion API, authenticated as the workflow's managed
     identity for audience https://monitor.azure.com, exponential retries)
  -> Accepted (200 to Splunk) | Ingestion_failed (502 to Splunk with the ingestion status and the run id
     as correlation id, when the POST failed or timed out), so Splunk's alert log shows whether the alert
     reached Sentinel. The Logs Ingestion API's error body is never returned: it names the DCR, the
     stream and the identity, which someone holding the URL has no business learning; the MSSP finds it
     in the run history under the correlation id.
The trigger validates the body against the schema (a 400 for anything else, before a run starts) and
limits concurrent runs, so a leaked URL cannot fan out into unbounded runs and ingestion calls.
The identity holds Monitoring Metrics Publisher on the DCR only (what the Logs Ingestion API needs), and
the webhook URL (whose SAS `sig` is the only credential Splunk can carry: its webhook action cannot add
headers) is exported only as a Pulumi secret. No credential is in the definition.

Why the workflow runs in the MSSP's subscription (the platform's resource group), not the customer's:
Monitoring Metrics Publisher is a DataAction role, which Lighthouse cannot delegate, and a managed
identity lives in one tenant: a customer-tenant identity could not be granted a role on the MSSP's DCR.
In the MSSP tenant the identity and the DCR share a tenant, the customer deploys and holds nothing, and
the MSSP can change the workflow without customer credentials. The cost (per action execution) is the
MSSP's. One workflow per customer, so every record is stamped with its customer by construction and a
leaked URL can be revoked (regenerate the access keys) for one customer alone.

Retries: Logic Apps retry policies apply to HTTP 408, 429 and 5xx and to connectivity errors; the
exponential policy here stays well inside the two minutes Splunk's call waits for the synchronous
response. Source: MicrosoftDocs azure-docs articles/logic-apps/error-exception-handling.md (Retry
policies); MicrosoftDocs/azure-monitor-docs articles/azure-monitor/fundamentals/service-limits.md, "Logs
Ingestion API" (limits, 429 with Retry-After).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from components.facts import naming, roles
from components.facts.logic_apps import SCHEMA_URI
from components.splunk import schema

TRIGGER_NAME = "splunk_alert"
LOGS_INGESTION_API_VERSION = "2023-01-01"
# Token audience of the Logs Ingestion API (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/logs/logs-ingestion-api-overview.md, scope https://monitor.azure.com/.default).
MONITOR_AUDIENCE = "https://monitor.azure.com"
# Trigger concurrency: at most this many runs at once, further calls wait (up to MAX_WAITING_RUNS) rather
# than start, and past that get 429. Sources: MicrosoftDocs azure-docs articles/logic-apps/
# logic-apps-workflow-actions-triggers.md ("Change trigger concurrency", "Change waiting runs limit":
# "Request and webhook triggers return 429 errors"; once on, concurrency control cannot be switched off)
# and logic-apps-limits-and-config.md (runs 1-50, later 1-100; waiting runs from 10 + runs to 100). The
# workflow checker the tests use holds these bounds (testing/logic_apps_check.py) and checks every definition.
CONCURRENT_RUNS = 10
MAX_WAITING_RUNS = 50
# Request trigger "Schema Validation": a body that does not match the trigger's schema gets HTTP 400 Bad
# Request and starts no run (azure-docs articles/connectors/connectors-native-reqres.md, "Add Request
# trigger": "turn on Schema Validation ... the trigger returns an HTTP 400 Bad Request error"). That page
# names the designer setting, not its JSON; the code-view spelling `operationOptions: EnableSchemaValidation`
# is what the designer writes (workflow definitions exported from it in public repositories). Microsoft's
# operation-options table (logic-apps-workflow-actions-triggers.md) does not list it: checked, not proven.
SCHEMA_VALIDATION = "EnableSchemaValidation"
RETRY_POLICY: Mapping[str, Any] = MappingProxyType({
    "type": "exponential", "count": 3, "interval": "PT5S", "minimumInterval": "PT5S", "maximumInterval": "PT30S"})


def ingestion_uri(logs_ingestion_endpoint: str, dcr_immutable_id: str, stream_name: str) -> str:
    """The Logs Ingestion API URL of one DCR stream (Microsoft's tool and logs-ingestion-api-overview.md)."""
    return (f"{logs_ingestion_endpoint.rstrip('/')}/dataCollectionRules/{dcr_immutable_id}/streams/{stream_name}"
            f"?api-version={LOGS_INGESTION_API_VERSION}")


def _reply(status_code: int, status: str, after: list[str], **extra: str) -> dict[str, Any]:
    """The Response action that answers Splunk once Send_to_Sentinel ends in one of the `after` states."""
    return {
        "type": "Response",
        "kind": "Http",
        "inputs": {
            "statusCode": status_code,
            "headers": {"Content-Type": "application/json"},
            "body": {"status": status, "sid": "@triggerBody()?['sid']",
                     "ingestionStatus": "@outputs('Send_to_Sentinel')?['statusCode']", **extra},
        },
        "runAfter": {"Send_to_Sentinel": after},
    }


def workflow_definition(customer_name: str, customer_tenant_id: str, uri: str) -> dict[str, Any]:
    """The workflow definition (pure): Request trigger -> record -> Logs Ingestion API -> response to Splunk."""
    return {
        "$schema": SCHEMA_URI,
        "contentVersion": "1.0.0.0",
        "parameters": {},
        "triggers": {
            TRIGGER_NAME: {
                "type": "Request",
                "kind": "Http",
                # The schema gives the designer Splunk's fields and is what the contract tests check
                # Splunk's documented payload against.
                "inputs": {"method": "POST", "schema": schema.trigger_schema()},
                "operationOptions": SCHEMA_VALIDATION,
                "runtimeConfiguration": {"concurrency": {"runs": CONCURRENT_RUNS,
                                                         "maximumWaitingRuns": MAX_WAITING_RUNS}},
            }
        },
        "actions": {
            "Build_record": {
                "type": "Compose",
                "inputs": schema.record_template(customer_name, customer_tenant_id),
                "runAfter": {},
            },
            "Send_to_Sentinel": {
                "type": "Http",
                "inputs": {
                    "method": "POST",
                    "uri": uri,
                    "headers": {"Content-Type": "application/json"},
                    # The Logs Ingestion API takes a JSON array of records.
                    "body": ["@outputs('Build_record')"],
                    "authentication": {"type": "ManagedServiceIdentity", "audience": MONITOR_AUDIENCE},
                    "retryPolicy": dict(RETRY_POLICY),
                },
                "runAfter": {"Build_record": ["Succeeded"]},
            },
            "Accepted": _reply(200, "ingested", ["Succeeded"]),
            # Status and correlation id (this run's id in the run history) only: never the ingestion
            # API's error body.
            "Ingestion_failed": _reply(502, "ingestion failed", ["Failed", "TimedOut"],
                                       correlationId="@workflow()?['run']?['name']"),
        },
        "outputs": {},
    }


def access_control(allowed_ranges: list[str]) -> dict[str, Any] | None:
    """Restrict who may call the trigger (in addition to the SAS signature), when ranges are configured."""
    if not allowed_ranges:
        return None
    return {"triggers": {"allowed_caller_ip_addresses": [{"address_range": r} for r in allowed_ranges]}}


@dataclass(frozen=True)
class SplunkWebhookArgs:
    customer_name: str
    customer_tenant_id: str
    workflow_name: str
    allowed_caller_ip_ranges: list[str]
    mssp_subscription_id: str
    resource_group: str  # the platform's resource group in the MSSP subscription
    location: str  # the platform's region
    # From the platform stack's `splunk` output (StackReference).
    dcr_id: pulumi.Input[str]
    dcr_immutable_id: pulumi.Input[str]
    logs_ingestion_endpoint: pulumi.Input[str]
    stream_name: pulumi.Input[str]
    mssp_provider: azure_native.Provider  # the MSSP subscription
    tags: dict[str, str] = field(default_factory=dict)


class SplunkWebhook(pulumi.ComponentResource):
    webhook_url: pulumi.Output[str]  # secret
    workflow_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]

    def __init__(self, name: str, args: SplunkWebhookArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mssp:splunk:SplunkWebhook", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.mssp_provider)

        uri = pulumi.Output.all(args.logs_ingestion_endpoint, args.dcr_immutable_id, args.stream_name).apply(
            lambda v: ingestion_uri(v[0], v[1], v[2]))
        definition = uri.apply(lambda u: workflow_definition(args.customer_name, args.customer_tenant_id, u))

        workflow = azure_native.logic.Workflow(
            f"{name}-workflow",
            workflow_name=args.workflow_name,
            resource_group_name=args.resource_group,
            location=args.location,
            state="Enabled",
            identity={"type": "SystemAssigned"},
            definition=definition,
            access_control=access_control(args.allowed_caller_ip_ranges),
            tags={"mssp-sentinel:customer": args.customer_name, **args.tags},
            opts=child,
        )
        principal_id = workflow.identity.apply(lambda i: i.principal_id if i else None)

        # The Logs Ingestion API needs Monitoring Metrics Publisher on the DCR; nothing broader.
        publisher = roles.MONITORING_METRICS_PUBLISHER
        azure_native.authorization.RoleAssignment(
            f"{name}-dcr-publisher",
            # The principal is part of the name: if the workflow (and so its identity) is ever replaced,
            # the new assignment gets a new name instead of colliding with the old one.
            role_assignment_name=principal_id.apply(lambda pid: naming.stable_guid(
                "splunk-dcr-publisher", args.mssp_subscription_id, args.resource_group, args.workflow_name, str(pid))),
            scope=args.dcr_id,
            role_definition_id=roles.role_definition_id(args.mssp_subscription_id, publisher),
            principal_id=principal_id,
            principal_type="ServicePrincipal",
            description=f"mssp-sentinel: Splunk webhook of {args.customer_name} sends alerts to the DCR",
            opts=child,
        )

        callback = azure_native.logic.list_workflow_trigger_callback_url_output(
            resource_group_name=args.resource_group,
            workflow_name=workflow.name,
            trigger_name=TRIGGER_NAME,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=args.mssp_provider, depends_on=[workflow]),
        )
        # The URL's sig is the credential Splunk presents: never in plain text.
        self.webhook_url = pulumi.Output.secret(callback.value)
        self.workflow_id = workflow.id
        self.principal_id = principal_id
        self.register_outputs({"webhookUrl": self.webhook_url, "workflowId": workflow.id,
                               "principalId": principal_id})
