"""The pure parts of `mssp health`: what to expect, the one KQL query, and the verdict.

Kept free of network and SDK code so that tests pin the query and the verdict directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mssp.errors import UserError

# Metrics sent by a diagnostic setting land in AzureMetrics (Azure Monitor reference, tables/azuremetrics:
# "Metric data emitted by Azure services ... collected by diagnostic settings").
METRICS_TABLE = "AzureMetrics"
# The columns the query projects, in order.
RESULT_COLUMNS = ("Kind", "Key", "LastSeen", "Rows")


@dataclass(frozen=True)
class ExpectedResource:
    id: str
    type: str
    tables: tuple[str, ...]


@dataclass(frozen=True)
class Expectations:
    stack: str
    customer: str
    workspace_resource_id: str
    resources: tuple[ExpectedResource, ...]
    subscriptions: tuple[tuple[str, str], ...]  # (id, display name) whose Activity log is forwarded
    all_subscriptions: tuple[str, ...]
    splunk_table: str | None  # None: the customer sends no Splunk alerts


def _setting_tables(entry: Any, logs: Iterable[Mapping[str, Any]], metrics: bool) -> set[str]:
    """Tables a setting's selection lands in: a category group means every category of the entry."""
    tables: set[str] = set()
    for item in logs:
        if "category_group" in item:
            tables |= {t for _, t in entry.tables}
        elif entry.tables:
            table = next((t for c, t in entry.tables if c.lower() == str(item["category"]).lower()), None)
            if table:
                tables.add(table)
    if metrics:
        tables.add(METRICS_TABLE)
    return tables


def expectations(stack: str, project_dir: Path) -> Expectations:
    """What the stack configures: resources (with their tables), subscriptions, the Splunk feed."""
    from components.config import ConfigError, load_stack
    from components.facts import catalog
    from components.forwarding.diagnostics import plan_settings

    try:
        loaded = load_stack(stack, project_dir)
    except ConfigError as exc:
        from mssp.plan.command import config_errors_text

        raise UserError(config_errors_text(exc.issues, exc.file)) from None
    if loaded.customer is None:
        raise UserError(f"stack {stack} is the platform stack: health checks customer stacks (their data arrives "
                        "in the platform's workspace)")
    customer, platform = loaded.customer, loaded.platform
    plan = plan_settings(loaded.inventory, customer.forwarding, loaded.adopted_setting_names)
    by_item: dict[str, ExpectedResource] = {}
    for item in loaded.inventory:
        entry = catalog.entry_for(item.type)
        if entry is None:
            continue
        tables: set[str] = set()
        configured = False
        for spec in plan.settings:
            uri = spec.resource_uri.lower()
            if uri == item.id.lower():
                configured = True
                tables |= _setting_tables(entry, spec.logs, bool(spec.metrics))
            elif uri.startswith(item.id.lower() + "/"):
                sub = next((s for s in entry.sub_services if uri == f"{item.id.lower()}/{s.path.lower()}"), None)
                if sub is None:
                    continue  # a child inventoried in its own right (a SQL server's database): its own item
                configured = True
                tables |= _setting_tables(sub, spec.logs, bool(spec.metrics))
        if configured:
            by_item[item.id.lower()] = ExpectedResource(item.id, entry.type, tuple(sorted(tables)))
    sub_id, rg, name = platform.workspace.parts(platform.subscription_id)
    workspace = f"/subscriptions/{sub_id}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}"
    # Customer topology (docs/topologies.md): the data arrives in the customer's own workspace. The Splunk feed's
    # table is the platform's, in the MSSP workspace, so this one query cannot see it there.
    own = customer.workspace.resource_id
    splunk = customer.splunk is not None and customer.splunk.enabled and platform.splunk is not None and own is None
    workspace = own or workspace
    return Expectations(
        stack=stack,
        customer=customer.name,
        workspace_resource_id=workspace,
        resources=tuple(sorted(by_item.values(), key=lambda r: r.id.lower())),
        subscriptions=tuple((s.id, s.display_name) for s in customer.subscriptions)
        if customer.forwarding.activity_log.enabled else (),
        all_subscriptions=tuple(s.id for s in customer.subscriptions),
        splunk_table=platform.splunk.table_name if splunk and platform.splunk else None,
    )


def _kql_string(value: str) -> str:
    return json.dumps(value)  # a double-quoted string literal with backslash escapes, as KQL reads it


