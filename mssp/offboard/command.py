"""`python -m mssp offboard STACK`: removing a customer as one reviewed flow.

1. The plan (always, and nothing changes): from the stack's offline plan, every resource `pulumi
   destroy` would delete and every one that stays, with the reason; the platform's shared resources,
   which stay; what the customer must do themselves (template mode: remove the registration assignment
   per subscription; everyone: revoke the admin consent); the known blockers.
2. `--execute --yes`: runs `pulumi destroy` for this stack only, after the plan was printed. `--execute`
   without `--yes` is refused (exit 2) and changes nothing.
3. Then the verification: ARM reads of every setting the stack owned (mssp.offboard.verify); also alone
   with `--verify-only`.
4. A final report, Markdown and JSON (`--markdown`, `--json`), that can be handed to the customer: no
   secrets (stack outputs are not copied into it).

Exit codes: 0 planned (no changes), or destroyed and verified; 1 error (pulumi destroy failed, settings
could not be read); 2 refused (--execute without --yes) or invalid configuration; 3 settings remain
after the destroy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mssp import PROJECT_DIR, escape
from mssp.errors import UserError
from mssp.offboard import runbook
from mssp.output import write_output

EXIT_OK, EXIT_ERROR, EXIT_REFUSED, EXIT_LEFTOVERS = 0, 1, 2, 3
ARM_ENDPOINT_ENV = "MSSP_ARM_ENDPOINT"  # the same variable discovery uses (sovereign clouds, a local server)
DEFAULT_TIMEOUT_SECONDS = 3 * 3600


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "offboard",
        help="offboard a customer: plan, customer runbook, `pulumi destroy` with --execute --yes, verification "
             "(exit 0 ok, 1 error, 2 refused, 3 settings remain)",
        description=(
            "Show what removing customer STACK deletes and what stays (with reasons), what the customer must do, "
            "and known blockers. Changes nothing unless --execute --yes: then runs `pulumi destroy` for the stack "
            "and verifies through ARM that none of its diagnostic settings remain. Exit codes: 0 planned, or "
            "destroyed and verified; 1 error; 2 refused (--execute without --yes) or invalid configuration; "
            "3 settings remain."
        ),
    )
    p.add_argument("stack", metavar="STACK", help="customer stack (stacks/Pulumi.STACK.yaml); ORG/STACK is passed "
                                                  "to pulumi as given")
    p.add_argument("--execute", action="store_true", help="run `pulumi destroy` for the stack (needs --yes)")
    p.add_argument("--yes", action="store_true", help="confirm --execute after reviewing the plan")
    p.add_argument("--verify-only", action="store_true", help="only verify that none of the stack's settings remain")
    p.add_argument("--json", type=Path, metavar="OUT", dest="json_out", help="write the final report (JSON) here")
    p.add_argument("--markdown", type=Path, metavar="OUT", help="write the final report (Markdown) here")
    p.add_argument("--arm-endpoint", default=None, help=f"ARM endpoint (default ${ARM_ENDPOINT_ENV} or public cloud)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, metavar="SECONDS",
                   help="give up on pulumi destroy after this long")
    p.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def plan(stack: str, project_dir: Path) -> dict[str, Any]:
    """The runbook of a customer stack from its offline plan and its platform's. Raises UserError."""
    from components.config import ConfigError, load_stack
    from mssp.plan.command import build_manifest, config_errors_text

    try:
        loaded = load_stack(stack, project_dir)
        if loaded.customer is None:
            raise UserError(f"stack {stack} is the platform stack: offboarding removes a customer stack; the "
                            "platform's shared resources are never destroyed by this command")
        manifest = build_manifest(stack, project_dir)
        platform = build_manifest(loaded.customer.platform_stack_name, project_dir)
    except ConfigError as exc:
        raise UserError(config_errors_text(exc.issues, exc.file)) from None
    book = runbook.build_runbook(manifest, platform, loaded.platform.tenant_id)
    # Template and direct modes sign the verification in where the settings are readable after destroy.
    lighthouse_deploy = loaded.customer.access_model == "lighthouse" and loaded.customer.lighthouse.mode == "deploy"
    book["verifyTenant"] = (loaded.customer.tenant_id if lighthouse_deploy or loaded.customer.access_model == "direct"
                            else None)
    return book


def destroy_args(stack: str) -> list[str]:
    return ["destroy", "--stack", stack, "--yes", "--non-interactive", "--color", "never"]


