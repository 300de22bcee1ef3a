"""`mssp drift --settings` comparison, by class: both sides of every changed column, every comparison of
Azure ids and names case-insensitively (as ARM compares them), the foreign-setting rule, the counts and
the report's sections. Pure functions only (compare_target, expected_settings, to_json, render_markdown)."""

from __future__ import annotations

from typing import Any

import pytest

from mssp.discover.discovery import ExistingSetting
from mssp.drift import settings as sd

WS = "/subscriptions/s1/resourceGroups/rg-mssp/providers/Microsoft.OperationalInsights/workspaces/law-mssp"
OTHER_WS = "/subscriptions/s1/resourceGroups/rg-other/providers/Microsoft.OperationalInsights/workspaces/law-x"
TARGET = "/subscriptions/s2/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"


def expected(**overrides: Any) -> sd.Expected:
    fields: dict[str, Any] = {"target": TARGET, "name": "mssp-sentinel", "logical_name": "diag-kv",
                              "workspace_id": WS, "logs": ("AuditEvent",), "metrics": ("AllMetrics",),
                              "destination_type": "Dedicated"}
    fields.update(overrides)
    return sd.Expected(**fields)


def existing(**overrides: Any) -> ExistingSetting:
    fields: dict[str, Any] = {"id": f"{TARGET}/providers/microsoft.insights/diagnosticSettings/mssp-sentinel",
                              "name": "mssp-sentinel", "workspace_id": WS, "logs": ("AuditEvent",),
                              "metrics": ("AllMetrics",), "other_destinations": (), "destination_type": "Dedicated"}
    fields.update(overrides)
    return ExistingSetting(**fields)


# --- both sides of every changed column -------------------------------------------------------------

@pytest.mark.parametrize("column,change,expected_side,actual_side", [
    ("workspaceId", {"workspace_id": OTHER_WS}, WS, OTHER_WS),
    ("logAnalyticsDestinationType", {"destination_type": None}, "Dedicated", None),
    ("logs", {"logs": ("AuditEvent", "AzurePolicyEvaluationDetails")}, ["AuditEvent"],
     ["AuditEvent", "AzurePolicyEvaluationDetails"]),
    ("logs", {"logs": ()}, ["AuditEvent"], []),
    ("metrics", {"metrics": ()}, ["AllMetrics"], []),
    ("destinations", {"other_destinations": ("storageAccountId", "eventHubName")}, [],
     ["eventHubName", "storageAccountId"]),
])
def test_a_changed_column_shows_the_plan_as_expected_and_azure_as_actual(column, change, expected_side, actual_side):
    # Bug caught: the expected and actual sides of a column swapped (or one side read from the wrong
    # object), so the report tells the reviewer to restore what Azure already holds.
    (finding,) = sd.compare_target([expected()], [existing(**change)])
    assert finding.kind == "changed" and finding.setting == "mssp-sentinel" and finding.target == TARGET
    assert list(finding.changes) == [column], "only the column that differs is reported"
    assert finding.changes[column] == {"expected": expected_side, "actual": actual_side}
    assert column in finding.detail


def test_every_column_that_differs_is_reported_not_only_the_first():
    actual = existing(workspace_id=OTHER_WS, destination_type=None, logs=("X",), metrics=(), other_destinations=("s",))
    (finding,) = sd.compare_target([expected()], [actual])
    assert list(finding.changes) == ["workspaceId", "logAnalyticsDestinationType", "logs", "metrics", "destinations"]


def test_a_destination_type_set_in_azure_but_not_in_the_plan_is_a_change():
    (finding,) = sd.compare_target([expected(destination_type=None)], [existing(destination_type="Dedicated")])
    assert finding.changes == {"logAnalyticsDestinationType": {"expected": None, "actual": "Dedicated"}}


def test_an_empty_destination_type_is_the_same_as_none_on_either_side():
    assert sd.compare_target([expected(destination_type="")], [existing(destination_type=None)]) == []
    assert sd.compare_target([expected(destination_type=None)], [existing(destination_type="")]) == []


# --- ids and names: ARM compares them case-insensitively ----------------------------------------------

