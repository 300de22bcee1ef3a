"""Azure Resource Manager facts that discovery depends on: endpoints, API versions, paging and limits.

Kept as data in one place (and pinned by tests/mssp/discover/test_discover_facts.py) so that a change of API
version is one reviewed line. Each value names where it comes from.
"""

from __future__ import annotations

from components.facts import pulumi_tokens

# The public-cloud ARM endpoint and the token scope for it (azure-identity takes "<resource>/.default").
ARM_ENDPOINT = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"

# Resource Graph query API. Source: Azure/azure-rest-api-specs
# specification/resourcegraph/resource-manager/Microsoft.ResourceGraph/stable/2022-10-01/resourcegraph.json
# (POST /providers/Microsoft.ResourceGraph/resources, body QueryRequest {subscriptions, query,
# options {$skipToken, $top (1..1000), resultFormat}}, answer QueryResponse {totalRecords, count,
# resultTruncated, $skipToken, data}); paging examples ResourcesFirstPageQuery.json and
# ResourcesNextPageQuery.json in the same folder ("id field is required in the response to return the
# pages in stable sorted fashion").
RESOURCE_GRAPH_PATH = "/providers/Microsoft.ResourceGraph/resources"
RESOURCE_GRAPH_API_VERSION = "2022-10-01"
RESOURCE_GRAPH_MAX_PAGE = 1000  # QueryRequestOptions.$top maximum

# ARM batch: the endpoint the Azure portal uses; not formally documented. Shape and the 20-request
# limit as used in public code: Azure/azqr internal/scanners/diagnostics_settings.go (diagnostic
# settings read in batches of 20 with api-version 2021-05-01-preview), AAFC-Cloud/Cloud-Terrastodon
# crates/azure/src/batch_api.rs (request {requests: [{httpMethod, name, url}]}, answer {responses:
# [{name, httpStatusCode, headers, content, contentLength}]}, chunks of 20).
BATCH_PATH = "/batch"
BATCH_API_VERSION = "2020-06-01"
BATCH_MAX_REQUESTS = 20

# Diagnostic settings of a resource (list). Source: Azure/azure-rest-api-specs
# specification/monitor/resource-manager/Microsoft.Insights/preview/2021-05-01-preview/
# diagnosticsSettings_API.json and examples/listDiagnosticSettings.json ({value: [{id, type, name,
# properties {workspaceId, storageAccountId, eventHubAuthorizationRuleId, logs[], metrics[]}}]}).
DIAGNOSTIC_SETTINGS_PROVIDER = "/providers/Microsoft.Insights/diagnosticSettings"
DIAGNOSTIC_SETTINGS_API_VERSION = "2021-05-01-preview"

# "Each resource can have up to five diagnostic settings." Source: Azure Monitor docs,
# https://learn.microsoft.com/azure/azure-monitor/platform/diagnostic-settings#destinations
MAX_DIAGNOSTIC_SETTINGS = 5

# Settings made by Azure Policy (DeployIfNotExists) are named "setbypolicy" or "setByPolicy-LogAnalytics"
# and similar (the names Azure Landing Zones' DeployIfNotExists policies give, Azure/Enterprise-Scale
# policy definitions): matched case-insensitively on this prefix.
POLICY_SETTING_PREFIX = "setbypolicy"

# Destinations of a diagnostic setting other than a Log Analytics workspace (2021-05-01-preview
# DiagnosticSettings properties). A setting that also uses one of them cannot be adopted without
# cutting that flow, because the program declares only workspaceId.
OTHER_DESTINATION_PROPERTIES = ("storageAccountId", "eventHubAuthorizationRuleId", "eventHubName", "marketplacePartnerId")

# Resource Graph: how subscriptions appear in the ResourceContainers table, and the table union
# discovery uses to learn which subscriptions the identity can read in the same query. Source:
# MicrosoftDocs/azure-docs articles/governance/resource-graph/concepts/query-language.md ("union ...
# May be used within a single table or between the Resources and ResourceContainers tables").
SUBSCRIPTION_TYPE = "microsoft.resources/subscriptions"

# Pulumi type token of a resource-scope diagnostic setting, for import files.
PULUMI_DIAGNOSTIC_SETTING_TYPE = pulumi_tokens.DIAGNOSTIC_SETTING

# Resource Graph throttling headers (hh:mm:ss until the user's quota resets). Source:
# MicrosoftDocs/azure-docs articles/governance/resource-graph/concepts/guidance-for-throttled-requests.md
QUOTA_RESETS_AFTER_HEADER = "x-ms-user-quota-resets-after"
