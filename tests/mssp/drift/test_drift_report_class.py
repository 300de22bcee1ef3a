"""`mssp drift` report (mssp.drift.command.build_report / render_markdown), by class: both sides of every
changed property in their own words (Azure's value, the program's), the counts of every category and of
uncovered resources, and the status each kind of finding gives (an error outranks drift; drift without
listed steps is still drift)."""

from __future__ import annotations

from typing import Any

import pytest

from mssp.drift import command as dc
from mssp.drift import preview_json as pj

ROOT = "urn:pulumi:contoso::mssp-sentinel::pulumi:pulumi:Stack::root"


def urn(name: str, rtype: str = "azure-native:monitor:DiagnosticSetting") -> str:
    return f"urn:pulumi:contoso::mssp-sentinel::mssp:x:Y${rtype}::{name}"


def classification(*steps: dict[str, Any], summary: dict[str, int] | None = None) -> pj.Classification:
    doc = {"steps": [*steps, {"op": "same", "urn": ROOT}], "changeSummary": summary or {"same": 1}}
    return pj.classify(pj.parse(doc))


def report(cls: pj.Classification | None, errors: tuple[str, ...] = (), unattributed: dict[str, int] | None = None,
           coverage: list[dict[str, str]] | None = None) -> dict[str, Any]:
    assessment = dc.Assessment(errors=list(errors), unattributed=unattributed or {})
    return dc.build_report("contoso", {"kind": "file", "path": "p.json"}, cls, assessment, coverage)


def changed(name: str, current: Any, desired: Any) -> dict[str, Any]:
    return {"op": "update", "urn": urn(name), "oldState": {"outputs": {"logs": current}},
            "newState": {"inputs": {"logs": desired}}, "detailedDiff": {"logs": {"kind": "update", "inputDiff": False}}}


def test_a_changed_property_shows_azures_value_as_azure_and_the_programs_as_program():
    # Bug caught: the two sides swapped (or one side shown twice), so a reviewer restores the wrong value.
    text = dc.render_markdown(report(classification(changed("kv", "AZURE-SIDE", "PROGRAM-SIDE"))))
    (line,) = [ln for ln in text.splitlines() if "AZURE-SIDE" in ln]
    assert 'Azure `"AZURE-SIDE"`' in line and 'program `"PROGRAM-SIDE"`' in line
    assert line.index("Azure") < line.index("program")


def test_a_side_that_does_not_exist_is_not_shown_as_null():
    created = {"op": "update", "urn": urn("kv"), "oldState": {"outputs": {}}, "newState": {"inputs": {"logs": "new"}},
               "detailedDiff": {"logs": {"kind": "add", "inputDiff": False}}}
    text = dc.render_markdown(report(classification(created)))
    (line,) = [ln for ln in text.splitlines() if '"new"' in ln]
    assert "Azure" not in line and 'program `"new"`' in line and "(add)" in line


def test_a_secret_reads_as_secret_on_both_sides():
    text = dc.render_markdown(report(classification(changed("kv", "[secret]", "[secret]"))))
    assert text.count('`"[secret]"`') == 2


def test_every_category_is_counted_and_named():
    steps = [changed("a", 1, 2), changed("b", 1, 2),
             {"op": "delete", "urn": urn("c")},
             {"op": "refresh", "urn": urn("d")}, {"op": "create", "urn": urn("d")},
             {"op": "create", "urn": urn("e")},
             {"op": "replace", "urn": urn("f"), "replaceReasons": ["name"]}]
    r = report(classification(*steps))
    assert r["summary"] == {"delegation-removed": 0, "deleted": 1, "missing": 1, "replaced": 1, "changed": 2,
                            "removed-from-program": 1, "other": 0, "uncovered": 0}
    assert (r["status"], r["exitCode"]) == ("drift", 3)
    text = dc.render_markdown(r)
    assert ("**Status: drift** (exit 3): 1 deleted outside Pulumi, 1 missing from the state, 1 to be replaced, "
            "2 changed, 1 no longer in the program.") in text
    for heading in ("## Deleted outside Pulumi (1)", "## Not in the state (1)", "## Would be replaced (1)",
                    "## Changed (2)", "## No longer in the program (1)"):
        assert heading in text


def test_uncovered_resources_are_drift_and_counted():
    cov = [{"id": "/subscriptions/s/x", "type": "t", "reason": "not in the inventory"}]
    r = report(classification(), coverage=cov)
    assert (r["status"], r["summary"]["uncovered"]) == ("drift", 1)
    text = dc.render_markdown(r)
    assert "1 not covered by the inventory" in text and "## Not covered: in scope but not in the inventory (1)" in text
    clean = report(classification(), coverage=[])
    assert clean["status"] == "clean" and "Every in-scope resource is in the inventory." in dc.render_markdown(clean)


def test_changes_pulumi_counted_but_did_not_list_are_drift():
    r = report(classification(), unattributed={"update": 2})
    assert (r["status"], r["exitCode"]) == ("drift", 3)
    text = dc.render_markdown(r)
    assert "changes pending" in text and "update: 2" in text


@pytest.mark.parametrize("with_drift", [False, True])
def test_an_error_outranks_drift(with_drift):
    cls = classification(changed("a", 1, 2)) if with_drift else classification()
    r = report(cls, errors=("error: AuthorizationFailed",))
    assert (r["status"], r["exitCode"]) == ("error", 1)
    assert r["hints"] == [dc.ACCESS_HINT]
    text = dc.render_markdown(r)
    assert "**Status: error** (exit 1)" in text
    assert ("may be incomplete" in text) is with_drift


def test_an_error_that_is_not_about_access_gets_no_access_hint():
    assert report(classification(), errors=("error: something else",))["hints"] == []


def test_a_clean_report_is_clean():
    r = report(classification())
    assert (r["status"], r["exitCode"], r["resources"]) == ("clean", 0, [])
    assert "**Status: clean** (exit 0)" in dc.render_markdown(r)