@pytest.mark.parametrize("actual", [
    existing(name="MSSP-Sentinel"),
    existing(workspace_id=WS.upper()),
    existing(workspace_id=WS + "/"),
    existing(workspace_id=" " + WS.lower() + " "),
    existing(logs=("auditevent",), metrics=("allmetrics",)),
    existing(logs=("AuditEvent",), metrics=("ALLMETRICS",)),
])
def test_a_setting_that_differs_only_in_case_or_a_trailing_slash_is_clean(actual):
    # Bug caught: a case-sensitive comparison of a name, workspace id or category reported drift that
    # is not there (ARM returns ids in whatever case it stored them).
    assert sd.compare_target([expected()], [actual]) == []


def test_case_insensitive_on_the_plan_side_too():
    plan = expected(name="MSSP-SENTINEL", workspace_id=WS.upper(), logs=("AUDITEVENT",), metrics=("allMetrics",))
    assert sd.compare_target([plan], [existing()]) == []


def test_categories_in_another_order_are_clean_but_a_missing_one_is_not():
    plan = expected(logs=("A", "B", "C"))
    assert sd.compare_target([plan], [existing(logs=("c", "a", "B"))]) == []
    (finding,) = sd.compare_target([plan], [existing(logs=("a", "b"))])
    assert finding.changes["logs"] == {"expected": ["A", "B", "C"], "actual": ["a", "b"]}


def test_a_missing_setting_is_missing_whatever_else_is_on_the_resource():
    other = existing(name="someone-else", workspace_id=OTHER_WS)
    (finding,) = sd.compare_target([expected()], [other])
    assert (finding.kind, finding.setting, finding.target) == ("missing", "mssp-sentinel", TARGET)


# --- foreign settings -------------------------------------------------------------------------------

def test_our_own_setting_in_another_case_is_never_foreign():
    # Bug caught: the name check that skips our own setting compared case-sensitively, so our setting
    # was reported both as clean and as a foreign duplicate of itself.
    assert sd.compare_target([expected()], [existing(name="MSSP-SENTINEL")]) == []


@pytest.mark.parametrize("workspace", [WS, WS.upper(), WS + "/"])
def test_another_setting_to_the_mssp_workspace_with_a_shared_category_is_foreign(workspace):
    foreign = existing(name="customer-copy", workspace_id=workspace, logs=("auditevent", "Other"), metrics=())
    findings = sd.compare_target([expected()], [existing(), foreign])
    (finding,) = findings
    assert finding.kind == "foreign" and finding.setting == "customer-copy" and finding.target == TARGET
    assert "auditevent" in finding.detail and "Other" not in finding.detail and "`mssp-sentinel`" in finding.detail
    assert "Azure Policy" not in finding.detail


def test_a_shared_metric_alone_makes_a_setting_foreign_case_insensitively():
    foreign = existing(name="customer-copy", logs=("Unrelated",), metrics=("allmetrics",))
    (finding,) = sd.compare_target([expected()], [existing(), foreign])
    assert finding.kind == "foreign" and "allmetrics" in finding.detail


def test_a_setting_to_another_workspace_or_without_shared_categories_is_not_foreign():
    to_elsewhere = existing(name="siem-2", workspace_id=OTHER_WS)
    disjoint = existing(name="siem-3", logs=("Unrelated",), metrics=("Other",))
    assert sd.compare_target([expected()], [existing(), to_elsewhere, disjoint]) == []


@pytest.mark.parametrize("name", ["setbypolicy", "setByPolicy-LogAnalytics", "SETBYPOLICY_x"])
def test_a_foreign_setting_made_by_azure_policy_says_to_change_the_assignment(name):
    (finding,) = sd.compare_target([expected()], [existing(), existing(name=name)])
    assert finding.kind == "foreign" and "Azure Policy" in finding.detail


def test_a_foreign_setting_is_reported_once_even_when_it_overlaps_several_of_ours():
    ours = [expected(), expected(name="second", logical_name="diag-kv-2")]
    foreign = existing(name="dup")
    findings = sd.compare_target(ours, [existing(), existing(name="second"), foreign])
    assert [(f.kind, f.setting) for f in findings] == [("foreign", "dup")]


# --- plan side: what the plan expects ------------------------------------------------------------------

def manifest(inputs: dict[str, Any], rtype: str = sd.DIAGNOSTIC_SETTING) -> dict[str, Any]:
    return {"resources": [
        {"type": "pulumi:providers:azure-native", "name": "prov", "inputs": {"subscriptionId": "s9"}},
        {"type": rtype, "name": "diag-x", "provider": "prov", "inputs": inputs},
    ]}


