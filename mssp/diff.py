"""`python -m mssp diff BASE HEAD`: what a change does to each stack, as Markdown for a PR comment.

BASE and HEAD are each a plan manifest (`mssp plan --json`), a directory of manifests (one per stack),
or a git ref. A ref is planned offline in a temporary worktree (`git worktree add --detach`) with that
commit's own `python -m mssp plan`, and the worktree is removed afterwards.

When both are git refs, only the stacks the change can affect are planned (mssp.review.affected: a
stack file or inventory -> that stack, the platform stack file -> it and its customers, code -> all,
docs and tests -> none); the report lists the skipped stacks and why. Plans come from the plan cache
(mssp.review.cache, keyed by a content hash of what each plan reads) when they are there, and the rest
run in parallel processes, up to the core count, several stacks per process where the commit's
planner accepts `--out-dir`.

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
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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
        raise UserError(f"{path}: not a readable plan manifest ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("stack"), str) or not isinstance(data.get("resources"), list):
        raise UserError(f"{path}: not a plan manifest (expected 'stack' and a 'resources' list)")
    for i, resource in enumerate(data["resources"]):
        missing = [k for k in ("urn", "type", "name") if not isinstance(resource, dict) or not isinstance(resource.get(k), str)]
        if missing:
            raise UserError(f"{path}: resources[{i}] is not a manifest resource (missing {', '.join(missing)})")
    return _mask(data)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=120, check=False)


def stacks_in(tree: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (tree / "stacks").glob("Pulumi.*.yaml"))


def _supports_out_dir(tree: Path, python: str) -> bool:
    """Whether the checkout's planner plans several stacks per process (`plan A B --out-dir DIR`)."""
    proc = subprocess.run([python, "-m", "mssp", "plan", "--help"], cwd=tree, capture_output=True, text=True,
                          timeout=120, check=False)
    return proc.returncode == 0 and "--out-dir" in proc.stdout


def _failure(stack: str, code: int, text: str) -> UserError:
    detail = text.strip().splitlines()[-5:]
    return UserError(f"planning stack {stack} failed (exit {code}): " + " / ".join(detail))


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


