"""`python -m mssp plan STACK`: the offline plan, the project's embedded default.

Runs the real program in-process under Pulumi mocks with the stack's real config and writes what it
would create: every resource with its inputs and options, the stack outputs, the guardrail results.
Exit 0 planned; 2 invalid configuration (each bad key by path on stderr, no traceback); 1 a
mandatory guardrail failed. Never talks to a network. The manifest format: docs/manifest.md (a
contract: `mssp diff` and the tests read it). The Markdown: mssp/plan/markdown.py.

Several stacks in one call (`plan A B C --out-dir DIR`, what `mssp diff` runs per worker process) pay
the imports once, and every customer plan reuses the platform outputs planned once per run
(`PlanSession`); they are also kept in the plan cache (mssp.diff.cache) by a content hash of the
code and the platform stack file, so the next run does not plan the platform again (`--no-cache`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mssp import PROJECT_DIR
from mssp.errors import UserError
from mssp.output import write_output


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plan", help="offline plan of a stack (no network, no credentials)",
        description="Offline plan of one or more stacks. Exit codes: 0 planned, 1 a mandatory guardrail failed, "
                    "2 invalid configuration (with several stacks: the worst of them).")
    p.add_argument("stack", nargs="+", help="stack name: plans stacks/Pulumi.STACK.yaml (several with --out-dir)")
    p.add_argument("--config", type=Path, help="plan this stack file instead of stacks/Pulumi.STACK.yaml")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the plan manifest (JSON) here")
    p.add_argument("--markdown", type=Path, metavar="OUT", help="write the Markdown plan here")
    p.add_argument("--out-dir", type=Path, metavar="DIR",
                   help="write DIR/STACK.json per stack (DIR/STACK.error.txt when it does not plan); for several stacks")
    p.add_argument("--quiet", action="store_true", help="print only the summary line")
    p.add_argument("--no-cache", action="store_true",
                   help="use no plan cache: plan the platform's outputs and read other customers' inventories again")
    p.set_defaults(func=run)


# At most this many problems are listed one by one; the rest are counted by kind (an inventory exported with
# an extra field on each of 100,000 entries printed 1.6 million characters of "unknown key").
MAX_LISTED_ISSUES = 20


def _issue_kind(message: str) -> str:
    """A message without its quoted values: what repeated problems have in common."""
    return re.sub(r"'[^']*'", "'...'", message)[:160]


def config_errors_text(issues: list[tuple[str, str]], file: str | None = None) -> str:
    header = f"invalid configuration in {file}:" if file else "invalid configuration:"
    lines = [header] + [f"  {path}: {message}" for path, message in issues[:MAX_LISTED_ISSUES]]
    rest = issues[MAX_LISTED_ISSUES:]
    if rest:
        counts = Counter(_issue_kind(message) for _, message in rest)
        lines.append(f"  ... and {len(rest):,} more problems (the first {MAX_LISTED_ISSUES} are listed above), by kind:")
        lines += [f"    {n:,} x {kind}" for kind, n in counts.most_common(10)]
        if len(counts) > 10:
            lines.append(f"    ({len(counts) - 10:,} other kinds)")
    return "\n".join(lines)


@dataclass
class PlanSession:
    """What the plans of one run share: the platform outputs, planned once per platform stack.

    `use_cache` also keeps them in the plan cache across runs (key: the code and the platform stack
    file's content), so a later `mssp plan CUSTOMER` does not run the platform program at all.
    """

    use_cache: bool = True
    platform_plans: dict[tuple[str, str], Any] = field(default_factory=dict)  # -> mssp.plan.offline.ProgramRun
    platform_runs: int = 0  # how often the platform program actually ran (pinned by the tests)

    def platform_run(self, project_dir: Path, platform: str) -> Any:
        """The platform stack's offline run (same program, same mocks): its outputs, which a customer's
        program reads, and its registrations, which name the principals in the customer's review section
        (mssp.plan.review.graph_principals). Both are plain data, so the cache keeps them as JSON."""
        from components.config import stack_file, stack_values
        from mssp.plan.offline import ProgramRun, Registration, run_program

        memo = (str(project_dir.resolve()), platform)
        if memo in self.platform_plans:
            return self.platform_plans[memo]
        key = None
        if self.use_cache:
            from mssp.diff import cache

            key = cache.platform_outputs_key(project_dir, platform)
            hit = cache.load(key)
            try:
                if hit is not None and isinstance(hit.get("outputs"), dict):
                    cached = ProgramRun(platform, [Registration(**r) for r in hit["registrations"]], hit["outputs"])
                    self.platform_plans[memo] = cached
                    return cached
            except (KeyError, TypeError):
                pass  # an entry of another shape: plan again and overwrite it
        path = stack_file(project_dir, platform)
        values, secrets = stack_values(path, project_dir, platform)
        platform_plan = run_program(project_dir, platform, values, secrets)
        self.platform_runs += 1
        self.platform_plans[memo] = platform_plan
        if key is not None:
            from dataclasses import asdict

            from mssp.diff import cache

            cache.store(key, {"platform": platform, "outputs": platform_plan.outputs,
                              "registrations": [asdict(r) for r in platform_plan.registrations]})
        return platform_plan

    def claims_cache(self) -> Any:
        """What other customers' inventories claim (components.config.fleet), kept in the plan cache
        by their content: every customer plan compares itself with every other customer, and parsing
        large inventories again for each plan is most of a small customer's plan (docs/benchmarks.md "Measurements behind the code")."""
        if not self.use_cache:
            return None
        from components.config.fleet import ClaimsCache
        from mssp.diff import cache

        def load(key: str) -> list[str] | None:
            hit = cache.load(key)
            ids = hit.get("ids") if hit is not None else None
            return ids if isinstance(ids, list) and all(isinstance(i, str) for i in ids) else None

        return ClaimsCache(load=load, store=lambda key, ids: cache.store(key, {"fleetClaims": True, "ids": ids}))


def build_manifest(
    stack: str,
    project_dir: Path = PROJECT_DIR,
    config_file: Path | None = None,
    session: PlanSession | None = None,
) -> dict[str, Any]:
    """Validate the stack, run it under mocks and return its manifest. Raises ConfigError."""
    from components.config import allow_stack_dir, outside_stack_dir
    from mssp.plan.offline import plan_gc

    # All of it under the plan's GC thresholds (docs/benchmarks.md "Measurements behind the code"), not only the program runs:
    # building the manifest from the registrations allocates about as much again. Paths in a --config
    # file outside the project may point inside that file's folder (components.config.project_path_issue).
    extra = outside_stack_dir(config_file, project_dir) if config_file is not None else None
    with plan_gc(), allow_stack_dir(extra):
        return _build_manifest(stack, project_dir, config_file, session or PlanSession(use_cache=False))


def _build_manifest(stack: str, project_dir: Path, config_file: Path | None, session: PlanSession) -> dict[str, Any]:
    from components.config import load_stack_file, stack_file, stack_values, validated_stack
    from components.config.fleet import claims_cache
    from mssp.plan.offline import run_program

    path = config_file or stack_file(project_dir, stack)
    with claims_cache(session.claims_cache()):
        loaded = load_stack_file(path, project_dir, stack)
    values, secrets = stack_values(path, project_dir, stack)
    from mssp.plan.review import review_section

    stack_outputs: dict[str, dict[str, Any]] = {}
    platform_run = None
    if loaded.customer is not None:
        # Platform outputs come from the platform stack's own offline plan: same program, same mocks
        # (planned once per session, or taken from the plan cache).
        platform_run = session.platform_run(project_dir, loaded.customer.platform_stack_name)
        stack_outputs[loaded.customer.platform_stack] = platform_run.outputs
    # The program validates its config too (components.config.load_from_pulumi); these very values were
    # validated just above, so it takes that result instead of doing it all again.
    with validated_stack(loaded, values, secrets, project_dir):
        run = run_program(project_dir, stack, values, secrets, stack_outputs)

    resources = [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "custom": r.custom,
            "provider": r.provider,
            "inputs": r.inputs,
            "options": {"protect": r.protect, "retainOnDelete": r.retain_on_delete, "dependsOn": r.depends_on},
        }
        for r in sorted(run.registrations, key=lambda r: r.urn)
    ]
    manifest: dict[str, Any] = {
        "stack": stack,
        "resources": resources,
        "outputs": dict(sorted(run.outputs.items())),
        "policies": [],
        "review": review_section(loaded, run.registrations, platform_run.registrations if platform_run else (),
                                 platform_run.outputs if platform_run else None),
    }
    manifest["policies"] = evaluate_policies(manifest, loaded)
    return manifest


