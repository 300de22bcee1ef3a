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
from pathlib import Path

from mssp import PROJECT_DIR
from mssp.errors import UserError
from mssp.output import write_output


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("template", help="write the customer self-deploy Lighthouse template")
    p.add_argument("stack", help="customer stack name (stacks/Pulumi.STACK.yaml)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the files into")
    p.add_argument("--config", type=Path, help="use this stack file instead of stacks/Pulumi.STACK.yaml")
    p.add_argument("--mssp-principal-id", help="object id of the MSSP service principal (platform output)")
    p.add_argument("--read-only-principal-id",
                   help="object id of the MSSP read-only service principal (platform output readOnlyServicePrincipalObjectId)")
    p.set_defaults(func=run)


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
    from components.config import ConfigError, load_stack_file, stack_file
    from components.config.base import GUID_RE
    from components.facts.strict_yaml import shown
    from components.lighthouse.template import (
        PRINCIPAL_PLACEHOLDER,
        arm_template,
        create_ui_definition,
        instructions,
        parameters_file,
    )
    from mssp.plan.command import config_errors_text

    try:
        loaded = load_stack_file(args.config or stack_file(PROJECT_DIR, args.stack), PROJECT_DIR, args.stack)
    except ConfigError as exc:
        raise UserError(config_errors_text(exc.issues, exc.file), exit_code=2) from None
    customer = loaded.customer
    if customer is None or customer.access_model != "lighthouse":
        raise UserError(f"stack {args.stack}: templates are for customer stacks with accessModel lighthouse "
                        "(allowed: a customer stack whose customer.accessModel is lighthouse)")
    if args.mssp_principal_id and not GUID_RE.match(args.mssp_principal_id):
        raise UserError(f"--mssp-principal-id: '{shown(args.mssp_principal_id)}' is not a GUID; allowed: the platform "
                        "output servicePrincipalObjectId (8-4-4-4-12 hexadecimal digits)")
    principal = args.mssp_principal_id or _principal_from_pulumi(customer.platform_stack)
    managing = loaded.platform.tenant_id
    reader = loaded.platform.read_only_identity
    if args.read_only_principal_id and not GUID_RE.match(args.read_only_principal_id):
        raise UserError(f"--read-only-principal-id: '{args.read_only_principal_id}' is not a GUID")
    reader_id = None
    if reader is not None:
        reader_id = (args.read_only_principal_id
                     or _principal_from_pulumi(customer.platform_stack, "readOnlyServicePrincipalObjectId")
                     or PRINCIPAL_PLACEHOLDER)

    from components.forwarding.diagnostics import sql_audit_subscriptions

    template = arm_template(customer, managing, loaded.platform.identity.display_name,
                            reader.display_name if reader else None,
                            bool(sql_audit_subscriptions(loaded.inventory, customer.forwarding)))
    from policies import rules

    # The same guardrail the plans and the CrossGuard pack run over Lighthouse definitions.
    problems = rules.check_lighthouse_roles(
        rules.ResourceView(type=rules.REGISTRATION_DEFINITION, props={"properties": template["resources"][0]["properties"]}),
        rules.context_from_config(loaded),
    )
    if problems:  # the config layer already prevents this; never hand a customer a template Azure rejects
        raise UserError("the delegation breaks Lighthouse rules: " + "; ".join(problems), exit_code=1)
    advisories = [f for f in rules.evaluate_exported_definition(template["resources"][0]["properties"], "template",
                                                                rules.context_from_config(loaded))
                  if f["level"] == "advisory"]

    _dump(args.out / "template.json", template)
    for sub in customer.subscriptions:
        _dump(args.out / f"parameters.{sub.id}.json", parameters_file(customer, managing, sub.id, principal or PRINCIPAL_PLACEHOLDER,
                                                                              reader_id))
    _dump(args.out / "createUiDefinition.json", create_ui_definition(customer))
    write_output(args.out / "INSTRUCTIONS.md", instructions(customer, managing, principal is not None))
    print(f"wrote the Lighthouse template for {customer.display_name} ({len(customer.subscriptions)} subscription(s)) to {args.out}")
    for finding in advisories:
        print(f"advisory: {finding['policy']}: {finding['message']}")
    if principal is None:
        print("warning: MSSP service principal object id unknown: the parameters files hold a placeholder; "
              "pass --mssp-principal-id (the platform stack's servicePrincipalObjectId output)")
    return 0
