"""The scale benchmark runs end to end at a tiny size and reports the documented structure.

No timing assertions: only that both sides ran in their own processes, registered the same number
of resources, and that the table and the JSON carry what docs/benchmarks.md "Scale benchmark" describes.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from components.facts import catalog
from components.forwarding.inventory import parse_inventory

REPO = Path(__file__).resolve().parents[2]


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("mssp_benchmark", REPO / "scripts" / "benchmark.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()


def test_synthetic_inventory_is_valid_and_spread_over_types_and_subscriptions():
    items = bench.synthetic_inventory(40)
    data = {"resources": [{"id": it.id, "type": it.type} for it in items]}
    parsed = parse_inventory(data, set(bench.SUBSCRIPTIONS))  # raises on any invalid entry
    assert len(parsed) == 40
    types = Counter(it.type for it in parsed)
    assert set(types) == {e.type for e in catalog.CATALOG if not e.sub_services}
    assert "Microsoft.Storage/storageAccounts" not in types
    assert {it.id.split("/")[2] for it in parsed} == set(bench.SUBSCRIPTIONS)


def test_write_project_builds_a_plannable_view(tmp_path):
    project = bench.write_project(tmp_path, 5)
    assert (project / "__main__.py").resolve() == REPO / "__main__.py"
    stack = (project / "stacks" / "Pulumi.bench.yaml").read_text(encoding="utf-8")
    assert "stacks/inventories/bench.yaml" in stack
    assert (project / "stacks" / "inventories" / "bench.yaml").read_text(encoding="utf-8").count("- id: ") == 5


def test_benchmark_tiny_size_reports_both_sides(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--sizes", "10", "--repeat", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| inventoried | registered | project s | baseline s | time ratio |" in printed
    assert "baseline peak MiB" in printed
    assert "target: project within 1.25x" in printed
    assert "GC share project / baseline" in printed

    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["target_ratio"] == 1.25
    assert "RecordingMonitor" in report["baseline"]
    (row,) = report["rows"]
    assert row["size"] == 10
    assert row["diagnostic_settings"] == 10  # no storage accounts: one inventory entry, one setting
    # Plus the customer's providers, components, identity, Lighthouse and Activity-log settings and
    # the platform stack's resources; the baseline registered as many (measure() checks it).
    assert row["registered"] > row["diagnostic_settings"]
    assert row["runs"] == 1
    # measure() refused a floor whose resource types differ from the plan's; the row says both sides agreed.
    assert row["custom_types"] and "azure-native:monitor:DiagnosticSetting" in row["custom_types"]
    for key in ("project_seconds", "baseline_seconds", "project_cpu_seconds", "baseline_cpu_seconds",
                "project_peak_mib", "baseline_peak_mib"):
        assert row[key] > 0, key
    assert row["time_ratio"] == pytest.approx(row["project_seconds"] / row["baseline_seconds"], rel=0.01)
    assert row["memory_ratio"] == pytest.approx(row["project_peak_mib"] / row["baseline_peak_mib"], rel=0.01)
    assert isinstance(row["meets_target"], bool)
    for key in ("project_gc_share", "baseline_gc_share"):
        assert 0 <= row[key] < 1, key
    assert row["cold_seconds"] > 0


def test_the_baseline_is_options_matched_and_free_of_project_code(tmp_path):
    """The floor registers what the plan's options make the SDK do, and imports no config models."""
    import subprocess

    folder = bench.write_baseline(tmp_path, 40, sql_audits=2)
    out = tmp_path / "b.json"
    proc = subprocess.run([sys.executable, "-c", bench.LAUNCH, str(tmp_path / "r.json"), "file",
                           str(folder / "cli.py"), "--json", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "r.json").read_text())["config_imported"] is False
    resources = json.loads(out.read_text())["resources"]
    assert len(resources) == 40
    kinds = Counter(r["type"] for r in resources)
    assert kinds["pulumi:pulumi:StackReference"] == 1 and kinds["pulumi:providers:azure-native"] == 9
    assert kinds["azure-native:monitor:DiagnosticSetting"] == 40 - bench.BASELINE_FIXED - 2
    assert kinds[bench.SQL_AUDIT] == 2  # the plan audits each inventoried SQL server
    # The plan's other resource types too: importing their SDK modules is part of the floor.
    for t in ("azure-native:managedservices:RegistrationAssignment", "azure-native:logic:Workflow",
              "azure-native:authorization:RoleAssignment"):
        assert kinds[t] >= 1, t
    # ...and none the plan does not register (a Lighthouse customer creates nothing with azuread): an SDK
    # module the floor imports for nothing would flatter the project.
    assert not [t for t in kinds if t.startswith(("azuread:", "pulumi:providers:azuread"))]
    settings = [r for r in resources if r["type"] == "azure-native:monitor:DiagnosticSetting"]
    ref = next(r["urn"] for r in resources if r["type"] == "pulumi:pulumi:StackReference")
    for r in settings:
        assert r["parent"] and r["provider"] and ref in r["options"]["dependsOn"] and len(r["options"]["dependsOn"]) == 2
        # The workspace comes from the StackReference's output, as the project's does.
        assert r["inputs"]["workspaceId"] == bench.BASELINE_WORKSPACE


def test_repeats_default_and_override():
    assert bench.repeats_for(100, None) == 7
    assert bench.repeats_for(1000, None) == 4
    assert bench.repeats_for(10_000, None) == 2
    assert bench.repeats_for(10_000, 1) == 1


@pytest.mark.parametrize("text", ["", "0", "ten", "100,-5"])
def test_bad_sizes_are_rejected(text):
    with pytest.raises(SystemExit):
        bench.main(["--sizes", text])
