"""The diagnostic catalog: which logs and metrics each supported resource type can send, as data.

One entry per Azure resource type the project forwards. Category names are the API names of
diagnostic-setting log categories. Main source, unless an entry says otherwise: Azure Monitor
"Supported categories for Azure Monitor resource logs" (MicrosoftDocs/azure-docs
`articles/azure-monitor/essentials/resource-logs-categories.md`, 2022) and the newer per-type pages in
MicrosoftDocs/azure-monitor-docs `articles/azure-monitor/reference/supported-logs/`.

Category groups: a group is sent as a group only for types for which Microsoft ships the built-in policy
"Enable logging by category group for <type>" with that group: the "Supported resources" table of
MicrosoftDocs/azure-monitor-docs `articles/azure-monitor/platform/diagnostics-settings-policies-deployifnotexists.md`
(copied into tests/fixtures/category-group-policies.json, which a test pins the catalog against). AKS and
the storage services are not in that table, so for them a group selection (`allLogs`) sends their
categories one by one (`group_categories`), and `audit` is not offered. Elsewhere `audit` is offered only
where that table says so.

WAF policies have no entry of their own on purpose: `Microsoft.Network/ApplicationGatewayWebApplication
FirewallPolicies` and `Microsoft.Network/frontdoorWebApplicationFirewallPolicies` emit no resource logs
(no supported-logs page exists for them); WAF events are logged by the Application Gateway
(`ApplicationGatewayFirewallLog`) or the Front Door (`FrontdoorWebApplicationFirewallLog`, classic;
`FrontDoorWebApplicationFirewallLog`, Standard/Premium) that uses the policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ALL_LOGS = "allLogs"
AUDIT = "audit"

# Activity log categories of a subscription-scope diagnostic setting. Source: Az PowerShell
# Get-AzEventCategory ("also supported diagnostic setting categories for subscription") and the
# azure-rest-api-specs example createOrUpdateSubscriptionDiagnosticSetting.json (2021-05-01-preview).
ACTIVITY_LOG_CATEGORIES: tuple[str, ...] = (
    "Administrative",
    "Security",
    "ServiceHealth",
    "Alert",
    "Recommendation",
    "Policy",
    "Autoscale",
    "ResourceHealth",
)

_STORAGE_SERVICE_CATEGORIES = ("StorageRead", "StorageWrite", "StorageDelete")
_AKS_CATEGORIES = (
    "kube-apiserver", "kube-audit", "kube-audit-admin", "kube-controller-manager",
    "kube-scheduler", "cluster-autoscaler", "cloud-controller-manager", "guard",
)

# Log Analytics tables the data lands in. Source: the "Log table" column of the Azure Monitor reference
# "Supported logs for <type>" pages (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/reference/
# supported-logs/, copied into tests/fixtures/supported-logs-tables.md, which a test pins this against).
# A category lands in AzureDiagnostics unless the setting says logAnalyticsDestinationType Dedicated
# (then its resource-specific table, where it has one) or the category only has a resource-specific
# table (storage services). Tables that need Dedicated say so in the tables reference ("Requires
# Diagnostic Settings to use the Resource Specific destination table", e.g. AKSAudit); the catalog
# sets Dedicated only for Azure Firewall, so AKS, App Gateway etc. land in AzureDiagnostics.
AZURE_DIAGNOSTICS = "AzureDiagnostics"
# The Activity log's table (Azure Monitor reference, tables/azureactivity).
ACTIVITY_LOG_TABLE = "AzureActivity"


def _diagnostics(categories: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((c, AZURE_DIAGNOSTICS) for c in categories)


# Which services each storage account kind has: a diagnostic setting on a service the account lacks fails
# at deploy time. Source: Microsoft, "Storage account overview" (MicrosoftDocs/azure-docs
# articles/storage/common/storage-account-overview.md, "Types of storage accounts"; legacy kinds under
# "Legacy storage account types"): standard general-purpose v2 (StorageV2) and legacy general-purpose v1
# (Storage) hold blob, file, queue and table; premium block blobs (BlockBlobStorage) and legacy Blob
# storage (BlobStorage) only blob; premium file shares (FileStorage) only file.
STORAGE_KIND_SERVICES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "StorageV2": ("blob", "file", "queue", "table"),
    "Storage": ("blob", "file", "queue", "table"),
    "BlockBlobStorage": ("blob",),
    "BlobStorage": ("blob",),
    "FileStorage": ("file",),
})

# Azure Firewall writes each event either to the AzureDiagnostics table (legacy categories) or to the
# resource-specific AZFW* tables (with logAnalyticsDestinationType Dedicated). Selecting both families, or
# the allLogs group, ingests the same events twice (Azure/ALZ-Bicep#960). A group selection therefore sends
# one family's categories explicitly: resource-specific by default, legacy on request
# (forwarding.azureFirewallLogs: legacy). Source of the names: supported-logs/microsoft-network-azurefirewalls-logs.md.
FIREWALL_LEGACY_CATEGORIES: tuple[str, ...] = (
    "AzureFirewallApplicationRule", "AzureFirewallNetworkRule", "AzureFirewallDnsProxy",
)
FIREWALL_RESOURCE_SPECIFIC_CATEGORIES: tuple[str, ...] = (
    "AZFWApplicationRule", "AZFWApplicationRuleAggregation", "AZFWDnsAdditional", "AZFWDnsQuery",
    "AZFWFatFlow", "AZFWFlowTrace", "AZFWFqdnResolveFailure", "AZFWIdpsSignature", "AZFWNatRule",
    "AZFWNatRuleAggregation", "AZFWNetworkRule", "AZFWNetworkRuleAggregation", "AZFWThreatIntel",
)

# SQL audit reaches Azure Monitor only when auditing is on with the Azure Monitor target: the server's
# auditing settings (`state: Enabled`, `isAzureMonitorTargetEnabled: true`, `isDevopsAuditEnabled: true`)
# and a diagnostic setting with these categories on the server's `master` database
# (Azure/azure-rest-api-specs specification/sql/resource-manager/Microsoft.Sql/stable/2021-11-01/BlobAuditing.json,
# ServerBlobAuditingPolicyProperties; azure-native sql.ServerBlobAuditingPolicy documents the same).
SQL_AUDIT_CATEGORIES: tuple[str, ...] = ("SQLSecurityAuditEvents", "DevOpsOperationsAudit")


@dataclass(frozen=True)
class SubService:
    """A child of a resource that holds its own diagnostic setting (storage services)."""

    path: str  # appended to the parent's id, e.g. "blobServices/default"
    short: str
    categories: tuple[str, ...]
    groups: tuple[str, ...]
    metrics: tuple[str, ...]
    tables: tuple[tuple[str, str], ...] = ()  # (category, Log Analytics table it lands in)
    # Categories sent one by one when a category group is selected (empty: send the group itself).
    group_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class CatalogEntry:
    type: str  # ARM resource type as Azure spells it; compared case-insensitively
    short: str  # short tag used in stable logical names
    categories: tuple[str, ...]  # log categories on the resource itself
    groups: tuple[str, ...]  # category groups offered
    metrics: tuple[str, ...]  # metric categories; empty when the type exports none
    source: str
    # "Dedicated" sends logs to resource-specific tables; set explicitly where it matters, since
    # leaving it unset where Azure defaults differently gives perpetual diffs (pulumi-azure#930).
    destination_type: str | None = None
    sub_services: tuple[SubService, ...] = field(default=())
    # (category, Log Analytics table it lands in under this entry's destination type). Left empty, every
    # category lands in AzureDiagnostics (the docs' "Log table" for each of them without Dedicated).
    tables: tuple[tuple[str, str], ...] = ()

    # Categories sent one by one when a category group is selected (empty: send the group itself).
    group_categories: tuple[str, ...] = ()
    # Azure Firewall's legacy family (AzureDiagnostics table), chosen by forwarding.azureFirewallLogs: legacy.
    legacy_categories: tuple[str, ...] = ()
    # Storage accounts: services per account kind; the inventory records each account's kind.
    kind_services: Mapping[str, tuple[str, ...]] | None = None
    # SQL servers: the server's auditing settings are enabled and the master database gets the setting.
    sql_audit: bool = False

    def __post_init__(self) -> None:
        if not self.tables:
            object.__setattr__(self, "tables", _diagnostics(self.categories))

    def table_of(self, category: str) -> str | None:
        return next((t for c, t in self.tables if c.lower() == category.lower()), None)

    def services_for(self, kind: str | None) -> tuple[SubService, ...]:
        """The sub-services an account of this kind has (all of them for types without kinds)."""
        if self.kind_services is None or kind is None:
            return self.sub_services
        have = set(self.kind_services.get(kind, ()))
        return tuple(s for s in self.sub_services if s.short.removeprefix(self.short) in have)


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        type="Microsoft.KeyVault/vaults",
        short="kv",
        categories=("AuditEvent", "AzurePolicyEvaluationDetails"),
        groups=(ALL_LOGS, AUDIT),
        metrics=("AllMetrics",),
        source="supported-logs/microsoft-keyvault-vaults-logs.md (2025)",
    ),
    CatalogEntry(
        type="Microsoft.Network/networkSecurityGroups",
        short="nsg",
        # NSG flow logs are not a diagnostic category: they are networkWatchers/flowLogs resources.
        categories=("NetworkSecurityGroupEvent", "NetworkSecurityGroupRuleCounter", "NetworkSecurityGroupFlowEvent"),
        groups=(ALL_LOGS,),
        metrics=(),  # NSGs export no metrics through diagnostic settings
        source="resource-logs-categories.md (2022); supported-logs/microsoft-network-networksecuritygroups-logs.md",
    ),
    CatalogEntry(
        type="Microsoft.Sql/servers/databases",
        short="sqldb",
        # Not every category exists for every SKU (the docs say so); allLogs sends what exists.
        categories=(
            "SQLSecurityAuditEvents", "DevOpsOperationsAudit", "SQLInsights", "AutomaticTuning",
            "QueryStoreRuntimeStatistics", "QueryStoreWaitStatistics", "Errors", "DatabaseWaitStatistics",
            "Timeouts", "Blocks", "Deadlocks", "DmsWorkers", "ExecRequests", "RequestSteps", "SqlRequests", "Waits",
        ),
        groups=(ALL_LOGS, AUDIT),
        # Metric category names for SQL databases: UNVERIFIED against a stored Microsoft source.
        metrics=("Basic", "InstanceAndAppAdvanced", "WorkloadManagement"),
        source="supported-logs/microsoft-sql-servers-databases-logs.md",
    ),
    CatalogEntry(
        type="Microsoft.Sql/servers",
        short="sqlsrv",
        categories=(),  # the server has no log categories: server audit goes to its master database
        groups=(),
        metrics=(),
        source="BlobAuditing.json (azure-rest-api-specs, Microsoft.Sql stable/2021-11-01)",
        sub_services=(SubService(
            path="databases/master",
            short="sqlsrvmaster",
            categories=SQL_AUDIT_CATEGORIES,
            groups=(ALL_LOGS, AUDIT),
            metrics=(),
            # The master database is a Microsoft.Sql/servers/databases: both audit categories land in
            # AzureDiagnostics (supported-logs/microsoft-sql-servers-databases-logs.md, "Log table").
            tables=_diagnostics(SQL_AUDIT_CATEGORIES),
        ),),
        sql_audit=True,
    ),
    CatalogEntry(
        type="Microsoft.Network/azureFirewalls",
        short="afw",
        # Resource-specific categories (they reach their AZFW* tables only with Dedicated), then legacy.
        categories=FIREWALL_RESOURCE_SPECIFIC_CATEGORIES + FIREWALL_LEGACY_CATEGORIES,
        groups=(ALL_LOGS,),
        metrics=("AllMetrics",),
        source="supported-logs/microsoft-network-azurefirewalls-logs.md (2026); Azure/ALZ-Bicep#960",
        destination_type="Dedicated",
        # With Dedicated each AZFW* category has its own table (named after it, except AZFWDnsAdditional);
        # the legacy categories have only AzureDiagnostics. AZFWFqdnResolveFailure has no table in the
        # supported-logs page; the tables reference lists AZFWInternalFqdnResolutionFailure for
        # microsoft.network/azurefirewalls (MicrosoftDocs/azure-reference-other azure-monitor-ref/tables/
        # azfwinternalfqdnresolutionfailure.md).
        tables=(
            ("AzureFirewallApplicationRule", AZURE_DIAGNOSTICS), ("AzureFirewallNetworkRule", AZURE_DIAGNOSTICS),
            ("AzureFirewallDnsProxy", AZURE_DIAGNOSTICS),
            ("AZFWApplicationRule", "AZFWApplicationRule"),
            ("AZFWApplicationRuleAggregation", "AZFWApplicationRuleAggregation"),
            ("AZFWDnsAdditional", "AZFWDnsFlowTrace"), ("AZFWDnsQuery", "AZFWDnsQuery"),
            ("AZFWFatFlow", "AZFWFatFlow"), ("AZFWFlowTrace", "AZFWFlowTrace"),
            ("AZFWFqdnResolveFailure", "AZFWInternalFqdnResolutionFailure"),
            ("AZFWIdpsSignature", "AZFWIdpsSignature"), ("AZFWNatRule", "AZFWNatRule"),
            ("AZFWNatRuleAggregation", "AZFWNatRuleAggregation"), ("AZFWNetworkRule", "AZFWNetworkRule"),
            ("AZFWNetworkRuleAggregation", "AZFWNetworkRuleAggregation"), ("AZFWThreatIntel", "AZFWThreatIntel"),
        ),
        group_categories=FIREWALL_RESOURCE_SPECIFIC_CATEGORIES,
        legacy_categories=FIREWALL_LEGACY_CATEGORIES,
    ),
    CatalogEntry(
        type="Microsoft.Network/publicIPAddresses",
        short="pip",
        # DDoS logs appear only while the IP is DDoS-protected; the setting is harmless otherwise.
        categories=("DDoSProtectionNotifications", "DDoSMitigationFlowLogs", "DDoSMitigationReports"),
        groups=(ALL_LOGS,),
        metrics=("AllMetrics",),
        source="resource-logs-categories.md (2022)",
    ),
    CatalogEntry(
        type="Microsoft.Network/applicationGateways",
        short="agw",
        # ApplicationGatewayFirewallLog carries the WAF events of the gateway's WAF policy.
        categories=("ApplicationGatewayAccessLog", "ApplicationGatewayPerformanceLog", "ApplicationGatewayFirewallLog"),
        groups=(ALL_LOGS,),
        metrics=("AllMetrics",),
        source="resource-logs-categories.md (2022)",
    ),
    CatalogEntry(
        type="Microsoft.Network/frontDoors",
        short="afd",
        # Front Door (classic); note Microsoft's lower-case 'd' in "Frontdoor" here.
        categories=("FrontdoorAccessLog", "FrontdoorWebApplicationFirewallLog"),
        groups=(ALL_LOGS,),
        metrics=("AllMetrics",),
        source="resource-logs-categories.md (2022)",
    ),
    CatalogEntry(
        type="Microsoft.Cdn/profiles",
        short="cdn",
        # Front Door Standard/Premium profiles; AzureCdnAccessLog is for classic Azure CDN profiles.
        categories=("FrontDoorAccessLog", "FrontDoorHealthProbeLog", "FrontDoorWebApplicationFirewallLog", "AzureCdnAccessLog"),
        groups=(ALL_LOGS,),
        metrics=("AllMetrics",),
        source="resource-logs-categories.md (2022); supported-logs/microsoft-cdn-profiles-logs.md",
    ),
    CatalogEntry(
        type="Microsoft.ContainerService/managedClusters",
        short="aks",
        # As of 2022 (newer AKS versions add csi-* categories: list them here to forward them).
        categories=_AKS_CATEGORIES,
        # No built-in category-group policy covers AKS (module docstring): allLogs sends these one by one.
        groups=(ALL_LOGS,),
        group_categories=_AKS_CATEGORIES,
        metrics=("AllMetrics",),
        source="resource-logs-categories.md (2022)",
    ),
    CatalogEntry(
        type="Microsoft.Storage/storageAccounts",
        short="st",
        categories=(),  # the account itself has no log categories, only metrics
        groups=(),
        metrics=("Transaction",),
        source="resource-logs-categories.md (2022): logs live on the service children; storage-account-overview.md: "
               "which services each account kind has",
        kind_services=STORAGE_KIND_SERVICES,
        sub_services=tuple(
            SubService(
                path=f"{svc}Services/default",
                short=f"st{svc}",
                categories=_STORAGE_SERVICE_CATEGORIES,
                # No built-in category-group policy covers storage services (module docstring).
                groups=(ALL_LOGS,),
                group_categories=_STORAGE_SERVICE_CATEGORIES,
                metrics=("Transaction",),
                # Storage logs have only resource-specific tables: StorageBlobLogs, StorageFileLogs, ...
                tables=tuple((c, f"Storage{svc.capitalize()}Logs") for c in _STORAGE_SERVICE_CATEGORIES),
            )
            for svc in ("blob", "file", "queue", "table")
        ),
    ),
)

_BY_TYPE: Mapping[str, CatalogEntry] = MappingProxyType({e.type.lower(): e for e in CATALOG})


def entry_for(resource_type: str) -> CatalogEntry | None:
    """The catalog entry of an ARM type, matched case-insensitively as ARM does."""
    return _BY_TYPE.get(resource_type.lower())


def supported_types() -> list[str]:
    return [e.type for e in CATALOG]


def markdown_table() -> str:
    """The catalog as docs/reference/catalog.md shows it (a test keeps the page in step with this module)."""
    rows = ["| Resource type | Log categories | Groups | Metrics | Notes |", "|---|---|---|---|---|"]
    rows.append(f"| subscription Activity log | {', '.join(ACTIVITY_LOG_CATEGORIES)} | allLogs | - | one `SubscriptionDiagnosticSetting` per subscription |")
    for e in CATALOG:
        notes = []
        if e.destination_type:
            notes.append(f"logAnalyticsDestinationType {e.destination_type}")
        if e.group_categories and e.legacy_categories:
            notes.append(f"a group selection sends {', '.join(e.group_categories)} one by one (resource-specific); "
                         f"`azureFirewallLogs: legacy` sends {', '.join(e.legacy_categories)} instead, never both")
        elif e.group_categories:
            notes.append("no built-in category-group policy covers this type: allLogs sends the categories one by one")
        if e.sql_audit:
            notes.append("enables the server's auditing (Azure Monitor target, DevOps audit)")
        if e.kind_services:
            notes.append("services by account kind: " + ", ".join(
                f"{kind} {'/'.join(svcs)}" for kind, svcs in e.kind_services.items()))
        if e.sub_services:
            notes.append("logs on " + ", ".join(f"`{s.path}`" for s in e.sub_services)
                         + f" ({', '.join(e.sub_services[0].categories)}; groups {', '.join(e.sub_services[0].groups)}"
                         + ("; allLogs sends the categories one by one" if e.sub_services[0].group_categories else "")
                         + ")")
        rows.append(f"| `{e.type}` | {', '.join(e.categories) or '-'} | {', '.join(e.groups) or '-'} | "
                    f"{', '.join(e.metrics) or '-'} | {'; '.join(notes) or '-'} |")
    return "\n".join(rows)
