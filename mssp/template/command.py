"""`python -m mssp template STACK --out DIR`: the Lighthouse template a customer deploys themselves.

Writes template.json, one parameters.<subscription>.json per subscription, createUiDefinition.json and
INSTRUCTIONS.md. The MSSP service principal's object id comes from `--mssp-principal-id`, or from the
platform stack's output through the Pulumi CLI when it is installed and logged in.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mssp import PROJECT_DIR
from mssp.errors import UserError
from mssp.output import write_output


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "template", help="write the customer self-deploy Lighthouse template",
        epilog="exit codes: 0 written; 1 the delegation breaks Lighthouse rules; 2 bad input, or a principal id "
               "unknown without --allow-placeholders (nothing is written)")
    p.add_argument("stack", help="customer stack name (stacks/Pulumi.STACK.yaml)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the files into")
    p.add_argument("--config", type=Path, help="use this stack file instead of stacks/Pulumi.STACK.yaml")
    p.add_argument(PRINCIPAL_FLAG, help="object id of the MSSP service principal (platform output servicePrincipalObjectId)")
    p.add_argument(READ_ONLY_FLAG,
                   help="object id of the MSSP read-only service principal (platform output readOnlyServicePrincipalObjectId)")
    p.add_argument("--allow-placeholders", action="store_true",
                   help="write the files even when a principal id is unknown: its parameters hold a visible placeholder "
                        "that ARM refuses until it is replaced")
    p.set_defaults(func=run)


PRINCIPAL_FLAG = "--mssp-principal-id"
READ_ONLY_FLAG = "--read-only-principal-id"
NIL_GUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Principal:
    """One MSSP identity the template's parameters name: the flag that sets it, its platform output, its value."""

    flag: str
    output: str
    value: str | None


def principal_issues(principals: Sequence[Principal], config_ids: Mapping[str, str]) -> list[str]:
    """What is wrong with the given principal ids: not a GUID, the nil GUID, or one id for two identities
    (the two MSSP identities, or an MSSP identity and a principal the customer config authorizes)."""
    from components.config.base import GUID_RE
    from components.facts.strict_yaml import shown

    issues = []
    seen: dict[str, str] = {}
    for p in principals:
        if p.value is None:
            continue
        if not GUID_RE.match(p.value):
            issues.append(f"{p.flag}: '{shown(p.value)}' is not a GUID; allowed: the platform output {p.output} "
                          "(8-4-4-4-12 hexadecimal digits)")
            continue
        key = p.value.lower()
        if key == NIL_GUID:
            issues.append(f"{p.flag}: the nil GUID {NIL_GUID} is no principal's object id; allowed: the platform "
                          f"output {p.output}")
        elif key in seen:
            issues.append(f"{p.flag}: '{p.value}' is also given as {seen[key]}: two identities cannot share one object "
                          f"id; allowed: the platform output {p.output}")
        elif key in config_ids:
            issues.append(f"{p.flag}: '{p.value}' is the object id of '{shown(config_ids[key])}' in "
                          f"customer.lighthouse.authorizations; allowed: the platform output {p.output}")
        seen.setdefault(key, p.flag)
    return issues


