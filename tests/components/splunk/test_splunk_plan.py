"""Splunk ingestion in the whole graph: the offline plans of the example platform and customer stacks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import load_stack
from components.facts import roles
from components.splunk import schema
from mssp.plan.command import PROJECT_DIR, build_manifest
from testing.logic_apps_check import check_workflow


@pytest.fixture(scope="module")
def platform() -> dict[str, Any]:
    return build_manifest("mssp")


@pytest.fixture(scope="module")
def contoso() -> dict[str, Any]:
    return build_manifest("contoso")


@pytest.fixture(scope="module")
def fabrikam() -> dict[str, Any]:
    return build_manifest("fabrikam")


def of_type(manifest: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [r for r in manifest["resources"] if r["type"] == rtype]


def dcrs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The data collection rules: generic ARM resources of type Microsoft.Insights/dataCollectionRules."""
    return [r for r in of_type(manifest, "azure-native:resources:Resource")
            if (r["inputs"]["resourceProviderNamespace"], r["inputs"]["resourceType"])
            == ("Microsoft.Insights", "dataCollectionRules")]


def test_platform_table(platform: dict[str, Any]) -> None:
    cfg = load_stack("mssp", PROJECT_DIR).platform
    assert cfg.splunk is not None
    (table,) = of_type(platform, "azure-native:operationalinsights:Table")
    inputs = table["inputs"]
    assert inputs["tableName"] == cfg.splunk.table_name and inputs["tableName"].endswith("_CL")
    assert inputs["workspaceName"] == cfg.workspace_name
    columns = {c["name"]: c["type"] for c in inputs["schema"]["columns"]}
    assert columns["TimeGenerated"] == "dateTime"
    assert inputs["schema"]["columns"] == schema.table_columns(cfg.splunk.extras)
    assert inputs["retentionInDays"] == cfg.splunk.retention_in_days
    assert table["options"]["protect"] is True and table["options"]["retainOnDelete"] is True


def test_platform_dcr(platform: dict[str, Any]) -> None:
    cfg = load_stack("mssp", PROJECT_DIR).platform
    assert cfg.splunk is not None
    (dcr,) = dcrs(platform)
    assert dcr["inputs"]["kind"] == "Direct" and dcr["inputs"]["apiVersion"] == "2023-03-11"
    assert dcr["inputs"]["location"] == cfg.location
    inputs = dcr["inputs"]["properties"]
    (stream,) = inputs["streamDeclarations"]
    assert stream.startswith("Custom-") and inputs["streamDeclarations"][stream]["columns"] == schema.stream_columns()
    (dest,) = inputs["destinations"]["logAnalytics"]
    assert dest["workspaceResourceId"] == cfg.workspace_id
    (flow,) = inputs["dataFlows"]
    assert flow["streams"] == [stream] and flow["destinations"] == [dest["name"]]
    assert flow["outputStream"] == f"Custom-{cfg.splunk.table_name}"
    assert flow["transformKql"] == schema.transform_kql(cfg.splunk.extras)
    assert dcr["options"]["retainOnDelete"] is True
    (table,) = of_type(platform, "azure-native:operationalinsights:Table")
    assert table["urn"] in dcr["options"]["dependsOn"]


def test_platform_analytics_rule(platform: dict[str, Any]) -> None:
    cfg = load_stack("mssp", PROJECT_DIR).platform
    assert cfg.splunk is not None
    (rule,) = of_type(platform, "azure-native:securityinsights:ScheduledAlertRule")
    inputs = rule["inputs"]
    assert inputs["kind"] == "Scheduled" and inputs["workspaceName"] == cfg.workspace_name
    assert inputs["query"].splitlines()[0] == cfg.splunk.table_name
    assert inputs["queryFrequency"] == cfg.splunk.analytics_rule.query_frequency
    assert inputs["queryPeriod"] == cfg.splunk.analytics_rule.query_period
    assert inputs["severity"] == cfg.splunk.analytics_rule.severity
    assert inputs["eventGroupingSettings"] == {"aggregationKind": "AlertPerResult"}
    incident = inputs["incidentConfiguration"]
    assert incident["createIncident"] is True
    grouping = incident["groupingConfiguration"]
    assert grouping["enabled"] is True and grouping["matchingMethod"] == "Selected"
    assert grouping["groupByCustomDetails"] == ["Customer", "SearchName"]
    details = inputs["customDetails"]
    assert details["Customer"] == "CustomerName" and details["SearchName"] == "SearchName"
    assert set(grouping["groupByCustomDetails"]) <= set(details)
    # Custom details and overrides name columns the query returns.
    returned = {c["name"] for c in schema.table_columns(cfg.splunk.extras)} | {"AlertSeverity"}
    assert set(details.values()) <= returned
    override = inputs["alertDetailsOverride"]
    assert "{{SearchName}}" in override["alertDisplayNameFormat"]
    assert override["alertSeverityColumnName"] == "AlertSeverity" and "AlertSeverity" in inputs["query"]
    assert "ingestion_time()" in inputs["query"]


