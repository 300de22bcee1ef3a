"""Fleet-wide uniqueness: no two customer stacks may manage the same Azure objects.

A copied, unedited customer stack file plans cleanly on its own, yet its Lighthouse definitions and
assignments (named from the tenant and subscription), its diagnostic settings (named alike on the same
resources) and its Splunk webhook workflow (one name in the MSSP resource group) are the very objects
the original stack manages: the second `pulumi up` would take them over, the first stack's next run
would fight it, and destroying either would delete the other's. So each customer stack is compared with
every other customer stack file in stacks/: tenant, subscriptions, inventoried resources and the
workflow name must be its own. ARM compares ids and names case-insensitively, and so does this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.config.base import ConfigError

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


def _lower(value: Any) -> str:
    return str(value).strip().lower()


def member_from_raw(stack: str, file: str, raw: Mapping[str, Any], project_dir: Path,
                    read_inventory: Callable[[Path, set[str]], Iterable[str]]) -> FleetMember | None:
    """A member from another stack's raw `customer` section (None when it is too broken to compare:
    that stack's own plan reports its problems)."""
    try:
        subs = frozenset(_lower(s["id"]) for s in raw.get("subscriptions") or [])
        splunk = raw.get("splunk") or {}
        workflow = None
        if isinstance(splunk, Mapping) and splunk.get("enabled", True):
            workflow = _lower(splunk.get("workflowName") or f"la-splunk-{raw.get('name')}")
        inventory = (raw.get("forwarding") or {}).get("inventory")
        resources: frozenset[str] = frozenset()
        if isinstance(inventory, str):
            try:
                resources = frozenset(r.lower() for r in read_inventory(project_dir / inventory, set(subs)))
            except Exception:
                resources = frozenset()
        return FleetMember(stack, file, _lower(raw.get("tenantId", "")), subs, resources, workflow)
    except (AttributeError, KeyError, TypeError):
        return None


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
        if me.workflow_name and me.workflow_name == other.workflow_name:
            issues.append(("customer.splunk.workflowName", f"'{me.workflow_name}' is also the Splunk webhook "
                           f"workflow of stack '{other.stack}' ({both}); {why}; allowed: a workflow name of its own"))
    return issues


def other_members(project_dir: Path, stack: str,
                  read_values: Callable[[Path], Mapping[str, Any]],
                  read_inventory: Callable[[Path, set[str]], Iterable[str]]) -> list[FleetMember]:
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
