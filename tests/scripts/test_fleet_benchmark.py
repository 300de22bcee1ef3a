"""The fleet benchmark's parts: the synthetic fleet it generates and its settings-drift measurement.

No timing assertions: the fleet's shape, and that the drift measurement counts calls on the fake
server within ceil(S/20) plus the fallback reads of refused answers.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("mssp_fleet_benchmark", REPO / "scripts" / "fleet_benchmark.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fleet = _load()


def test_the_catalog_change_edits_a_file_that_exists():
    # Bug: a moved catalog (the layout changed) makes the measurement fail after minutes of planning.
    assert (REPO / fleet.CATALOG_FILE).is_file()
    assert "CATALOG" in (REPO / fleet.CATALOG_FILE).read_text()


def test_the_fleet_is_a_committed_repository_of_small_and_large_customers(tmp_path):
    repo, smalls, larges = fleet.write_fleet(tmp_path, 3, 4, 1, 25)
    assert smalls == ["cust-000", "cust-001", "cust-002"] and larges == ["big-0"]
    stacks = sorted(p.name for p in (repo / "stacks").glob("Pulumi.*.yaml"))
    assert stacks == ["Pulumi.big-0.yaml", "Pulumi.cust-000.yaml", "Pulumi.cust-001.yaml", "Pulumi.cust-002.yaml",
                      "Pulumi.mssp.yaml"]
    assert (repo / "stacks" / "inventories" / "big-0.yaml").read_text().count("- id: ") == 25
    assert (repo / "stacks" / "inventories" / "cust-001.yaml").read_text().count("- id: ") == 4
    assert "name: cust-001" in (repo / "stacks" / "Pulumi.cust-001.yaml").read_text()
    assert fleet.git(repo, "status", "--porcelain") == "" and "base" in fleet.git(repo, "tag")
    # A fleet the uniqueness check accepts (no shared tenant, subscription or resource): each customer
    # of the synthetic fleet loads, and the plan would not refuse it.
    from components.config import load_stack

    for name in [*smalls, *larges]:
        loaded = load_stack(name, repo)
        assert loaded.customer is not None and loaded.customer.name == name


def test_the_drift_measurement_counts_server_calls_within_the_bound(tmp_path, manifest):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(manifest("contoso")))
    out = tmp_path / "r.json"
    fleet.drift_child(plan, out)
    r = json.loads(out.read_text())
    assert r["status"] == "clean" and r["expected_settings"] > 0
    assert r["refused_items"] >= 1 and r["fallback_reads"] == r["refused_items"]
    assert r["server_calls"] == r["batch_calls"] + r["fallback_reads"] <= r["bound"]
    assert r["batch_calls"] == math.ceil(r["targets"] / 20)
    # A refresh reads every resource of the stack, settings and the rest.
    assert r["refresh_reads"] > r["expected_settings"]