def test_platform_outputs(platform: dict[str, Any]) -> None:
    out = platform["outputs"]["splunk"]
    (dcr,) = dcrs(platform)
    assert out["dcrId"].endswith(f"/providers/Microsoft.Insights/dataCollectionRules/{dcr['inputs']['resourceName']}")
    assert out["dcrImmutableId"].startswith("dcr-") and out["logsIngestionEndpoint"].startswith("https://")
    assert out["streamName"] == "Custom-" + out["tableName"]


def test_customer_workflow(contoso: dict[str, Any], platform: dict[str, Any]) -> None:
    (wf,) = of_type(contoso, "azure-native:logic:Workflow")
    inputs = wf["inputs"]
    loaded = load_stack("contoso", PROJECT_DIR)
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert inputs["resourceGroupName"] == loaded.platform.resource_group and inputs["location"] == loaded.platform.location
    assert wf["provider"] == "mssp-arm"
    (provider,) = [r for r in contoso["resources"] if r["type"] == "pulumi:providers:azure-native" and r["name"] == "mssp-arm"]
    assert provider["inputs"]["subscriptionId"] == loaded.platform.subscription_id
    definition = inputs["definition"]
    (trigger,) = definition["triggers"].values()
    assert trigger["type"] == "Request" and trigger["inputs"]["schema"] == schema.trigger_schema()
    http = [a for a in definition["actions"].values() if a["type"] == "Http"]
    assert len(http) == 1
    send = http[0]["inputs"]
    assert send["authentication"] == {"type": "ManagedServiceIdentity", "audience": "https://monitor.azure.com"}
    out = platform["outputs"]["splunk"]
    assert send["uri"] == (f"{out['logsIngestionEndpoint']}/dataCollectionRules/{out['dcrImmutableId']}/streams/"
                           f"{out['streamName']}?api-version=2023-01-01")
    assert send["retryPolicy"]["type"] == "exponential"
    ranges = [r["addressRange"] for r in inputs["accessControl"]["triggers"]["allowedCallerIpAddresses"]]
    assert loaded.customer is not None and loaded.customer.splunk is not None
    assert ranges == loaded.customer.splunk.allowed_caller_ip_ranges


def test_customer_role_assignment_on_the_dcr_only(contoso: dict[str, Any], platform: dict[str, Any]) -> None:
    (wf,) = of_type(contoso, "azure-native:logic:Workflow")
    publishers = [r for r in of_type(contoso, "azure-native:authorization:RoleAssignment")
                  if r["inputs"]["roleDefinitionId"].endswith(roles.MONITORING_METRICS_PUBLISHER.guid)]
    assert len(publishers) == 1
    inputs = publishers[0]["inputs"]
    assert inputs["roleDefinitionId"].endswith("/roleDefinitions/3913510d-42f4-4e42-8a64-420c390055eb")
    assert inputs["scope"] == platform["outputs"]["splunk"]["dcrId"]
    assert inputs["principalType"] == "ServicePrincipal"
    assert wf["urn"] in publishers[0]["options"]["dependsOn"]


def test_webhook_url_only_as_secret(contoso: dict[str, Any]) -> None:
    assert contoso["outputs"]["splunkWebhookUrl"] == "[secret]"
    text = json.dumps(contoso)
    assert "sig=" not in text and "offline-plan-placeholder-not-a-signature" not in text


def test_every_workflow_passes_the_checker(platform: dict[str, Any], contoso: dict[str, Any],
                                           fabrikam: dict[str, Any]) -> None:
    workflows = [r for m in (platform, contoso, fabrikam) for r in of_type(m, "azure-native:logic:Workflow")]
    assert workflows
    for wf in workflows:
        definition, params = wf["inputs"]["definition"], wf["inputs"].get("parameters") or {}
        if params == "[secret]":
            # Secret parameter values (e.g. a connection's credential) are not in the manifest: every
            # declared parameter stands supplied; the definition itself is still checked.
            values = {k: "[secret]" for k in definition.get("parameters") or {}}
        else:
            values = {k: v.get("value") for k, v in params.items()}
        assert check_workflow(definition, values) == [], wf["name"]


def test_customer_without_splunk_has_no_webhook(fabrikam: dict[str, Any]) -> None:
    assert of_type(fabrikam, "azure-native:logic:Workflow") == []
    assert "splunkWebhookUrl" not in fabrikam["outputs"]


def test_workspace_in_another_subscription(tmp_path: Any) -> None:
    import yaml

    doc = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.mssp.yaml").read_text(encoding="utf-8"))
    other = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
    doc["config"]["mssp-sentinel:platform"]["workspace"]["subscriptionId"] = other
    path = tmp_path / "Pulumi.mssp.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    m = build_manifest("mssp", PROJECT_DIR, path)
    providers = [r for r in m["resources"] if r["type"] == "pulumi:providers:azure-native"
                 and r["name"] == "mssp-arm-workspace"]
    assert len(providers) == 1 and providers[0]["inputs"]["subscriptionId"] == other
    (table,) = of_type(m, "azure-native:operationalinsights:Table")
    (rule,) = of_type(m, "azure-native:securityinsights:ScheduledAlertRule")
    (dcr,) = dcrs(m)
    assert table["provider"] == rule["provider"] == "mssp-arm-workspace" and dcr["provider"] == "mssp-arm"
    assert dcr["inputs"]["properties"]["destinations"]["logAnalytics"][0]["workspaceResourceId"].startswith(f"/subscriptions/{other}/")
