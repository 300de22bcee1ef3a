"""`python -m mssp diff BASE HEAD`: what a change does to each stack, as Markdown for a PR comment.

BASE and HEAD are each a plan manifest (`mssp plan --json`), a directory of manifests (one per stack),
or a git ref. A ref is planned offline in a temporary worktree (`git worktree add --detach`), one
`python -m mssp plan STACK --json` per `stacks/Pulumi.*.yaml`, and the worktree is removed afterwards.

Per stack the report counts creates, updates, replaces and deletes; lists per resource the input
property paths that change; flags replaces with the property that forces them; highlights deletes and
replaces of protected resources; and shows the guardrail results of HEAD (the manifest's `policies`)
plus the advisory change rules (`policies.rules.evaluate_changes`). Secret values are "[secret]" in
manifests and stay so here: a changed secret is not visible in the diff. `--json` writes the same
report for tools.

The offline diff knows which properties force a replacement only from the table below (the real
`pulumi preview --diff` in the PR workflow is authoritative).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mssp.errors import UserError

# Hidden marker that identifies the PR comment holding this report, so the workflow updates it in place.
MARKER = "<!-- mssp-sentinel:plan-diff -->"
SECRET = "[secret]"
_SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")  # azure-facts.md §6

# Inputs whose change makes Pulumi replace the resource (delete + create), per type token. azure-native
# marks URL path parameters and create-only (x-ms-mutability: create, read) properties "forceNew", plus a
# hand-kept list (pulumi/pulumi-azure-native provider/pkg/gen/replacement.go forceNewMap).
FORCES_REPLACEMENT: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # resourceUri and name are path parameters: moving a setting replaces it (pulumi/pulumi-azure-native#2167).
    "azure-native:monitor:DiagnosticSetting": ("resourceUri", "name"),
    "azure-native:monitor:SubscriptionDiagnosticSetting": ("name",),
    # Path parameters scope and registrationDefinitionId. A new registrationDefinitionName (the offer name)
    # replaces the definition only where the id is derived from it (ARM template samples do; this
    # project derives the id from the tenants and subscription, components/lighthouse.py).
    "azure-native:managedservices:RegistrationDefinition": ("scope", "registrationDefinitionId"),
    "azure-native:managedservices:RegistrationAssignment": ("scope", "registrationAssignmentId", "properties.registrationDefinitionId"),
    # Path parameters of Microsoft.OperationalInsights/workspaces/tables.
    "azure-native:operationalinsights:Table": ("tableName", "workspaceName", "resourceGroupName"),
    # location is create-only for tracked resources (ARM RPC-Put-V1-14); kind cannot change once set
    # (terraform azurerm monitor_data_collection_rule docs: "changing it forces a new Data Collection Rule").
    "azure-native:monitor:DataCollectionRule": ("location", "kind", "dataCollectionRuleName", "resourceGroupName"),
    "azure-native:logic:Workflow": ("location", "workflowName", "resourceGroupName"),
    # replacement.go forceNewMap: Authorization RoleAssignment principalId, scope; plus the name path parameter.
    "azure-native:authorization:RoleAssignment": ("principalId", "scope", "roleAssignmentName"),
})
# For other azure-native types: the name path parameters and location.
_DEFAULT_AZURE_NATIVE = ("name", "resourceGroupName", "location")

OPS = ("create", "update", "replace", "delete")


# --------------------------------------------------------------------------------------------------
# Loading the two sides
# --------------------------------------------------------------------------------------------------
def _mask(value: Any) -> Any:
    """Belt and braces: a raw Pulumi secret envelope becomes "[secret]" before anything reads it."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG[0]) == _SECRET_SIG[1]:
            return SECRET
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def load_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a readable plan manifest ({exc}); allowed: a manifest written by "
                        "`python -m mssp plan STACK --json OUT`") from None
    if not isinstance(data, dict) or not isinstance(data.get("stack"), str) or not isinstance(data.get("resources"), list):
        raise UserError(f"{path}: not a plan manifest (expected 'stack' and a 'resources' list); allowed: a manifest "
                        "written by `python -m mssp plan STACK --json OUT`")
    for i, resource in enumerate(data["resources"]):
        missing = [k for k in ("urn", "type", "name") if not isinstance(resource, dict) or not isinstance(resource.get(k), str)]
        if not missing and not isinstance(resource.get("inputs"), dict):
            # Without inputs every resource would compare as changed (and be reported as replaced).
            missing = ["inputs (a mapping)"]
        if missing:
            raise UserError(f"{path}: resources[{i}] is not a manifest resource (missing {', '.join(missing)}); "
                            "allowed: a manifest written by `python -m mssp plan STACK --json OUT`, whose "
                            "resources each have urn, type, name and inputs")
    return _mask(data)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=120, check=False)


