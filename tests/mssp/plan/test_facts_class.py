"""What a reviewer decides on (mssp.plan.facts), by class: every bound of "widened" at both ends (equal is
never wider), every comparison of Azure ids and principals case-insensitively (as ARM compares them), a
scope that only looks like an ancestor, both sides of every access and output change, and the readers
that turn ids into names."""

from __future__ import annotations

from typing import Any

import pytest

from components.facts import roles
from mssp.plan import facts

SUB = "/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"
P1 = "5e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091"
JIT = {"eligible": True, "max_duration": "PT2H", "mfa": "Azure", "approvers": ("SOC Leads",)}


def grant(**kw: Any) -> facts.AccessRow:
    base: dict[str, Any] = {"scope": SUB, "principal_id": P1, "principal_name": "SOC", "principal_type": "Group",
                            "identity": "", "role_name": "Reader", "role_guid": roles.READER.guid, "via": "Lighthouse"}
    return facts.AccessRow(**(base | kw))


def role(r: roles.Role) -> dict[str, str]:
    return {"role_name": r.name, "role_guid": r.guid}


def change(old: dict[str, Any], new: dict[str, Any]) -> facts.AccessChange | None:
    found = facts.access_changes([grant(**old)], [grant(**new)])
    assert len(found) <= 1, found
    return found[0] if found else None


# --- bounds: equal is never wider -------------------------------------------------------------------------

@pytest.mark.parametrize("old,new", [
    ({}, role(roles.BY_NAME["monitoring reader"])),  # another role of the same breadth
    (JIT, JIT | {"max_duration": "PT120M"}),  # the same length, spelt otherwise
    (JIT | {"max_duration": "PT1H30M"}, JIT | {"max_duration": "PT90M"}),
])
def test_a_grant_of_equal_breadth_is_changed_not_widened(old, new):
    # Bug caught: ">=" for ">" in a breadth or duration comparison, which flags every rename as a widening.
    found = change(old, new)
    assert found is not None and found.kind == "changed" and not any("(broader)" in r or "(longer)" in r for r in found.reasons)


@pytest.mark.parametrize("old,new,reason", [
    (JIT, JIT | {"max_duration": "PT2H1M"}, "(longer)"),  # one minute more
    (JIT | {"max_duration": "PT30M"}, JIT | {"max_duration": "PT31M"}, "(longer)"),
    (role(roles.MONITORING_CONTRIBUTOR), role(roles.BY_NAME["contributor"]), "(broader)"),  # one step of breadth
    (role(roles.BY_NAME["user access administrator"]), role(roles.OWNER), "(broader)"),  # the top
    ({}, {"role_name": "unknown role", "role_guid": "0" * 8 + "-0000-4000-8000-" + "0" * 12}, "(broader)"),
    ({}, {"delegated_roles": ("Reader",)}, "delegated roles added: Reader"),
    ({"delegated_roles": ("Reader",)}, {"delegated_roles": ("Reader", "Monitoring Contributor")},
     "delegated roles added: Monitoring Contributor"),
])
def test_one_step_wider_is_widened(old, new, reason):
    found = change(old, new)
    assert found is not None and found.kind == "widened" and any(reason in r for r in found.reasons), found


def test_an_unknown_role_counts_as_broad_both_ways():
    unknown = {"role_name": "unknown role", "role_guid": "1" * 8 + "-0000-4000-8000-" + "0" * 12}
    found = change(unknown, role(roles.BY_NAME["contributor"]))  # 4 -> 4: not wider
    assert found is not None and found.kind == "changed"
    found = change(unknown, role(roles.OWNER))
    assert found is not None and found.kind == "widened"


@pytest.mark.parametrize("old,new,words", [
    (JIT | {"mfa": "None"}, JIT, "MFA None → Azure"),
    (JIT | {"approvers": ("A", "B")}, JIT | {"approvers": ("B",)}, "approvers -A"),
    (JIT | {"approvers": ("A",)}, JIT | {"approvers": ("A", "C")}, "approvers +C"),
    ({"delegated_roles": ("Reader", "X")}, {"delegated_roles": ("Reader",)}, "delegated roles removed"),
    (JIT | {"max_duration": "PT8H"}, JIT | {"max_duration": "PT30M"}, "maximum activation PT8H → PT30M"),
])
def test_a_narrowing_names_both_sides_and_is_changed(old, new, words):
    found = change(old, new)
    assert found is not None and found.kind == "changed" and any(words in r for r in found.reasons), found


def test_the_old_and_new_sides_of_a_change_are_not_swapped():
    found = change({}, role(roles.MONITORING_CONTRIBUTOR))
    assert found is not None and found.before is not None and found.after is not None
    assert (found.before.role_name, found.after.role_name) == ("Reader", "Monitoring Contributor")
    assert found.reasons == ("role Reader → Monitoring Contributor (broader)",)
    found = change({"scope": SUB + "/resourceGroups/rg"}, {})
    assert found is not None and found.reasons == (f"scope {SUB}/resourceGroups/rg → {SUB} (broader)",)


# --- ids and principals compare case-insensitively ---------------------------------------------------------

@pytest.mark.parametrize("new", [{"scope": SUB.upper()}, {"principal_id": P1.upper()}, {"scope": SUB.upper(),
                                                                                        "principal_id": P1.upper()}])
def test_the_same_grant_in_another_case_is_no_change(new):
    assert facts.access_changes([grant()], [grant(**new)]) == []


def test_a_role_change_pairs_with_the_principal_in_another_case():
    found = facts.access_changes([grant()], [grant(principal_id=P1.upper(), **role(roles.OWNER))])
    assert [c.kind for c in found] == ["widened"]


