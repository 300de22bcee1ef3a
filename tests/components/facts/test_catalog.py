"""The diagnostic catalog and the inventory format, pinned against Microsoft's published categories."""

from __future__ import annotations

import pytest

from components.facts import catalog
from components.forwarding.inventory import (
    InventoryError,
    InventoryItem,
    dump_inventory,
    parse_inventory,
    parse_resource_id,
)

SUB = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"


def test_catalog_covers_every_type_of_the_mission():
    assert set(catalog.supported_types()) == {
        "Microsoft.KeyVault/vaults",
        "Microsoft.Network/networkSecurityGroups",
        "Microsoft.Sql/servers/databases",
        "Microsoft.Sql/servers",  # server audit: auditing settings + the master database's setting
        "Microsoft.Network/azureFirewalls",
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Network/applicationGateways",
        "Microsoft.Network/frontDoors",  # Front Door classic
        "Microsoft.Cdn/profiles",  # Front Door Standard/Premium
        "Microsoft.ContainerService/managedClusters",
        "Microsoft.Storage/storageAccounts",
    }


def test_waf_policies_have_no_entry_of_their_own():
    # They emit no resource logs: WAF events come from the gateway / Front Door (see catalog docstring).
    assert catalog.entry_for("Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies") is None
    assert catalog.entry_for("Microsoft.Network/frontdoorWebApplicationFirewallPolicies") is None
    assert "ApplicationGatewayFirewallLog" in catalog.entry_for("Microsoft.Network/applicationGateways").categories
    assert "FrontdoorWebApplicationFirewallLog" in catalog.entry_for("Microsoft.Network/frontDoors").categories
    assert "FrontDoorWebApplicationFirewallLog" in catalog.entry_for("Microsoft.Cdn/profiles").categories


@pytest.mark.parametrize(
    ("rtype", "category"),
    [
        # Microsoft's supported-logs reference (see components/facts/catalog.py).
        ("Microsoft.KeyVault/vaults", "AuditEvent"),
        ("Microsoft.Network/networkSecurityGroups", "NetworkSecurityGroupEvent"),
        ("Microsoft.Sql/servers/databases", "SQLSecurityAuditEvents"),
        ("Microsoft.Network/azureFirewalls", "AZFWNetworkRule"),
        ("Microsoft.Network/publicIPAddresses", "DDoSProtectionNotifications"),
        ("Microsoft.ContainerService/managedClusters", "kube-audit"),
    ],
)
def test_known_categories(rtype, category):
    assert category in catalog.entry_for(rtype).categories


def test_catalog_entries_are_consistent():
    for entry in catalog.CATALOG:
        assert entry.source
        assert catalog.entry_for(entry.type.upper()) is entry  # case-insensitive as ARM
        assert len(set(entry.categories)) == len(entry.categories)
        if entry.categories:
            assert catalog.ALL_LOGS in entry.groups
    storage = catalog.entry_for("Microsoft.Storage/storageAccounts")
    assert storage.categories == () and storage.metrics == ("Transaction",)
    assert [s.path for s in storage.sub_services] == [
        "blobServices/default", "fileServices/default", "queueServices/default", "tableServices/default"]
    for svc in storage.sub_services:
        assert set(svc.categories) == {"StorageRead", "StorageWrite", "StorageDelete"}
    assert catalog.entry_for("Microsoft.Network/networkSecurityGroups").metrics == ()
    assert catalog.ACTIVITY_LOG_CATEGORIES == (
        "Administrative", "Security", "ServiceHealth", "Alert", "Recommendation", "Policy", "Autoscale", "ResourceHealth")


def test_parse_resource_id():
    rid = parse_resource_id(f"/subscriptions/{SUB.upper()}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1/databases/db1")
    assert rid.type == "Microsoft.Sql/servers/databases" and rid.name == "db1" and rid.subscription_id == SUB
    assert parse_resource_id(f"/subscriptions/{SUB}/resourceGroups/rg") is None
    assert parse_resource_id("/subscriptions/xyz/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv") is None


def test_inventory_round_trip_is_canonical():
    items = [
        InventoryItem(f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv2", "Microsoft.KeyVault/vaults"),
        InventoryItem(f"/subscriptions/{SUB}/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/kv1", "Microsoft.KeyVault/vaults"),
    ]
    text = dump_inventory(items)
    assert text == dump_inventory(list(reversed(items)))
    import yaml

    parsed = parse_inventory(yaml.safe_load(text), {SUB})
    assert [i.id for i in parsed] == sorted((i.id for i in items), key=str.lower)
    assert dump_inventory(parsed) == text


def test_inventory_duplicates_are_rejected():
    rid = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-dup"  # a name Azure allows (3-24)
    with pytest.raises(InventoryError) as exc:
        parse_inventory({"resources": [{"id": rid}, {"id": rid.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")}]}, {SUB})
    assert any("listed twice" in m for _, m in exc.value.problems)


def _published() -> dict:
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parents[2] / "fixtures" / "diagnostic-log-categories.json").read_text())


@pytest.mark.parametrize("entry", catalog.CATALOG, ids=lambda e: e.type)
def test_every_category_is_microsofts(entry):
    data = _published()["resourceTypes"]
    if entry.sql_audit:
        # The server has no categories of its own; its master database's are a user database's audit ones.
        assert entry.categories == ()
        assert set(entry.sub_services[0].categories) <= set(data["Microsoft.Sql/servers/databases"]["categories"])
        return
    published = data[entry.type]
    if entry.type == "Microsoft.Network/azureFirewalls":
        names = published["categories_legacy_AzureDiagnostics"] + published["categories_resource_specific"]
    else:
        names = published["categories"]
    assert sorted(entry.categories) == sorted(names)
    for svc in entry.sub_services:
        assert sorted(svc.categories) == sorted(data[f"{entry.type}/{svc.path.split('/')[0]}"]["categories"])


def test_cdn_profile_categories_include_front_door_standard_premium():
    published = _published()["resourceTypes"]["Microsoft.Cdn/profiles"]["categories"]
    assert {"FrontDoorAccessLog", "FrontDoorHealthProbeLog", "FrontDoorWebApplicationFirewallLog"} <= set(published)


def test_activity_log_categories_are_microsofts():
    assert list(catalog.ACTIVITY_LOG_CATEGORIES) == _published()["subscriptionActivityLog"]["categories"]
