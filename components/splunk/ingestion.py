"""SplunkAlertIngestion: where customers' Splunk alerts land in the MSSP's Sentinel (platform stack).

- a custom table `<name>_CL` in the MSSP workspace, columns from components.splunk.schema (the one
  place the contract lives), retention from config; protected and retained on delete, because deleting
  a table deletes its data;
- a data collection rule of kind `Direct` (its own logs-ingestion endpoint, no data collection endpoint
  needed) in the workspace's region: one `Custom-<table>` stream declaring exactly the record the
  customer Logic Apps send, a transform that takes TimeGenerated from Splunk's `_time` and promotes
  configured result fields to columns, output stream `Custom-<table>`, destination the MSSP workspace;
- a Sentinel scheduled analytics rule on the table: one alert per ingested Splunk alert (named after
  the search), the customer as a custom detail, severity mapped from Splunk's, incidents grouped by
  customer and search name. Without it the alerts would sit in a table nobody watches.

About the DCR API version: azure-native 3.29 types DataCollectionRule with API 2022-06-01, a version
whose spec knows neither `kind: Direct` nor `endpoints` (an open Azure PowerShell issue reports the
endpoint missing there). The rule is therefore created, and its endpoint read, at 2023-03-11 through
azure-native's generic `resources.Resource`: the first stable version whose spec documents a Direct rule
answering with `endpoints.logsIngestion` (Azure/azure-rest-api-specs
specification/monitor/resource-manager/Microsoft.Insights/stable/2023-03-11/dataCollectionRules_API.json,
example DataCollectionRulesCreateEmbeddedDCE.json: `"kind": "Direct"` in, `endpoints.logsIngestion` out;
hashicorp/terraform-provider-azurerm#28697: endpoints only with kind Direct, API 2023-03-11). The guardrails
know a generic resource of type Microsoft.Insights/dataCollectionRules as a DCR (policies.rules.resource_kind).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from components.config.splunk import SplunkPlatformConfig, kql_timespan
from components.facts import naming
from components.splunk import schema

DCR_API_VERSION = "2023-03-11"
WORKSPACE_DESTINATION = "mssp-workspace"
# Alert and incident fields the rule fills from the query's columns.
# Sentinel alertDetailsOverride formats take {{column}} placeholders (CreateScheduledAlertRule example).
ALERT_NAME_FORMAT = "Splunk: {{SearchName}} ({{CustomerName}})"
ALERT_DESCRIPTION_FORMAT = "Splunk search {{SearchName}} fired for {{CustomerName}}. Results: {{ResultsLink}}"
CUSTOM_DETAILS: Mapping[str, str] = MappingProxyType({
    "Customer": "CustomerName",
    "CustomerTenantId": "CustomerTenantId",
    "SearchName": "SearchName",
    "SplunkSid": "Sid",
    "SplunkResultsLink": "ResultsLink",
    "SplunkOwner": "Owner",
    "SplunkApp": "App",
})
GROUP_BY_CUSTOM_DETAILS = ("Customer", "SearchName")


@dataclass(frozen=True)
class SplunkAlertIngestionArgs:
    splunk: SplunkPlatformConfig
    location: str  # the workspace's region (platform.location)
    resource_group: str  # the platform resource group: where the DCR goes
    workspace_id: str
    workspace_name: str
    workspace_resource_group: str
    arm_provider: azure_native.Provider  # the platform subscription (DCR)
    workspace_provider: azure_native.Provider  # the workspace's subscription (table, analytics rule)


def dcr_properties(splunk: SplunkPlatformConfig, workspace_id: str) -> dict[str, Any]:
    """The DCR's `properties` as ARM takes them at DCR_API_VERSION (camelCase; pure): description, the stream,
    destination and data flow."""
    stream = schema.stream_name(splunk.table_name)
    return {
        "description": f"Splunk alerts from customer Logic Apps into {splunk.table_name} (Logs Ingestion API).",
        "streamDeclarations": {stream: {"columns": schema.stream_columns()}},
        "destinations": {"logAnalytics": [{"workspaceResourceId": workspace_id, "name": WORKSPACE_DESTINATION}]},
        "dataFlows": [{
            "streams": [stream],
            "destinations": [WORKSPACE_DESTINATION],
            "transformKql": schema.transform_kql(splunk.extras),
            "outputStream": schema.output_stream(splunk.table_name),
        }],
    }


def rule_properties(splunk: SplunkPlatformConfig) -> dict[str, Any]:
    """The scheduled analytics rule's settings, in azure-native's Python input form (pure)."""
    rule = splunk.analytics_rule
    return {
        "kind": "Scheduled",
        "display_name": rule.display_name,
        "description": (f"Raises one Sentinel alert per Splunk alert ingested into {splunk.table_name} "
                        "(customers' Splunk webhook alert actions, via their Logic Apps)."),
        "enabled": rule.enabled,
        "query": schema.rule_query(splunk.table_name, kql_timespan(rule.query_frequency), rule.severity_field,
                                   dict(rule.severity_map), rule.severity),
        "query_frequency": rule.query_frequency,
        "query_period": rule.query_period,
        "severity": rule.severity,
        "trigger_operator": "GreaterThan",
        "trigger_threshold": 0,
        "suppression_enabled": False,
        "suppression_duration": "PT5H",
        # One alert per row: every Splunk alert is its own Sentinel alert.
        "event_grouping_settings": {"aggregation_kind": "AlertPerResult"},
        "alert_details_override": {
            "alert_display_name_format": ALERT_NAME_FORMAT,
            "alert_description_format": ALERT_DESCRIPTION_FORMAT,
            "alert_severity_column_name": "AlertSeverity",
        },
        "custom_details": dict(CUSTOM_DETAILS),
        "incident_configuration": {
            "create_incident": True,
            "grouping_configuration": {
                "enabled": True,
                "reopen_closed_incident": False,
                "lookback_duration": rule.grouping_lookback,
                "matching_method": "Selected",
                "group_by_custom_details": list(GROUP_BY_CUSTOM_DETAILS),
            },
        },
    }


class SplunkAlertIngestion(pulumi.ComponentResource):
    dcr_id: pulumi.Output[str]
    dcr_immutable_id: pulumi.Output[str]
    logs_ingestion_endpoint: pulumi.Output[str]
    stream_name: str
    table_name: str

    def __init__(self, name: str, args: SplunkAlertIngestionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mssp:splunk:SplunkAlertIngestion", name, None, opts)
        cfg = args.splunk
        self.table_name = cfg.table_name
        self.stream_name = schema.stream_name(cfg.table_name)

        # Deleting the table deletes every alert in it: protected, and kept in Azure if the stack drops it.
        table = azure_native.operationalinsights.Table(
            f"{name}-table",
            resource_group_name=args.workspace_resource_group,
            workspace_name=args.workspace_name,
            table_name=cfg.table_name,
            plan="Analytics",
            retention_in_days=cfg.retention_in_days,
            total_retention_in_days=cfg.total_retention_in_days,
            schema={
                "name": cfg.table_name,
                "description": "Splunk alerts of MSSP customers (webhook alert action -> Logic App -> Logs Ingestion API).",
                "columns": schema.table_columns(cfg.extras),
            },
            opts=pulumi.ResourceOptions(parent=self, provider=args.workspace_provider, protect=True,
                                        retain_on_delete=True),
        )

        # At DCR_API_VERSION through the generic resource (module docstring): kind Direct, and the answer
        # carries immutableId and endpoints.logsIngestion.
        dcr = azure_native.resources.Resource(
            f"{name}-dcr",
            api_version=DCR_API_VERSION,
            resource_provider_namespace="Microsoft.Insights",
            parent_resource_path="",
            resource_type="dataCollectionRules",
            resource_name_=cfg.dcr_name,
            resource_group_name=args.resource_group,
            location=args.location,
            kind="Direct",
            properties=dcr_properties(cfg, args.workspace_id),
            opts=pulumi.ResourceOptions(parent=self, provider=args.arm_provider, depends_on=[table], protect=True,
                                        retain_on_delete=True),
        )

        rule_id = naming.stable_guid("splunk-analytics-rule", args.workspace_id, cfg.table_name)
        azure_native.securityinsights.ScheduledAlertRule(
            f"{name}-rule",
            resource_group_name=args.workspace_resource_group,
            workspace_name=args.workspace_name,
            rule_id=rule_id,
            **rule_properties(cfg),
            # The query names the table: Sentinel validates it when the rule is saved.
            opts=pulumi.ResourceOptions(parent=self, provider=args.workspace_provider, depends_on=[table]),
        )

        self.dcr_id = dcr.id
        self.dcr_immutable_id = dcr.properties.apply(_immutable_id)
        self.logs_ingestion_endpoint = dcr.properties.apply(_logs_ingestion_endpoint)
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, Any]:
        """The platform stack's `splunk` output: what customer stacks need to send alerts."""
        return {
            "dcrId": self.dcr_id,
            "dcrImmutableId": self.dcr_immutable_id,
            "logsIngestionEndpoint": self.logs_ingestion_endpoint,
            "streamName": self.stream_name,
            "tableName": self.table_name,
        }


def _immutable_id(properties: Any) -> str:
    value = (properties or {}).get("immutableId")
    if not value:
        raise ValueError("the data collection rule's answer has no immutableId")
    return str(value)


def _logs_ingestion_endpoint(properties: Any) -> str:
    endpoint = ((properties or {}).get("endpoints") or {}).get("logsIngestion")
    if not endpoint:
        raise ValueError("the data collection rule has no endpoints.logsIngestion; is its kind Direct?")
    return str(endpoint).rstrip("/")
