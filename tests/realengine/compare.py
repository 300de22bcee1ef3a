"""Plan equals engine: a stack's state after a real `pulumi up` against its offline plan, URN by URN.

Compared exactly: the set of URNs, and per URN the type, parent, provider, `protect`, `retainOnDelete`,
dependencies and inputs. Normalised first, each for a stated reason:
- the engine's own resources: the root `pulumi:pulumi:Stack` (the plan's "null" parent) and the
  built-in `pulumi:providers:pulumi::default` provider of stack references (the plan's "null" provider);
- on explicit provider resources, the `version` and `__internal` inputs the engine adds itself
  (pulumi/pulumi pkg/resource/deploy/providers/registry.go: SetProviderVersion / the internal keys);
- secrets: the engine stores `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
  "ciphertext": ...}`, the plan writes "[secret]".
- values only Azure assigns (object ids, client ids, resource ids, a DCR's immutable id and endpoint):
  where the engine's input holds such a value (an output of a resource in some deployed stack, or of
  the platform stack read through the stack reference), the plan may hold its offline placeholder
  instead, and one engine value must always stand for one placeholder (checked across the fleet).
- values the program derives from an assigned value (DERIVED), recomputed from both sides' inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from components.facts import naming

SECRET_SIG = "4dabf18193072939515e22adb298388d"
ROOT_TYPE = "pulumi:pulumi:Stack"
DEFAULT_PULUMI_PROVIDER = "pulumi:providers:pulumi::default"
ENGINE_PROVIDER_INPUTS = frozenset({"version", "__internal"})
_ASSIGNED = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|^/|^https://|^dcr-", re.I)


# (type, input key) -> recompute(inputs of the same resource, urn) -> the value the program derives.
DERIVED: dict[tuple[str, str], Callable[[Mapping[str, Any], str], Iterable[str]]] = {}


@dataclass
class Comparison:
    problems: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # engine value -> plan placeholder

    def ok(self) -> bool:
        return not self.problems


def secret_free(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return "[secret]"
        return {k: secret_free(v) for k, v in value.items()}
    if isinstance(value, list):
        return [secret_free(v) for v in value]
    return value


def assigned_values(states: Iterable[Mapping[str, Any]], directory: Iterable[str] = ()) -> list[str]:
    """Strings Azure (the local one) assigned: each resource's id and each output string that is not one
    of its inputs and looks like an id, a URL or a GUID, plus the directory's object ids (what
    getServicePrincipal answers); longest first (for substring replacement)."""
    out: set[str] = set(directory)

    def strings(v: Any) -> Iterable[str]:
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            for x in v.values():
                yield from strings(x)
        elif isinstance(v, list):
            for x in v:
                yield from strings(x)

    for r in states:
        if r.get("id") and r.get("custom") and not r["type"].startswith("pulumi:providers:"):
            out.add(r["id"])
        given = set(strings(r.get("inputs") or {}))
        for s in strings(r.get("outputs") or {}):
            if s not in given and len(s) >= 8 and _ASSIGNED.search(s):
                out.add(s)
    return sorted(out, key=len, reverse=True)


def _leaf(engine: str, plan: str, assigned: list[str], where: str, result: Comparison) -> bool:
    if engine == plan:
        return True
    pattern, held = "", []
    rest = engine
    while rest:
        hits = [(i, a) for a in assigned if (i := rest.find(a)) >= 0]
        if not hits:
            pattern += re.escape(rest)
            break
        i, a = min(hits, key=lambda t: (t[0], -len(t[1])))  # the first, and of those the longest
        pattern += re.escape(rest[:i]) + "(.+?)"
        held.append(a)
        rest = rest[i + len(a):]
    if not held:
        return False
    m = re.fullmatch(pattern, plan)
    if m is None:
        return False
    for value, placeholder in zip(held, m.groups(), strict=True):
        known = result.mapping.setdefault(value, placeholder)
        if known != placeholder:
            result.problems.append(f"{where}: Azure's {value!r} stands for {placeholder!r} here but for {known!r} elsewhere")
    return True


def _inputs(engine: Any, plan: Any, assigned: list[str], where: str, result: Comparison) -> None:
    if isinstance(engine, dict) and isinstance(plan, dict):
        for k in sorted(set(engine) | set(plan)):
            if k not in engine or k not in plan:
                result.problems.append(f"{where}.{k}: only in the {'engine' if k in engine else 'plan'}")
            else:
                _inputs(engine[k], plan[k], assigned, f"{where}.{k}", result)
    elif isinstance(engine, list) and isinstance(plan, list) and len(engine) == len(plan):
        for i, (e, p) in enumerate(zip(engine, plan, strict=True)):
            _inputs(e, p, assigned, f"{where}[{i}]", result)
    elif isinstance(engine, str) and isinstance(plan, str):
        if not _leaf(engine, plan, assigned, where, result):
            result.problems.append(f"{where}: engine {engine!r} != plan {plan!r}")
    elif engine != plan:
        result.problems.append(f"{where}: engine {engine!r} != plan {plan!r}")


def _logical(reference: str | None) -> str | None:
    """A provider reference `<urn>::<id>` -> the provider's logical name; the built-in default -> None."""
    if not reference:
        return None
    urn = reference.rsplit("::", 1)[0]
    return None if urn.endswith(DEFAULT_PULUMI_PROVIDER) else urn.rsplit("::", 1)[-1]