def run_destroy(stack: str, project_dir: Path, timeout: float) -> tuple[int, str]:
    """`pulumi destroy` for this one stack; (exit code, stderr tail). Never raises on a non-zero exit."""
    exe = shutil.which("pulumi")
    if exe is None:
        return 127, "the Pulumi CLI (`pulumi`) is not on PATH (https://www.pulumi.com/docs/install/)"
    try:
        proc = subprocess.run([exe, *destroy_args(stack)], cwd=project_dir, capture_output=True, text=True,
                              timeout=timeout, check=False, env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"})
    except subprocess.TimeoutExpired:
        return 124, f"`pulumi destroy` did not finish within {timeout:g} seconds"
    except OSError as exc:
        return 126, f"could not run {exe}: {exc}"
    sys.stderr.write(proc.stdout)
    return proc.returncode, proc.stderr.strip()[-2000:]


def make_arm_client(endpoint: str | None, tenant_id: str | None) -> Any:
    from mssp.azure import arm as arm_api
    from mssp.azure.rest import AzureRestClient, default_token_provider

    base = (endpoint or arm_api.ARM_ENDPOINT).rstrip("/")  # checked by run() (mssp.azure.endpoints)
    # ARM's token scope is its endpoint + "/.default" (sovereign clouds too), as discovery's client does.
    return AzureRestClient(default_token_provider(tenant_id, scope=f"{base}/.default"), base_url=base,
                           user_agent="mssp-sentinel-offboard")


def verification(client: Any, expected: list[dict[str, str]]) -> dict[str, Any]:
    from mssp.offboard.verify import verify_settings_removed

    results = verify_settings_removed(client, expected)
    counts = {k: sum(1 for r in results if r["result"] == k)
              for k in ("removed", "remains", "resource-gone", "unreadable")}
    summary = (f"{counts['removed']} of {len(results)} settings removed, {counts['remains']} remain, "
               f"{counts['resource-gone']} on resources that no longer exist (cannot be verified), "
               f"{counts['unreadable']} unreadable")
    return {"settings": results, "counts": counts, "summary": summary}


def run(args: argparse.Namespace) -> int:
    stack: str = args.stack
    short = stack.rsplit("/", 1)[-1]
    if args.yes and not args.execute:
        raise UserError("--yes confirms --execute; give both to destroy the stack")
    if args.execute and args.verify_only:
        raise UserError("--verify-only and --execute exclude each other")
    from mssp.azure import arm as arm_api
    from mssp.azure.endpoints import checked_endpoint

    endpoint = args.arm_endpoint or os.environ.get(ARM_ENDPOINT_ENV)
    if endpoint:  # refused before anything is planned or destroyed: the token goes there
        source = "--arm-endpoint" if args.arm_endpoint else f"${ARM_ENDPOINT_ENV}"
        endpoint = checked_endpoint(endpoint, source, arm_api.ARM_ENDPOINT)
    report = plan(short, args.project_dir)
    report.update(status="planned", exitCode=EXIT_OK, errors=[], verification=None, executed=False)
    # The plan is shown before anything else happens.
    sys.stdout.write(runbook.render_markdown(report))
    sys.stdout.flush()
    if args.execute and not args.yes:
        report.update(status="refused", exitCode=EXIT_REFUSED)
        report["errors"].append("refused: --execute needs --yes after the plan above was reviewed; nothing changed")
    elif args.execute or args.verify_only:
        if args.execute:
            code, stderr = run_destroy(stack, args.project_dir, args.timeout)
            report["executed"] = True
            report["destroy"] = {"command": " ".join(["pulumi", *destroy_args(stack)]), "exitCode": code}
            if code != 0:
                hint = (" (a policy denied it: see the DenyAction-DiagnosticLogs blocker)"
                        if "RequestDisallowedByPolicy" in stderr or "DenyAction" in stderr else "")
                report["errors"].append(f"pulumi destroy failed with exit code {code}{hint}: {stderr}")
        if not report["errors"]:
            result = verification(make_arm_client(endpoint, report["verifyTenant"]), report["expectedSettings"])
            report["verification"] = result
            if result["counts"]["unreadable"]:
                report["errors"].append("some settings could not be read: " + result["summary"])
            elif result["counts"]["remains"]:
                report.update(status="settings-remain", exitCode=EXIT_LEFTOVERS)
            elif result["counts"]["resource-gone"]:
                # A setting outlives its resource (MicrosoftDocs/azure-docs#100347): where the resource is gone, nothing
                # was checked, so this is not "verified" (exit 0 only for what was read back): an error.
                report["errors"].append("settings on resources that no longer exist cannot be verified: "
                                        + result["summary"])
            else:
                report.update(status="verified")
        if report["errors"]:
            report.update(status="error", exitCode=EXIT_ERROR)
    final = runbook.render_markdown(report)
    if report["executed"] or report["verification"] is not None:
        sys.stdout.write("\n" + final)  # the plan was printed before; this adds the destroy and the verification
    for path, text in ((args.json_out, json.dumps(report, indent=2) + "\n"), (args.markdown, final)):
        if path is not None:
            write_output(path, text, EXIT_ERROR)
    for e in report["errors"]:
        print(f"error: {escape.clean(e, escape.MAX_TERMINAL)}", file=sys.stderr)
    return int(report["exitCode"])
