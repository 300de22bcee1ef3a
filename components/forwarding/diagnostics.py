"""DiagnosticForwarding: the customer's logs to the MSSP workspace, as diagnostic settings.

Per subscription the Activity log (a subscription-scope setting, `SubscriptionDiagnosticSetting`:
a diagnostic setting cannot target a resource group), and per inventoried resource of an in-scope
type one `DiagnosticSetting`; storage accounts fan out to their blob/file/queue/table services
(logs live there) plus an account-level setting when metrics are on.

Rules this keeps (docs/reference/catalog.md): a setting never mixes `category` and `categoryGroup`
(Azure/azure-rest-api-specs#22719), never carries `enabled: false`, lists categories in the
catalog's order and spelling (no perpetual diffs), and is named the same on every resource so
re-runs update in place (Azure Landing Zones deny deleting diagnostic settings). Every setting goes
through the explicit provider of its subscription; nothing uses an ambient default provider.
`plan_settings` is the pure part: what to create, from config and inventory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from components.config.customer import ForwardingConfig
from components.facts import catalog, naming
from components.forwarding.inventory import InventoryItem, parse_resource_id


@dataclass(frozen=True)
class SettingSpec:
    """One diagnostic setting to create, in azure-native's Python input form."""

    logical_name: str
    resource_uri: str
    subscription_id: str
    source_type: str  # catalog type, or "<type>/<service>" for storage services
    logs: tuple[dict[str, Any], ...]
    metrics: tuple[dict[str, Any], ...]
    destination_type: str | None = None
    setting_name: str | None = None  # None: the configured name; else an adopted setting's own name


@dataclass(frozen=True)
class AuditSpec:
    """A SQL server whose auditing is enabled with the Azure Monitor target (catalog.SQL_AUDIT_CATEGORIES)."""

    logical_name: str
    server_id: str
    subscription_id: str
    resource_group: str
    server_name: str
    devops: bool  # isDevopsAuditEnabled: DevOpsOperationsAudit is selected


@dataclass(frozen=True)
class Skipped:
    resource_id: str
    reason: str


@dataclass(frozen=True)
class ForwardingPlan:
    settings: tuple[SettingSpec, ...]
    skipped: tuple[Skipped, ...] = field(default=())
    audits: tuple[AuditSpec, ...] = field(default=())
    # SQL servers whose auditing the customer enables (forwarding.sqlAudit.enabledBy: customer): nothing is
    # created or granted for them; the master database's setting receives their audit once it is on.
    customer_audits: tuple[AuditSpec, ...] = field(default=())

    def audit_scopes(self) -> dict[str, tuple[str, ...]]:
        """Resource groups (as written in the inventory, sorted case-insensitively, once each) that hold the SQL
        servers the MSSP audits, per subscription: where SQL Security Manager is granted with scope resourceGroups."""
        found: dict[str, dict[str, str]] = {}
        for a in self.audits:
            found.setdefault(a.subscription_id, {}).setdefault(a.resource_group.lower(), a.resource_group)
        return {sub: tuple(v for _, v in sorted(groups.items())) for sub, groups in sorted(found.items())}


def _logs(selection: str | list[str], categories: Sequence[str],
          group_categories: Sequence[str] = ()) -> tuple[dict[str, Any], ...]:
    if isinstance(selection, str):
        if group_categories:
            return tuple({"category": c, "enabled": True} for c in group_categories)
        return ({"category_group": selection, "enabled": True},)
    wanted = {c.lower() for c in selection}
    return tuple({"category": c, "enabled": True} for c in categories if c.lower() in wanted)


def _firewall(entry: catalog.CatalogEntry, selection: str | list[str], legacy: bool
              ) -> tuple[tuple[dict[str, Any], ...], str | None]:
    """One family of Azure Firewall categories (never both: ALZ-Bicep#960) and its destination type."""
    if isinstance(selection, str):
        family = entry.legacy_categories if legacy else entry.group_categories
    else:
        wanted = {c.lower() for c in selection}
        family = tuple(c for c in entry.categories if c.lower() in wanted)
    uses_legacy = any(c in entry.legacy_categories for c in family)
    # Legacy categories land in AzureDiagnostics (the default destination); AZFW* need Dedicated.
    return tuple({"category": c, "enabled": True} for c in family), (None if uses_legacy else entry.destination_type)