def compare(engine_resources: list[Mapping[str, Any]], plan_resources: list[Mapping[str, Any]],
            assigned: list[str], result: Comparison | None = None) -> Comparison:
    result = result or Comparison()
    root = next((r["urn"] for r in engine_resources if r["type"] == ROOT_TYPE), None)
    engine = {r["urn"]: r for r in engine_resources
              if r["type"] != ROOT_TYPE and not r["urn"].endswith(DEFAULT_PULUMI_PROVIDER)}
    plan = {r["urn"]: r for r in plan_resources}
    for urn in sorted(set(engine) - set(plan)):
        result.problems.append(f"{urn}: registered under the engine, not in the plan")
    for urn in sorted(set(plan) - set(engine)):
        result.problems.append(f"{urn}: in the plan, not registered under the engine")
    for urn in sorted(set(engine) & set(plan)):
        e, p = engine[urn], plan[urn]
        name = urn.rsplit("::", 1)[-1]
        parent = e.get("parent")
        facts = {
            "type": (e["type"], p["type"]),
            "parent": (None if parent == root else parent, p["parent"]),
            "provider": (_logical(e.get("provider")), p["provider"]),
            "protect": (bool(e.get("protect")), p["options"]["protect"]),
            "retainOnDelete": (bool(e.get("retainOnDelete")), p["options"]["retainOnDelete"]),
            "dependencies": (sorted(set(e.get("dependencies") or [])), p["options"]["dependsOn"]),
        }
        for what, (got, want) in facts.items():
            if got != want:
                result.problems.append(f"{name}: {what}: engine {got!r} != plan {want!r}")
        inputs = secret_free(dict(e.get("inputs") or {}))
        if e["type"].startswith("pulumi:providers:"):
            inputs = {k: v for k, v in inputs.items() if k not in ENGINE_PROVIDER_INPUTS}
        plan_inputs = dict(p["inputs"])
        for key in [k for (t, k) in DERIVED if t == e["type"]]:
            if key in inputs and key in plan_inputs and inputs[key] != plan_inputs[key]:
                recompute = DERIVED[(e["type"], key)]
                if inputs[key] in recompute(inputs, urn) and plan_inputs[key] in recompute(plan_inputs, urn):
                    inputs[key] = plan_inputs[key]
        _inputs(inputs, plan_inputs, assigned, name, result)
    return result


def _publisher_names(inputs: Mapping[str, Any], urn: str) -> Iterable[str]:
    """components/splunk/webhook.py: stable_guid("splunk-dcr-publisher", MSSP subscription, resource group,
    workflow name, the workflow's principal id); the name parts come from the scope (the DCR's id)."""
    parts = str(inputs.get("scope", "")).split("/")
    if len(parts) < 5:
        return ()
    customer = urn.rsplit("::", 1)[-1].removesuffix("-splunk-dcr-publisher")
    return (naming.stable_guid("splunk-dcr-publisher", parts[2], parts[4], f"la-splunk-{customer}",
                               str(inputs.get("principalId"))),)


DERIVED[("azure-native:authorization:RoleAssignment", "roleAssignmentName")] = _publisher_names
