"""Offboarding under the real Pulumi engine: `mssp offboard STACK --execute --yes` runs the real
`pulumi destroy` of a freshly onboarded customer and verifies against the local Azure; afterwards the
local Azure holds nothing of the stack's but what the program retains by design (retainOnDelete).
Each customer here is written from scratch and onboarded by this module, so the shared deployment of
the example stacks stays intact for the other tests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from compare import assigned_values, compare
from realengine_support import (  # noqa: F401 (fixtures)
    Deployment,
    deployment,
    engine_bin_dir,
    local_azure,
    signed_in,
)

from testing.engine import add_resources, held_by_local_azure

pytestmark = pytest.mark.realengine

CUSTOMERS = {
    # Lighthouse, deploy mode: Pulumi creates the delegation with the customer's Owner credentials.
    "tailspin": ("lighthouse", "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d", "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e"),
    # Direct model: the MSSP's application gets a service principal in the customer tenant (retained).
    "wingtip": ("direct", "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "8d9e0f1a-2b3c-4d4e-9f5a-6b7c8d9e0f1a"),
}


def _stack_file(name: str, model: str, tenant: str, sub: str) -> str:
    lighthouse = ("" if model == "direct" else
                  "    lighthouse:\n      mode: deploy\n      offerName: Acme MSSP - Sentinel log forwarding\n")
    return (f"config:\n  mssp-sentinel:kind: customer\n  mssp-sentinel:customer:\n    name: {name}\n"
            f"    displayName: {name.title()} Ltd\n    tenantId: {tenant}\n"
            f"    platformStack: organization/mssp-sentinel/mssp\n    accessModel: {model}\n"
            f"    subscriptions:\n      - id: {sub}\n        displayName: {name.title()} Production\n{lighthouse}"
            f"    forwarding:\n      inventory: stacks/inventories/{name}.yaml\n      logs: allLogs\n")


def _inventory(sub: str, name: str) -> list[dict[str, str]]:
    base = f"/subscriptions/{sub}/resourceGroups/rg-{name}/providers"
    return [{"id": f"{base}/Microsoft.KeyVault/vaults/kv-{name}", "type": "Microsoft.KeyVault/vaults"},
            {"id": f"{base}/Microsoft.Network/networkSecurityGroups/nsg-{name}", "type": "Microsoft.Network/networkSecurityGroups"}]


@pytest.mark.parametrize("customer", sorted(CUSTOMERS))
def test_offboard_execute_destroys_for_real_and_leaves_only_what_is_retained_by_design(
        deployment: Deployment, signed_in: Any, customer: str) -> None:
    from mssp.cli import main

    model, tenant, sub = CUSTOMERS[customer]
    project, arm = deployment.project, deployment.arm
    (project.root / "stacks" / f"Pulumi.{customer}.yaml").write_text(_stack_file(customer, model, tenant, sub), encoding="utf-8")
    rows = _inventory(sub, customer)
    (project.root / "stacks" / "inventories" / f"{customer}.yaml").write_text(
        "resources:\n" + "".join(f"- id: {r['id']}\n  type: {r['type']}\n" for r in rows), encoding="utf-8")
    add_resources(arm, rows)
    arm.readable.add(sub)
    arm.home_tenants[sub] = tenant
    project.up(customer)
    state = project.export(customer)["deployment"]["resources"]
    # A customer written from scratch: its state equals its offline plan too (compare.py).
    plan_file = project.root.parent / f"{customer}.plan.json"
    assert project.mssp("plan", customer, "--json", str(plan_file)).returncode == 0
    platform = project.export("mssp")["deployment"]["resources"]
    result = compare(state, json.loads(plan_file.read_text(encoding="utf-8"))["resources"],
                     assigned_values([*state, *platform], arm.graph.object_ids()))
    assert result.ok(), "\n".join(result.problems)
    before = [r for r in state
              if r.get("custom") and r.get("id") and not r["type"].startswith(("pulumi:providers:", "pulumi:pulumi:"))]
    assert before and all(held_by_local_azure(arm, r["id"]) for r in before)

    out = project.root.parent / f"offboard-{customer}.json"
    with signed_in(customer):
        code = main(["offboard", customer, "--execute", "--yes", "--project-dir", str(project.root), "--json", str(out)])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert (code, report["status"]) == (0, "verified"), report
    assert report["destroy"]["exitCode"] == 0
    assert report["verification"]["counts"]["removed"] == len(report["expectedSettings"]) > 0

    left = {r["urn"]: held_by_local_azure(arm, r["id"]) for r in before}
    retained = {r["urn"] for r in before if r.get("retainOnDelete")}
    assert {u for u, held in left.items() if held} == retained
    assert (model == "direct") == bool(retained)  # the direct model keeps the customer-tenant principals
    assert project.export(customer)["deployment"].get("resources") in (None, [])