def evaluate_policies(manifest: dict[str, Any], loaded: Any) -> list[dict[str, Any]]:
    """The guardrails over the planned stack (the same rules the CrossGuard pack runs)."""
    try:
        from policies import rules
    except ImportError:
        return []
    ctx = rules.context_from_config(loaded)
    results = rules.evaluate_manifest(manifest, ctx) + config_findings(loaded)
    customer = getattr(loaded, "customer", None)
    if customer is not None and customer.access_model == "lighthouse" and customer.lighthouse.mode == "template":
        from components.lighthouse.template import exported_template

        # The delegation is exported (`mssp template`), not planned: check the definition the customer deploys.
        definition = exported_template(loaded)
        results += rules.evaluate_exported_definition(definition["resources"][0]["properties"],
                                                      f"template:{manifest['stack']}:registrationDefinition", ctx)
        exported = (manifest.get("review") or {}).get("workspaceDelegationTemplate")
        if exported:
            # Customer topology: the workspace resource group's delegation, which the customer deploys too.
            results += rules.evaluate_exported_definition(exported["properties"],
                                                          f"template:{manifest['stack']}:workspaceRegistrationDefinition", ctx)
    return results


def config_findings(loaded: Any) -> list[dict[str, Any]]:
    """Advisories only the config can tell (a Lighthouse authorization carries no principal type)."""
    customer = getattr(loaded, "customer", None)
    found = []
    for i, auth in enumerate(customer.lighthouse.authorizations if customer is not None else ()):
        if auth.principal_type == "user":
            found.append({"policy": "lighthouse-groups-not-users", "level": "advisory", "urn": "",
                          "message": f"customer.lighthouse.authorizations[{i}] '{auth.display_name}' names a user: "
                                     "authorize a security group of the MSSP tenant instead (members change without "
                                     "a new delegation; Microsoft's Lighthouse recommended security practices)"})
    return found


