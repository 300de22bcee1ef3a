"""Which kind of document a decoded JSON (or YAML) file is, so a command given the wrong one names it.

A drift report given to `diff` as a manifest must not read as "every resource deleted", nor a drift report
given to `report --health` as "no silent resources". Each command reads its input through `expect`, which
refuses any other kind by name and says which command writes the kind it wants. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mssp.errors import UserError

# kind -> (how it is named, what writes it)
KINDS: Mapping[str, tuple[str, str]] = {
    "manifest": ("a plan manifest", "`python -m mssp plan STACK --json OUT`"),
    "drift": ("a drift report", "`python -m mssp drift STACK --json OUT`"),
    "settings-drift": ("a settings drift report", "`python -m mssp drift STACK --settings --json OUT`"),
    "health": ("a health report", "`python -m mssp health STACK --json OUT`"),
    "preview": ("a Pulumi preview", "`pulumi preview --refresh --json` (pulumi/pulumi sdk/go/common/display/json.go)"),
    "usage": ("a usage report", "`python -m mssp usage ... --format json --out FILE`"),
    "coverage": ("a fleet coverage report", "`python -m mssp report` (coverage.json)"),
    "diff": ("a plan diff report", "`python -m mssp diff BASE HEAD --json OUT`"),
    "import": ("a `pulumi import` file", "`python -m mssp discover STACK --on-conflict adopt`"),
    "inventory": ("an inventory", "`python -m mssp discover STACK`"),
    "stack": ("a Pulumi stack file", "`pulumi config set` (stacks/Pulumi.STACK.yaml)"),
}


def _has(doc: Mapping[str, Any], *keys: str) -> bool:
    return all(key in doc for key in keys)


# Each kind's signature: keys only that kind's writer puts together (checked in this order).
_SIGNATURES: tuple[tuple[str, Callable[[Mapping[str, Any]], bool]], ...] = (
    ("settings-drift", lambda d: d.get("mode") == "settings" and _has(d, "findings", "exitCode")),
    ("health", lambda d: _has(d, "status", "exitCode", "window") or _has(d, "silentResources", "exitCode")),
    ("drift", lambda d: _has(d, "status", "exitCode", "summary") and ("source" in d or "coverage" in d)),
    ("preview", lambda d: _has(d, "steps") and ("changeSummary" in d or "diagnostics" in d or "config" in d)),
    ("manifest", lambda d: isinstance(d.get("resources"), list) and _has(d, "stack", "policies")),
    ("usage", lambda d: isinstance(d.get("customers"), list) and any(
        isinstance(c, Mapping) and "totalGB" in c for c in d["customers"][:5])),
    ("coverage", lambda d: isinstance(d.get("customers"), list)),
    ("diff", lambda d: isinstance(d.get("stacks"), list) and _has(d, "base", "head")),
    ("stack", lambda d: isinstance(d.get("config"), Mapping) and "steps" not in d),
    ("import", lambda d: isinstance(d.get("resources"), list) and bool(d["resources"])
     and all(isinstance(r, Mapping) and _has(r, "type", "name", "id") for r in d["resources"][:5])),
    ("inventory", lambda d: isinstance(d.get("resources"), list) and set(d) == {"resources"}),
)


def kind_of(doc: Any) -> str | None:
    """The KINDS key of a decoded document, or None when it looks like none of them."""
    if not isinstance(doc, Mapping):
        return None
    for kind, matches in _SIGNATURES:
        if matches(doc):
            return kind
    return None


def wrong_kind(doc: Any, wanted: str, name: str) -> str | None:
    """A message when `doc` is recognisably another kind than `wanted`; None when it is not."""
    found = kind_of(doc)
    if found is None or found == wanted or (wanted == "drift" and found == "settings-drift"):
        return None
    what, writer = KINDS[found]
    want, want_writer = KINDS[wanted]
    return (f"{name}: this is {what} (written by {writer}), not {want}; allowed: {want}, as {want_writer} "
            "writes it")


def expect(doc: Any, wanted: str, name: str, exit_code: int = 2) -> None:
    """Refuse `doc` by name when it is recognisably another kind than `wanted`."""
    problem = wrong_kind(doc, wanted, name)
    if problem is not None:
        raise UserError(problem, exit_code)


def urn_stack_project(urn: str) -> tuple[str, str] | None:
    """(stack, project) of `urn:pulumi:<stack>::<project>::<type>::<name>` (pulumi/pulumi
    sdk/go/common/resource/urn.go), None for anything else."""
    if not urn.startswith("urn:pulumi:"):
        return None
    parts = urn.removeprefix("urn:pulumi:").split("::")
    return (parts[0], parts[1]) if len(parts) >= 4 else None