def _metrics(enabled: bool, categories: Sequence[str]) -> tuple[dict[str, Any], ...]:
    return tuple({"category": m, "enabled": True} for m in categories) if enabled else ()


def plan_settings(
    inventory: Sequence[InventoryItem],
    forwarding: ForwardingConfig,
    adopted: Mapping[str, str] | None = None,
) -> ForwardingPlan:
    """The diagnostic settings the inventory needs under this config (deterministic order).

    `adopted` maps logical names to the Azure names of settings adopted with `pulumi import`.
    """
    adopted = adopted or {}
    excluded = {rid.lower() for rid in forwarding.exclude}
    in_scope = set(forwarding.in_scope)
    settings: list[SettingSpec] = []
    skipped: list[Skipped] = []
    audits: list[AuditSpec] = []
    for item in sorted(inventory, key=lambda it: it.id.lower()):
        if item.id.lower() in excluded:
            skipped.append(Skipped(item.id, "excluded in config (forwarding.exclude)"))
            continue
        if item.type not in in_scope:
            skipped.append(Skipped(item.id, f"type {item.type} is not in forwarding.resourceTypes"))
            continue
        entry = catalog.entry_for(item.type)
        rid = parse_resource_id(item.id)
        assert entry is not None and rid is not None  # the inventory was validated on load
        selection = forwarding.logs_for(entry.type)
        metrics_on = forwarding.metrics_for(entry.type)
        destination = entry.destination_type
        if entry.legacy_categories:
            logs, destination = _firewall(entry, selection, forwarding.azure_firewall_logs == "legacy")
        else:
            logs = _logs(selection, entry.categories, entry.group_categories) if entry.categories else ()
        metrics = _metrics(metrics_on, entry.metrics)
        if logs or metrics:
            logical = naming.resource_logical_name(f"diag-{entry.short}", item.id, rid.name)
            settings.append(SettingSpec(
                logical_name=logical,
                resource_uri=item.id,
                subscription_id=rid.subscription_id,
                source_type=entry.type,
                logs=logs,
                metrics=metrics,
                destination_type=destination,
                setting_name=adopted.get(logical),
            ))
        elif not entry.sub_services:
            skipped.append(Skipped(item.id, "nothing selected: no log categories and metrics are off"))
        audit_devops = False
        for svc in entry.services_for(item.kind):
            uri = f"{item.id}/{svc.path}"
            logical = naming.resource_logical_name(f"diag-{svc.short}", uri, rid.name)
            # The master database gets the audit categories one by one: a group there would also send
            # whatever else master logs, which is not what enabling server audit promised.
            svc_logs = _logs(selection, svc.categories, svc.categories if entry.sql_audit else svc.group_categories)
            settings.append(SettingSpec(
                logical_name=logical,
                resource_uri=uri,
                subscription_id=rid.subscription_id,
                source_type=f"{entry.type}/{svc.path.split('/')[0]}",
                logs=svc_logs,
                metrics=_metrics(metrics_on, svc.metrics),
                setting_name=adopted.get(logical),
            ))
            audit_devops |= any(e.get("category") == "DevOpsOperationsAudit" for e in svc_logs)
        if entry.sql_audit:
            # One auditing policy per server, whatever its sub-services (one URN per server).
            audits.append(AuditSpec(
                logical_name=naming.resource_logical_name("audit-sqlsrv", item.id, rid.name),
                server_id=item.id,
                subscription_id=rid.subscription_id,
                resource_group=rid.resource_group,
                server_name=rid.name,
                devops=audit_devops,
            ))
    if forwarding.sql_audit.enabled_by == "customer":
        return ForwardingPlan(tuple(settings), tuple(skipped), (), tuple(audits))
    return ForwardingPlan(tuple(settings), tuple(skipped), tuple(audits))


