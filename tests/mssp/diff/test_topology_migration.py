"""A central -> customer migration as `mssp diff` shows it (mssp/diff/topology.py): every setting's destination
moving in place, the new workspace, the data that stays behind; and customer-mode guardrails judged with the
stack's own workspace and residency."""

from __future__ import annotations

import copy
from typing import Any

from conftest import PROJECT_DIR, example_manifest

from components.config import load_stack
from mssp.diff import command as diff
from mssp.plan.command import build_manifest

SETTINGS = ("azure-native:monitor:DiagnosticSetting", "azure-native:monitor:SubscriptionDiagnosticSetting")
OWN = {"mode": "customer", "subscriptionId": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "resourceGroup": "rg-fab-sentinel",
       "name": "law-fabrikam", "location": "westeurope"}


def migrated(stack_doc, write_stack, **workspace: Any) -> dict[str, Any]:
    doc = stack_doc("fabrikam")
    doc["config"]["mssp-sentinel:customer"]["workspace"] = {**OWN, **workspace}
    return build_manifest("fabrikam", PROJECT_DIR, write_stack(doc, "fabrikam"))


def report(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    platform = example_manifest("mssp")
    stacks = diff.diff_sides({"mssp": platform, "fabrikam": base}, {"mssp": platform, "fabrikam": head})
    return next(s for s in stacks if s["stack"] == "fabrikam")


def test_central_to_customer_shows_every_setting_moving_and_the_data_staying(stack_doc, write_stack):
    base = example_manifest("fabrikam")
    head = migrated(stack_doc, write_stack)
    s = report(base, head)
    mssp_ws = load_stack("mssp", PROJECT_DIR).platform.workspace_id
    own = f"/subscriptions/{OWN['subscriptionId']}/resourceGroups/{OWN['resourceGroup']}/providers/" \
          f"Microsoft.OperationalInsights/workspaces/{OWN['name']}"
    settings = {r["name"] for r in base["resources"] if r["type"] in SETTINGS}
    assert settings
    # Every setting: an in-place update whose destination moves; none deleted, replaced or left behind.
    assert {m["name"] for m in s["destinationMoves"]} == settings
    assert all((m["from"], m["to"], m["op"]) == (mssp_ws, own, "update") for m in s["destinationMoves"])
    ops = {c["name"]: c["op"] for c in s["changes"]}
    assert all(ops[n] == "update" for n in settings)
    assert {c["type"] for c in s["changes"] if c["op"] == "create"} >= {
        "azure-native:operationalinsights:Workspace", "azure-native:securityinsights:SentinelOnboardingState"}
    topo = s["topologyChange"]
    assert (topo["from"]["topology"], topo["to"]["topology"]) == ("central", "customer")
    assert topo["settingsMoving"] == len(settings)
    assert topo["dataStays"] and mssp_ws in topo["dataStays"][0] and "retention" in topo["dataStays"][0]
    # Judged with the stack's own workspace: moving to it is not a destination violation.
    assert not [p for p in s["policies"] if p["level"] == "mandatory"], s["policies"]
    md = diff.render_markdown([s], "base", "head")
    assert "central → **customer**" in md and "stay there until its retention ends" in md
    assert md.count("change destination in place") == 1 and f"`{own}`" in md


def test_a_setting_sent_elsewhere_in_customer_mode_is_still_refused(stack_doc, write_stack):
    # Catches: the per-stack context letting a customer-mode plan send a setting to any workspace it names.
    head = migrated(stack_doc, write_stack)
    tampered = copy.deepcopy(head)
    setting = next(r for r in tampered["resources"] if r["type"] == SETTINGS[0])
    setting["inputs"]["workspaceId"] = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/x/providers/"
                                       "Microsoft.OperationalInsights/workspaces/attacker")
    s = report(example_manifest("fabrikam"), tampered)
    found = [p for p in s["policies"] if p["policy"] == "diagnostic-settings-to-mssp-workspace"]
    assert found and found[0]["level"] == "mandatory" and "attacker" in found[0]["message"]


def test_a_workspace_the_plan_does_not_create_is_not_taken_as_the_customers_own(stack_doc, write_stack):
    head = copy.deepcopy(migrated(stack_doc, write_stack))
    head["resources"] = [r for r in head["resources"] if r["type"] != "azure-native:operationalinsights:Workspace"]
    s = report(example_manifest("fabrikam"), head)
    assert [p for p in s["policies"] if p["policy"] == "diagnostic-settings-to-mssp-workspace"]


def test_residency_is_judged_per_stack_in_the_diff(stack_doc, write_stack):
    doc = stack_doc("fabrikam")
    doc["config"]["mssp-sentinel:customer"]["dataResidency"] = {"allowedRegions": ["northeurope"]}
    head = build_manifest("fabrikam", PROJECT_DIR, write_stack(doc, "fabrikam"))
    s = report(example_manifest("fabrikam"), head)
    assert [p for p in s["policies"] if p["policy"] == "data-residency" and p["level"] == "mandatory" and p["new"]]


def test_an_unchanged_topology_says_nothing():
    s = report(example_manifest("fabrikam"), example_manifest("fabrikam"))
    assert s["topologyChange"] is None and s["destinationMoves"] == []


def test_template_mode_shows_the_workspace_delegation_the_customer_must_deploy(stack_doc, write_stack):
    # fabrikam is in Lighthouse template mode: the new workspace group's delegation is the customer's to deploy,
    # and the diff's access changes must say so (not "no authorization is added").
    s = report(example_manifest("fabrikam"), migrated(stack_doc, write_stack))
    added = {(a["after"]["role"], a["after"]["scope"], a["after"]["via"]) for a in s["accessChanges"] if a["change"] == "added"}
    scope = f"/subscriptions/{OWN['subscriptionId']}/resourceGroups/{OWN['resourceGroup']}"
    assert ("Log Analytics Contributor", scope, "Lighthouse template") in added
    assert ("Microsoft Sentinel Contributor", scope, "Lighthouse template") in added