def stacks_in(tree: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (tree / "stacks").glob("Pulumi.*.yaml"))


def plan_tree(tree: Path, out_dir: Path, python: str = sys.executable) -> dict[str, dict[str, Any]]:
    """Plan every stack of a checkout with that checkout's own `python -m mssp plan`."""
    manifests: dict[str, dict[str, Any]] = {}
    for stack in stacks_in(tree):
        out = out_dir / f"{stack}.json"
        proc = subprocess.run(
            [python, "-m", "mssp", "plan", stack, "--json", str(out)],
            cwd=tree, capture_output=True, text=True, timeout=900, check=False,
        )
        # Exit 1 (a mandatory guardrail failed) still writes the manifest; the diff shows the failure.
        if proc.returncode not in (0, 1) or not out.exists():
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise UserError(f"planning stack {stack} failed (exit {proc.returncode}): " + " / ".join(detail))
        manifests[stack] = load_manifest(out)
    return manifests


def plan_ref(ref: str, repo: Path) -> dict[str, dict[str, Any]]:
    """Check `ref` out in a temporary worktree, plan every stack there, remove the worktree."""
    if _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise UserError(f"'{ref}' is neither a manifest file, a directory of manifests nor a git ref in {repo}")
    tmp = Path(tempfile.mkdtemp(prefix="mssp-diff-"))
    tree = tmp / "tree"
    try:
        added = _git(repo, "worktree", "add", "--detach", str(tree), ref)
        if added.returncode != 0:
            raise UserError(f"git worktree add {ref} failed: {added.stderr.strip()}")
        try:
            return plan_tree(tree, tmp)
        finally:
            _git(repo, "worktree", "remove", "--force", str(tree))
    finally:
        # No `git worktree prune`: it would also drop the records of other worktrees whose folders are
        # missing for a moment; `worktree remove` already cleans up this one.
        shutil.rmtree(tmp, ignore_errors=True)


def load_side(spec: str, repo: Path) -> dict[str, dict[str, Any]]:
    """Manifests by stack name, from a manifest file, a directory of manifests or a git ref."""
    path = Path(spec)
    if path.is_file():
        m = load_manifest(path)
        return {m["stack"]: m}
    if path.is_dir():
        found: dict[str, dict[str, Any]] = {}
        for f in sorted(path.glob("*.json")):
            m = load_manifest(f)
            if m["stack"] in found:
                raise UserError(f"{path}: two manifests for stack {m['stack']}")
            found[m["stack"]] = m
        if not found:
            raise UserError(f"{path}: no plan manifests (*.json) in this directory")
        return found
    return plan_ref(spec, repo)


# --------------------------------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------------------------------
class _Missing(Enum):
    MISSING = "(none)"


MISSING = _Missing.MISSING  # a property absent on one side


@dataclass(frozen=True)
class PropertyChange:
    path: str
    old: Any
    new: Any