def plan_tree(
    tree: Path,
    out_dir: Path,
    python: str = sys.executable,
    stacks: Sequence[str] | None = None,
    jobs: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Plan the stacks of a checkout (default: all) with that checkout's own `python -m mssp plan`.

    Up to `jobs` processes at once (default: the core count); with a planner that accepts several
    stacks, each process plans its share of the stacks and pays the imports and the platform once.
    """
    todo = list(stacks_in(tree) if stacks is None else stacks)
    if not todo:
        return {}
    workers = max(1, min(jobs or default_jobs(), len(todo)))
    multi = len(todo) > 1 and _supports_out_dir(tree, python)

    def one(stack: str) -> dict[str, Any]:
        out = out_dir / f"{stack}.json"
        proc = subprocess.run(
            [python, "-m", "mssp", "plan", stack, "--json", str(out), "--quiet"],
            cwd=tree, capture_output=True, text=True, timeout=900, check=False,
        )
        # Exit 1 (a mandatory guardrail failed) still writes the manifest; the diff shows the failure.
        if proc.returncode not in (0, 1) or not out.exists():
            raise _failure(stack, proc.returncode, proc.stderr or proc.stdout)
        return load_manifest(out)

    def group(index: int, names: list[str]) -> dict[str, dict[str, Any]]:
        if not multi:
            return {s: one(s) for s in names}
        folder = out_dir / f"worker-{index}"
        proc = subprocess.run(
            [python, "-m", "mssp", "plan", *names, "--out-dir", str(folder), "--quiet"],
            cwd=tree, capture_output=True, text=True, timeout=900 * len(names), check=False,
        )
        got = {}
        for s in names:
            manifest, error = folder / f"{s}.json", folder / f"{s}.error.txt"
            if not manifest.exists():
                text = error.read_text(encoding="utf-8") if error.exists() else (proc.stderr or proc.stdout)
                raise _failure(s, proc.returncode if proc.returncode else 2, text)
            got[s] = load_manifest(manifest)
        return got

    # Round-robin shares keep big and small stacks spread over the workers.
    shares = [todo[i::workers] for i in range(workers)]
    manifests: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for part in pool.map(lambda a: group(*a), enumerate(shares)):
            manifests.update(part)
    return {s: manifests[s] for s in sorted(manifests)}


def _resolve(ref: str, repo: Path) -> str:
    got = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if got.returncode != 0:
        raise UserError(f"'{ref}' is neither a manifest file, a directory of manifests nor a git ref in {repo}")
    return got.stdout.strip()


def plan_ref(ref: str, repo: Path, stacks: Sequence[str] | None = None, jobs: int | None = None) -> dict[str, dict[str, Any]]:
    """Check `ref` out in a temporary worktree, plan its stacks (default: all), remove the worktree."""
    _resolve(ref, repo)
    tmp = Path(tempfile.mkdtemp(prefix="mssp-diff-"))
    tree = tmp / "tree"
    try:
        added = _git(repo, "worktree", "add", "--detach", str(tree), ref)
        if added.returncode != 0:
            raise UserError(f"git worktree add {ref} failed: {added.stderr.strip()}")
        try:
            return plan_tree(tree, tmp, stacks=stacks, jobs=jobs)
        finally:
            _git(repo, "worktree", "remove", "--force", str(tree))
    finally:
        # No `git worktree prune`: it would also drop the records of other worktrees whose folders are
        # missing for a moment; `worktree remove` already cleans up this one.
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class RefSides:
    """Both sides of a ref-to-ref diff, planned only where the change can matter."""

    base: dict[str, dict[str, Any]]
    head: dict[str, dict[str, Any]]
    affected: Any  # mssp.review.affected.Affected
    cached: dict[str, int] = field(default_factory=dict)  # side -> plans taken from the cache
    planned: dict[str, int] = field(default_factory=dict)  # side -> plans run


def _stack_files(repo: Path, commit: str, blobs: Mapping[str, str]) -> dict[str, str]:
    """{stack: stack file text} of a commit, read in one `git cat-file --batch` (a fleet has hundreds)."""
    from mssp.review.affected import stack_name_of

    paths = sorted(p for p in blobs if p.startswith("stacks/Pulumi.") and p.endswith(".yaml") and p.count("/") == 1)
    if not paths:
        return {}
    proc = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch"], capture_output=True, timeout=120,
                          check=False, input="".join(f"{blobs[p]}\n" for p in paths).encode())
    out, data, at = {}, proc.stdout, 0
    for path in paths:
        end = data.find(b"\n", at)
        header = data[at:end].split() if end >= 0 else []
        if len(header) != 3 or header[1] != b"blob":
            out[stack_name_of(path)] = ""  # unreadable: described as kind "unknown", so planned on any change
            at = end + 1 if end >= 0 else len(data)
            continue
        size = int(header[2])
        out[stack_name_of(path)] = data[end + 1:end + 1 + size].decode("utf-8", "replace")
        at = end + 1 + size + 1
    return out


def plan_refs(base: str, head: str, repo: Path, *, use_cache: bool = True, jobs: int | None = None,
              every_stack: bool = False) -> RefSides:
    """Plan two refs: only the affected stacks, from the cache where possible, the rest in parallel."""
    from mssp.review import affected as aff
    from mssp.review import cache

    commits = {"base": _resolve(base, repo), "head": _resolve(head, repo)}
    names = _git(repo, "diff", "--name-only", "-z", "--no-renames", commits["base"], commits["head"])
    if names.returncode != 0:
        raise UserError(f"git diff {base} {head} failed: {names.stderr.strip()}")
    changed = [p for p in names.stdout.split("\0") if p]
    try:
        blobs = {side: cache.tree_blobs(repo, c) for side, c in commits.items()}
    except OSError as exc:
        raise UserError(str(exc)) from None
    infos = {side: aff.describe_stacks(_stack_files(repo, c, blobs[side])) for side, c in commits.items()}
    every = aff.merge_infos(infos["base"], infos["head"])
    verdict = aff.affected_stacks(changed, every)
    if every_stack:
        verdict = aff.Affected({s.name: verdict.stacks.get(s.name, ("--all-stacks",)) for s in every}, {})
    sides: dict[str, dict[str, dict[str, Any]]] = {}
    result = RefSides({}, {}, verdict)
    for side, commit in commits.items():
        mine = {s.name: s for s in infos[side]}
        wanted = [s for s in verdict.stacks if s in mine]
        keys = {s: cache.plan_key(blobs[side], mine[s], infos[side]) for s in wanted}
        got: dict[str, dict[str, Any]] = {}
        for s in wanted:
            hit = cache.load(keys[s]) if use_cache else None
            if hit is not None and isinstance(hit.get("manifest"), dict):
                got[s] = _mask(hit["manifest"])
        missing = [s for s in wanted if s not in got]
        result.cached[side], result.planned[side] = len(got), len(missing)
        if missing:
            fresh = plan_ref(commit, repo, missing, jobs)
            for s, m in fresh.items():
                got[s] = m
                if use_cache:
                    cache.store(keys[s], {"stack": s, "commit": commit, "manifest": m})
        sides[side] = {s: got[s] for s in sorted(got)}
    result.base, result.head = sides["base"], sides["head"]
    return result


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


def report_json(stacks: Sequence[Mapping[str, Any]], base: str, head: str, scope: RefSides | None = None) -> str:
    clean = [{k: v for k, v in s.items() if not k.startswith("_")} for s in stacks]
    report: dict[str, Any] = {"base": base, "head": head, "stacks": clean}
    if scope is not None:
        report["affected"] = scope.affected.to_json()
        report["cache"] = {"cached": scope.cached, "planned": scope.planned}
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


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


def _scope_lines(scope: RefSides) -> list[str]:
    """Which stacks were planned and why, which were skipped and why (grouped by reason)."""
    planned, skipped = scope.affected.stacks, scope.affected.skipped
    lines = []
    if planned:
        lines.append(f"Planned {len(planned)} of {len(planned) + len(skipped)} stack(s), the ones this change can "
                     "affect: " + "; ".join(f"`{s}` ({', '.join(r)})" for s, r in sorted(planned.items())) + ".")
    by_reason: dict[str, list[str]] = {}
    for s, why in sorted(skipped.items()):
        by_reason.setdefault(why, []).append(s)
    for why, names in by_reason.items():
        lines.append(f"Skipped {len(names)} stack(s), not planned on either side because {why}: "
                     + ", ".join(f"`{n}`" for n in names) + ".")
    if any(scope.cached.values()):
        lines.append(f"Plans reused from the plan cache: {scope.cached.get('base', 0)} base, "
                     f"{scope.cached.get('head', 0)} head.")
    return ["<br>".join(lines), ""] if lines else []


def render_markdown(stacks: Sequence[Mapping[str, Any]], base: str, head: str, scope: RefSides | None = None) -> str:
    lines = [MARKER, "## Offline plan diff", "",
             f"`{_cell(base)}` → `{_cell(head)}` · planned offline under mocks; secrets show as `[secret]` "
             "(a changed secret is not visible).", ""]
    if scope is not None:
        lines += _scope_lines(scope)
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
    p = subparsers.add_parser(
        "diff", help="compare two offline plans (manifests or git refs) as Markdown",
        description="Compare two offline plans. With two git refs only the stacks the change can affect are "
                    "planned. Exit codes: 0 compared, 1 HEAD breaks a mandatory guardrail (--fail-on-mandatory), "
                    "2 bad input or a stack that does not plan.")
    p.add_argument("base", help="manifest file, directory of manifests, or git ref (planned in a temporary worktree)")
    p.add_argument("head", help="manifest file, directory of manifests, or git ref")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the report as JSON here")
    p.add_argument("--markdown", type=Path, metavar="OUT", help="write the Markdown here instead of stdout")
    p.add_argument("--repo", type=Path, default=Path.cwd(), help="git repository for refs (default: current directory)")
    p.add_argument("--fail-on-mandatory", action="store_true", help="exit 1 when HEAD breaks a mandatory guardrail")
    p.add_argument("--all-stacks", action="store_true",
                   help="with two git refs: plan every stack, not only those the change can affect")
    p.add_argument("--no-cache", action="store_true", help="with two git refs: neither read nor write the plan cache")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="planning processes at once (default: the core count)")
    p.set_defaults(func=run)


def _is_ref(spec: str) -> bool:
    return not Path(spec).exists()


def run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise UserError("--jobs must be at least 1")
    scope: RefSides | None = None
    if _is_ref(args.base) and _is_ref(args.head):
        scope = plan_refs(args.base, args.head, args.repo, use_cache=not args.no_cache, jobs=args.jobs,
                          every_stack=args.all_stacks)
        base, head = scope.base, scope.head
    else:
        base = load_side(args.base, args.repo)
        head = load_side(args.head, args.repo)
    stacks = diff_sides(base, head)
    markdown = render_markdown(stacks, args.base, args.head, scope)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(report_json(stacks, args.base, args.head, scope), encoding="utf-8")
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
