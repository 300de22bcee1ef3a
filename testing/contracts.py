"""Microsoft's published contract of each type the program writes, as the local Azure enforces it.

One Contract per ARM type (and two for Graph objects): the api-versions the local Azure serves for it
(the one azure-native 3.29.0 uses, plus any the program reads with), and rules taken from the type's REST
specification in Azure/azure-rest-api-specs at that api-version (`source`):

- `required`: a property the spec lists in `required` (checked where its parent object is present);
- `enums`: a property whose enum the spec closes (`x-ms-enum.modelAsString: false`, or no x-ms-enum);
  extensible enums (modelAsString true) accept any string, as ARM does;
- `ranges`: `minimum`/`maximum` (and maxItems as a ("#", n) range);
- `read_only`: a property marked `readOnly: true`: the local Azure refuses a request that sends it
  (ARM mostly ignores them; refusing makes a client that sends them fail here first);
- `create_only`: `x-ms-mutability` without "update": a change on an existing resource is refused
  (azure-native turns such a change into a replacement, testing/providers/azure_native.py).

Paths are dotted; `[]` walks every item of an array: "properties.logs[].enabled".
A type-specific `check` adds documented rules that no schema keyword expresses (named in its docstring).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SPECS = "Azure/azure-rest-api-specs specification/"


def _walk(obj: Any, path: list[str], where: str = "") -> Iterator[tuple[str, Any, bool, Any]]:
    """(location, parent, present, value) for every place `path` names under `obj`."""
    head, rest = path[0], path[1:]
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if not isinstance(obj, dict):
        return
    here = f"{where}.{key}" if where else key
    if not rest:
        if many:
            for i, item in enumerate(obj.get(key) or []):
                yield f"{here}[{i}]", obj, True, item
        else:
            yield here, obj, key in obj and obj[key] is not None, obj.get(key)
        return
    value = obj.get(key)
    if value is None:
        return
    if many:
        for i, item in enumerate(value if isinstance(value, list) else []):
            yield from _walk(item, rest, f"{here}[{i}]")
    else:
        yield from _walk(value, rest, here)


def _get(obj: Any, path: str) -> Any:
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


@dataclass(frozen=True)
class Contract:
    type: str
    api_versions: tuple[str, ...]
    source: str
    required: tuple[str, ...] = ()
    enums: Mapping[str, frozenset[str]] = field(default_factory=dict)
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    read_only: tuple[str, ...] = ()
    create_only: tuple[str, ...] = ()
    check: Callable[[Mapping[str, Any]], list[str]] | None = None
    complete_with: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # read-only values Azure fills in
    error_code: str = "InvalidRequestContent"

    def check_api_version(self, api_version: str) -> str:
        if api_version not in self.api_versions:
            return (f"No registered resource provider found for {self.type} and api-version '{api_version}'. "
                    f"The supported api-versions (here) are '{', '.join(self.api_versions)}'.")
        return ""

    def validate(self, body: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[str]:
        problems: list[str] = []
        for path in self.required:
            for where, _parent, present, _value in _walk(body, path.split(".")):
                if not present:
                    problems.append(f"required property '{where}' is missing")
        for path, allowed in self.enums.items():
            for where, _p, present, value in _walk(body, path.split(".")):
                if present and value not in allowed:
                    problems.append(f"'{where}' is {value!r}; allowed: {', '.join(sorted(allowed))}")
        for path, (low, high) in self.ranges.items():
            count = path.startswith("#")
            for where, _p, present, value in _walk(body, path.lstrip("#").split(".")):
                n = len(value) if count and isinstance(value, list) else value
                if present and isinstance(n, (int, float)) and not (low <= n <= high):
                    problems.append(f"'{where}' is {n}; allowed {'items' if count else 'range'}: {low:g} to {high:g}")
        for path in self.read_only:
            for where, _p, present, _v in _walk(body, path.split(".")):
                if present:
                    problems.append(f"'{where}' is read-only and cannot be set")
        if old is not None:
            for path in self.create_only:
                before, after = _get(old, path), _get(body, path)
                if after is not None and before is not None and before != after:
                    problems.append(f"'{path}' cannot be changed after creation ({before!r} -> {after!r})")
        if self.check is not None:
            problems += self.check(body)
        return problems

    def complete(self, stored: dict[str, Any], old: Mapping[str, Any] | None) -> dict[str, Any]:
        done = self.complete_with(stored) if self.complete_with else stored
        if old is not None:  # values Azure assigned at creation stay
            for path in self.read_only:
                keys = path.split(".")
                if "[]" in path or _get(old, path) is None:
                    continue
                target = done
                for k in keys[:-1]:
                    target = target.setdefault(k, {})
                target[keys[-1]] = _get(old, path)
        return done

    def respond(self, stored: Mapping[str, Any], api_version: str) -> dict[str, Any]:
        return {k: v for k, v in stored.items() if not k.startswith("_")}


# -- type-specific rules -------------------------------------------------------------------------

def _one_destination(body: Mapping[str, Any]) -> list[str]:
    """A setting needs a destination, and each log entry names a category or a category group, not both
    (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/essentials/diagnostic-settings.md: "Destinations ...
    at least one"; LogSettings category / categoryGroup in diagnosticsSettings_API.json)."""
    props = body.get("properties") or {}
    out = []
    if not any(props.get(k) for k in ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId")):
        out.append("at least one destination (workspaceId, storageAccountId, eventHubAuthorizationRuleId, "
                   "marketplacePartnerId) is required")
    for i, entry in enumerate(props.get("logs") or []):
        if bool(entry.get("category")) == bool(entry.get("categoryGroup")):
            out.append(f"'properties.logs[{i}]' needs exactly one of category and categoryGroup")
    if not (props.get("logs") or props.get("metrics")):
        out.append("a diagnostic setting needs at least one log or metric entry")
    return out


def _auditing(body: Mapping[str, Any]) -> list[str]:
    """BlobAuditing.json ServerBlobAuditingPolicyProperties.storageEndpoint: "If state is Enabled,
    storageEndpoint or isAzureMonitorTargetEnabled is required"."""
    props = body.get("properties") or {}
    if props.get("state") == "Enabled" and not (props.get("storageEndpoint") or props.get("isAzureMonitorTargetEnabled")):
        return ["state Enabled needs storageEndpoint or isAzureMonitorTargetEnabled"]
    return []


def _custom_table(body: Mapping[str, Any]) -> list[str]:
    """A custom table's name ends in _CL (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/logs/
    create-custom-table.md: "Custom table names must end with _CL"); schema.name is the table's name."""
    name = str(_get(body, "properties.schema.name") or "")
    return [] if not name or name.endswith("_CL") else [f"custom table name {name!r} must end with _CL"]


def _dcr(stored: dict[str, Any]) -> dict[str, Any]:
    """immutableId and, for kind Direct, endpoints.logsIngestion (dataCollectionRules_API.json 2023-03-11
    DataCollectionRule.endpoints; examples/DataCollectionRulesCreateEmbeddedDCE.json)."""
    props = stored.setdefault("properties", {})
    name = stored["name"]
    props.setdefault("immutableId", "dcr-" + re.sub(r"[^0-9a-f]", "", (stored["id"].lower().encode().hex()))[-32:])
    props["provisioningState"] = "Succeeded"
    if stored.get("kind") == "Direct":
        props.setdefault("endpoints", {"logsIngestion": f"https://{name.lower()}.local-fake.ingest.monitor.azure.invalid",
                                       "metricsIngestion": f"https://{name.lower()}.local-fake.metrics.ingest.monitor.azure.invalid"})
    return stored


def _workflow(stored: dict[str, Any]) -> dict[str, Any]:
    """A system-assigned identity gets principalId and tenantId (logic.json ManagedServiceIdentity, readOnly)."""
    identity = stored.get("identity")
    if isinstance(identity, dict) and identity.get("type") == "SystemAssigned":
        identity.setdefault("principalId", _guid(stored["id"], "identity"))
        identity.setdefault("tenantId", _guid(stored["id"], "tenant"))
    props = stored.setdefault("properties", {})
    props["provisioningState"] = "Succeeded"
    props.setdefault("accessEndpoint", f"https://local-fake.logic.azure.invalid{stored['id'].split('/providers', 1)[-1]}")
    return stored


def _workspace(stored: dict[str, Any]) -> dict[str, Any]:
    """A workspace gets its customerId (Workspaces.json WorkspaceProperties.customerId, readOnly)."""
    stored.setdefault("properties", {}).setdefault("customerId", _guid(stored["id"], "customerId"))
    return _provisioned(stored)


def _provisioned(stored: dict[str, Any]) -> dict[str, Any]:
    stored.setdefault("properties", {})["provisioningState"] = "Succeeded"
    return stored


def _guid(*parts: str) -> str:
    import uuid
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


_AUTH = "properties.authorizations[]"
_ELIGIBLE = "properties.eligibleAuthorizations[]"

CONTRACTS: Mapping[str, Contract] = {c.type: c for c in (
    Contract(
        "Microsoft.Insights/diagnosticSettings", ("2021-05-01-preview",),
        SPECS + "monitor/resource-manager/Microsoft.Insights/preview/2021-05-01-preview/diagnosticsSettings_API.json "
        "(DiagnosticSettings, LogSettings, MetricSettings, RetentionPolicy)",
        required=("properties.logs[].enabled", "properties.metrics[].enabled",
                  "properties.logs[].retentionPolicy.enabled", "properties.logs[].retentionPolicy.days"),
        ranges={"properties.logs[].retentionPolicy.days": (0, 365)},
        read_only=("systemData",),
        enums={"properties.logAnalyticsDestinationType": frozenset({"Dedicated"})},
        check=_one_destination),
    Contract(
        "Microsoft.ManagedServices/registrationDefinitions", ("2022-10-01",),
        SPECS + "managedservices/resource-manager/Microsoft.ManagedServices/stable/2022-10-01/managedservices.json "
        "(RegistrationDefinitionProperties, Authorization, EligibleAuthorization, JustInTimeAccessPolicy, EligibleApprover)",
        required=("properties", "properties.authorizations", "properties.managedByTenantId",
                  f"{_AUTH}.principalId", f"{_AUTH}.roleDefinitionId",
                  f"{_ELIGIBLE}.principalId", f"{_ELIGIBLE}.roleDefinitionId",
                  f"{_ELIGIBLE}.justInTimeAccessPolicy.multiFactorAuthProvider",
                  f"{_ELIGIBLE}.justInTimeAccessPolicy.managedByTenantApprovers[].principalId"),
        enums={f"{_ELIGIBLE}.justInTimeAccessPolicy.multiFactorAuthProvider": frozenset({"Azure", "None"})},
        read_only=("properties.provisioningState", "properties.manageeTenantId", "properties.manageeTenantName",
                   "properties.managedByTenantName", "systemData"),
        complete_with=_provisioned),
    Contract(
        "Microsoft.ManagedServices/registrationAssignments", ("2022-10-01",),
        SPECS + "managedservices/resource-manager/Microsoft.ManagedServices/stable/2022-10-01/managedservices.json "
        "(RegistrationAssignmentProperties)",
        required=("properties", "properties.registrationDefinitionId"),
        read_only=("properties.provisioningState", "properties.registrationDefinition", "systemData"),
        create_only=("properties.registrationDefinitionId",),
        complete_with=_provisioned),
    Contract(
        "Microsoft.Authorization/roleAssignments", ("2022-04-01",),
        SPECS + "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/"
        "authorization-RoleAssignmentsCalls.json (RoleAssignmentProperties)",
        required=("properties", "properties.roleDefinitionId", "properties.principalId"),
        enums={"properties.principalType": frozenset({"User", "Group", "ServicePrincipal", "ForeignGroup", "Device"})},
        read_only=("properties.scope", "properties.createdOn", "properties.updatedOn", "properties.createdBy",
                   "properties.updatedBy")),
    Contract(
        "Microsoft.Authorization/roleDefinitions", ("2022-05-01-preview",),
        SPECS + "authorization/resource-manager/Microsoft.Authorization/preview/2022-05-01-preview/"
        "authorization-RoleDefinitionsCalls.json (RoleDefinitionProperties)",
        required=("properties",),
        read_only=("properties.createdOn", "properties.updatedOn", "properties.createdBy", "properties.updatedBy")),
    Contract(
        "Microsoft.Logic/workflows", ("2019-05-01",),
        SPECS + "logic/resource-manager/Microsoft.Logic/stable/2019-05-01/logic.json (WorkflowProperties, ManagedServiceIdentity)",
        enums={"properties.state": frozenset({"NotSpecified", "Completed", "Enabled", "Disabled", "Deleted", "Suspended"}),
               "identity.type": frozenset({"SystemAssigned", "UserAssigned", "None"})},
        required=("identity.type",),
        read_only=("properties.provisioningState", "properties.createdTime", "properties.changedTime",
                   "properties.version", "properties.accessEndpoint", "properties.sku", "identity.principalId",
                   "identity.tenantId"),
        complete_with=_workflow),
    Contract(
        "Microsoft.Insights/dataCollectionRules", ("2022-06-01", "2023-03-11"),
        SPECS + "monitor/resource-manager/Microsoft.Insights/stable/2022-06-01/dataCollectionRules_API.json "
        "(DataCollectionRuleResource: TrackedResource location; DataCollectionRule readOnly immutableId, provisioningState)",
        required=("location",),
        read_only=("properties.immutableId", "properties.provisioningState", "properties.metadata", "etag", "systemData",
                   "properties.endpoints"),
        complete_with=_dcr),
    Contract(
        "Microsoft.OperationalInsights/workspaces/tables", ("2023-09-01",),
        SPECS + "operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/Tables.json "
        "(TableProperties, Schema, Column)",
        required=("properties.schema.columns[].name",),
        ranges={"properties.retentionInDays": (4, 730), "properties.totalRetentionInDays": (4, 4383)},
        read_only=("properties.provisioningState", "properties.lastPlanModifiedDate", "properties.archiveRetentionInDays",
                   "properties.retentionInDaysAsDefault", "properties.totalRetentionInDaysAsDefault",
                   "properties.schema.standardColumns", "properties.schema.solutions", "properties.schema.source",
                   "properties.schema.categories", "properties.schema.labels", "properties.schema.tableType",
                   "properties.schema.tableSubType", "properties.resultStatistics"),
        check=_custom_table, complete_with=_provisioned),
    Contract(
        "Microsoft.SecurityInsights/automationRules", ("2024-09-01",),
        SPECS + "securityinsights/resource-manager/Microsoft.SecurityInsights/stable/2024-09-01/AutomationRules.json "
        "(AutomationRuleProperties, AutomationRuleTriggeringLogic)",
        required=("properties", "properties.displayName", "properties.order", "properties.triggeringLogic",
                  "properties.actions", "properties.triggeringLogic.isEnabled", "properties.triggeringLogic.triggersOn",
                  "properties.triggeringLogic.triggersWhen", "properties.actions[].order", "properties.actions[].actionType"),
        ranges={"properties.order": (1, 1000), "#properties.actions": (1, 20), "#properties.triggeringLogic.conditions": (0, 50)},
        read_only=("properties.lastModifiedTimeUtc", "properties.createdTimeUtc", "properties.lastModifiedBy",
                   "properties.createdBy", "systemData")),
    Contract(
        "Microsoft.SecurityInsights/alertRules", ("2024-09-01",),
        SPECS + "securityinsights/resource-manager/Microsoft.SecurityInsights/stable/2024-09-01/AlertRules.json "
        "(ScheduledAlertRule, ScheduledAlertRuleProperties, ScheduledAlertRuleCommonProperties, AlertSeverity, TriggerOperator)",
        required=("kind", "properties.displayName", "properties.enabled", "properties.query", "properties.queryFrequency",
                  "properties.queryPeriod", "properties.severity", "properties.triggerOperator", "properties.triggerThreshold",
                  "properties.suppressionDuration", "properties.suppressionEnabled"),
        enums={"properties.severity": frozenset({"High", "Medium", "Low", "Informational"}),
               "properties.triggerOperator": frozenset({"GreaterThan", "LessThan", "Equal", "NotEqual"})},
        read_only=("properties.lastModifiedUtc", "systemData"),
        create_only=("kind",)),
    Contract(
        "Microsoft.Sql/servers/auditingSettings", ("2023-08-01",),
        SPECS + "sql/resource-manager/Microsoft.Sql/stable/2023-08-01/BlobAuditing.json (ServerBlobAuditingPolicyProperties)",
        required=("properties", "properties.state"),
        enums={"properties.state": frozenset({"Enabled", "Disabled"})},
        ranges={"properties.retentionDays": (0, 3285)},
        check=_auditing),
    Contract(
        "Microsoft.Resources/resourceGroups", ("2024-03-01",),
        SPECS + "resources/resource-manager/Microsoft.Resources/stable/2024-03-01/resources.json (ResourceGroup: "
        "location required; properties.provisioningState readOnly)",
        required=("location",), read_only=("properties.provisioningState",), create_only=("location",),
        complete_with=_provisioned),
    Contract(
        "Microsoft.OperationalInsights/workspaces", ("2023-09-01",),
        SPECS + "operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/Workspaces.json "
        "(Workspace: TrackedResource location; WorkspaceProperties, WorkspaceSku, WorkspaceCapping)",
        required=("location", "properties.sku.name"),
        enums={"properties.sku.name": frozenset({"Free", "Standard", "Premium", "PerNode", "PerGB2018", "Standalone",
                                                 "CapacityReservation", "LACluster"})},
        ranges={"properties.retentionInDays": (-1, 730)},
        read_only=("properties.customerId", "properties.provisioningState", "properties.createdDate",
                   "properties.modifiedDate", "properties.privateLinkScopedResources", "properties.workspaceCapping.quotaNextResetTime",
                   "properties.workspaceCapping.dataIngestionStatus"),
        create_only=("location",), complete_with=lambda stored: _workspace(stored)),
    Contract(
        "Microsoft.SecurityInsights/onboardingStates", ("2024-09-01",),
        SPECS + "securityinsights/resource-manager/Microsoft.SecurityInsights/stable/2024-09-01/OnboardingStates.json "
        "(SentinelOnboardingState; the workspace is its parent)"),
    Contract(
        "Microsoft.Web/connections", ("2016-06-01",),
        SPECS + "web/resource-manager/Microsoft.Web/stable/2016-06-01/apiConnections.json (ApiConnectionDefinition, "
        "ApiConnectionDefinitionProperties)",
        required=("properties.api.id",),
        read_only=("properties.createdTime", "properties.changedTime", "properties.overallStatus"),
        complete_with=_provisioned),
)}


def for_type(arm_type: str) -> Contract | None:
    return next((c for t, c in CONTRACTS.items() if t.lower() == arm_type.lower()), None)


@dataclass(frozen=True)
class GraphContract:
    required: tuple[str, ...]
    source: str

    def validate(self, body: Mapping[str, Any], old: Any) -> list[str]:
        return [f"required property '{k}' is missing" for k in self.required if body.get(k) in (None, "", [])]


GRAPH_APPLICATION = GraphContract(("displayName",), "learn.microsoft.com/graph/api/application-post-applications "
                                  "(Request body: displayName is required)")
GRAPH_FEDERATED_CREDENTIAL = GraphContract(
    ("name", "issuer", "subject", "audiences"),
    "learn.microsoft.com/graph/api/application-post-federatedidentitycredentials (Request body: audiences, issuer, "
    "name, subject are required)")
