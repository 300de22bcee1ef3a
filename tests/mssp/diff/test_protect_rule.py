"""Which deletes and replaces the engine refuses because of `protect`, as `mssp diff` reports them.

The engine's rule (pulumi/pulumi#8873, "Allow replace if either old or new protect is false";
pkg/resource/deploy/step_generator.go at v3.274.0, `if new.Protect && old.Protect` refuses a replace;
step.go's DeleteStep refuses a delete when `s.old.Protect`): a replace is refused only when the resource is
protected both before and after the change, a delete when it was protected before; creates and updates
never. Bug this catches: the diff decided "Pulumi refuses" for a replace from the base side alone, so a
change that unprotects and replaces in one update was reported as blocked.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
from conftest import by_type, example_manifest

from mssp.diff.command import compare_resources, diff_stack
from mssp.diff.markdown import render

SETTING = "azure-native:monitor:DiagnosticSetting"


def engine_refuses(op: str, before: bool | None, after: bool | None) -> bool:
    return (op == "delete" and bool(before)) or (op == "replace" and bool(before) and bool(after))


def sides(op: str, before: bool, after: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    resource = by_type(example_manifest("fabrikam"), SETTING)[0]
    old, new = copy.deepcopy(resource), copy.deepcopy(resource)
    old["options"]["protect"], new["options"]["protect"] = before, after
    if op == "update":
        new["inputs"]["logAnalyticsDestinationType"] = "AzureDiagnostics-changed"
    if op == "replace":
        new["inputs"]["name"] = "renamed"  # `name` forces a replacement (mssp.diff.command.FORCES_REPLACEMENT)
    return ([] if op == "create" else [old]), ([] if op == "delete" else [new])


CASES = [(op, before, after) for op, (before, after) in itertools.product(
    ("create", "update", "replace", "delete"), itertools.product((False, True), repeat=2))]


@pytest.mark.parametrize("op, before, after", CASES)
def test_every_operation_with_every_base_and_head_protect(op, before, after):
    base, head = sides(op, before, after)
    (change,), _ = compare_resources(base, head)
    assert change.op == op
    # A side that does not exist has no protect of its own.
    expected = engine_refuses(op, before if base else None, after if head else None)
    assert change.blocked_by_protect is expected
    assert change.to_json()["blockedByProtect"] is expected

    m_base = {"stack": "fabrikam", "resources": base, "outputs": {}, "policies": []}
    m_head = {"stack": "fabrikam", "resources": head, "outputs": {}, "policies": []}
    text = render([diff_stack("fabrikam", m_base, m_head)], "base", "head")
    assert ("⛔" in text) is expected
    if op == "replace" and before and not after:
        assert "Pulumi replaces it" in text
