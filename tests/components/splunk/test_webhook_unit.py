"""SplunkWebhook built alone under Pulumi's mocks: the customer's Logic App, its one grant (Monitoring
Metrics Publisher on the platform's DCR, nothing broader), the caller ranges, and a secret webhook URL."""

from __future__ import annotations

import json

import pulumi_azure_native as azure_native

from components.facts import roles
from components.splunk.webhook import SplunkWebhook, SplunkWebhookArgs
from testing.component_mocks import Built, build

SUB = "11111111-2222-4333-8444-555555555555"
DCR = f"/subscriptions/{SUB}/resourceGroups/rg-mssp/providers/Microsoft.Insights/dataCollectionRules/dcr-splunk"
ENDPOINT = "https://dcr-splunk-abcd.westeurope-1.ingest.monitor.azure.com"
WORKFLOW, ASSIGNMENT = "azure-native:logic:Workflow", "azure-native:authorization:RoleAssignment"


def built(ranges: list[str]) -> Built[SplunkWebhook]:
    def make() -> SplunkWebhook:
        mssp = azure_native.Provider("mssp-arm", subscription_id=SUB)
        return SplunkWebhook("contoso-splunk", SplunkWebhookArgs(
            customer_name="contoso", customer_tenant_id="7a2b4c9d-0e1f-4a3b-82d5-6e7f8091a2b3",
            workflow_name="la-splunk-contoso", allowed_caller_ip_ranges=ranges, mssp_subscription_id=SUB,
            resource_group="rg-mssp", location="westeurope", dcr_id=DCR, dcr_immutable_id="dcr-0123456789abcdef",
            logs_ingestion_endpoint=ENDPOINT, stream_name="Custom-SplunkAlerts_CL", mssp_provider=mssp))
    return build(make, lambda c: {"webhookUrl": c.webhook_url, "principalId": c.principal_id})


def test_the_workflow_sends_to_the_dcr_it_was_given_as_its_own_identity() -> None:
    b = built([])
    (workflow,) = b.graph.of_type(WORKFLOW)
    assert workflow.provider == "mssp-arm" and workflow.parent_type == "mssp:splunk:SplunkWebhook"
    assert workflow.inputs["workflowName"] == "la-splunk-contoso" and workflow.inputs["identity"]["type"] == "SystemAssigned"
    definition = json.dumps(workflow.inputs["definition"])
    assert f"{ENDPOINT}/dataCollectionRules/dcr-0123456789abcdef/streams/Custom-SplunkAlerts_CL" in definition
    assert "ManagedServiceIdentity" in definition  # it signs in as itself, with no key in the definition


def test_its_only_grant_is_monitoring_metrics_publisher_on_that_dcr() -> None:
    b = built([])
    (grant,) = b.graph.of_type(ASSIGNMENT)
    # Bug caught: the publisher role on the resource group or subscription (every DCR there).
    assert grant.inputs["scope"] == DCR
    assert grant.inputs["roleDefinitionId"].endswith(roles.MONITORING_METRICS_PUBLISHER.guid)
    assert grant.inputs["principalId"] == b.outputs["principalId"][0]


def test_the_webhook_url_is_secret_and_callers_are_restricted_when_ranges_are_given() -> None:
    b = built(["203.0.113.0/24", "198.51.100.7/32"])
    url, secret = b.outputs["webhookUrl"]
    assert "sig=" in url and secret  # bug caught: the URL's signature exported in plain text
    (workflow,) = b.graph.of_type(WORKFLOW)
    allowed = workflow.inputs["accessControl"]["triggers"]["allowedCallerIpAddresses"]
    assert [a["addressRange"] for a in allowed] == ["203.0.113.0/24", "198.51.100.7/32"]
    assert "accessControl" not in built([]).graph.of_type(WORKFLOW)[0].inputs
