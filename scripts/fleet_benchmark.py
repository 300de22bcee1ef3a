"""Fleet benchmark: a pull request's plan diff and the settings drift check on a synthetic fleet.

The fleet (generated into a temporary git repository, never committed): a copy of this project's
code and platform stack, 50 customers of 200 inventoried resources and 2 of 10,000, built like
scripts/benchmark.py's synthetic customer (stack file shaped like stacks/Pulumi.contoso.yaml, four
subscriptions, one diagnostic setting per inventory entry). Measured, each in a fresh process, wall
time from spawn to exit and peak RSS of the largest process of its tree (`os.wait4`):

1. `python -m mssp diff BASE HEAD` after a change to one small customer's stack file (cold plan
   cache), beside planning that stack twice (`python -m mssp plan STACK --json`, twice, cold):
   target ratio <= 1.2;
2. the same diff after a change to the catalog (components/facts/catalog.py): every stack, both sides;
3. `mssp drift --settings` for a 10,000-resource customer against the local fake ARM server
   (testing.fake_arm): calls made (the server's counter) and wall time; target ceil(S/20) calls plus
   fallback reads;
4. the same customer's call count under `pulumi preview --refresh`, computed: one read per
   resource of the stack.

    python scripts/fleet_benchmark.py [--small 50] [--small-size 200] [--large 2] [--large-size 10000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from components.forwarding.inventory import dump_inventory  # noqa: E402

sys.path.insert(0, str(REPO / "scripts"))
import benchmark as single  # noqa: E402

# The file the "catalog changed" measurement edits: code every stack's plan reads.
CATALOG_FILE = Path("components/facts/catalog.py")
COPY = ("components", "mssp", "policies", "__main__.py", "Pulumi.yaml", "requirements.txt", "requirements-dev.txt")
ONE_STACK_TARGET = 1.2


def git(repo: Path, *args: str) -> str:
    env = ["-c", "user.name=fleet", "-c", "user.email=fleet@example.invalid", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", "-C", str(repo), *env, *args], check=True, capture_output=True, text=True,
                          timeout=300).stdout


def customer_ids(name: str) -> tuple[str, tuple[str, ...]]:
    """A customer's own tenant and subscriptions: a fleet's customers share none (components/config/fleet.py)."""
    tenant = str(uuid.uuid5(uuid.NAMESPACE_URL, f"mssp-sentinel-fleet-benchmark/{name}/tenant"))
    subs = tuple(str(uuid.uuid5(uuid.NAMESPACE_URL, f"mssp-sentinel-fleet-benchmark/{name}/sub/{i}"))
                 for i in range(len(single.SUBSCRIPTIONS)))
    return tenant, subs


def customer_doc(template: dict[str, Any], name: str) -> dict[str, Any]:
    tenant, subs = customer_ids(name)
    doc = single.synthetic_stack(template, f"stacks/inventories/{name}.yaml", subs, tenant)
    doc["config"]["mssp-sentinel:customer"]["name"] = name
    doc["config"]["mssp-sentinel:customer"]["displayName"] = f"Fleet customer {name} (synthetic)"
    # Display names of its own too: the fleet check refuses one client's names in another's stack.
    for sub in doc["config"]["mssp-sentinel:customer"]["subscriptions"]:
        sub["displayName"] = f"{name} {sub['displayName']}"
    return doc


def write_fleet(root: Path, small: int, small_size: int, large: int, large_size: int) -> tuple[Path, list[str], list[str]]:
    """The fleet repository, committed as its first commit; (repo, small customers, large customers)."""
    repo = root / "fleet"
    (repo / "stacks" / "inventories").mkdir(parents=True)
    for part in COPY:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy(src, repo / part)
    shutil.copy(REPO / "stacks" / "Pulumi.mssp.yaml", repo / "stacks" / "Pulumi.mssp.yaml")
    template = yaml.safe_load((REPO / "stacks" / "Pulumi.contoso.yaml").read_text(encoding="utf-8"))
    smalls = [f"cust-{i:03d}" for i in range(small)]
    larges = [f"big-{i}" for i in range(large)]
    for name, size in [*((n, small_size) for n in smalls), *((n, large_size) for n in larges)]:
        (repo / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(customer_doc(template, name), sort_keys=False),
                                                            encoding="utf-8")
        (repo / "stacks" / "inventories" / f"{name}.yaml").write_text(dump_inventory(single.synthetic_inventory(size, customer_ids(name)[1])),
                                                                       encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "fleet")
    git(repo, "tag", "base")
    return repo, smalls, larges


def timed_peak(command: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """As timed(), with the peak RSS of this one command's process tree (os.wait4 before reaping)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"{command[:5]} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return {"seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mib": round(usage.ru_maxrss / 1024, 1), "stdout": stdout, "exit": proc.returncode}