def changed_paths(old: Any, new: Any, path: str = "") -> Iterator[PropertyChange]:
    """Leaf-level differences between two JSON values, as property paths (`logs[0].enabled`)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for k in sorted(set(old) | set(new)):
            p = f"{path}.{k}" if path else str(k)
            if k not in old:
                yield PropertyChange(p, MISSING, new[k])
            elif k not in new:
                yield PropertyChange(p, old[k], MISSING)
            else:
                yield from changed_paths(old[k], new[k], p)
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            p = f"{path}[{i}]"
            if i >= len(old):
                yield PropertyChange(p, MISSING, new[i])
            elif i >= len(new):
                yield PropertyChange(p, old[i], MISSING)
            else:
                yield from changed_paths(old[i], new[i], p)
    elif old != new:
        yield PropertyChange(path, old, new)


def forcing_properties(rtype: str) -> tuple[str, ...]:
    from policies.rules import base_type

    t = base_type(rtype)
    if t in FORCES_REPLACEMENT:
        return FORCES_REPLACEMENT[t]
    return _DEFAULT_AZURE_NATIVE if t.startswith("azure-native:") else ()


def replace_reasons(rtype: str, paths: Sequence[str]) -> list[str]:
    """The forcing properties among the changed paths (a change below a forcing property counts)."""
    reasons = []
    for key in forcing_properties(rtype):
        if any(p == key or p.startswith((key + ".", key + "[")) for p in paths):
            reasons.append(key)
    return reasons


@dataclass
class ResourceChange:
    op: str  # create | update | replace | delete
    urn: str
    type: str
    name: str
    properties: list[PropertyChange] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    protect: bool = False
    retain_on_delete: bool = False

    @property
    def blocked_by_protect(self) -> bool:
        """Pulumi refuses to delete a protected resource, and a replace deletes it."""
        return self.protect and self.op in ("delete", "replace")

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "changedProperties": [p.path for p in self.properties],
            "replaceReasons": self.reasons,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "blockedByProtect": self.blocked_by_protect,
        }


def _options(r: Mapping[str, Any]) -> Mapping[str, Any]:
    o = r.get("options")
    return o if isinstance(o, Mapping) else {}


def _is_custom(r: Mapping[str, Any]) -> bool:
    return bool(r.get("custom", True)) and not str(r.get("type", "")).startswith("pulumi:pulumi:")


def compare_resources(base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]]) -> tuple[list[ResourceChange], int]:
    """The changes from base to head, keyed by URN (sorted by URN), and how many resources stay the same.

    Components and stack references create nothing in Azure and are left out.
    """
    old = {r["urn"]: r for r in base if _is_custom(r)}
    new = {r["urn"]: r for r in head if _is_custom(r)}
    changes: list[ResourceChange] = []
    same = 0
    for urn in sorted(set(old) | set(new)):
        o, n = old.get(urn), new.get(urn)
        if o is None:
            assert n is not None
            changes.append(ResourceChange("create", urn, n["type"], n.get("name", ""),
                                          list(changed_paths({}, n.get("inputs") or {})),
                                          protect=bool(_options(n).get("protect")),
                                          retain_on_delete=bool(_options(n).get("retainOnDelete"))))
            continue
        if n is None:
            changes.append(ResourceChange("delete", urn, o["type"], o.get("name", ""),
                                          protect=bool(_options(o).get("protect")),
                                          retain_on_delete=bool(_options(o).get("retainOnDelete"))))
            continue
        props = list(changed_paths(o.get("inputs") or {}, n.get("inputs") or {}))
        reasons = replace_reasons(n["type"], [p.path for p in props])
        if (o.get("provider") or None) != (n.get("provider") or None):
            # A resource moved to another provider instance is replaced unless the provider is equivalent.
            props.append(PropertyChange("(provider)", o.get("provider"), n.get("provider")))
            reasons.append("provider")
        for opt in ("protect", "retainOnDelete"):
            if bool(_options(o).get(opt)) != bool(_options(n).get(opt)):
                props.append(PropertyChange(f"(option) {opt}", bool(_options(o).get(opt)), bool(_options(n).get(opt))))
        if not props:
            same += 1
            continue
        changes.append(ResourceChange(
            "replace" if reasons else "update", urn, n["type"], n.get("name", ""), props, reasons,
            # What protects a resource during this operation is its current (base) state.
            protect=bool(_options(o).get("protect")),
            retain_on_delete=bool(_options(o).get("retainOnDelete")),
        ))
    return changes, same


def _policy_key(p: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(p.get("policy")), str(p.get("urn")), str(p.get("message")))


def _policies_of(manifest: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if manifest is None:
        return []
    if isinstance(manifest.get("policies"), list):
        return [dict(p) for p in manifest["policies"]]
    from policies import rules

    return rules.evaluate_manifest(manifest)  # a manifest written without guardrails: shape checks only


def diff_stack(stack: str, base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> dict[str, Any]:
    """The report of one stack (JSON-ready)."""
    from policies import rules

    changes, same = compare_resources((base or {}).get("resources") or [], (head or {}).get("resources") or [])
    counts = {op: sum(1 for c in changes if c.op == op) for op in OPS}
    counts["same"] = same
    base_policies = _policies_of(base)
    head_policies = _policies_of(head)
    before = {_policy_key(p) for p in base_policies}
    after = {_policy_key(p) for p in head_policies}
    advisories = rules.evaluate_changes(
        [{"op": c.op, "urn": c.urn, "type": c.type, "reasons": c.reasons} for c in changes]
    )
    status = "added" if base is None else "removed" if head is None else "changed" if changes else "unchanged"
    return {
        "stack": stack,
        "status": status,
        "changed": bool(changes),
        "counts": counts,
        "changes": [c.to_json() for c in changes],
        "policies": [{**p, "new": _policy_key(p) not in before} for p in head_policies],
        "resolvedPolicies": [p for p in base_policies if _policy_key(p) not in after],
        "changeAdvisories": advisories,
        "_changes": changes,  # dropped from JSON; kept for the Markdown renderer
    }


def diff_sides(base: Mapping[str, dict[str, Any]], head: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [diff_stack(s, base.get(s), head.get(s)) for s in sorted(set(base) | set(head))]


def report_json(stacks: Sequence[Mapping[str, Any]], base: str, head: str) -> str:
    clean = [{k: v for k, v in s.items() if not k.startswith("_")} for s in stacks]
    return json.dumps({"base": base, "head": head, "stacks": clean}, indent=2, ensure_ascii=False) + "\n"


def has_mandatory(stacks: Sequence[Mapping[str, Any]]) -> bool:
    return any(p.get("level") == "mandatory" for s in stacks for p in s["policies"])


# --------------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------------
_ICON = {"create": "🟢 create", "update": "🟡 update", "replace": "🟠 replace", "delete": "🔴 delete"}
_MAX_PATHS = 12
_MAX_VALUE = 60


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _short(value: Any, start: int = 0) -> str:
    """A value for a table cell; long strings are cut to a window that begins near `start`."""
    if value is MISSING:
        return "(none)"
    if isinstance(value, Mapping):
        return "{…}"
    if isinstance(value, list):
        return f"[{len(value)} items]"
    if isinstance(value, str) and len(value) > _MAX_VALUE:
        begin = max(0, min(start - 10, len(value) - _MAX_VALUE))
        window = value[begin:begin + _MAX_VALUE]
        return ("\"…" if begin else "\"") + window + ("…\"" if begin + _MAX_VALUE < len(value) else "\"")
    return json.dumps(value, ensure_ascii=False)


def _first_difference(old: Any, new: Any) -> int:
    """Where two strings start to differ, so a long id shows the part that changed."""
    if not (isinstance(old, str) and isinstance(new, str)):
        return 0
    return next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))


def _type_short(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def _describe(c: ResourceChange) -> str:
    if c.op == "create":
        return "new"
    if c.op == "delete":
        return "removed from the program"
    parts = []
    for p in c.properties[:_MAX_PATHS]:
        forced = " **(forces replacement)**" if p.path in c.reasons or any(
            p.path.startswith((r + ".", r + "[")) for r in c.reasons) else ""
        at = _first_difference(p.old, p.new)
        parts.append(f"`{p.path}`: `{_short(p.old, at)}` → `{_short(p.new, at)}`{forced}")
    if len(c.properties) > _MAX_PATHS:
        parts.append(f"… and {len(c.properties) - _MAX_PATHS} more")
    return "<br>".join(_cell(x) for x in parts)


def _flags(c: ResourceChange) -> str:
    flags = []
    if c.blocked_by_protect:
        flags.append("⛔ **protected**: Pulumi refuses this until `protect` is removed")
    elif c.protect:
        flags.append("protected")
    if c.retain_on_delete and c.op in ("delete", "replace"):
        flags.append("retained in Azure")
    return "<br>".join(flags)


def render_markdown(stacks: Sequence[Mapping[str, Any]], base: str, head: str) -> str:
    lines = [MARKER, "## Offline plan diff", "",
             f"`{_cell(base)}` → `{_cell(head)}` · planned offline under mocks; secrets show as `[secret]` "
             "(a changed secret is not visible).", ""]
    lines += ["| Stack | Create | Update | Replace | Delete | Mandatory | Advisory |", "|---|---:|---:|---:|---:|---:|---:|"]
    for s in stacks:
        c = s["counts"]
        mand = sum(1 for p in s["policies"] if p["level"] == "mandatory")
        adv = sum(1 for p in s["policies"] if p["level"] == "advisory") + len(s["changeAdvisories"])
        name = f"`{s['stack']}`" + ("" if s["status"] in ("changed", "unchanged") else f" ({s['status']})")
        lines.append(f"| {name} | {c['create']} | {c['update']} | {c['replace']} | {c['delete']} | "
                     f"{'❌ ' if mand else ''}{mand} | {adv} |")
    for s in stacks:
        changes: list[ResourceChange] = s["_changes"]
        findings = [*s["policies"], *s["changeAdvisories"]]
        if not changes and not findings and not s["resolvedPolicies"]:
            continue
        lines += ["", f"### `{s['stack']}`" + ("" if s["status"] in ("changed", "unchanged") else f" ({s['status']})"), ""]
        blocked = [c for c in changes if c.blocked_by_protect]
        if blocked:
            lines.append(f"> ⛔ **{len(blocked)} protected resource(s) would be deleted or replaced**: "
                         + ", ".join(f"`{c.name}`" for c in blocked))
            lines.append("")
        if changes:
            lines += ["| Operation | Resource | Type | Changes | Notes |", "|---|---|---|---|---|"]
            for c in changes:
                op = _ICON[c.op] + (f" (forced by `{'`, `'.join(c.reasons)}`)" if c.reasons else "")
                lines.append(f"| {op} | `{_cell(c.name)}` | `{_type_short(c.type)}` | {_describe(c)} | {_flags(c)} |")
        if findings:
            lines += ["", "**Guardrails**", ""]
            for p in findings:
                icon = "❌" if p["level"] == "mandatory" else "⚠️"
                new = " (new)" if p.get("new") else ""
                target = p["urn"].rsplit("::", 1)[-1] if p.get("urn") else "stack"
                lines.append(f"- {icon} **{p['level']}** `{p['policy']}`{new} on `{_cell(target)}`: {_cell(p['message'])}")
        if s["resolvedPolicies"]:
            lines += ["", "Resolved by this change: " + ", ".join(
                f"`{p['policy']}` on `{p['urn'].rsplit('::', 1)[-1]}`" for p in s["resolvedPolicies"])]
    if all(not s["changed"] for s in stacks):
        lines += ["", "No stack changes."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# Command
# --------------------------------------------------------------------------------------------------
def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("diff", help="compare two offline plans (manifests or git refs) as Markdown")
    p.add_argument("base", help="manifest file, directory of manifests, or git ref (planned in a temporary worktree)")
    p.add_argument("head", help="manifest file, directory of manifests, or git ref")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the report as JSON here")
    p.add_argument("--markdown", type=Path, metavar="OUT", help="write the Markdown here instead of stdout")
    p.add_argument("--repo", type=Path, default=Path.cwd(), help="git repository for refs (default: current directory)")
    p.add_argument("--fail-on-mandatory", action="store_true", help="exit 1 when HEAD breaks a mandatory guardrail")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    base = load_side(args.base, args.repo)
    head = load_side(args.head, args.repo)
    stacks = diff_sides(base, head)
    markdown = render_markdown(stacks, args.base, args.head)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(report_json(stacks, args.base, args.head), encoding="utf-8")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown, encoding="utf-8")
        changed = [s["stack"] for s in stacks if s["changed"]]
        print(f"diff written to {args.markdown}: {len(changed)} stack(s) changed" + (f" ({', '.join(changed)})" if changed else ""))
    else:
        print(markdown, end="")
    if args.fail_on_mandatory and has_mandatory(stacks):
        print("HEAD breaks a mandatory guardrail", file=sys.stderr)
        return 1
    return 0