def test_a_scope_change_pairs_across_case_and_a_case_only_scope_difference_is_no_reason():
    old = grant(scope=SUB + "/resourceGroups/RG")
    new = grant(scope=SUB.upper() + "/resourceGroups/rg", **role(roles.MONITORING_CONTRIBUTOR))
    (found,) = facts.access_changes([old], [new])
    assert found.kind == "widened" and not any(r.startswith("scope") for r in found.reasons)


@pytest.mark.parametrize("broad,narrow,ancestor", [
    (SUB, SUB + "/resourceGroups/rg", True),
    (SUB + "/", SUB + "/resourceGroups/rg", True),
    (SUB.upper(), SUB + "/resourceGroups/rg", True),
    (SUB, SUB + "0/resourceGroups/rg", False),  # a look-alike: another subscription whose id starts the same
    ("/subscriptions/3c8d", SUB, False),
    (SUB, SUB, False),
    (SUB, SUB.upper() + "/", False),
    (SUB + "/resourceGroups/rg", SUB, False),
])
def test_an_ancestor_scope_is_a_whole_path_prefix(broad, narrow, ancestor):
    assert facts._is_ancestor(broad, narrow) is ancestor


def test_a_scope_that_only_looks_broader_is_not_a_widening():
    found = change({"scope": SUB + "0/resourceGroups/rg"}, {})
    assert found is not None and found.kind == "changed"


def test_grants_through_different_channels_do_not_pair():
    old, new = grant(via="Lighthouse"), grant(via="role assignment", **role(roles.OWNER))
    assert sorted(c.kind for c in facts.access_changes([old], [new])) == ["added", "removed"]


def test_changes_are_ordered_widened_added_changed_removed():
    base = [grant(), grant(principal_id="p-changed", **role(roles.MONITORING_CONTRIBUTOR)),
            grant(principal_id="p-removed")]
    head = [grant(**role(roles.OWNER)), grant(principal_id="p-changed"), grant(principal_id="p-added")]
    assert [c.kind for c in facts.access_changes(base, head)] == ["widened", "added", "changed", "removed"]


# --- outputs: both sides ---------------------------------------------------------------------------------------

def test_an_output_change_keeps_each_side_where_it_was():
    (row,) = facts.compare_outputs({"o": "before"}, {"o": "after"})
    assert (row.before, row.after, row.op) == ("before", "after", "changed")
    assert (row.secret_before, row.secret_after) == (False, False)


def test_only_a_secret_that_became_plain_stopped_being_secret():
    rows = {o.name: o for o in facts.compare_outputs(
        {"became-secret": "x", "stayed": "[secret]", "plain": "a", "removed": "[secret]"},
        {"became-secret": "[secret]", "stayed": "[secret]", "plain": "a", "added": "[secret]"})}
    assert [n for n, o in rows.items() if o.stopped_being_secret] == []
    assert (rows["stayed"].op, rows["plain"].op) == ("same", "same")
    assert (rows["removed"].secret_before, rows["removed"].secret_after) == (True, None)
    assert (rows["added"].secret_before, rows["added"].secret_after) == (None, True)
    (row,) = facts.compare_outputs({"k": "[secret]"}, {"k": "plain"})
    assert row.stopped_being_secret
    assert facts.compare_outputs(None, None) == []


# --- readers ----------------------------------------------------------------------------------------------

def test_a_role_is_read_from_the_last_guid_of_its_definition_id_in_any_case():
    rid = f"{SUB.upper()}/providers/Microsoft.Authorization/roleDefinitions/{roles.READER.guid.upper()}"
    assert facts.role_of(rid) == ("Reader", roles.READER.guid)
    assert facts.role_of(roles.OWNER.guid) == (roles.OWNER.name, roles.OWNER.guid)
    assert facts.role_of("not-a-guid") == ("unknown role", "not-a-guid")


@pytest.mark.parametrize("rid,sub", [
    (SUB + "/resourceGroups/rg", SUB.split("/")[2]),
    (SUB.upper().replace("SUBSCRIPTIONS", "Subscriptions") + "/x", SUB.split("/")[2]),
    ("/providers/Microsoft.Management/managementGroups/mg", ""),
    ("", ""), ("/subscriptions", ""),
])
def test_the_subscription_of_an_id_is_lowered_and_only_from_a_subscription_path(rid, sub):
    assert facts.subscription_of(rid) == sub


@pytest.mark.parametrize("value,minutes", [("PT8H", 480), ("PT30M", 30), ("PT1H30M", 90), ("PT0M", 0),
                                           ("P1D", 0), ("", 0), (None, 0), ("pt8h", 0)])
def test_durations_in_minutes(value, minutes):
    assert facts.duration_minutes(value) == minutes


def test_a_singleton_child_reads_by_its_type_in_any_case():
    rid = SUB + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1/blobServices/Default"
    assert facts.resource_short(rid) == ("st1/blobServices", "Microsoft.Storage/storageAccounts/blobServices")


def test_log_selection_drops_disabled_entries_and_prefers_groups():
    assert facts.log_selection({"logs": [{"category": "A", "enabled": False}, {"category": "B"}]}) == "categories B"
    assert facts.log_selection({"logs": [{"category": "A"}, {"categoryGroup": "audit"}]}) == "group audit"
    assert facts.log_selection({"logs": [{"categoryGroup": "allLogs", "enabled": False}]}) == "none"
    assert facts.metrics_selection({"metrics": [{"category": "AllMetrics", "enabled": False}]}) == "off"
    assert facts.metrics_selection({"metrics": [{"category": "AllMetrics"}]}) == "on (AllMetrics)"
