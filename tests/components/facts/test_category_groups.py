"""Category groups are sent only where Microsoft documents them for the type.

Source: tests/fixtures/category-group-policies.json (Microsoft's built-in category-group policies, per type).
Bug this catches: the catalog claimed `allLogs` (and `audit`) for AKS and the storage services, which that
table does not list, and sent `categoryGroup: allLogs` to them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.config.customer import ForwardingConfig
from components.facts import catalog
from components.forwarding.diagnostics import plan_settings
from components.forwarding.inventory import InventoryItem

POLICIES = json.loads((Path(__file__).parents[2] / "fixtures" / "category-group-policies.json").read_text())["types"]


def targets() -> list[tuple[str, object]]:
    """(ARM type, catalog entry or sub-service) for everything that holds a diagnostic setting."""
    found: list[tuple[str, object]] = []
    for e in catalog.CATALOG:
        if e.categories or e.groups:
            found.append((e.type, e))
        for s in e.sub_services:
            found.append((f"{e.type}/{s.path.split('/')[0]}", s))
    return found


@pytest.mark.parametrize("arm_type, target", targets(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_group_is_sent_as_a_group_only_where_microsoft_has_the_policy_for_it(arm_type, target):
    documented = POLICIES.get(arm_type.lower(), {})
    explicit = bool(getattr(target, "group_categories", ()))
    for group in target.groups:
        if not explicit:
            assert documented.get(group), f"{arm_type}: group {group} sent as a group without a source"
        else:
            # Sent one by one: only allLogs, whose meaning (every category) needs no source of its own.
            assert group == catalog.ALL_LOGS, f"{arm_type}: {group} has no documented membership"
            # Every category is sent (Azure Firewall: one of its two families, never both; catalog.py).
            legacy = set(getattr(target, "legacy_categories", ()))
            assert set(target.group_categories) | legacy == set(target.categories)


def test_aks_and_storage_services_are_the_undocumented_ones():
    assert "microsoft.containerservice/managedclusters" not in POLICIES
    assert not any(t.startswith("microsoft.storage/") for t in POLICIES)
    aks = catalog.entry_for("Microsoft.ContainerService/managedClusters")
    assert aks is not None and aks.group_categories and catalog.AUDIT not in aks.groups


@pytest.mark.parametrize("rtype, rid, kind", [
    ("Microsoft.ContainerService/managedClusters",
     "/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1",
     None),
    ("Microsoft.Storage/storageAccounts",
     "/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1",
     "StorageV2"),
])
def test_all_logs_for_an_undocumented_type_sends_its_categories_one_by_one(rtype, rid, kind):
    forwarding = ForwardingConfig.model_validate({"inventory": "stacks/inventories/contoso.yaml", "logs": "allLogs",
                                                  "resourceTypes": [rtype]})
    plan = plan_settings([InventoryItem(id=rid, type=rtype, kind=kind)], forwarding)
    with_logs = [s for s in plan.settings if s.logs]
    assert with_logs
    for setting in with_logs:
        assert all("category_group" not in entry for entry in setting.logs), setting
        assert {entry["category"] for entry in setting.logs}


def test_audit_is_refused_for_aks_and_storage():
    from components.config.customer import selection_problem

    for rtype in ("Microsoft.ContainerService/managedClusters", "Microsoft.Storage/storageAccounts"):
        entry = catalog.entry_for(rtype)
        assert entry is not None
        problem = selection_problem(entry, "audit")
        assert problem is not None and "allLogs" in problem
