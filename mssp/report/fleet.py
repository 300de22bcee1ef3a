"""The fleet coverage data: per customer stack, counts per resource type, details, last health and drift.

Counts come from each stack's offline plan (the design's manifest contract) and config:
- forwarding: inventoried resources with at least one planned diagnostic setting (a storage account
  with its four service settings counts once), minus those the health report found silent;
- silent: from a `mssp health --json` report of the stack, when given;
- not in inventory: coverage drift (`mssp drift --discover --json`, its `coverage` list), when given;
- excluded: inventoried but listed in forwarding.exclude; skipped: inventoried but not forwarded for
  another reason (type not in scope, nothing selected). Both from the plan's `skippedResources` output.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from components.facts.pulumi_tokens import DIAGNOSTIC_SETTING, SUBSCRIPTION_DIAGNOSTIC_SETTING
from mssp.errors import UserError

ACTIVITY = "Activity log"
COUNT_KEYS = ("forwarding", "silent", "notInInventory", "excluded", "skipped")
_EXCLUDED_REASON = "excluded in config"


def columns() -> list[str]:
    from components.facts import catalog

    return [*catalog.supported_types(), ACTIVITY]


def _type_of(resource_id: str) -> str | None:
    from components.facts import catalog
    from components.forwarding.inventory import parse_resource_id

    rid = parse_resource_id(resource_id)
    if rid is not None and catalog.entry_for(rid.type):
        return catalog.entry_for(rid.type).type  # type: ignore[union-attr]
    # A storage service id (.../blobServices/default): the account's type.
    parts = resource_id.split("/")
    for n in range(len(parts) - 2, 0, -2):
        rid = parse_resource_id("/".join(parts[:n]))
        if rid is not None and catalog.entry_for(rid.type):
            return catalog.entry_for(rid.type).type  # type: ignore[union-attr]
    return None


def read_reports(paths: Iterable[Path], what: str) -> dict[str, dict[str, Any]]:
    """JSON reports (health or drift) keyed by short stack name; a bad file, a report of another kind or two
    reports of one stack are clear errors."""
    from components.facts import documents as limits
    from components.facts.strict_yaml import shown
    from mssp import documents

    out: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    for path in paths:
        name = limits.describe(path)
        try:
            doc = limits.load_json_file(path, f"{what} report")
        except limits.DocumentError as exc:
            raise UserError(f"--{what} {exc}") from None
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read {what} report {name}: {exc}; allowed: a report written by "
                            f"`python -m mssp {what} STACK --json OUT`") from None
        documents.expect(doc, what, f"--{what} {name}")
        if not isinstance(doc, dict) or not isinstance(doc.get("stack"), str):
            raise UserError(f"{name}: not a {what} report (no 'stack' key); write one with `mssp {what} --json`")
        problem = _report_shape_problem(doc, what)
        if problem:
            raise UserError(f"--{what} {name}: {problem}; allowed: a report as `python -m mssp {what} STACK --json OUT` "
                            "writes it")
        stack = doc["stack"].rsplit("/", 1)[-1]
        if stack in out:
            raise UserError(f"--{what} {name}: a second {what} report of stack '{shown(stack)}' (the first: "
                            f"{origin[stack]}); allowed: one report per stack")
        out[stack] = doc
        origin[stack] = name
    return out


def _is_list_of(value: Any, kind: type) -> bool:
    return isinstance(value, list) and all(isinstance(v, kind) for v in value)


# The keys of each report the page reads, and what each must be (absent is fine: the page shows nothing then).
_REPORT_KEYS: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "health": {
        "status": (lambda v: isinstance(v, str), "a string"),
        "silentResources": (lambda v: _is_list_of(v, str), "a list of resource ids"),
        "silentSubscriptions": (lambda v: _is_list_of(v, str), "a list of subscription ids"),
        "window": (lambda v: isinstance(v, dict) and isinstance(v.get("end", ""), str)
                   and isinstance(v.get("hours", 0), int) and not isinstance(v.get("hours", 0), bool),
                   "an object with 'end' (text) and 'hours' (a number)"),
        "errors": (lambda v: _is_list_of(v, str), "a list of messages"),
    },
    "drift": {
        "status": (lambda v: isinstance(v, str), "a string"),
        "coverage": (lambda v: v is None or (isinstance(v, list) and all(
            isinstance(c, dict) and isinstance(c.get("id", ""), str) and isinstance(c.get("type", ""), str)
            for c in v)), "null or a list of {id, type, reason}"),
        "summary": (lambda v: isinstance(v, dict) and all(isinstance(n, int) and not isinstance(n, bool)
                                                           for n in v.values()), "an object of counts"),
        "errors": (lambda v: _is_list_of(v, str), "a list of messages"),
    },
}


def _report_shape_problem(doc: Mapping[str, Any], what: str) -> str | None:
    """The first key of a report that has the wrong shape for the page, named with what it must be."""
    for key, (ok, wanted) in _REPORT_KEYS[what].items():
        if key in doc and doc[key] is not None and not ok(doc[key]):
            return f"'{key}' must be {wanted}"
    return None


def customer_stacks(project_dir: Path) -> list[str]:
    from components.config import ConfigError, load_stack

    out = []
    for path in sorted((project_dir / "stacks").glob("Pulumi.*.yaml")):
        name = path.name[len("Pulumi."):-len(".yaml")]
        try:
            if load_stack(name, project_dir, require_inventory=False).customer is not None:
                out.append(name)
        except ConfigError:
            out.append(name)  # planned below, where the error is reported with its keys
    return out


def customer_row(stack: str, project_dir: Path, health: Mapping[str, Any] | None,
                 drift: Mapping[str, Any] | None) -> dict[str, Any]:
    from components.config import ConfigError, load_stack
    from components.facts import roles
    from components.lighthouse.delegation import definition_properties
    from mssp.health.query import owner_of
    from mssp.plan.command import build_manifest, config_errors_text

    try:
        loaded = load_stack(stack, project_dir)
        manifest = build_manifest(stack, project_dir)
    except ConfigError as exc:
        raise UserError(f"stack {stack}: " + config_errors_text(exc.issues, exc.file)) from None
    customer = loaded.customer
    if customer is None:
        raise UserError(f"stack {stack} is the platform stack; the coverage page lists customer stacks")
    cells: dict[str, dict[str, int]] = {c: dict.fromkeys(COUNT_KEYS, 0) for c in columns()}
    inventory = {it.id.lower(): it.id for it in loaded.inventory}
    configured: dict[str, str] = {}  # inventory id -> type
    settings: dict[str, int] = {}  # type -> planned settings (a storage account has up to five)
    for r in manifest["resources"]:
        if r["type"] == DIAGNOSTIC_SETTING:
            owner = owner_of(r["inputs"]["resourceUri"], inventory)
            if owner is not None:
                configured[owner] = _type_of(owner) or "?"
                settings[configured[owner]] = settings.get(configured[owner], 0) + 1
    silent_ids = {i.lower() for i in (health or {}).get("silentResources", [])}
    for rid, rtype in configured.items():
        cells.setdefault(rtype, dict.fromkeys(COUNT_KEYS, 0))
        cells[rtype]["silent" if rid.lower() in silent_ids else "forwarding"] += 1
    for s in manifest["outputs"].get("skippedResources") or []:
        rtype = _type_of(s["id"]) or "?"
        cells.setdefault(rtype, dict.fromkeys(COUNT_KEYS, 0))
        cells[rtype]["excluded" if s["reason"].startswith(_EXCLUDED_REASON) else "skipped"] += 1
    for c in (drift or {}).get("coverage") or []:
        rtype = _type_of(c.get("id", "")) or c.get("type", "?")
        rtype = next((t for t in columns() if t.lower() == str(rtype).lower()), str(rtype))
        cells.setdefault(rtype, dict.fromkeys(COUNT_KEYS, 0))
        cells[rtype]["notInInventory"] += 1
    activity_subs = [r for r in manifest["resources"] if r["type"] == SUBSCRIPTION_DIAGNOSTIC_SETTING]
    silent_subs = {s.lower() for s in (health or {}).get("silentSubscriptions", [])}
    cells[ACTIVITY]["silent"] = len(silent_subs)
    cells[ACTIVITY]["forwarding"] = len(activity_subs) - len(silent_subs)
    lighthouse = customer.access_model == "lighthouse"
    authorizations = []
    if lighthouse:
        first = customer.subscriptions[0].id
        audited = {str(a.get("serverId", "")).split("/")[2] for a in manifest["outputs"].get("auditedSqlServers") or []}
        props = definition_properties(customer, loaded.platform.tenant_id, first,
                                      "platform service principal", loaded.platform.identity.display_name,
                                      sql_audit=first in audited)
        for kind, key in (("permanent", "authorizations"), ("eligible (just in time)", "eligibleAuthorizations")):
            for a in props.get(key) or []:
                role = roles.BY_GUID.get(a["roleDefinitionId"])
                authorizations.append({"principal": a.get("principalIdDisplayName", ""),
                                       "principalId": a["principalId"], "kind": kind,
                                       "role": role.name if role else a["roleDefinitionId"]})
    return {
        "stack": stack,
        "customer": customer.name,
        "displayName": customer.display_name,
        "accessModel": customer.access_model,
        "lighthouseMode": customer.lighthouse.mode if lighthouse else None,
        "subscriptions": [{"id": s.id, "displayName": s.display_name,
                           "activityLog": "silent" if s.id.lower() in silent_subs else
                           ("forwarding" if customer.forwarding.activity_log.enabled else "off")}
                          for s in customer.subscriptions],
        "authorizations": authorizations,
        "topology": topology_of(loaded),
        "cells": cells,
        "settings": settings,
        # Totals count resources; the Activity log column counts subscriptions and stays out of them.
        "totals": {k: sum(c[k] for t, c in cells.items() if t != ACTIVITY) for k in COUNT_KEYS},
        "health": None if health is None else {
            "status": health.get("status"), "end": (health.get("window") or {}).get("end"),
            "hours": (health.get("window") or {}).get("hours"), "silent": len(health.get("silentResources") or []),
            "silentSubscriptions": len(health.get("silentSubscriptions") or []), "errors": health.get("errors") or []},
        "drift": None if drift is None else {
            "status": drift.get("status"), "summary": drift.get("summary") or {}, "errors": drift.get("errors") or []},
    }


def topology_of(loaded: Any) -> dict[str, Any]:
    """Where the customer's logs are stored (components.config.topology): the MSSP's central workspace, or the
    customer's own; its region; the regions allowed; the SOC's roles on a customer workspace."""
    customer, platform = loaded.customer, loaded.platform
    ws = customer.workspace
    residency = customer.data_residency
    return {
        "mode": ws.mode,
        "workspaceResourceId": ws.resource_id if ws.customer_mode else platform.workspace_id,
        "region": ws.location if ws.customer_mode else platform.location,
        "allowedRegions": list(residency.allowed_regions) if residency is not None else None,
        "workspaceAuthorizations": [{"principal": a.display_name, "principalId": a.principal_id, "role": a.role_name}
                                    for a in ws.authorizations],
    }


def _check_names(names: Sequence[str], known: Sequence[str], project_dir: Path) -> None:
    """--stack names a customer stack of this project; else list the known ones."""
    from components.config import stack_name_problem
    from components.facts.strict_yaml import shown

    for name in names:
        if name not in known:
            problem = stack_name_problem(name, project_dir)
            what = "is a platform stack, not a customer stack" if problem is None else problem.split(";")[0]
            raise UserError(f"--stack {shown(name)}: {what}; customer stacks: {', '.join(known) or 'none'} "
                            "(allowed: one of these)")


def read_usage(path: Path | None) -> dict[str, dict[str, Any]]:
    """Billable ingestion per customer stack from a `mssp usage --format json` report (empty without one)."""
    if path is None:
        return {}
    from components.facts import documents as limits

    try:
        doc = limits.load_json_file(path, "usage report")
    except limits.DocumentError as exc:
        raise UserError(f"--usage {exc}") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read usage report {limits.describe(path)}: {exc}; allowed: a report written by "
                        "`python -m mssp usage ... --format json --out FILE`") from None
    from mssp import documents

    documents.expect(doc, "usage", f"--usage {limits.describe(path)}")  # a health or drift report, named as such
    customers = doc.get("customers") if isinstance(doc, dict) else None
    if not isinstance(customers, list) or not all(
            isinstance(c, dict) and isinstance(c.get("stack"), str) and isinstance(c.get("status"), str)
            and isinstance(c.get("totalGB"), (int, float)) for c in customers):
        raise UserError(f"--usage {limits.describe(path)}: not a usage report (a 'customers' list of stack, status, "
                        "totalGB); write one with `mssp usage --format json`")
    return {c["stack"]: {"from": str(doc.get("from")), "to": str(doc.get("to")), "totalGB": float(c["totalGB"]),
                         "status": c["status"]} for c in customers}


def build(project_dir: Path, stacks: Sequence[str] | None, health_files: Iterable[Path],
          drift_files: Iterable[Path], usage_file: Path | None = None) -> dict[str, Any]:
    health = read_reports(health_files, "health")
    drift = read_reports(drift_files, "drift")
    usage = read_usage(usage_file)
    known = customer_stacks(project_dir)
    names = list(stacks) if stacks else known
    if not names:
        raise UserError(f"no customer stack files in {project_dir / 'stacks'}")
    _check_names(names, known, project_dir)
    for what, reports in (("health", health), ("drift", drift)):
        strays = sorted(set(reports) - set(names))
        if strays:
            raise UserError(f"--{what}: a report of stack {', '.join(map(repr, strays))}, which is not in this report "
                            f"(customers: {', '.join(names)}); allowed: reports of these stacks only (or add the stack "
                            "with --stack)")
    rows = []
    for i, s in enumerate(names, 1):
        # Progress on stderr (the page is written to files): each customer is planned offline, about a second each.
        print(f"report: planning customer {i}/{len(names)}: {s}", file=sys.stderr, flush=True)
        rows.append(customer_row(s, project_dir, health.get(s), drift.get(s)) | {"usage": usage.get(s)})
    return {"columns": columns(), "customers": sorted(rows, key=lambda r: r["customer"])}