def sql_audit_subscriptions(inventory: Sequence[InventoryItem], forwarding: ForwardingConfig) -> frozenset[str]:
    """The subscriptions whose SQL servers the plan audits: there the MSSP identity needs SQL Security Manager."""
    return frozenset(a.subscription_id for a in plan_settings(inventory, forwarding).audits)


@dataclass(frozen=True)
class DiagnosticForwardingArgs:
    subscription_ids: Sequence[str]
    inventory: Sequence[InventoryItem]
    forwarding: ForwardingConfig
    workspace_id: pulumi.Input[str]
    # One provider per subscription, signed in as the MSSP identity (through Lighthouse, or in the
    # customer tenant with the MSSP tenant as auxiliary tenant in the direct model).
    providers: dict[str, azure_native.Provider]
    # What must exist first per subscription (the Lighthouse assignment or the direct role assignment).
    depends_on: dict[str, Sequence[pulumi.Resource]] = field(default_factory=dict)
    adopted_setting_names: Mapping[str, str] = field(default_factory=dict)
    # The plan of these settings, when the caller made it already (plan_settings of the same inputs).
    plan: ForwardingPlan | None = None


class DiagnosticForwarding(pulumi.ComponentResource):
    plan: ForwardingPlan

    def __init__(self, name: str, args: DiagnosticForwardingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mssp:forwarding:DiagnosticForwarding", name, None, opts)
        fwd = args.forwarding

        def child(sub: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self, provider=args.providers[sub], depends_on=list(args.depends_on.get(sub, []))
            )

        if fwd.activity_log.enabled:
            activity_logs = (
                ({"category_group": catalog.ALL_LOGS, "enabled": True},)
                if fwd.activity_log.logs == "allLogs"
                else tuple({"category": c, "enabled": True} for c in catalog.ACTIVITY_LOG_CATEGORIES)
            )
            for sub in args.subscription_ids:
                azure_native.monitor.SubscriptionDiagnosticSetting(
                    f"{name}-activity-{sub}",
                    name=fwd.setting_name,
                    workspace_id=args.workspace_id,
                    logs=list(activity_logs),
                    opts=child(sub),
                )

        self.plan = args.plan or plan_settings(args.inventory, fwd, args.adopted_setting_names)
        for spec in self.plan.settings:
            azure_native.monitor.DiagnosticSetting(
                spec.logical_name,
                name=spec.setting_name or fwd.setting_name,
                resource_uri=spec.resource_uri,
                workspace_id=args.workspace_id,
                logs=list(spec.logs) or None,
                metrics=list(spec.metrics) or None,
                log_analytics_destination_type=spec.destination_type,
                opts=child(spec.subscription_id),
            )

        for audit in self.plan.audits:
            # Server-level audit to Azure Monitor: without it the master database's setting receives
            # nothing (BlobAuditing.json, ServerBlobAuditingPolicyProperties). The policy's name is
            # always "default". This changes the customer's server: the plan says so (auditedSqlServers).
            azure_native.sql.ServerBlobAuditingPolicy(
                audit.logical_name,
                blob_auditing_policy_name="default",
                resource_group_name=audit.resource_group,
                server_name=audit.server_name,
                state=azure_native.sql.BlobAuditingPolicyState.ENABLED,
                is_azure_monitor_target_enabled=True,
                is_devops_audit_enabled=audit.devops,
                # The server's auditing is the customer's configuration: removing the customer (or the
                # server from the inventory) must not reset or delete it; Pulumi only forgets it.
                opts=pulumi.ResourceOptions.merge(child(audit.subscription_id),
                                                  pulumi.ResourceOptions(retain_on_delete=True)),
            )

        counts = Counter(s.source_type for s in self.plan.settings)
        self.register_outputs({
            "settingsByType": dict(sorted(counts.items())),
            "skipped": [{"id": s.resource_id, "reason": s.reason} for s in self.plan.skipped],
            "auditedSqlServers": [a.server_id for a in self.plan.audits],
        })
