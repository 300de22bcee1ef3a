"""Scale benchmark: the offline plan of synthetic customers against the Pulumi SDK's own floor.

For each size (inventoried resources) this writes a synthetic customer (a stack file shaped like
stacks/Pulumi.contoso.yaml, four subscriptions, an inventory spread over every catalog type except
storage accounts, so one inventory entry is one diagnostic setting) into a temporary project view,
and plans it with `mssp.plan.command.build_manifest` in a FRESH Python process: config validation, inventory
loading, the platform stack's plan, the real `__main__.py` under the offline mocks, the manifest.

The baseline, measured in the same run, is as many bare
`azure_native.monitor.DiagnosticSetting`s as the plan registered resources (customer and platform
runs, components and providers included), registered by a generated program with no project code,
run through the same `mssp.plan.offline.run_program` (same `RecordingMonitor` over the same
`OfflineMocks`, same root-stack reset, same output collection), also in a fresh process. Same
monitor and mocks on both sides make it the fairest floor: the ratio is what the project's own code
adds on top of what the SDK (and the recording) costs per resource anyway.

Each child measures its own wall time and CPU time (from before its first Pulumi import to the end
of the plan) and its peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`), so memory is per size.
Children run one at a time (on a 2-core machine two at once would measure each other); project and
baseline alternate, several times per size, and each side keeps its fastest run, so that other work
on the machine is less likely to decide a ratio. `MSSP_BENCH_PROFILE=FILE` makes a child (run by
hand: `benchmark.py --child project DIR`) write its cProfile stats.

    python scripts/benchmark.py [--sizes 100,1000,10000] [--repeat N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from components.facts import catalog  # noqa: E402
from components.forwarding.inventory import InventoryItem, dump_inventory  # noqa: E402

STACK = "bench"
PLATFORM_STACK = "mssp"
TARGET_RATIO = 1.25
PROFILE_ENV = "MSSP_BENCH_PROFILE"  # a child writes its cProfile stats to this file when set
LARGE = 5000  # from this size on, two runs per side by default instead of three
# Fictitious subscriptions of the synthetic customer (valid GUID syntax, nobody's real ids).
SUBSCRIPTIONS = (
    "b0000000-0000-4000-8000-000000000001",
    "b0000000-0000-4000-8000-000000000002",
    "b0000000-0000-4000-8000-000000000003",
    "b0000000-0000-4000-8000-000000000004",
)
# Where a type's resources live under /providers/...: "<type segment>/<name>" pairs after the namespace.
_CHILD_PATHS = {"Microsoft.Sql/servers/databases": "servers/sql-{g}/databases/sqldb-{i}"}
# Storage accounts fan out to four service settings each; leaving them out keeps one entry = one setting.
BENCH_TYPES = tuple(e.type for e in catalog.CATALOG if not e.sub_services)
BASELINE_WORKSPACE = (
    "/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg-mssp-sentinel"
    "/providers/Microsoft.OperationalInsights/workspaces/law-mssp-sentinel"
)


def synthetic_id(rtype: str, i: int, subscription: str) -> str:
    namespace, _, path = rtype.partition("/")
    group = i // 50  # 50 resources a resource group, as a large tenant might have
    tail = _CHILD_PATHS.get(rtype, path + "/{short}-{i}").format(g=group, i=i, short=catalog.entry_for(rtype).short)
    return f"/subscriptions/{subscription}/resourceGroups/rg-bench-{group}/providers/{namespace}/{tail}"


def synthetic_inventory(size: int) -> list[InventoryItem]:
    """`size` resources, round-robin over BENCH_TYPES and SUBSCRIPTIONS."""
    return [
        InventoryItem(
            id=synthetic_id(BENCH_TYPES[i % len(BENCH_TYPES)], i, SUBSCRIPTIONS[i % len(SUBSCRIPTIONS)]),
            type=BENCH_TYPES[i % len(BENCH_TYPES)],
        )
        for i in range(size)
    ]


def synthetic_stack(template: dict[str, Any]) -> dict[str, Any]:
    """The example customer's stack file with the synthetic subscriptions and inventory."""
    doc = json.loads(json.dumps(template))
    customer = doc["config"]["mssp-sentinel:customer"]
    customer["name"] = STACK
    customer["displayName"] = "Benchmark customer (synthetic)"
    customer["subscriptions"] = [{"id": s, "displayName": f"Bench {n}"} for n, s in enumerate(SUBSCRIPTIONS, 1)]
    customer["forwarding"]["inventory"] = f"stacks/inventories/{STACK}.yaml"
    customer["forwarding"]["exclude"] = []
    return doc


