"""`python -m mssp plan STACK`: the offline plan, the project's embedded default.

Runs the real program in-process under Pulumi mocks with the stack's real config and writes what it
would create: every resource with its inputs and options, the stack outputs, the guardrail results.
Exit 0 planned; 2 invalid configuration (each bad key by path on stderr, no traceback); 1 a
mandatory guardrail failed. Never talks to a network. The manifest format is the design's contract.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from mssp.errors import UserError

PROJECT_DIR = Path(__file__).resolve().parent.parent


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("plan", help="offline plan of a stack (no network, no credentials)")
    p.add_argument("stack", help="stack name: plans stacks/Pulumi.STACK.yaml")
    p.add_argument("--config", type=Path, help="plan this stack file instead of stacks/Pulumi.STACK.yaml")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the plan manifest (JSON) here")
    p.add_argument("--markdown", type=Path, metavar="OUT", help="write the Markdown plan here")
    p.add_argument("--quiet", action="store_true", help="print only the summary line")
    p.set_defaults(func=run)


def config_errors_text(issues: list[tuple[str, str]], file: str | None = None) -> str:
    header = f"invalid configuration in {file}:" if file else "invalid configuration:"
    lines = [header] + [f"  {path}: {message}" for path, message in issues]
    return "\n".join(lines)


def build_manifest(stack: str, project_dir: Path = PROJECT_DIR, config_file: Path | None = None) -> dict[str, Any]:
    """Validate the stack, run it under mocks and return its manifest. Raises ConfigError."""
    from mssp.offline import plan_gc

    # All of it under the plan's GC thresholds (README "Scale benchmark"), not only the program runs:
    # building the manifest from the registrations allocates about as much again.
    with plan_gc():
        return _build_manifest(stack, project_dir, config_file)


def _build_manifest(stack: str, project_dir: Path, config_file: Path | None) -> dict[str, Any]:
    from components.config import load_stack_file, read_stack_values, stack_file
    from mssp.offline import run_program

    path = config_file or stack_file(project_dir, stack)
    loaded = load_stack_file(path, project_dir, stack)
    values, secrets = read_stack_values(path)
    stack_outputs: dict[str, dict[str, Any]] = {}
    if loaded.customer is not None:
        # Platform outputs come from the platform stack's own offline plan: same program, same mocks.
        platform_name = loaded.customer.platform_stack_name
        p_values, p_secrets = read_stack_values(stack_file(project_dir, platform_name))
        platform_run = run_program(project_dir, platform_name, p_values, p_secrets)
        stack_outputs[loaded.customer.platform_stack] = platform_run.outputs
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
    ctx = rules.context_from_config(loaded)
    results = rules.evaluate_manifest(manifest, ctx)
    customer = getattr(loaded, "customer", None)
    if customer is not None and customer.access_model == "lighthouse" and customer.lighthouse.mode == "template":
        from components.lighthouse_template import arm_template

        # The delegation is exported (`mssp template`), not planned: check the definition the customer deploys.
        definition = arm_template(customer, loaded.platform.tenant_id, loaded.platform.identity.display_name)
        results += rules.evaluate_exported_definition(definition["resources"][0]["properties"],
                                                      f"template:{manifest['stack']}:registrationDefinition", ctx)
    return results


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
    audited = outputs.get("auditedSqlServers") or []
    if audited:
        # Enabling server audit changes the customer's own SQL servers: say so before anything else below.
        lines += ["", "## Changed on the customer's SQL servers", "",
                  "Server auditing is enabled with the Azure Monitor target (`state: Enabled`, "
                  "`isAzureMonitorTargetEnabled: true`), so that SQLSecurityAuditEvents (and DevOpsOperationsAudit "
                  "where `isDevopsAuditEnabled: true`) reach the workspace through each master database's setting:",
                  ""]
        lines += [f"- `{a['serverId']}`: isDevopsAuditEnabled `{str(a['isDevopsAuditEnabled']).lower()}`"
                  for a in audited]
    lines += ["", "## Outputs", ""]
    for key, value in outputs.items():
        lines.append(f"- `{key}`: `{json.dumps(value)}`")
    lines += ["", "## Guardrails", ""]
    if not manifest["policies"]:
        lines.append("No guardrail findings.")
    for v in manifest["policies"]:
        lines.append(f"- **{v['level']}** `{v['policy']}` on `{v['urn']}`: {v['message']}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from components.config import ConfigError, file_exists
    from components.strict_yaml import shown

    if args.config is not None and not file_exists(args.config):
        raise UserError(f"--config {shown(str(args.config))}: file not found; allowed: a stack file (e.g. stacks/Pulumi.<stack>.yaml)")
    if args.config is None and not file_exists(PROJECT_DIR / "stacks" / f"Pulumi.{args.stack}.yaml"):
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))
        raise UserError(f"no stack file stacks/Pulumi.{shown(args.stack)}.yaml; stacks: {', '.join(known)} "
                        "(allowed: one of these, or --config FILE)")
    try:
        manifest = build_manifest(args.stack, PROJECT_DIR, args.config)
    except ConfigError as exc:
        raise UserError(config_errors_text(exc.issues, exc.file), exit_code=2) from None
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(manifest_json(manifest), encoding="utf-8")
    markdown = render_markdown(manifest)
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
