"""Forwarding's inventory and plan, by class: every comparison of an ARM id, type, subscription or kind is
case-insensitive (as ARM compares them), every id check holds at its edges, and every problem of an
inventory is reported with its path, not only the first."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.config.customer import ForwardingConfig
from components.forwarding import inventory as inv
from components.forwarding.diagnostics import plan_settings

SUB = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"
KV = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-one"
KV2 = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-two"
ST = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stlogs"


def parse(*resources: dict[str, Any], subs: set[str] | None = None) -> list[inv.InventoryItem]:
    return inv.parse_inventory({"resources": list(resources)}, subs if subs is not None else {SUB})


def problems(*resources: dict[str, Any], subs: set[str] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(inv.InventoryError) as caught:
        parse(*resources, subs=subs)
    return caught.value.problems


# --- ARM ids ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", [KV, KV.upper().replace(SUB.upper(), SUB), KV.lower(),
                                      KV.replace("resourceGroups", "RESOURCEGROUPS").replace("providers", "Providers"),
                                      f"  {KV}\n"])
def test_an_arm_id_parses_in_any_case(spelling):
    rid = inv.parse_resource_id(spelling)
    assert rid is not None and rid.id == spelling.strip()
    assert rid.type.lower() == "microsoft.keyvault/vaults" and rid.name.lower() == "kv-one"
    assert rid.subscription_id == SUB  # lower case, whatever the id's case


def test_the_subscription_of_an_id_is_lowered():
    rid = inv.parse_resource_id(KV.replace(SUB, SUB.upper()))
    assert rid is not None and rid.subscription_id == SUB and rid.resource_group == "rg"


def test_a_child_resource_type_keeps_every_type_segment():
    rid = inv.parse_resource_id(f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1/databases/db1")
    assert rid is not None and (rid.type, rid.name) == ("Microsoft.Sql/servers/databases", "db1")


@pytest.mark.parametrize("bad", [
    f"/subscriptions/{SUB}/resourceGroups/rg",  # a resource group is not a resource
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults",  # no name
    KV + "/",  # a trailing slash
    KV + "/extra",  # an odd number of segments after the namespace
    KV.replace(SUB, SUB[:-1]),  # 35 characters
    KV.replace(SUB, SUB + "0"),  # 37
    KV.replace(SUB, SUB.replace("-", "0")),  # 36 characters but no GUID
    KV.replace(SUB, "g" + SUB[1:]),  # not hex
    KV.replace(SUB, SUB.replace("-", "")[:8] + "-" + SUB[9:] + "-"),  # dashes in the wrong places
    "x" + KV,
    KV.replace("/subscriptions/", "/subscription/"),
    KV.replace("/providers/", "/provider/"),
    "",
])
def test_what_is_not_an_arm_resource_id_is_refused(bad):
    assert inv.parse_resource_id(bad) is None


# --- the inventory ------------------------------------------------------------------------------------

def test_an_id_in_upper_case_belongs_to_the_lower_case_subscription():
    # Bug caught: the subscription check compared the id's spelling, so a hand-written id in upper case
    # was refused as "not one of the customer's subscriptions".
    (item,) = parse({"id": KV.replace(SUB, SUB.upper()), "type": "Microsoft.KeyVault/vaults"})
    assert item.type == "Microsoft.KeyVault/vaults"


def test_an_id_of_another_subscription_is_refused_naming_the_allowed_ones():
    other = "4d9e1f6a-7b8c-4dae-9f2a-3b4c5d6e7f80"
    [(where, message)] = problems({"id": KV.replace(SUB, other)})
    assert where == "resources[0].id" and other in message and SUB in message


def test_the_same_resource_twice_in_another_case_is_refused():
    [(where, message)] = problems({"id": KV}, {"id": KV.upper().replace(SUB.upper(), SUB)})
    assert where == "resources[1].id" and "listed twice" in message


@pytest.mark.parametrize("declared", ["Microsoft.KeyVault/vaults", "microsoft.keyvault/VAULTS"])
def test_a_declared_type_matches_in_any_case_and_reads_in_the_catalogs_spelling(declared):
    (item,) = parse({"id": KV.replace("Microsoft.KeyVault/vaults", "MICROSOFT.KEYVAULT/Vaults"), "type": declared})
    assert item.type == "Microsoft.KeyVault/vaults"


def test_a_declared_type_that_is_another_type_is_refused():
    [(where, message)] = problems({"id": KV, "type": "Microsoft.Network/networkSecurityGroups"})
    assert where == "resources[0].type" and "Microsoft.KeyVault/vaults" in message


@pytest.mark.parametrize("kind,spelled", [("StorageV2", "StorageV2"), ("storagev2", "StorageV2"),
                                          ("FILESTORAGE", "FileStorage"), ("blockblobstorage", "BlockBlobStorage")])
def test_a_storage_kind_matches_in_any_case_and_reads_in_the_catalogs_spelling(kind, spelled):
    (item,) = parse({"id": ST, "kind": kind})
    assert item.kind == spelled


@pytest.mark.parametrize("entry,where", [
    ({"id": ST}, "resources[0].kind"),  # required for storage
    ({"id": ST, "kind": "Premium"}, "resources[0].kind"),
    ({"id": ST, "kind": 3}, "resources[0].kind"),
    ({"id": KV, "kind": "StorageV2"}, "resources[0].kind"),  # only storage has a kind
    ({"id": KV, "name": "kv"}, "resources[0].name"),
    ({"type": "Microsoft.KeyVault/vaults"}, "resources[0]"),
    ("just a string", "resources[0]"),
])
def test_a_bad_entry_is_named_by_its_path(entry, where):
    assert [p for p, _ in problems(entry)] == [where]


def test_every_bad_entry_is_reported_not_only_the_first():
    found = problems({"id": "nope"}, {"id": KV}, {"id": ST, "kind": "x"}, {"id": KV2, "extra": 1})
    assert [p for p, _ in found] == ["resources[0].id", "resources[2].kind", "resources[3].extra"]


def test_an_unknown_top_level_key_is_refused():
    with pytest.raises(inv.InventoryError) as caught:
        inv.parse_inventory({"resources": [], "resourcez": []}, {SUB})
    assert caught.value.problems[0][0] == "resourcez"


def test_items_are_sorted_by_id_case_insensitively_and_dumped_that_way():
    b_upper = KV2.replace("kv-two", "KV-B")
    items = parse({"id": KV2}, {"id": b_upper}, {"id": KV})
    assert [i.id for i in items] == [b_upper, KV, KV2]
    text = inv.dump_inventory(list(reversed(items)))
    assert text.startswith(inv.HEADER)
    assert text.index("KV-B") < text.index("kv-one") < text.index("kv-two")
    assert inv.parse_inventory(yaml.safe_load(text), {SUB}) == items


def test_a_storage_kind_round_trips_through_the_dump():
    items = parse({"id": ST, "kind": "storagev2"}, {"id": KV})
    text = inv.dump_inventory(items)
    assert "kind: StorageV2" in text and text.count("kind:") == 1


# --- the plan --------------------------------------------------------------------------------------------

def config(**fields: Any) -> ForwardingConfig:
    return ForwardingConfig.model_validate({"inventory": "stacks/inventories/x.yaml", **fields})


def test_an_exclusion_in_another_case_still_excludes():
    # Bug caught: forwarding.exclude compared case-sensitively, so the excluded resource was forwarded.
    items = [inv.InventoryItem(KV, "Microsoft.KeyVault/vaults"), inv.InventoryItem(KV2, "Microsoft.KeyVault/vaults")]
    plan = plan_settings(items, config(exclude=[KV.upper()]))
    assert [s.resource_uri for s in plan.settings] == [KV2]
    assert [s.resource_id for s in plan.skipped] == [KV]


@pytest.mark.parametrize("selection", [["auditevent"], ["AUDITEVENT"], ["AuditEvent"]])
def test_a_category_list_matches_in_any_case_and_is_sent_in_the_catalogs_spelling(selection):
    chosen = config(resourceTypes=["Microsoft.KeyVault/vaults"], perType={"Microsoft.KeyVault/vaults": {"logs": selection}})
    plan = plan_settings([inv.InventoryItem(KV, "Microsoft.KeyVault/vaults")], chosen)
    (setting,) = plan.settings
    assert setting.logs == ({"category": "AuditEvent", "enabled": True},)


def test_settings_follow_the_inventory_sorted_by_id_case_insensitively():
    upper = KV2.replace("kv-two", "KV-A")
    items = [inv.InventoryItem(KV2, "Microsoft.KeyVault/vaults"), inv.InventoryItem(upper, "Microsoft.KeyVault/vaults"),
             inv.InventoryItem(KV, "Microsoft.KeyVault/vaults")]
    assert [s.resource_uri for s in plan_settings(items, config()).settings] == [upper, KV, KV2]


def test_a_type_out_of_scope_is_skipped_with_its_reason():
    items = [inv.InventoryItem(KV, "Microsoft.KeyVault/vaults")]
    plan = plan_settings(items, config(resourceTypes=["microsoft.network/networksecuritygroups"]))
    assert plan.settings == () and "resourceTypes" in plan.skipped[0].reason
    assert [s.resource_uri for s in plan_settings(items, config(resourceTypes=["MICROSOFT.KEYVAULT/VAULTS"])).settings] == [KV]