def manifest_json(manifest: dict[str, Any]) -> str:
    # Every object's keys sorted (docs/manifest.md): a manifest's bytes depend only on its content.
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def split_resources(manifest: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    """(resources, explicit providers) of a manifest; components are neither. Here, not in the Markdown
    module, so a plan that writes no Markdown does not import it."""
    providers = [r for r in manifest["resources"] if r["type"].startswith("pulumi:providers:")]
    custom = [r for r in manifest["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    return custom, providers


def render_markdown(manifest: dict[str, Any]) -> str:
    """The reviewer's Markdown plan (mssp/plan/markdown.py)."""
    from mssp.plan.markdown import render_plan

    return render_plan(manifest)


def _check_stack_exists(stack: str) -> None:
    from components.config import stack_name_problem

    problem = stack_name_problem(stack, PROJECT_DIR)
    if problem is not None:
        raise UserError(problem.replace("(allowed: one of these)", "(allowed: one of these, or --config FILE)"))


def run(args: argparse.Namespace) -> int:
    from components.config import ConfigError, file_exists
    from components.facts.strict_yaml import shown

    session = PlanSession(use_cache=not args.no_cache)
    stacks: list[str] = args.stack
    if len(stacks) > 1 or args.out_dir is not None:
        if args.out_dir is None or args.config or args.json or args.markdown:
            raise UserError("several stacks need --out-dir DIR, and take no --config, --json or --markdown")
        return run_many(stacks, args.out_dir, session)
    args.stack = stacks[0]
    if args.config is not None and not file_exists(args.config):
        raise UserError(f"--config {shown(str(args.config))}: file not found; allowed: a stack file (e.g. stacks/Pulumi.<stack>.yaml)")
    if args.config is None:
        _check_stack_exists(args.stack)
    try:
        manifest = build_manifest(args.stack, PROJECT_DIR, args.config, session)
    except ConfigError as exc:
        raise UserError(config_errors_text(exc.issues, exc.file), exit_code=2) from None
    if args.json:
        write_output(args.json, manifest_json(manifest))
    # Rendered only when someone reads it (a 10,000-resource table costs time for nothing under --quiet).
    markdown = render_markdown(manifest) if args.markdown or not args.quiet else ""
    if args.markdown:
        write_output(args.markdown, markdown)
    mandatory = [p for p in manifest["policies"] if p["level"] == "mandatory"]
    custom, providers = split_resources(manifest)
    if not args.quiet:
        print(markdown)
    print(f"planned stack {args.stack}: {len(custom)} resources (plus {len(providers)} explicit providers), "
          f"{len(mandatory)} mandatory guardrail violation(s)")
    if mandatory:
        for v in mandatory:
            print(f"mandatory guardrail failed: {v['policy']}: {v['message']} ({v['urn']})")
        return 1
    return 0


def run_many(stacks: list[str], out_dir: Path, session: PlanSession) -> int:
    """Plan several stacks in this one process: DIR/STACK.json each, or DIR/STACK.error.txt and go on.

    Exit 2 when any stack's configuration is invalid, else 1 when any breaks a mandatory guardrail.
    """
    from components.config import ConfigError
    from mssp.output import check_out_dir

    check_out_dir(out_dir, "--out-dir")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write to --out-dir {out_dir}: {exc}") from None
    worst = 0
    for stack in stacks:
        error = out_dir / f"{stack}.error.txt"
        error.unlink(missing_ok=True)
        try:
            _check_stack_exists(stack)
            manifest = build_manifest(stack, PROJECT_DIR, None, session)
        except (UserError, ConfigError) as exc:
            text = config_errors_text(exc.issues) if isinstance(exc, ConfigError) else str(exc)
            write_output(error, text + "\n")
            print(f"error: stack {stack}: {text}", file=sys.stderr)
            worst = 2
            continue
        write_output(out_dir / f"{stack}.json", manifest_json(manifest))
        mandatory = sum(1 for p in manifest["policies"] if p["level"] == "mandatory")
        custom, providers = split_resources(manifest)
        print(f"planned stack {stack}: {len(custom)} resources (plus {len(providers)} explicit providers), "
              f"{mandatory} mandatory guardrail violation(s)")
        if mandatory and worst == 0:
            worst = 1
    return worst
