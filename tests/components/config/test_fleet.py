"""Fleet-wide uniqueness: no two customer stacks manage the same Azure objects (components/config/fleet.py).

The CI run of this file is the fleet check: `test_the_fleet_in_stacks_is_unique` loads every stack in
stacks/ through the config loader, which compares each customer stack with all the others.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT_DIR, read_stack

from components.config import load_stack
from components.config.fleet import FleetMember, claimed_ids, conflicts, other_members

CUSTOMER = "mssp-sentinel:customer"
NEW_TENANT = "11111111-2222-4333-8444-555555555555"
NEW_SUB_A = "22222222-3333-4444-8555-666666666666"
NEW_SUB_B = "33333333-4444-4555-8666-777777777777"
CONTOSO_SUB = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"
CONTOSO_KV = f"/subscriptions/{CONTOSO_SUB}/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv-contoso-prod"


def _own_copy(tmp_path: Path, name: str = "northwind") -> dict[str, Any]:
    """contoso's stack with everything a new customer must change changed (docs/operations/onboarding.md step 1)."""
    doc = copy.deepcopy(read_stack("contoso"))
    c = doc["config"][CUSTOMER]
    c["name"], c["displayName"], c["tenantId"] = name, "Northwind", NEW_TENANT
    c["subscriptions"] = [{"id": NEW_SUB_A, "displayName": "NW A"}, {"id": NEW_SUB_B, "displayName": "NW B"}]
    inventory = tmp_path / "northwind.yaml"
    kv = f"/subscriptions/{NEW_SUB_A}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-nw"
    inventory.write_text(yaml.safe_dump({"resources": [{"id": kv, "type": "Microsoft.KeyVault/vaults"}]}))
    c["forwarding"]["inventory"] = str(inventory)
    return doc


def _plan(run_cli: Callable[[list[str]], tuple[int, str, str]], tmp_path: Path, doc: dict[str, Any],
          stack: str = "northwind") -> tuple[int, str]:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, _, err = run_cli(["plan", stack, "--config", str(path), "--quiet"])
    return code, err


def test_an_unedited_copy_of_a_customer_stack_is_refused_naming_both_files(tmp_path: Path, run_cli: Any) -> None:
    code, err = _plan(run_cli, tmp_path, read_stack("contoso"), stack="contoso2")
    assert code == 2
    assert "Pulumi.contoso2.yaml" in err and "stacks/Pulumi.contoso.yaml" in err
    for key in ("customer.name", "customer.tenantId", "customer.subscriptions", "customer.forwarding.inventory",
                "customer.splunk.workflowName"):
        assert key in err, key
    assert "Traceback" not in err and "allowed" in err


def test_a_copy_with_everything_changed_plans(tmp_path: Path, run_cli: Any) -> None:
    code, err = _plan(run_cli, tmp_path, _own_copy(tmp_path))
    assert code == 0, err


@pytest.mark.parametrize(("what", "edit", "key"), [
    ("tenant", lambda c: c.update(tenantId="2B7C9D4E-5F6A-4B8C-9D0E-1F2A3B4C5D6E"), "customer.tenantId"),
    ("subscription", lambda c: c["subscriptions"].append({"id": CONTOSO_SUB.upper(), "displayName": "x"}),
     "customer.subscriptions"),
    ("workflow", lambda c: c["splunk"].update(workflowName="LA-Splunk-Contoso"), "customer.splunk.workflowName"),
    ("name", lambda c: c.update(name="contoso"), "customer.name"),
    # Bug: a copied displayName (or a subscription's) was accepted, so the customer's template instructions
    # and plans carried another client's name, although the onboarding page said it is refused.
    ("display name", lambda c: c.update(displayName="  contoso   LTD "), "customer.displayName"),
    ("subscription display name", lambda c: c["subscriptions"][0].update(displayName="Contoso Production"),
     "customer.subscriptions"),
])
def test_one_shared_object_is_enough_to_refuse(tmp_path: Path, run_cli: Any, what: str,
                                               edit: Callable[[dict[str, Any]], None], key: str) -> None:
    doc = _own_copy(tmp_path)
    edit(doc["config"][CUSTOMER])
    code, err = _plan(run_cli, tmp_path, doc)
    assert code == 2, what
    assert key in err and "Pulumi.northwind.yaml" in err
    if what.endswith("display name"):
        assert "another client's name" in err
    if what != "name":
        assert "stacks/Pulumi.contoso.yaml" in err


def test_a_shared_inventoried_resource_is_refused_whatever_its_spelling() -> None:
    # A resource lies in one subscription, so sharing one also shares that subscription; the resource rule
    # still names it on its own (the finding a reviewer can act on). Ids compare case-insensitively.
    member = FleetMember("northwind", "stacks/Pulumi.northwind.yaml", NEW_TENANT, frozenset({NEW_SUB_A}),
                         frozenset({CONTOSO_KV.lower()}), None)
    contoso = [m for m in other_members(PROJECT_DIR, "northwind", _values, _ids) if m.stack == "contoso"]
    ((key, message),) = conflicts(member, contoso)
    assert key == "customer.forwarding.inventory"
    assert "stacks/Pulumi.contoso.yaml" in message and "stacks/Pulumi.northwind.yaml" in message


def _values(path: Path) -> dict[str, Any]:
    from components.config import read_stack_values

    return read_stack_values(path)[0]


def _ids(path: Path) -> frozenset[str]:
    return claimed_ids(path)  # what the loader's fleet check reads


def test_the_fleet_in_stacks_is_unique() -> None:
    stacks = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))
    assert {"contoso", "fabrikam", "mssp"} <= set(stacks)
    customers = [s for s in stacks if load_stack(s, PROJECT_DIR).kind == "customer"]  # each load runs the check
    members = other_members(PROJECT_DIR, "", _values, _ids)
    assert sorted(m.stack for m in members) == customers
    for m in members:
        assert conflicts(m, members) == [], m.stack


def test_a_customer_workspace_in_another_customers_subscription_is_refused(tmp_path: Path, run_cli: Any) -> None:
    # Catches: two customers' data meeting in one subscription, the customer topology's workspace included.
    doc = _own_copy(tmp_path, name="acme")
    doc["config"][CUSTOMER]["workspace"] = {"mode": "customer", "subscriptionId": CONTOSO_SUB.upper(),
                                            "resourceGroup": "rg-acme-sentinel", "name": "law-acme", "location": "westeurope"}
    code, err = _plan(run_cli, tmp_path, doc, stack="acme")
    assert code == 2 and "stacks/Pulumi.contoso.yaml" in err and CONTOSO_SUB in err.lower()
    # and the other way round: a central customer listing the subscription of northwind's workspace
    doc = _own_copy(tmp_path, name="acme")
    ws_sub = read_stack("northwind")["config"][CUSTOMER]["workspace"]["subscriptionId"]
    doc["config"][CUSTOMER]["subscriptions"].append({"id": ws_sub, "displayName": "x"})
    code, err = _plan(run_cli, tmp_path, doc, stack="acme")
    assert code == 2 and "stacks/Pulumi.northwind.yaml" in err
