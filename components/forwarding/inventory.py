"""The per-customer inventory: the Azure resources whose logs a customer stack forwards.

A YAML file, one entry per resource (ARM id and type), sorted by id so that a tool
(`python -m mssp discover`) writes it byte-for-byte the same way on every run. Parsing here is
pure; the config layer turns its problems into keyed errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.facts import catalog, naming, strict_yaml

# /subscriptions/{guid}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}[/{childType}/{childName}]...
_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[0-9a-fA-F-]{36})/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/(?P<ns>[A-Za-z0-9.]+)/(?P<rest>[^/]+/[^/]+(?:/[^/]+/[^/]+)*)$",
    re.IGNORECASE,  # ARM ids compare case-insensitively
)
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

HEADER = (
    "# Inventory: the resources whose logs this customer stack forwards to the MSSP workspace.\n"
    "# Written by `python -m mssp discover` (sorted by id); hand edits are fine, keep it sorted.\n"
)


@dataclass(frozen=True)
class ResourceId:
    id: str
    subscription_id: str
    resource_group: str
    type: str  # e.g. Microsoft.Sql/servers/databases
    name: str  # last segment


def parse_resource_id(resource_id: str) -> ResourceId | None:
    """Parse an ARM resource id; None when it is not one (resource groups are not resources)."""
    m = _ID_RE.match(resource_id.strip())
    if not m or not GUID_RE.match(m["sub"]):
        return None
    parts = m["rest"].split("/")
    type_segments = parts[0::2]
    return ResourceId(
        id=resource_id.strip(),
        subscription_id=m["sub"].lower(),
        resource_group=m["rg"],
        type="/".join([m["ns"], *type_segments]),
        name=parts[-1],
    )


@dataclass(frozen=True)
class InventoryItem:
    id: str
    type: str  # the catalog's spelling of the type
    # The account kind of a storage account (Resource Graph's `kind`): which services it has
    # (catalog.STORAGE_KIND_SERVICES). None for every other type.
    kind: str | None = None


class InventoryError(Exception):
    """Problems found in an inventory file: (path inside the file, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))
        self.problems = problems


def parse_inventory(data: Any, subscription_ids: set[str]) -> list[InventoryItem]:
    """Validate an inventory document; raise InventoryError naming every bad entry."""
    problems: list[tuple[str, str]] = []
    if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
        raise InventoryError([("", "expected a mapping with a 'resources' list; allowed: `resources: [...]` (`resources: []` when empty)")])
    unknown = set(data) - {"resources"}
    if unknown:
        problems.append((sorted(unknown)[0], "unknown key; allowed keys: resources"))
    items: list[InventoryItem] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("resources") or []):
        where = f"resources[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            problems.append((where, "expected a mapping with 'id' and 'type'; allowed keys: id, type, kind"))
            continue
        extra = sorted(str(k) for k in set(raw) - {"id", "type", "kind"})
        if extra:
            problems.append((f"{where}.{extra[0]}", "unknown key; allowed keys: id, type, kind"))
        rid = parse_resource_id(raw["id"])
        if rid is None:
            problems.append((
                f"{where}.id",
                f"'{raw['id']}' is not an ARM resource id "
                "(allowed: /subscriptions/<guid>/resourceGroups/<rg>/providers/<Namespace>/<type>/<name>)",
            ))
            continue
        entry = catalog.entry_for(rid.type)
        if entry is None:
            problems.append((
                f"{where}.id",
                f"resource type '{rid.type}' is not supported; supported: {', '.join(catalog.supported_types())} (allowed: one of these)",
            ))
            continue
        # Azure's naming rules (components/facts/naming.py): a hand-written id with a name Azure cannot have
        # names no resource; it would only fail at deploy time.
        name_problem = naming.name_problem("resourceGroup", rid.resource_group, ignore_case=True) or (
            naming.name_problem(entry.type, rid.name, ignore_case=True) if entry.type in naming.NAME_RULES else None)
        if name_problem:
            problems.append((f"{where}.id", name_problem))
            continue
        declared = raw.get("type")
        if declared is not None and str(declared).lower() != entry.type.lower():
            problems.append((f"{where}.type", f"'{declared}' does not match the id's type '{entry.type}'; allowed: "
                                                 f"'{entry.type}' or leave type out"))
        if rid.subscription_id not in subscription_ids:
            problems.append((
                f"{where}.id",
                f"subscription {rid.subscription_id} is not one of the customer's subscriptions "
                f"(allowed: {', '.join(sorted(subscription_ids))})",
            ))
        kind, kind_problem = _kind(entry, raw.get("kind"))
        if kind_problem:
            problems.append((f"{where}.kind", kind_problem))
        key = rid.id.lower()
        if key in seen:
            problems.append((f"{where}.id", "listed twice (ids compare case-insensitively); allowed: each resource once"))
        seen.add(key)
        items.append(InventoryItem(id=rid.id, type=entry.type, kind=kind))
    if problems:
        raise InventoryError(problems)
    return sorted(items, key=lambda it: it.id.lower())


def _kind(entry: catalog.CatalogEntry, raw: Any) -> tuple[str | None, str | None]:
    """(the catalog's spelling of an entry's kind, a problem) for one inventory entry."""
    if entry.kind_services is None:
        if raw is not None:
            return None, (f"only {', '.join(e.type for e in catalog.CATALOG if e.kind_services)} entries have a "
                          "kind; allowed: leave kind out for this type")
        return None, None
    kinds = ", ".join(entry.kind_services)
    if raw is None:
        return None, (f"required for {entry.type}: the account kind decides which services get a setting; "
                      f"allowed: {kinds} (`python -m mssp discover` records it from Resource Graph; by hand, "
                      "copy 'Account kind' from the account's Overview page)")
    by_lower = {k.lower(): k for k in entry.kind_services}
    if not isinstance(raw, str) or raw.lower() not in by_lower:
        return None, f"'{strict_yaml.shown(raw)}' is not a storage account kind; allowed: {kinds}"
    return by_lower[raw.lower()], None


def load_inventory(path: Path, subscription_ids: set[str]) -> list[InventoryItem]:
    try:
        data = strict_yaml.load_file(path, "inventory")
    except strict_yaml.YamlKeyError as exc:
        raise InventoryError([(where, f"line {line}: {msg}") for line, where, msg in exc.problems]) from None
    if data is None:
        # A blanked or truncated file must not read as "forward nothing": `pulumi up` would then delete
        # every diagnostic setting of the customer. An intentionally empty inventory says so.
        raise InventoryError([("", "the inventory file is empty; allowed: a 'resources' list, or `resources: []` "
                                   "if the customer has nothing to forward yet")])
    return parse_inventory(data, subscription_ids)


def dump_inventory(items: list[InventoryItem]) -> str:
    """The canonical text of an inventory: header, then entries sorted by id (case-insensitive)."""
    rows = [{"id": it.id, "type": it.type, **({"kind": it.kind} if it.kind else {})}
            for it in sorted(items, key=lambda it: it.id.lower())]
    body = yaml.safe_dump({"resources": rows}, sort_keys=False, default_flow_style=False, width=1000)
    return HEADER + body
