"""DiagnosticForwarding built alone under Pulumi's mocks: a setting per forwarded resource (per service for
storage) and per subscription's Activity log, each through its subscription's provider, to the workspace
given; excluded and out-of-scope resources get none."""

from __future__ import annotations

from typing import Any

import pulumi_azure_native as azure_native

from components.config.customer import ForwardingConfig
from components.facts import catalog
from components.forwarding.diagnostics import DiagnosticForwarding, DiagnosticForwardingArgs
from components.forwarding.inventory import InventoryItem
from testing.component_mocks import Built, build

A, B = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f", "4d9e1f6a-7b8c-4dae-9f2a-3b4c5d6e7f80"
WORKSPACE = "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/law-soc"
KV = f"/subscriptions/{A}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-one"
KV_EXCLUDED = f"/subscriptions/{A}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-two"
NSG = f"/subscriptions/{B}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg-web"
STORAGE = f"/subscriptions/{A}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stlogs"
INVENTORY = (InventoryItem(KV, "Microsoft.KeyVault/vaults"), InventoryItem(KV_EXCLUDED, "Microsoft.KeyVault/vaults"),
             InventoryItem(NSG, "Microsoft.Network/networkSecurityGroups"),
             InventoryItem(STORAGE, "Microsoft.Storage/storageAccounts", "StorageV2"))
SETTING, ACTIVITY = "azure-native:monitor:DiagnosticSetting", "azure-native:monitor:SubscriptionDiagnosticSetting"


def built(**forwarding: Any) -> Built[DiagnosticForwarding]:
    config = ForwardingConfig.model_validate({"inventory": "stacks/inventories/x.yaml", **forwarding})

    def make() -> DiagnosticForwarding:
        providers = {s: azure_native.Provider(f"forward-{s}", subscription_id=s) for s in (A, B)}
        return DiagnosticForwarding("contoso-forwarding", DiagnosticForwardingArgs([A, B], INVENTORY, config,
                                                                                     WORKSPACE, providers))
    return build(make)


def subscription_of(resource_id: str) -> str:
    return resource_id.split("/")[2]


def test_each_setting_goes_to_the_workspace_through_its_resources_subscription() -> None:
    graph = built().graph
    settings = graph.of_type(SETTING)
    assert settings and all(s.inputs["workspaceId"] == WORKSPACE for s in settings)
    for s in settings:
        # Bug caught: a resource of subscription B written through subscription A's provider.
        assert s.provider == f"forward-{subscription_of(s.inputs['resourceUri'])}", s.name
        assert s.parent_type == "mssp:forwarding:DiagnosticForwarding"
    assert {s.inputs["name"] for s in settings} == {"mssp-sentinel"}


def test_storage_fans_out_to_its_services_and_excluded_or_out_of_scope_resources_get_none() -> None:
    b = built(exclude=[KV_EXCLUDED], resourceTypes=["Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts"])
    uris = sorted(s.inputs["resourceUri"] for s in b.graph.of_type(SETTING))
    services = [f"{STORAGE}/{svc}Services/default" for svc in ("blob", "file", "queue", "table")]
    assert uris == sorted([KV, *services])
    skipped = {s.resource_id: s.reason for s in b.component.plan.skipped}
    assert set(skipped) == {KV_EXCLUDED, NSG}
    assert "exclude" in skipped[KV_EXCLUDED] and "resourceTypes" in skipped[NSG]


def test_one_activity_log_setting_per_subscription_with_the_chosen_selection() -> None:
    graph = built().graph
    activity = {n.provider: n.inputs for n in graph.of_type(ACTIVITY)}
    assert set(activity) == {f"forward-{A}", f"forward-{B}"}
    logs = activity[f"forward-{A}"]["logs"]
    assert sorted(entry["category"] for entry in logs) == sorted(catalog.ACTIVITY_LOG_CATEGORIES)
    grouped = built(activityLog={"logs": "allLogs"}).graph.of_type(ACTIVITY)[0].inputs["logs"]
    assert grouped == [{"categoryGroup": "allLogs", "enabled": True}]
    assert built(activityLog={"enabled": False}).graph.of_type(ACTIVITY) == []


def test_a_per_type_selection_and_metrics_reach_only_that_type() -> None:
    graph = built(perType={"Microsoft.KeyVault/vaults": {"logs": ["AuditEvent"], "metrics": True}}).graph
    kv = next(s for s in graph.of_type(SETTING) if s.inputs["resourceUri"] == KV)
    assert kv.inputs["logs"] == [{"category": "AuditEvent", "enabled": True}]
    assert kv.inputs["metrics"] and all(m["enabled"] for m in kv.inputs["metrics"])
    nsg = next(s for s in graph.of_type(SETTING) if s.inputs["resourceUri"] == NSG)
    assert nsg.inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}] and "metrics" not in nsg.inputs
