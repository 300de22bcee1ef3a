"""`python -m mssp discover STACK`: write a customer stack's inventory from what Azure holds.

Thin glue over mssp.discover.discovery: loads the stack's config, signs in with azure-identity's
DefaultAzureCredential, runs discovery, prints progress (stderr) and a summary table (stdout), and
writes the inventory atomically (and, with `--on-conflict adopt`, a `pulumi import` file). A missing
inventory file is fine here: discovery is how it gets created.

Exit codes: 0 discovery ran (inventory written, already up to date, or `--dry-run` shown);
1 an Azure call failed or a subscription is unreadable (nothing written); 2 invalid configuration
or arguments (nothing written).

`coverage_drift(stack, project_dir)` is the part the drift command uses: in-scope resources that
Azure has and the inventory lacks.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mssp import PROJECT_DIR
from mssp.errors import UserError
from mssp.escape import clean

if TYPE_CHECKING:
    from components.config import CustomerConfig, PlatformConfig
    from components.forwarding.inventory import InventoryItem
    from mssp.azure.rest import AzureRestClient
    from mssp.discover.discovery import Adoption, DiscoveryReport

ENDPOINT_ENV = "MSSP_ARM_ENDPOINT"  # another ARM endpoint (sovereign clouds, a local test server)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "discover",
        help="write a customer stack's inventory from Azure Resource Graph",
        description="Find the customer's in-scope resources (one Resource Graph query), read their existing "
        "diagnostic settings (ARM batch), and write stacks/inventories/STACK.yaml atomically.",
    )
    p.add_argument("stack", help="customer stack name (stacks/Pulumi.STACK.yaml)")
    p.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    p.add_argument(
        "--on-conflict",
        choices=("skip", "adopt"),
        default="skip",
        help="a foreign setting already sending logs to the MSSP workspace would make ours fail with 409: "
        "skip the resource (default) or adopt the setting (write a `pulumi import` file for it)",
    )
    p.add_argument("--import-file", type=Path, metavar="FILE",
                   help="where to write the pulumi import file (default stacks/imports/STACK.json)")
    p.add_argument("--concurrency", type=int, default=8, metavar="N",
                   help="parallel ARM calls when reading settings (default 8)")
    p.add_argument("--allow-empty", action="store_true",
                   help="write the inventory even when Azure answered with no in-scope resources (an empty inventory "
                        "makes the next `pulumi up` delete every diagnostic setting of the customer)")
    p.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------------------------
# Loading the stack
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackContext:
    stack: str
    customer: CustomerConfig
    platform: PlatformConfig
    old_inventory: tuple[InventoryItem, ...]
    inventory_path: Path


def load_context(stack: str, project_dir: Path) -> StackContext:
    """The customer stack's validated config and current inventory; UserError(2) when invalid.

    A missing inventory is fine here (discovery writes it); the rest is validated as `mssp plan` does.
    """
    from components.config import ConfigError, load_stack
    from mssp.plan.command import config_errors_text

    try:
        loaded = load_stack(stack, project_dir, require_inventory=False)
    except ConfigError as exc:
        raise UserError(config_errors_text(exc.issues, exc.file), 2) from None
    if loaded.customer is None or loaded.inventory_path is None:
        raise UserError(f"discover works on customer stacks; '{stack}' is the platform stack (allowed: a customer stack)", 2)
    return StackContext(stack, loaded.customer, loaded.platform, tuple(loaded.inventory), loaded.inventory_path)


def make_client(ctx: StackContext) -> AzureRestClient:
    """The ARM client signed in as the MSSP identity (Lighthouse) or in the customer tenant (direct)."""
    return arm_client(ctx.customer)


def arm_client(customer: CustomerConfig | None) -> AzureRestClient:
    """The ARM client for a customer (a CustomerConfig; None: the MSSP identity's home tenant)."""
    from mssp.azure import arm as arm_api
    from mssp.azure.rest import AzureRestClient, default_token_provider

    tenant = customer.tenant_id if customer is not None and customer.access_model == "direct" else None
    from mssp.azure.endpoints import checked_endpoint

    endpoint = arm_api.ARM_ENDPOINT.rstrip("/")
    if os.environ.get(ENDPOINT_ENV):
        endpoint = checked_endpoint(os.environ[ENDPOINT_ENV], f"${ENDPOINT_ENV}", arm_api.ARM_ENDPOINT)
    # ARM's token scope is its endpoint + "/.default" (https://management.usgovcloudapi.net/.default, ...).
    return AzureRestClient(default_token_provider(tenant, scope=f"{endpoint}/.default"), endpoint)


# ---------------------------------------------------------------------------------------------
# Import file naming: mirrors components/stacks.py and components/forwarding/diagnostics.py
# ---------------------------------------------------------------------------------------------


def adoption_logical_name(adoption: Adoption) -> str:
    """The logical name the program gives the setting on this target (forwarding.plan_settings)."""
    from components.facts import catalog, naming
    from components.forwarding.inventory import parse_resource_id

    rid = parse_resource_id(adoption.resource_id)
    entry = catalog.entry_for(rid.type) if rid else None
    assert rid is not None and entry is not None
    rest = adoption.target_uri[len(adoption.resource_id):].strip("/")
    short = next((s.short for s in entry.sub_services if s.path.lower() == rest.lower()), entry.short) if rest else entry.short
    return naming.resource_logical_name(f"diag-{short}", adoption.target_uri, rid.name)


def forwarding_parent(stack: str, customer_name: str) -> tuple[str, str]:
    from components.config import PROJECT

    name = f"{customer_name}-forwarding"
    return name, f"urn:pulumi:{stack}::{PROJECT}::mssp:forwarding:DiagnosticForwarding::{name}"


def forwarding_provider(stack: str) -> Callable[[Adoption], tuple[str, str]]:
    from components.config import PROJECT
    from components.forwarding.inventory import parse_resource_id

    def provider(adoption: Adoption) -> tuple[str, str]:
        rid = parse_resource_id(adoption.resource_id)
        assert rid is not None
        name = f"forward-{rid.subscription_id}"
        return name, f"urn:pulumi:{stack}::{PROJECT}::pulumi:providers:azure-native::{name}"

    return provider


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def summary_rows(report: DiscoveryReport, old: Sequence[InventoryItem], in_scope: Sequence[str]) -> list[list[str]]:
    """Per type: found, new, gone, adopted, skipped; then a total row."""
    type_of = {it.id.lower(): it.type for it in old}
    type_of.update({r.id.lower(): r.type for r in report.found})
    found = Counter(r.type for r in report.found)
    new = Counter(type_of[i.lower()] for i in report.change.added)
    gone = Counter(type_of[i.lower()] for i, _ in report.change.removed)
    adopted = Counter(v.resource.type for v in report.verdicts if v.action == "adopt")
    skipped = Counter(type_of[i.lower()] for i, _ in skipped_list(report))
    types = sorted(set(in_scope) | set(type_of.values()))
    rows = [[t, *(str(c[t]) for c in (found, new, gone, adopted, skipped))] for t in types]
    rows.append(["total", *(str(sum(c.values())) for c in (found, new, gone, adopted, skipped))])
    return rows


def skipped_list(report: DiscoveryReport) -> list[tuple[str, str]]:
    """(id, reason) of every found resource that is not forwarded because of what discovery saw."""
    kept = {i.lower() for i, _ in report.change.kept}
    return [(v.resource.id, "; ".join(v.reasons)) for v in report.verdicts
            if v.action in ("skip", "vanished") or (v.action == "unreadable" and v.resource.id.lower() not in kept)]


def format_table(rows: list[list[str]]) -> str:
    header = ["type", "found", "new", "gone", "adopted", "skipped"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    def line(r: list[str]) -> str:
        return "  ".join(r[0].ljust(widths[0]) if i == 0 else r[i].rjust(widths[i]) for i in range(len(r)))
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def report_text(report: DiscoveryReport, ctx: StackContext, outcome: str) -> str:
    out = [f"Discovery for stack {ctx.stack}: {len(ctx.customer.subscriptions)} subscription(s), "
           f"{len(ctx.customer.forwarding.in_scope)} resource type(s) in scope", ""]
    out.append(format_table(summary_rows(report, ctx.old_inventory, ctx.customer.forwarding.in_scope)))
    sections = [
        ("New", [(i, "") for i in report.change.added]),
        ("Gone", list(report.change.removed)),
        ("Adopted", [(v.resource.id, "; ".join(v.reasons)) for v in report.verdicts if v.action == "adopt"]),
        ("Skipped", skipped_list(report)),
        ("Kept without verification", list(report.change.kept)),
        ("Excluded by config (kept in the inventory, never forwarded)", [(i, "") for i in report.excluded]),
        ("Ignored Resource Graph rows", list(report.ignored)),
        ("Resource Graph rows whose columns disagree with their id (a broken or hostile answer: the id was used)",
         list(report.flagged)),
    ]
    for title, entries in sections:
        if entries:
            # Ids and reasons can quote Resource Graph's rows: shown one line each, without control or bidi
            # characters (mssp.escape.clean), so a row cannot rewrite the terminal or fake a line.
            out += ["", f"{title}:"] + [f"  {clean(i)}" + (f": {clean(why)}" if why else "") for i, why in entries]
    for w in report.change.warnings:
        out += ["", f"warning: {clean(w)}"]
    stats = report.read_stats
    polls = f" ({stats.poll_calls} poll(s) of running batches)" if stats.poll_calls else ""
    out += ["", f"Azure calls: {report.graph_pages} Resource Graph page(s), {stats.batch_calls} batch call(s){polls}, "
                f"{stats.single_calls} single read(s)" + (f" (/batch not used: {clean(stats.batch_disabled)})"
                                                          if stats.batch_disabled else ""),
            outcome]
    return "\n".join(out)


def _rel(path: Path, project_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, client: AzureRestClient | None = None) -> int:
    from components.forwarding.inventory import dump_inventory
    from mssp.azure.rest import AzureRestError
    from mssp.discover.discovery import (
        SubscriptionAccessError,
        discover,
        dump_import_document,
        import_document,
        write_atomic,
    )

    if args.concurrency < 1:
        raise UserError("--concurrency must be at least 1 (allowed: 1 or more)", 2)
    project_dir: Path = args.project_dir
    ctx = load_context(args.stack, project_dir)
    customer = ctx.customer
    fwd = customer.forwarding
    client = client or make_client(ctx)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        report = discover(
            client,
            subscriptions=[s.id for s in customer.subscriptions],
            types=fwd.in_scope,
            workspace_id=ctx.platform.workspace_id,
            setting_name=fwd.setting_name,
            old_inventory=ctx.old_inventory,
            exclude=fwd.exclude,
            on_conflict=args.on_conflict,
            sends_metrics=fwd.metrics_for,
            concurrency=args.concurrency,
            progress=progress,
        )
    except SubscriptionAccessError as exc:
        names = {s.id: s.display_name for s in customer.subscriptions}
        listed = ", ".join(f"{s} ({names[s]})" if s in names else s for s in exc.subscriptions)
        raise UserError(f"{exc} [{listed}]; nothing written", 1) from None
    except AzureRestError as exc:
        raise UserError(f"{exc}; nothing written, {_rel(ctx.inventory_path, project_dir)} is unchanged", 1) from None

    text = dump_inventory(list(report.change.items))
    inv_rel = _rel(ctx.inventory_path, project_dir)
    import_path: Path = args.import_file or project_dir / "stacks" / "imports" / f"{ctx.stack}.json"
    adoptions = report.adoptions
    import_text = dump_import_document(import_document(
        adoptions,
        logical_name=adoption_logical_name,
        parent=forwarding_parent(ctx.stack, customer.name),
        provider=forwarding_provider(ctx.stack),
    )) if adoptions else ""

    if args.dry_run:
        lines = [f"+ {i}" for i in report.change.added] + [f"- {i}  ({why})" for i, why in report.change.removed]
        diff = "\n".join(lines) if lines else "(no change)"
        extra = f"; would write {len(adoptions)} import(s) to {_rel(import_path, project_dir)}" if adoptions else ""
        outcome = f"Dry run: {inv_rel} would change as follows{extra}; nothing written.\n{diff}"
        print(report_text(report, ctx, outcome))
        return 0

    current = ctx.inventory_path.read_text(encoding="utf-8") if ctx.inventory_path.exists() else None
    if not report.change.items and current != text and not args.allow_empty:
        # An empty answer is more often a wrong scope, a missing delegation or a Resource Graph hiccup than a
        # customer without resources; written, the next `pulumi up` would delete every setting of the customer.
        had = len(ctx.old_inventory or ())
        raise UserError(f"Azure answered with no in-scope resources in the customer's {len(customer.subscriptions)} "
                        f"subscription(s); nothing written, {inv_rel} is unchanged"
                        + (f" ({had} resources)" if had else "") + ". Writing an empty inventory makes the next "
                        "`pulumi up` delete every diagnostic setting of the customer: check the subscriptions and "
                        "the delegation (`python -m mssp drift STACK`), or, if the customer really has nothing to "
                        "forward, run again with --allow-empty", 1)
    try:
        if adoptions:
            write_atomic(import_path, import_text)
        if current == text:
            outcome = f"Inventory {inv_rel} is up to date ({len(report.change.items)} resources)."
        else:
            write_atomic(ctx.inventory_path, text)
            outcome = (f"Wrote {inv_rel}: {len(report.change.items)} resources "
                       f"(+{len(report.change.added)}, -{len(report.change.removed)}).")
    except OSError as exc:
        raise UserError(f"could not write {exc.filename or inv_rel}: {exc.strerror or exc}", 1) from None
    if adoptions:
        outcome += (f"\nWrote {_rel(import_path, project_dir)}: {len(adoptions)} setting(s) to adopt; run "
                    f"`pulumi import --file {_rel(import_path, project_dir)} -s {ctx.stack}` before the next up.")
    print(report_text(report, ctx, outcome))
    return 0


def coverage_drift(stack: str, project_dir: Path, *, client: AzureRestClient | None = None) -> list[dict[str, str]]:
    """In-scope resources found in Azure but missing from the stack's inventory (excluded ones aside).

    One Resource Graph query, no settings reads. Raises UserError (exit code 2 for bad config, 1 for
    an Azure failure or unreadable subscriptions) so an error never reads as "no drift".
    """
    from mssp.azure.rest import AzureRestError
    from mssp.discover.discovery import SubscriptionAccessError, query_resources, unreadable_subscriptions

    ctx = load_context(stack, project_dir)
    fwd = ctx.customer.forwarding
    subscriptions = [s.id for s in ctx.customer.subscriptions]
    client = client or make_client(ctx)
    try:
        graph = query_resources(client, subscriptions, fwd.in_scope)
        missing = unreadable_subscriptions(subscriptions, graph)
        if missing:
            raise SubscriptionAccessError(missing, "Resource Graph returned nothing for them")
    except (SubscriptionAccessError, AzureRestError) as exc:
        raise UserError(f"coverage check failed: {exc}", 1) from None
    known = {it.id.lower() for it in ctx.old_inventory} | {e.lower() for e in fwd.exclude}
    return [{"id": r.id, "type": r.type, "reason": "not in inventory"}
            for r in graph.resources if r.id.lower() not in known]
