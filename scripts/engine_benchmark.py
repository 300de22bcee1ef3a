"""Real-engine benchmark: `pulumi preview` and `pulumi up` of a large synthetic customer under the real
Pulumi engine against the local Azure, beside the offline plan of the same stack.

The customer is scripts/benchmark.py's synthetic one (a stack file shaped like stacks/Pulumi.contoso.yaml,
Lighthouse deploy mode, four subscriptions, an inventory of N resources of every catalog type except
storage accounts: one inventory entry, one diagnostic setting). The project copy, the real CLI, the
in-process language host, the stand-in providers and the local Azure are tests/realengine's
(testing/engine.py). The platform stack is deployed first (not timed).

Timed, each once, wall clock from spawn to exit:
- `python -m mssp plan bench --json OUT --quiet` (the offline plan);
- `pulumi preview` (the real engine runs the program, Check and Diff through the stand-ins; nothing written);
- `pulumi up --skip-preview` (every create sent to the local Azure);
- `pulumi preview` again, with everything deployed (a PR preview of an unchanged stack: a Diff each).
Where the time goes: the local Azure adds up the time it spent answering (its share of `up`), and the
stand-in providers' process count is the number of explicit providers. The rest is the engine, the
program and gRPC between them.

    python scripts/engine_benchmark.py [--size 1000] [--json OUT]

The real CLI must exist (scripts/pulumi-cli builds it). Numbers go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import yaml  # noqa: E402

from components.forwarding.inventory import dump_inventory  # noqa: E402
from testing.engine import TOKEN, EngineProject, seed_local_azure  # noqa: E402
from testing.fake_arm import FakeArm  # noqa: E402

STACK = "bench"


class TimedArm(FakeArm):
    """The local Azure, adding up how long it spends answering (requests overlap: an upper bound of its share)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.busy = 0.0
        self.requests = 0
        self._busy_lock = threading.Lock()

    def _handle(self, req: Any, method: str) -> None:
        start = time.perf_counter()
        try:
            super()._handle(req, method)
        finally:
            with self._busy_lock:
                self.busy += time.perf_counter() - start
                self.requests += 1


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def pulumi_bin_dir() -> Path:
    found = subprocess.run([str(REPO / "scripts" / "pulumi-cli")], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise SystemExit(f"no Pulumi CLI: {found.stderr.strip()}")
    return Path(found.stdout.strip())


def write_customer(project: EngineProject, size: int) -> int:
    import benchmark

    template = yaml.safe_load((project.root / "stacks" / "Pulumi.contoso.yaml").read_text(encoding="utf-8"))
    doc = benchmark.synthetic_stack(template)
    doc["config"]["mssp-sentinel:customer"]["platformStack"] = "organization/mssp-sentinel/mssp"
    (project.root / "stacks" / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    inventory = benchmark.synthetic_inventory(size)
    (project.root / "stacks" / "inventories" / f"{STACK}.yaml").write_text(dump_inventory(inventory), encoding="utf-8")
    return len(inventory)


def run(size: int) -> dict[str, Any]:
    bin_dir = pulumi_bin_dir()
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp, TimedArm(token=TOKEN) as arm:
        project = EngineProject.create(Path(tmp), bin_dir, arm)
        inventoried = write_customer(project, size)
        seed_local_azure(arm, project.root, ("mssp", STACK))
        project.up("mssp")
        project.init(STACK)
        out = Path(tmp) / "plan.json"
        plan_s, done = timed(lambda: project.mssp("plan", STACK, "--json", str(out), "--quiet"))
        assert done.returncode == 0, done.stderr
        manifest = json.loads(out.read_text(encoding="utf-8"))
        custom = [r for r in manifest["resources"] if r["custom"] and not r["type"].startswith("pulumi:")]
        providers = [r for r in manifest["resources"] if r["type"].startswith("pulumi:providers:")]
        preview_s, _ = timed(lambda: project.pulumi("preview", "--stack", STACK, "--non-interactive"))
        arm.busy, arm.requests = 0.0, 0
        up_s, _ = timed(lambda: project.pulumi("up", "--stack", STACK, "--yes", "--non-interactive", "--skip-preview"))
        up_arm_s, up_requests = arm.busy, arm.requests
        same_s, _ = timed(lambda: project.pulumi("preview", "--stack", STACK, "--non-interactive", "--expect-no-changes"))
        settings = sum(len(v) for v in arm.settings.values())
    return {
        "inventoried": inventoried, "planned_resources": len(custom), "explicit_providers": len(providers),
        "offline_plan_s": round(plan_s, 2), "engine_preview_s": round(preview_s, 2), "engine_up_s": round(up_s, 2),
        "engine_preview_unchanged_s": round(same_s, 2), "local_azure_busy_during_up_s": round(up_arm_s, 2),
        "local_azure_requests_during_up": up_requests, "settings_in_local_azure": settings,
        "preview_over_plan": round(preview_s / plan_s, 1), "up_over_plan": round(up_s / plan_s, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=1000, help="inventoried resources (default 1000)")
    p.add_argument("--json", type=Path, help="write the numbers here")
    args = p.parse_args()
    result = run(args.size)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