def env_with_cache(cache: Path) -> dict[str, str]:
    return {**os.environ, "MSSP_PLAN_CACHE": str(cache), "PYTHONHASHSEED": "0"}


def diff_run(repo: Path, work: Path, label: str) -> dict[str, Any]:
    cache = work / f"cache-{label}"  # cold: nothing planned before
    out = work / f"{label}.json"
    got = timed_peak([sys.executable, "-m", "mssp", "diff", "base", "HEAD", "--repo", str(repo), "--json", str(out),
                      "--markdown", str(work / f"{label}.md")], REPO, env_with_cache(cache))
    report = json.loads(out.read_text(encoding="utf-8"))
    got.pop("stdout")
    got["planned"] = report["cache"]["planned"]
    got["stacks_diffed"] = len(report["stacks"])
    got["skipped"] = len(report["affected"]["skipped"])
    return got


def plan_twice(repo: Path, work: Path, stack: str) -> dict[str, Any]:
    total, peak, cpu = 0.0, 0.0, 0.0
    for n in range(2):
        got = timed_peak([sys.executable, "-m", "mssp", "plan", stack, "--json", str(work / f"twice-{n}.json"), "--quiet"],
                         repo, env_with_cache(work / f"cache-twice-{n}"))
        total, cpu, peak = total + got["seconds"], cpu + got["cpu_seconds"], max(peak, got["peak_mib"])
    return {"seconds": round(total, 2), "cpu_seconds": round(cpu, 2), "peak_mib": peak}


def drift_child(manifest_path: Path, result_path: Path) -> None:
    """In a fresh process: the settings check of one plan against a fake ARM that holds it as planned."""
    from mssp.azure.rest import AzureRestClient
    from mssp.drift import settings as sd
    from testing.fake_arm import FakeArm, make_setting

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    expected = sd.expected_settings(manifest)
    settings: dict[str, list[dict[str, Any]]] = {}
    for e in expected:
        settings.setdefault(e.target, []).append(make_setting(e.target, e.name, workspace_id=e.workspace_id, logs=e.logs,
                                                              metrics=e.metrics, destination_type=e.destination_type))
    rows = [{"id": t, "type": "Microsoft.Test/things", "subscriptionId": t.split("/")[2]} for t in settings]
    fake = FakeArm(rows, settings=settings)
    # Some answers refused, so the fallback path is measured too: 1 in 500 items answers 500 once.
    for t in sorted(settings)[::500]:
        fake.item_faults[t.lower()] = [500]
    with fake:
        client = AzureRestClient(lambda: fake.token, fake.base_url, sleep=lambda _: None)
        started = time.perf_counter()
        result = sd.check(manifest["stack"], manifest, client, concurrency=8)
        seconds = time.perf_counter() - started
    refresh_reads = sum(1 for r in manifest["resources"] if r.get("custom") and not r["type"].startswith("pulumi:"))
    result_path.write_text(json.dumps({
        "expected_settings": result.expected,
        "targets": len(settings),
        "status": result.status,
        "server_calls": len(fake.calls),
        "batch_calls": fake.count("batch"),
        "fallback_reads": fake.count("get"),
        "refused_items": result.calls["refusedItems"],
        "bound": math.ceil(len(settings) / 20) + result.calls["refusedItems"],
        "check_seconds": round(seconds, 2),
        "refresh_reads": refresh_reads,
    }), encoding="utf-8")


def manifest_from_cache(cache: Path, stack: str) -> dict[str, Any]:
    for f in cache.glob("*.json"):
        data = json.loads(f.read_text(encoding="utf-8"))
        if data.get("stack") == stack and isinstance(data.get("manifest"), dict):
            return data["manifest"]
    raise RuntimeError(f"no cached plan of {stack} in {cache}")


