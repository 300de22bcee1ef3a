"""Azure's naming rules (components/facts/naming.py NAME_RULES; Microsoft, "Naming rules and restrictions for
Azure resources"): each rule's bounds and characters, and the names the program derives fit them."""

from __future__ import annotations

import pytest

from components.facts import naming


@pytest.mark.parametrize(("rule", "good", "bad"), [
    ("resourceGroup", ["r", "rg-mssp_(prod).1", "r" * 90, "rg-äö"], ["", "r" * 91, "rg.", "rg/x", "rg x", "rg#1"]),
    ("workspace", ["law1", "law-mssp-sentinel", "l" * 63], ["law", "l" * 64, "-law", "law-", "law_mssp", "law.x"]),
    ("workflow", ["w", "la-splunk-contoso", "a(b)_c.d-e", "w" * 80], ["", "w" * 81, "la splunk", "la/splunk"]),
])
def test_rules_accept_and_refuse_by_microsofts_table(rule: str, good: list[str], bad: list[str]) -> None:
    for name in good:
        assert naming.name_problem(rule, name) is None, name
    for name in bad:
        problem = naming.name_problem(rule, name)
        assert problem is not None and "allowed:" in problem and naming.NAME_RULES[rule].resource_type in problem, name


def test_every_catalog_type_has_its_naming_rule() -> None:
    from components.facts import catalog

    for resource_type in catalog.supported_types():
        assert naming.NAME_RULES[resource_type].resource_type == resource_type


def test_names_read_from_resource_ids_compare_case_insensitively() -> None:
    # ARM may return a name in another case than it was created in: an id's spelling is not refused.
    assert naming.name_problem("Microsoft.Storage/storageAccounts", "STCONTOSO") is not None
    assert naming.name_problem("Microsoft.Storage/storageAccounts", "STCONTOSO", ignore_case=True) is None
    assert naming.name_problem("Microsoft.Storage/storageAccounts", "st_contoso", ignore_case=True) is not None


def test_a_huge_name_is_cut_when_echoed() -> None:
    problem = naming.name_problem("workspace", "x" * 100_000)
    assert problem is not None and "(100000 characters)" in problem and len(problem) < 400


def test_the_derived_splunk_workflow_name_fits_for_the_longest_customer_name() -> None:
    longest = "a" + "b" * 38 + "c"  # customer.name: 2-40 characters (components/config/base.py Slug)
    assert naming.name_problem("workflow", f"la-splunk-{longest}") is None
