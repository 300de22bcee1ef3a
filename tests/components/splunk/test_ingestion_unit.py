"""SplunkAlertIngestion built alone under Pulumi's mocks: the custom table (protected: deleting it deletes
every alert), the DCR in the workspace's region feeding it, and the analytics rule over it."""

from __future__ import annotations

from typing import Any

import pulumi_azure_native as azure_native

from components.config.splunk import SplunkPlatformConfig
from components.splunk.ingestion import SplunkAlertIngestion, SplunkAlertIngestionArgs
from testing.component_mocks import Built, build

SUB = "11111111-2222-4333-8444-555555555555"
WORKSPACE = f"/subscriptions/{SUB}/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/law-soc"
TABLE, DCR = "azure-native:operationalinsights:Table", "azure-native:resources:Resource"
RULE = "azure-native:securityinsights:ScheduledAlertRule"


def built(**splunk: Any) -> Built[SplunkAlertIngestion]:
    config = SplunkPlatformConfig.model_validate(splunk)

    def make() -> SplunkAlertIngestion:
        arm = azure_native.Provider("mssp-arm", subscription_id=SUB)
        ws = azure_native.Provider("mssp-arm-workspace", subscription_id=SUB)
        return SplunkAlertIngestion("splunk", SplunkAlertIngestionArgs(
            config, "westeurope", "rg-mssp", WORKSPACE, "law-soc", "rg-soc", arm, ws))
    return build(make, lambda c: {"endpoint": c.logs_ingestion_endpoint, "dcr": c.dcr_id})


def test_the_table_is_protected_and_kept_and_holds_the_configured_columns() -> None:
    graph = built(tableName="SocAlerts_CL", retentionInDays=30,
                  extraColumns=[{"name": "Urgency", "sourceField": "urgency"}]).graph
    (table,) = graph.of_type(TABLE)
    # Bug caught: a table the stack could delete (and every alert with it) on a rename or removal.
    assert table.protect and table.retain_on_delete
    assert table.inputs["tableName"] == "SocAlerts_CL" and table.inputs["retentionInDays"] == 30
    assert (table.inputs["workspaceName"], table.inputs["resourceGroupName"]) == ("law-soc", "rg-soc")
    assert table.provider == "mssp-arm-workspace"
    columns = {c["name"]: c["type"] for c in table.inputs["schema"]["columns"]}
    assert columns["TimeGenerated"] == "dateTime" and columns["Urgency"] == "string"


def test_the_dcr_sits_in_the_workspace_region_after_the_table_and_sends_to_that_workspace() -> None:
    b = built()
    (dcr,) = [r for r in b.graph.of_type(DCR) if r.inputs["resourceType"] == "dataCollectionRules"]
    assert dcr.inputs["location"] == "westeurope" and dcr.inputs["kind"] == "Direct"
    # Bug caught: created at 2022-06-01, whose spec knows neither kind Direct nor endpoints.logsIngestion.
    assert dcr.inputs["apiVersion"] == "2023-03-11" and dcr.inputs["resourceProviderNamespace"] == "Microsoft.Insights"
    assert dcr.protect and dcr.retain_on_delete and dcr.provider == "mssp-arm"
    assert "splunk-table" in dcr.depends_on  # the table must exist before data flows into it
    (destination,) = dcr.inputs["properties"]["destinations"]["logAnalytics"]
    assert destination["workspaceResourceId"] == WORKSPACE
    (flow,) = dcr.inputs["properties"]["dataFlows"]
    assert flow["outputStream"] == "Custom-SplunkAlerts_CL" and flow["streams"] == ["Custom-SplunkAlerts_CL"]
    endpoint, secret = b.outputs["endpoint"]
    assert endpoint.startswith("https://") and not endpoint.endswith("/") and not secret


def test_the_analytics_rule_queries_the_table_on_the_configured_schedule() -> None:
    graph = built(tableName="SocAlerts_CL", analyticsRule={"queryFrequency": "PT10M", "queryPeriod": "PT1H",
                                                            "severity": "High"}).graph
    (rule,) = graph.of_type(RULE)
    assert "SocAlerts_CL" in rule.inputs["query"]
    assert (rule.inputs["queryFrequency"], rule.inputs["queryPeriod"], rule.inputs["severity"]) == ("PT10M", "PT1H", "High")
    assert rule.provider == "mssp-arm-workspace" and "splunk-table" in rule.depends_on
    assert built(analyticsRule={"enabled": False}).graph.of_type(RULE)[0].inputs["enabled"] is False
