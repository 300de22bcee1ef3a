"""`python -m mssp plan STACK`: the offline plan, the project's embedded default.

Runs the real program in-process under Pulumi mocks with the stack's real config and writes what it
would create: every resource with its inputs and options, the stack outputs, the guardrail results.
Exit 0 planned; 2 invalid configuration (each bad key by path on stderr, no traceback); 1 a
mandatory guardrail failed. Never talks to a network. The manifest format is the design's contract.

Several stacks in one call (`plan A B C --out-dir DIR`, what `mssp diff` runs per worker process) pay
the imports once, and every customer plan reuses the platform outputs planned once per run
(`PlanSession`); they are also kept in the plan cache (mssp.review.cache) by a content hash of the
code and the platform stack file, so the next run does not plan the platform again (`--no-cache`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mssp.errors import UserError

PROJECT_DIR = Path(__file__).resolve().parent.parent


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
    p.add_argument("--no-cache", action="store_true", help="plan the platform's outputs again instead of reusing them")
    p.set_defaults(func=run)


def config_errors_text(issues: list[tuple[str, str]]) -> str:
    lines = ["invalid configuration:"] + [f"  {path}: {message}" for path, message in issues]
    return "\n".join(lines)


@dataclass
class PlanSession:
    """What the plans of one run share: the platform outputs, planned once per platform stack.

    `use_cache` also keeps them in the plan cache across runs (key: the code and the platform stack
    file's content), so a later `mssp plan CUSTOMER` does not run the platform program at all.
    """

    use_cache: bool = True
    platform_outputs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    platform_runs: int = 0  # how often the platform program actually ran (pinned by the tests)

    def outputs_of(self, project_dir: Path, platform: str) -> dict[str, Any]:
        """The platform stack's outputs as its own offline plan exports them (same program, same mocks)."""
        from components.config import read_stack_values, stack_file

        memo = (str(project_dir.resolve()), platform)
        if memo in self.platform_outputs:
            return self.platform_outputs[memo]
        key = None
        if self.use_cache:
            from mssp.review import cache

            key = cache.platform_outputs_key(project_dir, platform)
            hit = cache.load(key)
            if hit is not None and isinstance(hit.get("outputs"), dict):
                self.platform_outputs[memo] = hit["outputs"]
                return hit["outputs"]
        from mssp.offline import run_program

        values, secrets = read_stack_values(stack_file(project_dir, platform))
        outputs = run_program(project_dir, platform, values, secrets).outputs
        self.platform_runs += 1
        self.platform_outputs[memo] = outputs
        if key is not None:
            from mssp.review import cache

            cache.store(key, {"platform": platform, "outputs": outputs})
        return outputs


def build_manifest(
    stack: str,
    project_dir: Path = PROJECT_DIR,
    config_file: Path | None = None,
    session: PlanSession | None = None,
) -> dict[str, Any]:
    """Validate the stack, run it under mocks and return its manifest. Raises ConfigError."""
    from mssp.offline import plan_gc

    # All of it under the plan's GC thresholds (README "Scale benchmark"), not only the program runs:
    # building the manifest from the registrations allocates about as much again.
    with plan_gc():
        return _build_manifest(stack, project_dir, config_file, session or PlanSession(use_cache=False))


def _build_manifest(stack: str, project_dir: Path, config_file: Path | None, session: PlanSession) -> dict[str, Any]:
    from components.config import load_stack_file, read_stack_values, stack_file
    from mssp.offline import run_program

    path = config_file or stack_file(project_dir, stack)
    loaded = load_stack_file(path, project_dir, stack)
    values, secrets = read_stack_values(path)
    stack_outputs: dict[str, dict[str, Any]] = {}
    if loaded.customer is not None:
        stack_outputs[loaded.customer.platform_stack] = session.outputs_of(project_dir, loaded.customer.platform_stack_name)
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
    }
    manifest["policies"] = evaluate_policies(manifest, loaded)
    return manifest


def evaluate_policies(manifest: dict[str, Any], loaded: Any) -> list[dict[str, Any]]:
    """The guardrails over the planned stack (the same rules the CrossGuard pack runs)."""
    try:
        from policies import rules
    except ImportError:
        return []
    return rules.evaluate_manifest(manifest, rules.context_from_config(loaded))