def _principal_from_pulumi(platform_stack: str, output: str = "servicePrincipalObjectId") -> str | None:
    if shutil.which("pulumi") is None:
        return None
    try:
        result = subprocess.run(
            ["pulumi", "stack", "output", output, "--stack", platform_stack],
            capture_output=True, text=True, timeout=120, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = result.stdout.strip()
    return value if result.returncode == 0 and value else None


def _dump(path: Path, data: object) -> None:
    write_output(path, json.dumps(data, indent=2) + "\n")  # an unwritable --out: exit 2, no traceback


def run(args: argparse.Namespace) -> int:
    from components.config import ConfigError, load_stack_file, stack_file, stack_name_problem
    from components.lighthouse.template import (
        PRINCIPAL_PARAMETER,
        READ_ONLY_PARAMETER,
        create_ui_definition,
        exported_template,
        instructions,
        parameters_file,
        placeholder,
        principal_parameters,
    )
    from mssp.output import check_out_dir
    from mssp.plan.command import config_errors_text

    if args.config is None and (problem := stack_name_problem(args.stack, PROJECT_DIR)) is not None:
        raise UserError(problem)
    check_out_dir(args.out)
    try:
        loaded = load_stack_file(args.config or stack_file(PROJECT_DIR, args.stack), PROJECT_DIR, args.stack)
    except ConfigError as exc:
        raise UserError(config_errors_text(exc.issues, exc.file), exit_code=2) from None
    customer = loaded.customer
    if customer is None or customer.access_model != "lighthouse":
        raise UserError(f"stack {args.stack}: templates are for customer stacks with accessModel lighthouse "
                        "(allowed: a customer stack whose customer.accessModel is lighthouse)")
    # The one source of what the customer deploys; the plan's review reads the same function.
    template = exported_template(loaded)
    wanted = principal_parameters(template)
    given = {PRINCIPAL_PARAMETER: Principal(PRINCIPAL_FLAG, "servicePrincipalObjectId", args.mssp_principal_id),
             READ_ONLY_PARAMETER: Principal(READ_ONLY_FLAG, "readOnlyServicePrincipalObjectId", args.read_only_principal_id)}
    config_ids = {a.principal_id.lower(): a.display_name for a in customer.lighthouse.authorizations}
    issues = principal_issues([given[p] for p in wanted], config_ids)
    if issues:
        raise UserError("\n".join(issues), exit_code=2)
    resolved = {p: given[p] if given[p].value else Principal(given[p].flag, given[p].output,
                                                             _principal_from_pulumi(customer.platform_stack, given[p].output))
                for p in wanted}
    issues = principal_issues(list(resolved.values()), config_ids)
    if issues:  # what the platform stack answered is no better than a flag
        raise UserError("from the platform stack's outputs: " + "\n".join(issues), exit_code=2)
    unknown = [p for p in wanted if resolved[p].value is None]
    if unknown and not args.allow_placeholders:
        raise UserError("; ".join(f"{resolved[p].flag}: the object id is unknown (the Pulumi CLI could not read the "
                                  f"platform output {resolved[p].output})" for p in unknown)
                        + ". Give it, or pass --allow-placeholders to write files with a visible placeholder; nothing "
                          "was written", exit_code=2)

    from policies import rules

    definition = template["resources"][0]["properties"]
    # The same guardrail the plans and the CrossGuard pack run over Lighthouse definitions.
    problems = rules.check_lighthouse_roles(
        rules.ResourceView(type=rules.REGISTRATION_DEFINITION, props={"properties": definition}),
        rules.context_from_config(loaded),
    )
    if problems:  # the config layer already prevents this; never hand a customer a template Azure rejects
        raise UserError("the delegation breaks Lighthouse rules: " + "; ".join(problems), exit_code=1)
    advisories = [f for f in rules.evaluate_exported_definition(definition, "template", rules.context_from_config(loaded))
                  if f["level"] == "advisory"]

    values = {p: resolved[p].value or placeholder(resolved[p].output) for p in wanted}
    managing = loaded.platform.tenant_id
    _dump(args.out / "template.json", template)
    for sub in customer.subscriptions:
        _dump(args.out / f"parameters.{sub.id}.json",
              parameters_file(customer, managing, sub.id, values[PRINCIPAL_PARAMETER], values.get(READ_ONLY_PARAMETER)))
    _dump(args.out / "createUiDefinition.json", create_ui_definition(customer, template))
    write_output(args.out / "INSTRUCTIONS.md", instructions(customer, managing, template,
                                                            [(resolved[p].flag, resolved[p].output) for p in unknown]))
    if customer.workspace.customer_mode:
        _write_workspace_template(args.out, loaded, values)
    print(f"wrote the Lighthouse template for {customer.display_name} ({len(customer.subscriptions)} subscription(s)) to {args.out}")
    for finding in advisories:
        print(f"advisory: {finding['policy']}: {finding['message']}")
    for p in unknown:
        print(f"warning: {resolved[p].flag}: object id unknown: the parameters files hold the placeholder "
              f"'{placeholder(resolved[p].output)}'; replace it with the platform stack's {resolved[p].output} output "
              f"before the customer deploys (or run again with {resolved[p].flag})", file=sys.stderr)
    return 0


def _write_workspace_template(out: Path, loaded: Any, values: Mapping[str, str]) -> None:
    """Customer topology: the workspace resource group and its own delegation, deployed once in the workspace's
    subscription (components.workspace.sentinel.workspace_arm_template; docs/topologies.md)."""
    from components.workspace.sentinel import workspace_arm_template

    customer, platform = loaded.customer, loaded.platform
    reader = platform.read_only_identity
    group = platform.offboarding_group
    template = workspace_arm_template(customer, platform.tenant_id, platform.identity.display_name,
                                      reader.display_name if reader is not None else None,
                                      (group.principal_id, group.display_name) if group else None)
    _dump(out / "workspace-template.json", template)
    _dump(out / "workspace-parameters.json", {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {name: {"value": values[name]} for name in template["parameters"]}})
    ws = customer.workspace
    write_output(out / "WORKSPACE.md", f"""# Microsoft Sentinel workspace for {customer.display_name}

Your MSSP runs Microsoft Sentinel for you in a workspace in your own tenant, region ({ws.location}) and
subscription (`{ws.subscription_id}`). Deploy this once, as an Owner of that subscription: it creates the
resource group `{ws.resource_group}` and delegates it (and nothing else in that subscription) to the MSSP.

```
az account set --subscription {ws.subscription_id}
az provider register --namespace Microsoft.ManagedServices
az provider register --namespace Microsoft.OperationalInsights
az provider register --namespace Microsoft.SecurityInsights
az deployment sub create --name mssp-sentinel-workspace --location {ws.location} \\
  --template-file workspace-template.json --parameters @workspace-parameters.json
```

The MSSP then creates the workspace `{ws.name}` and enables Microsoft Sentinel on it through this delegation.
""")
