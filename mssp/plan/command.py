"""`python -m mssp plan STACK`: the offline plan, the project's embedded default.

Runs the real program in-process under Pulumi mocks with the stack's real config and writes what it
would create: every resource with its inputs and options, the stack outputs, the guardrail results.
Exit 0 planned; 2 invalid configuration (each bad key by path on stderr, no traceback); 1 a
mandatory guardrail failed. Never talks to a network. The manifest format: docs/manifest.md (a
contract: `mssp diff` and the tests read it). The Markdown: mssp/plan/markdown.py.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mssp import PROJECT_DIR
from mssp.errors import UserError


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
    from components.config import allow_stack_dir, outside_stack_dir
    from mssp.plan.offline import plan_gc

    # All of it under the plan's GC thresholds (README "Scale benchmark"), not only the program runs:
    # building the manifest from the registrations allocates about as much again. Paths in a --config
    # file outside the project may point inside that file's folder (components.config.project_path_issue).
    extra = outside_stack_dir(config_file, project_dir) if config_file is not None else None
    with plan_gc(), allow_stack_dir(extra):
        return _build_manifest(stack, project_dir, config_file)


def _build_manifest(stack: str, project_dir: Path, config_file: Path | None) -> dict[str, Any]:
    from components.config import load_stack_file, stack_file, stack_values
    from mssp.plan.offline import run_program

    path = config_file or stack_file(project_dir, stack)
    loaded = load_stack_file(path, project_dir, stack)
    values, secrets = stack_values(path, project_dir, stack)
    from mssp.plan.review import review_section

    stack_outputs: dict[str, dict[str, Any]] = {}
    platform_run = None
    if loaded.customer is not None:
        # Platform outputs come from the platform stack's own offline plan: same program, same mocks.
        platform_name = loaded.customer.platform_stack_name
        p_values, p_secrets = stack_values(stack_file(project_dir, platform_name), project_dir, platform_name)
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
        from components.lighthouse.template import arm_template

        # The delegation is exported (`mssp template`), not planned: check the definition the customer deploys.
        reader = loaded.platform.read_only_identity
        definition = arm_template(customer, loaded.platform.tenant_id, loaded.platform.identity.display_name,
                                  reader.display_name if reader else None)
        results += rules.evaluate_exported_definition(definition["resources"][0]["properties"],
                                                      f"template:{manifest['stack']}:registrationDefinition", ctx)
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


def split_resources(manifest: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """(resources, explicit providers) of a manifest; components are neither."""
    from mssp.plan.markdown import split_resources as split

    return split(manifest)


def access_rows(manifest: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(who, role, where, how) for every role the stack grants: role assignments and Lighthouse
    authorizations, so a reviewer sees which identity holds what (deploy vs read-only)."""
    from components.facts import roles

    outputs = manifest.get("outputs") or {}
    known = {outputs.get("servicePrincipalObjectId"): "deploy identity",
             outputs.get("readOnlyServicePrincipalObjectId"): "read-only identity"}
    custom_roles = {r["name"]: r["inputs"].get("roleName", r["name"]) for r in manifest["resources"]
                    if r["type"] == "azure-native:authorization:RoleDefinition"}

    def role_name(definition_id: Any) -> str:
        role = roles.resolve(str(definition_id).rsplit("/", 1)[-1]) if isinstance(definition_id, str) else None
        if role is not None:
            return role.name
        return next(iter(custom_roles.values()), str(definition_id)) if custom_roles else str(definition_id)

    rows = []
    for r in manifest["resources"]:
        inputs = r["inputs"]
        if r["type"] == "azure-native:authorization:RoleAssignment":
            who = known.get(inputs.get("principalId")) or r["name"]
            rows.append((who, role_name(inputs.get("roleDefinitionId")), str(inputs.get("scope")), "role assignment"))
        elif r["type"] == "azure-native:managedservices:RegistrationDefinition":
            props = inputs.get("properties") or {}
            for key, how in (("authorizations", "Lighthouse, permanent"), ("eligibleAuthorizations", "Lighthouse, just in time")):
                for auth in props.get(key) or []:
                    rows.append((str(auth.get("principalIdDisplayName")), role_name(auth.get("roleDefinitionId")),
                                 str(inputs.get("scope")), how))
    return sorted(set(rows))


def render_markdown(manifest: dict[str, Any]) -> str:
    """The reviewer's Markdown plan (mssp/plan/markdown.py)."""
    from mssp.plan.markdown import render_plan

    return render_plan(manifest)


def run(args: argparse.Namespace) -> int:
    from components.config import ConfigError, file_exists
    from components.facts.strict_yaml import shown

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