def test_disabled_categories_are_not_expected_and_enabled_defaults_to_true():
    (e,) = sd.expected_settings(manifest({
        "resourceUri": TARGET, "name": "n", "workspaceId": WS,
        "logs": [{"category": "On", "enabled": True}, {"category": "Off", "enabled": False},
                 {"categoryGroup": "audit"}, {"category": "", "categoryGroup": "allLogs", "enabled": True}],
        "metrics": [{"category": "AllMetrics", "enabled": False}, {"category": "M"}],
        "logAnalyticsDestinationType": "",
    }))
    assert e.logs == ("On", "audit", "allLogs") and e.metrics == ("M",)
    assert (e.target, e.name, e.logical_name, e.workspace_id, e.destination_type) == (TARGET, "n", "diag-x", WS, None)


def test_the_activity_log_setting_targets_its_providers_subscription():
    (e,) = sd.expected_settings(manifest({"name": "n", "workspaceId": WS}, sd.SUBSCRIPTION_SETTING))
    assert e.target == "/subscriptions/s9"


def test_settings_are_sorted_by_target_case_insensitively():
    doc = {"resources": [
        {"type": sd.DIAGNOSTIC_SETTING, "name": n, "inputs": {"resourceUri": uri, "name": "n", "workspaceId": WS}}
        for n, uri in (("b", "/subscriptions/s/B"), ("a", "/subscriptions/s/a"), ("c", "/subscriptions/s/C"))
    ]}
    assert [e.logical_name for e in sd.expected_settings(doc)] == ["a", "b", "c"]


# --- counts, status and the report ----------------------------------------------------------------------

def drift(findings: list[sd.Finding], errors: list[str] | None = None) -> sd.SettingsDrift:
    calls = {"batch": 1, "batchPolls": 0, "single": 0, "refusedItems": 0, "pages": 0, "http": 1}
    return sd.SettingsDrift("st", 4, findings, errors or [], calls)


def test_counts_are_per_kind_and_an_error_outranks_drift():
    findings = [sd.Finding("missing", "/t1", "a", "d"), sd.Finding("missing", "/t2", "a", "d"),
                sd.Finding("changed", "/t3", "a", "d", {"logs": {"expected": ["A"], "actual": []}})]
    report = drift(findings).to_json()
    assert report["counts"] == {"missing": 2, "changed": 1}
    assert (report["status"], report["exitCode"], report["expectedSettings"]) == ("drift", 3, 4)
    assert drift([]).to_json()["status"] == "clean" and drift([]).exit_code == 0
    assert drift([*findings, sd.Finding("error", "/t4", "a", "403")]).exit_code == 1
    assert drift(findings, errors=["batch failed"]).status == "error"


def test_the_markdown_shows_expected_before_actual_for_every_changed_column():
    changes = {"workspaceId": {"expected": "PLAN-WS", "actual": "AZURE-WS"},
               "logs": {"expected": ["PlanCat"], "actual": ["AzureCat"]}}
    text = sd.render_markdown(drift([sd.Finding("changed", "/t", "mssp-sentinel", "d", changes)]).to_json())
    row = next(line for line in text.splitlines() if "PLAN-WS" in line)
    assert row.index("PLAN-WS") < row.index("→") < row.index("AZURE-WS")
    assert row.index("PlanCat") < row.index("AzureCat")
    assert "## Changed outside Pulumi (1)" in text and "**Status: drift** (exit 3): 1 changed." in text


def test_the_markdown_lists_sections_most_severe_first_with_their_counts():
    findings = [sd.Finding("foreign", "/t", "f", "d"), sd.Finding("missing", "/t", "m1", "d"),
                sd.Finding("missing", "/t", "m2", "d"), sd.Finding("gone", "/t", "g", "d"),
                sd.Finding("error", "/t", "e", "d")]
    text = sd.render_markdown(drift(findings).to_json())
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads == ["## Could not read (1)", "## Resources gone (1)", "## Missing (2)",
                     "## Foreign settings to the MSSP workspace (1)"]
    assert "**Status: error** (exit 1)" in text


def test_a_long_value_is_cut_at_the_value_limit_not_dropped():
    long = "x" * (sd._VALUE_CHARS * 3)
    changes = {"workspaceId": {"expected": long, "actual": "short"}}
    text = sd.render_markdown(drift([sd.Finding("changed", "/t", "s", "d", changes)]).to_json())
    row = next(line for line in text.splitlines() if "short" in line)
    assert "x" * 100 in row and "x" * (sd._VALUE_CHARS + 1) not in row