def write_project(root: Path, size: int) -> Path:
    """A project view under `root`: the real program and components (symlinked), synthetic stacks."""
    project = root / "project"
    (project / "stacks" / "inventories").mkdir(parents=True)
    for name in ("__main__.py", "Pulumi.yaml", "components"):
        (project / name).symlink_to(REPO / name)
    (project / "stacks" / f"Pulumi.{PLATFORM_STACK}.yaml").symlink_to(REPO / "stacks" / f"Pulumi.{PLATFORM_STACK}.yaml")
    template = yaml.safe_load((REPO / "stacks" / "Pulumi.contoso.yaml").read_text(encoding="utf-8"))
    stack_doc = synthetic_stack(template)
    (project / "stacks" / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(stack_doc, sort_keys=False), encoding="utf-8")
    (project / "stacks" / "inventories" / f"{STACK}.yaml").write_text(dump_inventory(synthetic_inventory(size)),
                                                                      encoding="utf-8")
    return project


def baseline_program(count: int) -> str:
    """A program with no project code: `count` bare DiagnosticSettings, inputs shaped like the project's."""
    return (
        '"""Benchmark baseline: bare diagnostic settings, no project code."""\n'
        "import pulumi_azure_native as azure_native\n\n"
        f"for i in range({count}):\n"
        "    azure_native.monitor.DiagnosticSetting(\n"
        '        f"diag-{i}",\n'
        '        name="mssp-sentinel",\n'
        f'        resource_uri=f"/subscriptions/{SUBSCRIPTIONS[0]}/resourceGroups/rg-bench/providers/'
        'Microsoft.KeyVault/vaults/kv-{i}",\n'
        f'        workspace_id="{BASELINE_WORKSPACE}",\n'
        '        logs=[{"category_group": "allLogs", "enabled": True}],\n'
        '        metrics=[{"category": "AllMetrics", "enabled": True}],\n'
        "    )\n"
    )


def write_baseline(root: Path, count: int) -> Path:
    project = root / "baseline"
    project.mkdir()
    (project / "__main__.py").write_text(baseline_program(count), encoding="utf-8")
    return project


# ---- children (one measurement each, in a fresh interpreter) ----


def _peak_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_project(project_dir: Path) -> dict[str, Any]:
    start, cpu_start = time.perf_counter(), time.process_time()
    from mssp.plan.command import build_manifest

    manifest = build_manifest(STACK, project_dir)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak = _peak_mib()
    # The plan also registers the platform stack's resources (its outputs feed the customer's
    # StackReference); count them too, after the clock and the peak were read.
    from components.config import stack_file, stack_values
    from mssp.plan.offline import run_program

    platform = run_program(project_dir, PLATFORM_STACK, *stack_values(stack_file(project_dir, PLATFORM_STACK), project_dir, PLATFORM_STACK))
    resources = manifest["resources"]
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_mib": peak,
        # Components, providers and custom resources of both runs (not the root stacks).
        "registered": len(resources) + len(platform.registrations),
        "diagnostic_settings": sum(1 for r in resources if r["type"] == "azure-native:monitor:DiagnosticSetting"),
    }


def child_baseline(project_dir: Path) -> dict[str, Any]:
    start, cpu_start = time.perf_counter(), time.process_time()
    from mssp.plan.offline import run_program

    run = run_program(project_dir, "baseline", {}, set())
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_mib": _peak_mib(),
        "registered": len(run.registrations),
        "diagnostic_settings": len(run.registrations),
    }


def run_child(kind: str, project_dir: Path) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its last stdout line is the JSON result."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(project_dir)],
        capture_output=True, text=True, cwd=REPO, check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {kind} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


# ---- the benchmark ----


@dataclass(frozen=True)
class Row:
    size: int  # inventoried resources
    registered: int  # resources the customer plan registers (the baseline registers as many)
    diagnostic_settings: int
    runs: int  # runs of each side; the figures are the fastest run's
    project_seconds: float
    baseline_seconds: float
    time_ratio: float
    # CPU seconds of the same runs: less disturbed than wall time when other processes share the cores.
    project_cpu_seconds: float
    baseline_cpu_seconds: float
    cpu_ratio: float
    project_peak_mib: float
    baseline_peak_mib: float
    memory_ratio: float
    project_process_seconds: float
    baseline_process_seconds: float

    @property
    def meets_target(self) -> bool:
        return self.time_ratio <= TARGET_RATIO and self.memory_ratio <= TARGET_RATIO


def repeats_for(size: int, repeat: int | None) -> int:
    """Runs per side: `repeat` when given; else 3 for small sizes (a second, mostly imports, so
    noisy) and 2 from LARGE on (a run is a minute; twice, so one slow spell cannot decide)."""
    if repeat is not None:
        return repeat
    return 3 if size < LARGE else 2


