"""Count the HTTP calls discovery makes for a large customer, next to the seed scripts' approach.

Runs the real discovery code (mssp.discover.discovery over mssp.azure.rest) against the local fake Resource
Graph / ARM batch server (testing.fake_arm) holding a synthetic estate, and counts the requests the
server received. The seed scripts' count is arithmetic from their approach: one list call per
resource type per subscription, then one read and one write of the diagnostic setting per resource.

    python scripts/discovery_calls.py                       # 10,000 resources, 5 subscriptions
    python scripts/discovery_calls.py --resources 1000 --subscriptions 2
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.facts import catalog
from mssp.azure.rest import AzureRestClient
from mssp.discover.discovery import discover, setting_targets
from testing.fake_arm import FakeArm, make_setting, synthetic_estate

WORKSPACE = ("/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg-mssp/providers/"
             "Microsoft.OperationalInsights/workspaces/law-mssp")


def subscriptions(n: int) -> list[str]:
    return [f"{i + 1:08x}-0000-4000-8000-{i + 1:012x}" for i in range(n)]


def measure(resources: int, subs: list[str], types: list[str], *, use_batch: bool) -> dict[str, float]:
    rows = synthetic_estate(resources, subs, types)
    # Every tenth resource already has a setting to another workspace: realistic, and not free to parse.
    settings = {r["id"]: [make_setting(r["id"], "customer-archive", workspace_id=WORKSPACE + "-other")]
                for r in rows[::10]}
    with FakeArm(rows, readable_subscriptions=subs, settings=settings) as fake:
        client = AzureRestClient(lambda: fake.token, fake.base_url, sleep=lambda _s: None)
        start = time.perf_counter()
        report = discover(client, subscriptions=subs, types=types, workspace_id=WORKSPACE,
                          setting_name="mssp-sentinel", use_batch=use_batch)
        seconds = time.perf_counter() - start
        counts = {k: fake.count(k) for k in ("graph", "batch", "get")}
    targets = sum(len(setting_targets(r)) for r in report.found)
    return {**counts, "total": sum(counts.values()), "client": client.calls, "found": len(report.found),
            "targets": targets, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=5)
    parser.add_argument("--no-fallback-run", action="store_true", help="skip the run with /batch refused")
    args = parser.parse_args(argv)
    subs = subscriptions(args.subscriptions)
    types = catalog.supported_types()

    ours = measure(args.resources, subs, types, use_batch=True)
    assert ours["found"] == args.resources and ours["client"] == ours["total"]
    seed_lists = len(types) * len(subs)
    seed = {"lists": seed_lists, "reads": args.resources, "writes": args.resources}
    seed_total = seed_lists + 2 * args.resources

    n = f"{args.resources:,}"
    print(f"Synthetic estate: {n} resources over {len(subs)} subscriptions and {len(types)} catalog types "
          f"({ours['targets']:,} places to read settings: storage accounts add their services, SQL servers their master database)")
    print()
    print("| approach | calls | of which |")
    print("|---|---:|---|")
    print(f"| discovery (Resource Graph + ARM /batch) | {ours['total']:,} | {ours['graph']:,} Resource Graph pages "
          f"of up to 1,000 rows, {ours['batch']:,} /batch calls of up to 20 reads, {ours['get']:,} single reads |")
    if not args.no_fallback_run:
        fb = measure(args.resources, subs, types, use_batch=False)
        print(f"| discovery, /batch refused (fallback) | {fb['total']:,} | {fb['graph']:,} Resource Graph pages, "
              f"{fb['get']:,} single reads |")
    print(f"| seed scripts (lists, then read + write per resource) | {seed_total:,} | {seed['lists']:,} list calls "
          f"({len(types)} types x {len(subs)} subscriptions, one page each at best), {seed['reads']:,} reads, "
          f"{seed['writes']:,} writes |")
    print(f"| seed scripts, discovery part only (lists + reads) | {seed_lists + args.resources:,} | |")
    print()
    expected_pages = math.ceil((args.resources + len(subs)) / 1000)
    print(f"Discovery makes {(seed_lists + args.resources) / ours['total']:.1f}x fewer calls than the seed scripts' "
          f"lists and reads ({ours['seconds']:.1f} s against the local server; {expected_pages} pages expected). "
          "Writes are not discovery's: `pulumi up` makes one PUT per setting either way.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