def manifest_json(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def _summary_inputs(resource: dict[str, Any]) -> str:
    inputs = resource["inputs"]
    keys = ("resourceUri", "scope", "workspaceId", "tenantId", "subscriptionId", "displayName", "clientId")
    parts = [f"{k}=`{inputs[k]}`" for k in keys if isinstance(inputs.get(k), str)]
    return "; ".join(parts)


def split_resources(manifest: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(resources, explicit providers) of a manifest; components are neither."""
    providers = [r for r in manifest["resources"] if r["type"].startswith("pulumi:providers:")]
    custom = [r for r in manifest["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    return custom, providers


def render_markdown(manifest: dict[str, Any]) -> str:
    outputs = manifest["outputs"]
    custom, providers = split_resources(manifest)
    lines = [f"# Offline plan: stack `{manifest['stack']}`", ""]
    kind = outputs.get("stackKind", "?")
    lines.append(f"- kind: **{kind}**")
    if kind == "customer":
        lines.append(f"- access model: **{outputs.get('accessModel')}**"
                     + (f" (Lighthouse {outputs.get('lighthouseMode')} mode)" if outputs.get("lighthouseMode") else ""))
    lines.append(f"- resources: {len(custom)} (plus {len(providers)} explicit providers)")
    lines += ["", "## Resources by type", "", "| type | count |", "|---|---|"]
    for rtype, n in sorted(Counter(r["type"] for r in custom).items()):
        lines.append(f"| `{rtype}` | {n} |")
    lines += ["", "## Providers", "", "| provider | signs in to | subscription |", "|---|---|---|"]
    for p in providers:
        inp = p["inputs"]
        tenant = inp.get("tenantId", "")
        aux = inp.get("auxiliaryTenantIds")
        lines.append(f"| `{p['name']}` | tenant `{tenant}`{' + auxiliary ' + str(aux) if aux else ''} | "
                     f"`{inp.get('subscriptionId', '-')}` |")
    lines += ["", "## Resources", "", "| name | type | provider | options | key inputs |", "|---|---|---|---|---|"]
    for r in custom:
        opts = ", ".join(k for k in ("protect", "retainOnDelete") if r["options"][k]) or "-"
        lines.append(f"| `{r['name']}` | `{r['type']}` | `{r['provider'] or '-'}` | {opts} | {_summary_inputs(r)} |")
    lines += ["", "## Outputs", ""]
    for key, value in outputs.items():
        lines.append(f"- `{key}`: `{json.dumps(value)}`")
    lines += ["", "## Guardrails", ""]
    if not manifest["policies"]:
        lines.append("No guardrail findings.")
    for v in manifest["policies"]:
        lines.append(f"- **{v['level']}** `{v['policy']}` on `{v['urn']}`: {v['message']}")
    return "\n".join(lines) + "\n"


def _check_stack_exists(stack: str) -> None:
    if not (PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").exists():
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))
        raise UserError(f"no stack file stacks/Pulumi.{stack}.yaml; stacks: {', '.join(known)}")


def run(args: argparse.Namespace) -> int:
    from components.config import ConfigError

    session = PlanSession(use_cache=not args.no_cache)
    stacks: list[str] = args.stack
    if len(stacks) > 1 or args.out_dir is not None:
        if args.out_dir is None or args.config or args.json or args.markdown:
            raise UserError("several stacks need --out-dir DIR, and take no --config, --json or --markdown")
        return run_many(stacks, args.out_dir, session)
    args.stack = stacks[0]
    if args.config is not None and not args.config.exists():
        raise UserError(f"--config {args.config}: file not found")
    if args.config is None:
        _check_stack_exists(args.stack)
    try:
        manifest = build_manifest(args.stack, PROJECT_DIR, args.config, session)
    except ConfigError as exc:
        raise UserError(config_errors_text(exc.issues), exit_code=2) from None
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(manifest_json(manifest), encoding="utf-8")
    # Rendered only when someone reads it (a 10,000-resource table costs time for nothing under --quiet).
    markdown = render_markdown(manifest) if args.markdown or not args.quiet else ""
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown, encoding="utf-8")
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

    out_dir.mkdir(parents=True, exist_ok=True)
    worst = 0
    for stack in stacks:
        error = out_dir / f"{stack}.error.txt"
        error.unlink(missing_ok=True)
        try:
            _check_stack_exists(stack)
            manifest = build_manifest(stack, PROJECT_DIR, None, session)
        except (UserError, ConfigError) as exc:
            text = config_errors_text(exc.issues) if isinstance(exc, ConfigError) else str(exc)
            error.write_text(text + "\n", encoding="utf-8")
            print(f"error: stack {stack}: {text}", file=sys.stderr)
            worst = 2
            continue
        (out_dir / f"{stack}.json").write_text(manifest_json(manifest), encoding="utf-8")
        mandatory = sum(1 for p in manifest["policies"] if p["level"] == "mandatory")
        custom, providers = split_resources(manifest)
        print(f"planned stack {stack}: {len(custom)} resources (plus {len(providers)} explicit providers), "
              f"{mandatory} mandatory guardrail violation(s)")
        if mandatory and worst == 0:
            worst = 1
    return worst