def build_query(expect: Expectations) -> str:
    """The stack's one query: rows (Kind, Key, LastSeen, Rows); Key is lower-case.

    `union isfuzzy=true` keeps a table that does not exist yet in the workspace (nothing was ever sent
    to it) from failing the whole query: it counts as no rows, which is what it is. The window comes
    from the request's timespan, so the query itself does not repeat it.
    """
    subs = json.dumps(sorted(s.lower() for s in expect.all_subscriptions))
    tables = sorted({t for r in expect.resources for t in r.tables})
    parts = [f"// mssp health: stack {expect.stack}; one query for every resource, subscription and Splunk feed",
             f"let subs = dynamic({subs});"]
    names = []
    if tables:
        names.append("resources")
        parts += [f"let resources = union isfuzzy=true {', '.join(tables)}",
                  "| where _SubscriptionId in~ (subs)",
                  "| summarize LastSeen = max(TimeGenerated), Rows = count() by Key = tolower(_ResourceId)",
                  '| extend Kind = "resource";']
    names.append("activity")
    parts += ["let activity = AzureActivity",
              "| where SubscriptionId in~ (subs)",
              "| summarize LastSeen = max(TimeGenerated), Rows = count() by Key = tolower(SubscriptionId)",
              '| extend Kind = "subscription";']
    if expect.splunk_table:
        names.append("splunk")
        parts += [f"let splunk = union isfuzzy=true {expect.splunk_table}",
                  f"| where CustomerName =~ {_kql_string(expect.customer)}",
                  "| summarize LastSeen = max(TimeGenerated), Rows = count() by Key = tolower(CustomerName)",
                  '| extend Kind = "splunk";']
    parts += [f"union {', '.join(names)}", f"| project {', '.join(RESULT_COLUMNS)}"]
    return "\n".join(parts)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def owner_of(key: str, ids: Mapping[str, str]) -> str | None:
    """The inventoried resource a row's _ResourceId belongs to: itself or its nearest listed parent
    (storage service logs carry the service's id, .../blobServices/default)."""
    parts = key.lower().rstrip("/").split("/")
    for n in range(len(parts), 0, -1):
        candidate = "/".join(parts[:n])
        if candidate in ids:
            return ids[candidate]
    return None


def assess(
    expect: Expectations,
    rows: list[dict[str, Any]],
    *,
    failed: bool,
    partial: bool,
    errors: list[str],
    start: datetime,
    end: datetime,
    hours: int,
    query: str,
) -> dict[str, Any]:
    """The report. A failed query verifies nothing; a partial one verifies only what it returned."""
    ids = {r.id.lower(): r.id for r in expect.resources}
    seen: dict[tuple[str, str], tuple[Any, int]] = {}
    for row in rows:
        kind, key = str(row.get("Kind") or ""), str(row.get("Key") or "").lower()
        owner = owner_of(key, ids) if kind == "resource" else key
        if owner is None:
            continue
        k = (kind, owner.lower())
        last, count = row.get("LastSeen"), int(row.get("Rows") or 0)
        old_last, old_count = seen.get(k, (None, 0))
        if old_last is not None and (last is None or _iso(old_last) > _iso(last)):  # type: ignore[operator]
            last = old_last
        seen[k] = (last, old_count + count)

    def verdict(kind: str, key: str) -> tuple[str, str | None, int | None]:
        last, count = seen.get((kind, key.lower()), (None, 0))
        if count > 0:
            return "forwarding", _iso(last), count
        if failed or partial:
            return "unverified", None, None
        return "silent", None, 0

    resources = []
    for r in expect.resources:
        status, last, count = verdict("resource", r.id)
        resources.append({"id": r.id, "type": r.type, "tables": list(r.tables), "status": status,
                          "lastSeen": last, "rows": count})
    subscriptions = []
    for sub, display in expect.subscriptions:
        status, last, count = verdict("subscription", sub)
        subscriptions.append({"id": sub, "displayName": display, "status": status, "lastSeen": last, "rows": count})
    splunk = None
    if expect.splunk_table:
        status, last, count = verdict("splunk", expect.customer)
        splunk = {"customer": expect.customer, "table": expect.splunk_table,
                  "status": "quiet" if status == "silent" else status, "lastSeen": last, "rows": count}
    silent = [r["id"] for r in resources if r["status"] == "silent"]
    silent_subs = [x["id"] for x in subscriptions if x["status"] == "silent"]
    if errors:
        status_text, code = "error", 1
    elif silent or silent_subs:
        status_text, code = "silent", 3
    else:
        status_text, code = "healthy", 0
    return {
        "stack": expect.stack,
        "customer": expect.customer,
        "status": status_text,
        "exitCode": code,
        "window": {"hours": hours, "start": _iso(start), "end": _iso(end)},
        "workspace": expect.workspace_resource_id,
        "summary": {
            "resources": len(resources),
            "forwarding": sum(1 for r in resources if r["status"] == "forwarding"),
            "silent": len(silent),
            "unverified": sum(1 for r in resources if r["status"] == "unverified"),
            "subscriptions": len(subscriptions),
            "silentSubscriptions": len(silent_subs),
        },
        "silentResources": silent,
        "silentSubscriptions": silent_subs,
        "resources": resources,
        "subscriptions": subscriptions,
        "splunk": splunk,
        "errors": list(errors),
        "query": query,
    }