def fastest(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest run's wall time, and the smallest CPU time and peak of all runs (least disturbed)."""
    best = dict(min(results, key=lambda r: r["seconds"]))
    best["peak_mib"] = min(r["peak_mib"] for r in results)
    best["cpu_seconds"] = min(r["cpu_seconds"] for r in results)
    return best


def measure(size: int, work: Path, repeat: int | None = None) -> Row:
    """One size: the project's plan, then a baseline of as many bare settings as the plan registered.

    With repeats, project and baseline alternate so that a slow spell of the machine hits both.
    """
    project_dir = write_project(work / f"size-{size}", size)
    projects = [run_child("project", project_dir)]
    baseline_dir = write_baseline(work / f"size-{size}", projects[0]["registered"])
    baselines = [run_child("baseline", baseline_dir)]
    for _ in range(repeats_for(size, repeat) - 1):
        projects.append(run_child("project", project_dir))
        baselines.append(run_child("baseline", baseline_dir))
    project, baseline = fastest(projects), fastest(baselines)
    if baseline["registered"] != project["registered"]:
        raise RuntimeError(f"baseline registered {baseline['registered']} resources, the plan {project['registered']}")
    return Row(
        size=size,
        registered=project["registered"],
        diagnostic_settings=project["diagnostic_settings"],
        runs=len(projects),
        project_seconds=round(project["seconds"], 3),
        baseline_seconds=round(baseline["seconds"], 3),
        time_ratio=round(project["seconds"] / baseline["seconds"], 3),
        project_cpu_seconds=round(project["cpu_seconds"], 3),
        baseline_cpu_seconds=round(baseline["cpu_seconds"], 3),
        cpu_ratio=round(project["cpu_seconds"] / baseline["cpu_seconds"], 3),
        project_peak_mib=round(project["peak_mib"], 1),
        baseline_peak_mib=round(baseline["peak_mib"], 1),
        memory_ratio=round(project["peak_mib"] / baseline["peak_mib"], 3),
        project_process_seconds=round(project["process_seconds"], 3),
        baseline_process_seconds=round(baseline["process_seconds"], 3),
    )


def benchmark(sizes: list[int], repeat: int | None = None, progress: bool = False) -> list[Row]:
    """Measure every size, one child process at a time (never two at once: they would measure each other)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="mssp-bench-") as tmp:
        for size in sizes:
            row = measure(size, Path(tmp), repeat)
            rows.append(row)
            if progress:
                print(f"size {size:,}: project {row.project_seconds:.2f} s / {row.project_peak_mib:.0f} MiB, "
                      f"baseline {row.baseline_seconds:.2f} s / {row.baseline_peak_mib:.0f} MiB "
                      f"(fastest of {row.runs})", flush=True)
    return rows


def render_table(rows: list[Row]) -> str:
    lines = [
        "| inventoried | registered | project s | baseline s | time ratio | project CPU s | baseline CPU s | "
        "CPU ratio | project peak MiB | baseline peak MiB | memory ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.size:,} | {r.registered:,} | {r.project_seconds:.2f} | {r.baseline_seconds:.2f} | "
            f"{r.time_ratio:.2f}x | {r.project_cpu_seconds:.2f} | {r.baseline_cpu_seconds:.2f} | {r.cpu_ratio:.2f}x | "
            f"{r.project_peak_mib:.0f} | {r.baseline_peak_mib:.0f} | {r.memory_ratio:.2f}x |"
        )
    return "\n".join(lines)


def report(rows: list[Row]) -> dict[str, Any]:
    return {
        "target_ratio": TARGET_RATIO,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "baseline": "bare azure-native DiagnosticSetting x registered, via mssp.plan.offline.run_program "
                    "(RecordingMonitor over OfflineMocks), no project code",
        "rows": [{**asdict(r), "meets_target": r.meets_target} for r in rows],
    }


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.strip().replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        sizes = []
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError("expected comma-separated positive integers, e.g. 100,1000,10000")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[100, 1000, 10000],
                        help="inventoried resources per synthetic customer (default 100,1000,10000)")
    parser.add_argument("--repeat", type=int, default=None,
                        help=f"runs per side, alternating, fastest kept (default 3 under {LARGE:,} resources, else 2)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON here")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, directory = args.child
        child = child_project if kind == "project" else child_baseline
        profile_to = os.environ.get(PROFILE_ENV)
        if profile_to:
            import cProfile

            profiler = cProfile.Profile()
            result = profiler.runcall(child, Path(directory))
            profiler.dump_stats(profile_to)
        else:
            result = child(Path(directory))
        print(json.dumps(result), flush=True)
        sys.stderr.flush()
        # Skip interpreter teardown: the SDK's event loop complains while being collected, and
        # tearing down a 1 GiB heap measures nothing.
        os._exit(0)

    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    rows = benchmark(args.sizes, args.repeat, progress=True)
    print()
    print(render_table(rows))
    missed = [r.size for r in rows if not r.meets_target]
    print(f"\ntarget: project within {TARGET_RATIO}x of the baseline in time and memory: "
          + ("met at every size" if not missed else f"MISSED at {', '.join(f'{m:,}' for m in missed)}"))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report(rows), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
