"""Fleet-wide uniqueness: no two customer stacks may manage the same Azure objects.

A copied, unedited customer stack file plans cleanly on its own, yet its Lighthouse definitions and
assignments (named from the tenant and subscription), its diagnostic settings (named alike on the same
resources) and its Splunk webhook workflow (one name in the MSSP resource group) are the very objects
the original stack manages: the second `pulumi up` would take them over, the first stack's next run
would fight it, and destroying either would delete the other's. So each customer stack is compared with
every other customer stack file in stacks/: tenant, subscriptions, inventoried resources and the
workflow name must be its own. ARM compares ids and names case-insensitively, and so does this.

Every customer plan reads every other customer's inventory, so what an inventory claims is kept by the
sha256 of its bytes (`claimed_ids`): once per process, and across runs in the CLI's plan cache
(`claims_cache`). Without that, a small customer's plan in a fleet with large customers spends most of
its time parsing their inventories (docs/benchmarks.md "Measurements behind the code").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config.base import ConfigError
from components.facts import documents, strict_yaml

PROJECT = "mssp-sentinel"


@dataclass(frozen=True)
class FleetMember:
    """What a customer stack claims in Azure, lower-cased: enough to find overlaps."""

    stack: str
    file: str
    tenant_id: str
    subscription_ids: frozenset[str]
    resource_ids: frozenset[str]
    workflow_name: str | None
    platform_stack: str = ""  # as written (`mssp` or `org/project/mssp`), lower-cased
    # Names the customer reads: a copied displayName would title one client's template instructions and
    # plans with another client's name (compared case- and space-insensitively).
    display_name: str = ""
    subscription_names: frozenset[str] = frozenset()


def _lower(value: Any) -> str:
    return str(value).strip().lower()


@dataclass(frozen=True)
class ClaimsCache:
    """Where a caller keeps claims across processes: `load(key)` gives the ids stored under a key or
    None; `store(key, ids)` keeps them. Keys are 64 hex digits (mssp.diff.cache's entry names)."""

    load: Callable[[str], list[str] | None]
    store: Callable[[str, list[str]], None]


_CLAIMS: dict[str, frozenset[str]] = {}  # sha256 of an inventory's bytes -> what it claims (this process)
_CLAIMS_CACHE: ContextVar[ClaimsCache | None] = ContextVar("mssp_sentinel_fleet_claims_cache", default=None)
_CLAIMS_CODE: list[str] = []  # the digest of the code that reads claims, computed once


@contextmanager
def claims_cache(cache: ClaimsCache | None) -> Iterator[None]:
    """Within the block, `claimed_ids` also looks claims up in (and adds them to) `cache`."""
    token = _CLAIMS_CACHE.set(cache)
    try:
        yield
    finally:
        _CLAIMS_CACHE.reset(token)


def _claims_code() -> str:
    """What a stored claim depends on besides the file's bytes: this reader and the YAML parser. A
    change to either is a new key, never a stale answer."""
    if not _CLAIMS_CODE:
        h = hashlib.sha256(f"fleet-claims 1\0{yaml.__version__}\0".encode())
        for module in (__file__, strict_yaml.__file__):
            h.update(Path(module).read_bytes())
        _CLAIMS_CODE.append(h.hexdigest())
    return _CLAIMS_CODE[0]


def _parse_claims(data: bytes, name: str) -> list[str]:
    """The ids an inventory lists (lower-cased, sorted); none when it is no readable inventory."""
    try:
        doc = strict_yaml.loads(data.decode("utf-8"), name)
    except (UnicodeDecodeError, yaml.YAMLError, strict_yaml.YamlKeyError, strict_yaml.DocumentError):
        return []
    resources = doc.get("resources") if isinstance(doc, Mapping) else None
    if not isinstance(resources, list):
        return []
    return sorted({e["id"].strip().lower() for e in resources if isinstance(e, Mapping) and isinstance(e.get("id"), str)})


def claimed_ids(path: Path) -> frozenset[str]:
    """The resource ids (lower-cased) another customer's inventory file lists: every id it names, even
    if some entry is invalid (that stack's own plan reports the entry; the stack still means to manage
    what it lists). Nothing when the file cannot be read or is no inventory."""
    try:
        with path.open("rb") as f:
            data = f.read(documents.MAX_YAML_BYTES + 1)
    except OSError:
        return frozenset()
    if len(data) > documents.MAX_YAML_BYTES:
        return frozenset()  # that stack's own plan refuses the file (components.facts.documents)
    digest = hashlib.sha256(data).hexdigest()
    claims = _CLAIMS.get(digest)
    if claims is not None:
        return claims
    cache = _CLAIMS_CACHE.get()
    key = hashlib.sha256(f"{_claims_code()}\0{digest}".encode()).hexdigest()
    ids = cache.load(key) if cache is not None else None
    if ids is None:
        ids = _parse_claims(data, str(path))
        if cache is not None:
            cache.store(key, ids)
    claims = _CLAIMS[digest] = frozenset(ids)
    return claims


def member_from_raw(stack: str, file: str, raw: Mapping[str, Any], project_dir: Path,
                    read_inventory: Callable[[Path], Iterable[str]]) -> FleetMember | None:
    """A member from another stack's raw `customer` section (None when it is too broken to compare:
    that stack's own plan reports its problems)."""
    try:
        subs = frozenset(_lower(s["id"]) for s in raw.get("subscriptions") or [])
        # Customer topology: the workspace's subscription is the stack's too (it delegates a resource group there).
        workspace = raw.get("workspace")
        if isinstance(workspace, Mapping) and workspace.get("mode") == "customer" and workspace.get("subscriptionId"):
            subs |= {_lower(workspace["subscriptionId"])}
        splunk = raw.get("splunk") or {}
        workflow = None
        if isinstance(splunk, Mapping) and splunk.get("enabled", True):
            workflow = _lower(splunk.get("workflowName") or f"la-splunk-{raw.get('name')}")
        inventory = (raw.get("forwarding") or {}).get("inventory")
        resources: frozenset[str] = frozenset()
        if isinstance(inventory, str):
            try:
                resources = frozenset(r.lower() for r in read_inventory(project_dir / inventory))
            except Exception:
                resources = frozenset()
        platform = raw.get("platformStack")
        names = frozenset(display_key(s.get("displayName", "")) for s in raw.get("subscriptions") or [])
        return FleetMember(stack, file, _lower(raw.get("tenantId", "")), subs, resources, workflow,
                           _lower(platform) if isinstance(platform, str) else "",
                           display_name=display_key(raw.get("displayName", "")), subscription_names=names - {""})
    except (AttributeError, KeyError, TypeError):
        return None


def display_key(value: Any) -> str:
    """A display name as people compare them: case-insensitive, runs of whitespace as one space."""
    return " ".join(str(value or "").split()).lower()


def conflicts(me: FleetMember, others: Iterable[FleetMember]) -> list[tuple[str, str]]:
    """(key path, message) for everything `me` shares with another customer stack."""
    issues: list[tuple[str, str]] = []
    why = "two customer stacks would manage the same Azure objects"
    for other in others:
        if other.stack == me.stack:
            continue
        both = f"{me.file} and {other.file}"
        if me.tenant_id and me.tenant_id == other.tenant_id:
            issues.append(("customer.tenantId", f"'{me.tenant_id}' is also the tenant of stack '{other.stack}' "
                           f"({both}); {why}; allowed: a tenant no other customer stack uses (one stack per "
                           "customer tenant)"))
        for sub in sorted(me.subscription_ids & other.subscription_ids):
            issues.append(("customer.subscriptions", f"subscription {sub} is also in stack '{other.stack}' "
                           f"({both}); {why}; allowed: subscriptions no other customer stack lists"))
        shared = sorted(me.resource_ids & other.resource_ids)
        if shared:
            more = f" and {len(shared) - 1} more" if len(shared) > 1 else ""
            issues.append(("customer.forwarding.inventory", f"'{shared[0]}'{more} is also inventoried by stack "
                           f"'{other.stack}' ({both}); {why}; allowed: resources no other customer stack lists"))
        named = "a customer would receive instructions and plans titled with another client's name"
        if me.display_name and me.display_name == other.display_name:
            issues.append(("customer.displayName", f"'{me.display_name}' is also the display name of stack "
                           f"'{other.stack}' ({both}); {named}; allowed: this customer's own name"))
        for name in sorted(me.subscription_names & other.subscription_names):
            issues.append(("customer.subscriptions", f"subscription display name '{name}' is also used by stack "
                           f"'{other.stack}' ({both}); {named}; allowed: this customer's own subscription names"))
        mine, theirs = me.platform_stack.split("/"), other.platform_stack.split("/")
        if len(mine) == 3 and len(theirs) == 3 and mine[2] == theirs[2] and mine[0] != theirs[0]:
            # One platform stack file (stacks/Pulumi.<name>.yaml) cannot be the platform of two organizations:
            # a StackReference to another organization's stack reads that organization's outputs.
            issues.append(("customer.platformStack", f"'{me.platform_stack}' names organization '{mine[0]}', but stack "
                           f"'{other.stack}' reaches the same platform stack as '{other.platform_stack}' ({both}); "
                           f"allowed: the organization of the fleet's platform stack, '{other.platform_stack}'"))
        if me.workflow_name and me.workflow_name == other.workflow_name:
            issues.append(("customer.splunk.workflowName", f"'{me.workflow_name}' is also the Splunk webhook "
                           f"workflow of stack '{other.stack}' ({both}); {why}; allowed: a workflow name of its own"))
    return issues


def other_members(project_dir: Path, stack: str,
                  read_values: Callable[[Path], Mapping[str, Any]],
                  read_inventory: Callable[[Path], Iterable[str]]) -> list[FleetMember]:
    """Every customer stack in project_dir/stacks except `stack`."""
    members = []
    for path in sorted((project_dir / "stacks").glob("Pulumi.*.yaml")):
        name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        if name == stack:
            continue
        try:
            values = read_values(path)
        except ConfigError:
            continue
        if values.get(f"{PROJECT}:kind") != "customer" or not isinstance(values.get(f"{PROJECT}:customer"), Mapping):
            continue
        member = member_from_raw(name, f"stacks/{path.name}", values[f"{PROJECT}:customer"], project_dir,
                                 read_inventory)
        if member is not None:
            members.append(member)
    return members