def run(small: int, small_size: int, large: int, large_size: int, progress: bool = True) -> dict[str, Any]:
    def say(text: str) -> None:
        if progress:
            print(text, flush=True)

    with tempfile.TemporaryDirectory(prefix="mssp-fleet-") as tmp:
        work = Path(tmp)
        repo, smalls, larges = write_fleet(work, small, small_size, large, large_size)
        say(f"fleet: {len(smalls)} customers of {small_size} and {len(larges)} of {large_size} resources, 1 platform")
        # 1. One customer's stack file.
        target = smalls[0]
        stack_file = repo / "stacks" / f"Pulumi.{target}.yaml"
        stack_file.write_text(stack_file.read_text(encoding="utf-8").replace(
            "offerName: Acme MSSP - Sentinel log forwarding", "offerName: Acme MSSP - Sentinel"), encoding="utf-8")
        git(repo, "commit", "-q", "-am", f"{target}: new Lighthouse offer name")
        one = diff_run(repo, work, "one-stack")
        twice = plan_twice(repo, work, target)
        one["ratio_to_planning_twice"] = round(one["seconds"] / twice["seconds"], 3)
        say(f"one-stack change: diff {one['seconds']} s / {one['peak_mib']} MiB, planning {target} twice "
            f"{twice['seconds']} s: {one['ratio_to_planning_twice']}x (target {ONE_STACK_TARGET}x)")
        # 2. The catalog: every stack on both sides.
        git(repo, "reset", "-q", "--hard", "base")
        catalog = repo / CATALOG_FILE
        catalog.write_text(catalog.read_text(encoding="utf-8") + "\n# a reviewed catalog change\n", encoding="utf-8")
        git(repo, "commit", "-q", "-am", "catalog: comment")
        every = diff_run(repo, work, "catalog")
        say(f"catalog change: diff {every['seconds']} s / {every['peak_mib']} MiB, planned {every['planned']}")
        # 3 and 4. Settings drift of a large customer, and what a refresh would read.
        manifest_path = work / "large.json"
        manifest_path.write_text(json.dumps(manifest_from_cache(work / "cache-catalog", larges[0])), encoding="utf-8")
        result_path = work / "drift.json"
        drift = timed_peak([sys.executable, str(Path(__file__).resolve()), "--drift-child", str(manifest_path),
                            str(result_path)], REPO, env_with_cache(work / "cache-drift"))
        drift_result = json.loads(result_path.read_text(encoding="utf-8"))
        drift_result.update(process_seconds=drift["seconds"], peak_mib=drift["peak_mib"])
        say(f"settings drift ({larges[0]}): {drift_result['server_calls']} calls "
            f"({drift_result['batch_calls']} batch + {drift_result['fallback_reads']} fallback; bound "
            f"{drift_result['bound']}) in {drift_result['check_seconds']} s, {drift_result['peak_mib']} MiB; "
            f"preview --refresh would read {drift_result['refresh_reads']}")
        return {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "fleet": {"small": small, "small_size": small_size, "large": large, "large_size": large_size},
            "one_stack_change": one,
            "plan_that_stack_twice": twice,
            "catalog_change": every,
            "settings_drift": drift_result,
            "one_stack_target": ONE_STACK_TARGET,
        }


def render(report: dict[str, Any]) -> str:
    one, twice, every, d = (report["one_stack_change"], report["plan_that_stack_twice"], report["catalog_change"],
                            report["settings_drift"])
    return "\n".join([
        "| measurement | wall s | peak MiB | planned (base / head) | calls |",
        "|---|---:|---:|---|---:|",
        f"| PR diff, one customer's stack file changed | {one['seconds']:.1f} | {one['peak_mib']:.0f} | "
        f"{one['planned']['base']} / {one['planned']['head']} ({one['skipped']} skipped) | |",
        f"| planning that customer twice (`mssp plan`, 2 runs) | {twice['seconds']:.1f} | {twice['peak_mib']:.0f} | | |",
        f"| PR diff, catalog changed | {every['seconds']:.1f} | {every['peak_mib']:.0f} | "
        f"{every['planned']['base']} / {every['planned']['head']} | |",
        f"| settings drift, {d['expected_settings']:,} settings ({d['targets']:,} targets), fake ARM | "
        f"{d['check_seconds']:.1f} (process {d['process_seconds']:.1f}) | {d['peak_mib']:.0f} | | "
        f"{d['server_calls']:,} ({d['batch_calls']} batch + {d['fallback_reads']} fallback) |",
        f"| `pulumi preview --refresh` of the same customer (computed: one read per resource) | | | | "
        f"{d['refresh_reads']:,} |",
    ]) + f"\n\none-stack diff / planning twice: {one['ratio_to_planning_twice']:.2f}x (target {report['one_stack_target']}x)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--small-size", type=int, default=200)
    parser.add_argument("--large", type=int, default=2)
    parser.add_argument("--large-size", type=int, default=10_000)
    parser.add_argument("--json", type=Path, metavar="OUT")
    parser.add_argument("--drift-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drift_child:
        drift_child(*args.drift_child)
        return 0
    if min(args.small, args.small_size, args.large, args.large_size) < 1:
        parser.error("every count must be at least 1")
    report = run(args.small, args.small_size, args.large, args.large_size)
    print()
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
