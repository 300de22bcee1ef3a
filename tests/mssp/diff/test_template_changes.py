"""`mssp diff` over template-mode stacks: a change to what the customer deploys (the exported Lighthouse
template) is a change, shown with every differing path and the note that the customer must deploy again.

Bug this catches: a widened SOC role or a renamed display name in a template-mode stack changes no Pulumi
resource, and the diff said "No stack changes." while the customer would deploy something else.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import read_stack

from mssp.plan.command import build_manifest


def _customer(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["mssp-sentinel:customer"]


def widen_soc_role(doc: dict[str, Any]) -> None:
    _customer(doc)["lighthouse"]["authorizations"][1]["role"] = "Microsoft Sentinel Responder"


def rename_soc_group(doc: dict[str, Any]) -> None:
    for auth in _customer(doc)["lighthouse"]["authorizations"]:
        auth["displayName"] = "SOC Team"


def rename_customer(doc: dict[str, Any]) -> None:
    _customer(doc)["displayName"] = "Fabrikam GmbH"


def rename_offer(doc: dict[str, Any]) -> None:
    _customer(doc)["lighthouse"]["offerName"] = "Another offer"


def add_eligible_authorization(doc: dict[str, Any]) -> None:
    _customer(doc)["lighthouse"]["authorizations"].append({
        "principalId": "6f1a3b8c-9d0e-4f2a-b1c4-5d6e7f809102", "displayName": "SOC Tier 3", "role": "Monitoring Contributor",
        "justInTime": {"maximumActivationDuration": "PT4H", "approvers": [
            {"principalId": "7a2b4c9d-0e1f-4a3b-82d5-6e7f80910213", "displayName": "SOC Leads"}]}})


def plan(write_stack: Callable[..., Path], doc: dict[str, Any], tmp_path: Path, name: str) -> Path:
    path = write_stack(doc, "fabrikam")
    out = tmp_path / f"{name}.json"
    out.write_text(json.dumps(build_manifest("fabrikam", config_file=path)))
    return out


@pytest.mark.parametrize("edit", [widen_soc_role, rename_soc_group, rename_customer, rename_offer,
                                  add_eligible_authorization])
def test_a_change_only_to_the_exported_template_shows_in_the_diff(run_cli, write_stack, tmp_path, edit):
    base_doc = read_stack("fabrikam")
    head_doc = copy.deepcopy(base_doc)
    edit(head_doc)
    base = plan(write_stack, base_doc, tmp_path, "base")
    head = plan(write_stack, head_doc, tmp_path, "head")
    code, stdout, err = run_cli(["diff", str(base), str(head), "--json", str(tmp_path / "report.json")])
    assert code == 0, err
    report = json.loads((tmp_path / "report.json").read_text())
    (stack,) = report["stacks"]
    assert stack["changed"] and stack["templateChanges"]
    # Nothing Pulumi manages changed: the template is the only change, and the reviewer is told so.
    assert stack["counts"]["create"] == stack["counts"]["update"] == stack["counts"]["delete"] == 0
    assert "No stack changes." not in stdout
    assert "Exported Lighthouse template" in stdout and "deploys the new template again" in stdout
    for change in stack["templateChanges"]:
        assert f"`{change['path']}`" in stdout


def test_an_unchanged_template_mode_stack_has_no_template_changes(run_cli, write_stack, tmp_path):
    doc = read_stack("fabrikam")
    base = plan(write_stack, doc, tmp_path, "base")
    code, stdout, _ = run_cli(["diff", str(base), str(base), "--json", str(tmp_path / "report.json")])
    assert code == 0
    assert json.loads((tmp_path / "report.json").read_text())["stacks"][0]["templateChanges"] == []
    assert "No stack changes." in stdout and "Exported Lighthouse template" not in stdout


def test_a_base_manifest_from_before_the_template_was_reviewed_is_not_a_change(run_cli, write_stack, tmp_path):
    # Older code wrote the delegation's properties only; comparing against it must not flag every template.
    doc = read_stack("fabrikam")
    head = json.loads(plan(write_stack, doc, tmp_path, "head").read_text())
    old = copy.deepcopy(head)
    delegation = old["review"]["delegationTemplate"]
    old["review"]["delegationTemplate"] = {
        "scopes": delegation["scopes"], "properties": delegation["template"]["resources"][0]["properties"]}
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(head))
    code, stdout, _ = run_cli(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert code == 0 and "Exported Lighthouse template" not in stdout
