"""`python -m mssp diff BASE HEAD`: what a change does to each stack, as Markdown for a PR comment.

BASE and HEAD are each a plan manifest (`mssp plan --json`), a directory of manifests (one per stack),
or a git ref. A ref is planned offline in a temporary worktree (`git worktree add --detach`) with that
commit's own `python -m mssp plan`, and the worktree is removed afterwards.

When both are git refs, only the stacks the change can affect are planned (mssp.diff.affected: a
stack file or inventory -> that stack, the platform stack file -> it and its customers, code -> all,
docs and tests -> none); the report lists the skipped stacks and why. Plans come from the plan cache
(mssp.diff.cache, keyed by a content hash of what each plan reads) when they are there, and the rest
run in parallel processes, up to the core count, several stacks per process where the commit's
planner accepts `--out-dir`.

When the change edits no code (only stack files, inventories, documentation), HEAD is planned with BASE's
code over HEAD's stack files and inventories (`plan_overlay`), so none of HEAD's code runs. When it edits
code, HEAD's own code plans HEAD: here, or, with `--head-plans DIR`, in another job whose manifests this
command reads as data (the PR workflow's plan-head job, which holds no credentials; this command then runs
no code of HEAD at all). `--scope-only` says which stacks will be planned and whether HEAD's code is needed,
from git's trees alone.

A ref's code is code nobody may have reviewed yet: it runs with a scrubbed environment (an allowlist:
PATH, locale, TZ; no ARM_*, AZURE_*, PULUMI_*, GITHUB_*/ACTIONS_*, *TOKEN*/*SECRET*/*KEY* variables) and an
empty temporary HOME. The guardrail results are decided by THIS checkout's rules (or `--rules DIR`), not
taken from the manifests: the PR workflow runs this command from the base branch, so a HEAD that weakens
a rule is still judged by the base's rule, and its edits to the guardrail files (GUARDRAIL_PATHS) are
shown as a guardrail change. Stack outputs are compared too; one that was secret in BASE and is not in
HEAD is a mandatory finding (`outputs-stay-secret`).

Per stack the report counts creates, updates, replaces and deletes; lists per resource the input
property paths that change; flags replaces with the property that forces them; highlights deletes and
replaces of protected resources; and shows the guardrail results of HEAD (the manifest's `policies`)
plus the advisory change rules (`policies.rules.evaluate_changes`). Access changes (grants added,
removed or widened) and the stack outputs with their secretness come from `mssp.plan.facts`; the
Markdown, kept under GitHub's comment limit, from `mssp.diff.markdown`. Secret values are "[secret]"
in manifests and stay so here: a changed secret is not visible in the diff. `--json` writes the same
report for tools.

The offline diff knows which properties force a replacement only from the table below (the real
`pulumi preview --diff` in the PR workflow is authoritative).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from components.facts.pulumi_tokens import (
    DATA_COLLECTION_RULE,
    DIAGNOSTIC_SETTING,
    GENERIC_RESOURCE,
    REGISTRATION_ASSIGNMENT,
    REGISTRATION_DEFINITION,
    ROLE_ASSIGNMENT,
    SECRET,
    SUBSCRIPTION_DIAGNOSTIC_SETTING,
    TABLE,
    WORKFLOW,
)
from mssp.diff.markdown import COMMENT_LIMIT, MARKER  # noqa: F401 (MARKER: part of this module's interface)
from mssp.errors import UserError
from mssp.output import write_output

# A Pulumi secret envelope: {sig key: secret sig, "value": ...} (pulumi sdk/python lib/pulumi/runtime/rpc.py,
# _special_sig_key and _special_secret_sig).
_SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")

# Inputs whose change makes Pulumi replace the resource (delete + create), per type token. azure-native
# marks URL path parameters and create-only (x-ms-mutability: create, read) properties "forceNew", plus a
# hand-kept list (pulumi/pulumi-azure-native provider/pkg/gen/replacement.go forceNewMap).
FORCES_REPLACEMENT: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # resourceUri and name are path parameters: moving a setting replaces it (pulumi/pulumi-azure-native#2167).
    DIAGNOSTIC_SETTING: ("resourceUri", "name"),
    SUBSCRIPTION_DIAGNOSTIC_SETTING: ("name",),
    # Path parameters scope and registrationDefinitionId. A new registrationDefinitionName (the offer name)
    # replaces the definition only where the id is derived from it (ARM template samples do; this
    # project derives the id from the tenants and subscription, components/lighthouse/delegation.py).
    REGISTRATION_DEFINITION: ("scope", "registrationDefinitionId"),
    REGISTRATION_ASSIGNMENT: ("scope", "registrationAssignmentId", "properties.registrationDefinitionId"),
    # Path parameters of Microsoft.OperationalInsights/workspaces/tables.
    TABLE: ("tableName", "workspaceName", "resourceGroupName"),
    # location is create-only for tracked resources (ARM RPC-Put-V1-14); kind cannot change once set
    # (terraform azurerm monitor_data_collection_rule docs: "changing it forces a new Data Collection Rule").
    DATA_COLLECTION_RULE: ("location", "kind", "dataCollectionRuleName", "resourceGroupName"),
    WORKFLOW: ("location", "workflowName", "resourceGroupName"),
    # The generic ARM resource (the Splunk DCR, the Sentinel API connection): its URL path parameters; a
    # tracked resource's location and a DCR's kind cannot change in place (as for the typed DCR above).
    GENERIC_RESOURCE: ("resourceProviderNamespace", "parentResourcePath", "resourceType",
                      "resourceName", "resourceGroupName", "location", "kind"),
    # replacement.go forceNewMap: Authorization RoleAssignment principalId, scope; plus the name path parameter.
    ROLE_ASSIGNMENT: ("principalId", "scope", "roleAssignmentName"),
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
    from components.facts import documents as limits
    from mssp import documents

    name = limits.describe(path)
    try:
        data = limits.load_json_file(path, "plan manifest")
    except limits.DocumentError as exc:
        raise UserError(f"{exc}; allowed: a manifest written by `python -m mssp plan STACK --json OUT`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{name}: not a readable plan manifest ({exc}); allowed: a manifest written by "
                        "`python -m mssp plan STACK --json OUT`") from None
    documents.expect(data, "manifest", name)
    if not isinstance(data, dict) or not isinstance(data.get("stack"), str) or not isinstance(data.get("resources"), list):
        raise UserError(f"{name}: not a plan manifest (expected 'stack' and a 'resources' list); allowed: a manifest "
                        "written by `python -m mssp plan STACK --json OUT`")
    _check_manifest_urns(data, name)
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


def _check_manifest_urns(data: Mapping[str, Any], name: str) -> None:
    """Every resource's URN names the manifest's stack and this project (`urn:pulumi:<stack>::<project>::...`,
    pulumi/pulumi sdk/go/common/resource/urn.go): a manifest of another project, or one edited to claim
    another stack, would otherwise compare as that many creates and deletes."""
    from components.config import PROJECT
    from components.facts.strict_yaml import shown
    from mssp import documents

    stack = data["stack"].rsplit("/", 1)[-1]
    for i, resource in enumerate(data["resources"]):
        urn = resource.get("urn") if isinstance(resource, dict) else None
        parsed = documents.urn_stack_project(urn) if isinstance(urn, str) else None
        if parsed is None:
            continue  # the resource check below names it
        if parsed[1] != PROJECT:
            raise UserError(f"{name}: resources[{i}] belongs to Pulumi project '{shown(parsed[1])}', not "
                            f"'{PROJECT}' (urn:pulumi:STACK::PROJECT::...); allowed: a manifest of this project, "
                            "written by `python -m mssp plan STACK --json OUT`")
        if parsed[0] != stack:
            raise UserError(f"{name}: resources[{i}] belongs to stack '{shown(parsed[0])}', but the manifest says "
                            f"stack '{shown(stack)}'; allowed: a manifest as `python -m mssp plan STACK --json OUT` "
                            "wrote it (one stack)")


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A read-only git command over the repository's objects, its attributes out of reach (mssp.diff.gitsafe)."""
    from mssp.diff import gitsafe

    return gitsafe.run(repo, *args)


def stacks_in(tree: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (tree / "stacks").glob("Pulumi.*.yaml"))


# What a ref's code may see of the caller's environment: an allowlist, so no credential (ARM_*, AZURE_*,
# PULUMI_*, GITHUB_TOKEN, ACTIONS_*, anything named *TOKEN*, *SECRET*, *PASSWORD*, *KEY*) can reach code
# nobody reviewed yet. HOME is replaced by an empty temporary folder (no ~/.azure, ~/.pulumi, ~/.ssh).
_ENV_KEEP = frozenset({"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "SYSTEMROOT", "OPENBLAS_CORETYPE",
                       "OPENBLAS_L2_SIZE"})
_ENV_NEVER = re.compile(r"TOKEN|SECRET|PASSW|CREDENTIAL|KEY|^ARM_|^AZURE_|^PULUMI_|^ACTIONS_|^GITHUB_|^GH_",
                        re.IGNORECASE)


def scrubbed_env(environ: Mapping[str, str], home: Path) -> dict[str, str]:
    """The environment a ref's code runs in: the allowlisted variables of `environ`, HOME=`home`."""
    env = {k: v for k, v in environ.items() if k in _ENV_KEEP and not _ENV_NEVER.search(k)}
    env.update({"HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"})
    return env


def _supports_out_dir(tree: Path, python: str, env: Mapping[str, str]) -> bool:
    """Whether the checkout's planner plans several stacks per process (`plan A B --out-dir DIR`).

    That is the checkout's code too: it runs in the same scrubbed environment as its plans."""
    proc = subprocess.run([python, "-m", "mssp", "plan", "--help"], cwd=tree, capture_output=True, text=True,
                          timeout=120, check=False, env=dict(env))
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
    The checkout's code runs in a scrubbed environment (`scrubbed_env`) with a temporary HOME.
    """
    todo = list(stacks_in(tree) if stacks is None else stacks)
    if not todo:
        return {}
    home = out_dir / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = scrubbed_env(os.environ, home)
    workers = max(1, min(jobs or default_jobs(), len(todo)))
    multi = len(todo) > 1 and _supports_out_dir(tree, python, env)

    def one(stack: str) -> dict[str, Any]:
        out = out_dir / f"{stack}.json"
        proc = subprocess.run(
            [python, "-m", "mssp", "plan", stack, "--json", str(out), "--quiet"],
            cwd=tree, capture_output=True, text=True, timeout=900, check=False, env=env,
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
            cwd=tree, capture_output=True, text=True, timeout=900 * len(names), check=False, env=env,
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


@contextmanager
def _worktree(ref: str, repo: Path) -> Iterator[tuple[Path, Path]]:
    """(tree, scratch folder): `ref` checked out in a temporary worktree, removed with the folder afterwards."""
    _resolve(ref, repo)
    tmp = Path(tempfile.mkdtemp(prefix="mssp-diff-"))
    tree = tmp / "tree"
    try:
        from mssp.diff import gitsafe

        added = gitsafe.worktree(repo, "add", "--detach", str(tree), ref)
        if added.returncode != 0:
            raise UserError(f"git worktree add {ref} failed: {added.stderr.strip()}")
        try:
            yield tree, tmp
        finally:
            gitsafe.worktree(repo, "remove", "--force", str(tree))
    finally:
        # No `git worktree prune`: it would also drop the records of other worktrees whose folders are
        # missing for a moment; `worktree remove` already cleans up this one.
        shutil.rmtree(tmp, ignore_errors=True)


def plan_ref(ref: str, repo: Path, stacks: Sequence[str] | None = None, jobs: int | None = None) -> dict[str, dict[str, Any]]:
    """Check `ref` out in a temporary worktree, plan its stacks (default: all), remove the worktree."""
    with _worktree(ref, repo) as (tree, tmp):
        return plan_tree(tree, tmp, stacks=stacks, jobs=jobs)


@dataclass
class RefSides:
    """Both sides of a ref-to-ref diff, planned only where the change can matter."""

    base: dict[str, dict[str, Any]]
    head: dict[str, dict[str, Any]]
    affected: Any  # mssp.diff.affected.Affected
    cached: dict[str, int] = field(default_factory=dict)  # side -> plans taken from the cache
    planned: dict[str, int] = field(default_factory=dict)  # side -> plans run
    # Whose code made HEAD's plans: HEAD_FROM_BASE_CODE, HEAD_FROM_HEAD_CODE or HEAD_FROM_DIR.
    head_source: str = ""
    head_code_paths: list[str] = field(default_factory=list)  # the code paths HEAD changes (why HEAD's code is needed)


# Whose code plans HEAD (RefSides.head_source). A change that edits no code (only stack files, inventories,
# documentation) is planned with BASE's code over HEAD's stack files and inventories, so no code of HEAD
# runs; a change to code needs HEAD's own code: run here (scrubbed) or, with --head-plans, elsewhere.
HEAD_FROM_BASE_CODE = "base-code"
HEAD_FROM_HEAD_CODE = "head-code"
HEAD_FROM_DIR = "head-plans"


def _cat_blobs(repo: Path, ids: Sequence[str]) -> list[bytes | None]:
    """The contents of git blobs, in one `git cat-file --batch` (a fleet has hundreds of stack files);
    None for an id git cannot give as a blob."""
    if not ids:
        return []
    from mssp.diff import gitsafe

    proc = gitsafe.run(repo, "cat-file", "--batch", text=False, input="".join(f"{i}\n" for i in ids).encode())
    out: list[bytes | None] = []
    data, at = proc.stdout, 0
    for _ in ids:
        end = data.find(b"\n", at)
        header = data[at:end].split() if end >= 0 else []
        if len(header) != 3 or header[1] != b"blob":
            out.append(None)
            at = end + 1 if end >= 0 else len(data)
            continue
        size = int(header[2])
        out.append(data[end + 1:end + 1 + size])
        at = end + 1 + size + 1
    return out


def _stack_files(repo: Path, commit: str, blobs: Mapping[str, str],
                 modes: Mapping[str, str] | None = None) -> dict[str, str]:
    """{stack: stack file text} of a commit, from its {path: blob id} (and {path: mode})."""
    from components.facts import data_paths
    from mssp.diff import cache
    from mssp.diff.affected import stack_name_of

    paths = sorted(p for p in blobs if p.startswith("stacks/Pulumi.") and p.endswith(".yaml") and p.count("/") == 1)
    plain = [p for p in paths if data_paths.stack_file_stack(p) is not None
             and (modes is None or modes.get(p) in cache.REGULAR_MODES)]
    contents = dict(zip(plain, _cat_blobs(repo, [blobs[p] for p in plain]), strict=True))
    # An unreadable file (or a link, or a name that is no stack name) is "": described as kind "unknown", so
    # planned on any change (and refused by the plan).
    return {stack_name_of(p): "" if contents.get(p) is None else contents[p].decode("utf-8", "replace")  # type: ignore[union-attr]
            for p in paths}


def plan_overlay(base: str, head: str, repo: Path, data_paths: Sequence[str], stacks: Sequence[str],
                 jobs: int | None = None, head_blobs: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Plan `stacks` with BASE's code over HEAD's stack files, inventories and import files: a worktree of
    `base` in which each of `data_paths` is replaced by its HEAD content, or removed where HEAD deleted it
    (`overlay_data`). No file of HEAD but those is in the tree, so no code of HEAD can run.
    `head_blobs`: HEAD's {path: blob id} where the caller has it already."""
    contents = _overlay_contents(repo, head, data_paths, head_blobs)
    with _worktree(base, repo) as (tree, tmp):
        for path in data_paths:
            _write_data_file(tree, path, contents.get(path))
        return plan_tree(tree, tmp, stacks=stacks, jobs=jobs)


def overlay_data(tree: Path, head: str, repo: Path, data_paths: Sequence[str]) -> None:
    """Write HEAD's content of `data_paths` into `tree` (a checkout of the base commit), or remove the files
    HEAD deleted: what plan_overlay plans, and what the PR workflow's preview runs the base's program over."""
    contents = _overlay_contents(repo, head, data_paths, None)
    for path in data_paths:
        _write_data_file(tree, path, contents.get(path))


def _overlay_contents(repo: Path, head: str, data_paths: Sequence[str],
                      head_blobs: Mapping[str, str] | None) -> dict[str, bytes | None]:
    """HEAD's bytes of each data path (absent: deleted in HEAD), after refusing every path that is not data.

    Each path must be a data path by its own text (components.facts.data_paths: a stack file, a YAML/JSON
    file under stacks/inventories/, a JSON file under stacks/imports/) and a plain file in HEAD (no symbolic
    link, no submodule); anything else is refused before any file is written."""
    from mssp.diff import cache

    refused = [f"{p!r} ({why})" for p in data_paths if (why := overlay_problem(p))]
    try:
        entries = cache.tree_entries(repo, head)
    except OSError as exc:
        raise UserError(str(exc)) from None
    refused += [f"{p!r} (git stores it as mode {entries[p][0]}: a symbolic link or submodule, not a plain file)"
                for p in data_paths if p in entries and entries[p][0] not in cache.REGULAR_MODES]
    if refused:
        raise UserError("the data-only plan of HEAD refuses to write " + "; ".join(refused) + ": only stack files "
                        "(stacks/Pulumi.<stack>.yaml), inventories (.yaml/.yml/.json under stacks/inventories/) and "
                        "import files (.json under stacks/imports/), stored as plain files, are data")
    if head_blobs is None:
        head_blobs = {p: oid for p, (m, oid) in entries.items() if m in cache.REGULAR_MODES}
    present = [p for p in data_paths if p in head_blobs]
    return dict(zip(present, _cat_blobs(repo, [head_blobs[p] for p in present]), strict=True))


def overlay_problem(path: str) -> str | None:
    """Why plan_overlay refuses to write `path` (None: it is a stack file, inventory or import file)."""
    from components.facts import data_paths as dp

    if dp.stack_file_stack(path) is not None:
        return None
    inventory, imports = dp.data_path_problem(path, "inventory"), dp.data_path_problem(path, "import")
    if inventory is None or imports is None:
        return None
    return f"not a data path: as an inventory it {inventory}; as an import file it {imports}"


def _write_data_file(tree: Path, path: str, data: bytes | None) -> None:
    """Replace tree/path by a new plain file holding `data` (None: remove it), never following a link."""
    parts = path.split("/")
    folder = tree
    for i, part in enumerate(parts[:-1]):
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise UserError(f"{'/'.join(parts[:i + 1])} is not a folder in the base commit; refusing to write {path}")
    target = folder / parts[-1]
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)  # a folder in BASE, a file (or nothing) in HEAD
    elif target.is_symlink() or target.exists():
        target.unlink()
    if data is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")  # the characters the Pulumi CLI allows in a stack name


def load_head_plans(folder: Path, stacks: Sequence[str]) -> dict[str, dict[str, Any]]:
    """HEAD's plans of `stacks` from a folder that HEAD's own `mssp plan A B --out-dir DIR` wrote in another
    job (the PR workflow's plan-head job, which holds no credentials). Each must be there, as `<stack>.json`
    with that stack's name inside; other files are ignored. They are data: read, checked, never run."""
    if not folder.is_dir():
        raise UserError(f"--head-plans {folder}: not a directory; allowed: the folder HEAD's "
                        "`python -m mssp plan STACK ... --out-dir DIR` wrote")
    got: dict[str, dict[str, Any]] = {}
    missing = []
    for stack in stacks:
        # A name that is not a stack name (ref_scope refuses those) is never read as a path here.
        named = bool(_STACK_NAME.match(stack))
        path = folder / f"{stack}.json"
        if not named or not path.is_file():
            error = folder / f"{stack}.error.txt"
            detail = " / ".join(error.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]) \
                if named and error.is_file() else "no manifest"
            missing.append(f"{stack} ({detail})")
            continue
        manifest = load_manifest(path)
        if manifest["stack"] != stack:
            raise UserError(f"--head-plans {path}: holds the plan of stack {manifest['stack']!r}, not {stack!r}")
        got[stack] = manifest
    if missing:
        raise UserError(f"--head-plans {folder}: HEAD's plan is missing for {len(missing)} affected stack(s): "
                        + "; ".join(missing) + ". HEAD changes code, so its plans must come from HEAD's own "
                        "`mssp plan STACK ... --out-dir DIR` (the PR workflow's plan-head job)")
    return got


@dataclass(frozen=True)
class Scope:
    """What a ref-to-ref diff will plan, before any plan runs (`mssp diff --scope-only`)."""

    commits: Mapping[str, str]
    blobs: Mapping[str, Mapping[str, str]]
    infos: Mapping[str, list[Any]]  # side -> [mssp.diff.affected.StackInfo]
    affected: Any  # mssp.diff.affected.Affected
    head_code_paths: list[str]  # changed paths HEAD's plans read as code: HEAD's code is needed to plan them
    data_paths: list[str]  # changed stack files and inventories

    def wanted(self, side: str) -> list[str]:
        mine = {s.name for s in self.infos[side]}
        return [s for s in sorted(self.affected.stacks) if s in mine]

    def to_json(self) -> dict[str, Any]:
        return {**self.affected.to_json(), "headRunsCode": bool(self.head_code_paths),
                "headCodePaths": self.head_code_paths, "headStacks": self.wanted("head"),
                "baseStacks": self.wanted("base")}


def ref_scope(base: str, head: str, repo: Path, every_stack: bool = False) -> Scope:
    """Which stacks the change from `base` to `head` can affect, and whether planning HEAD needs HEAD's code:
    read from git's trees only (`git diff`, `ls-tree`, `cat-file`), no code of either ref runs."""
    from mssp.diff import affected as aff
    from mssp.diff import cache

    commits = {"base": _resolve(base, repo), "head": _resolve(head, repo)}
    from mssp.diff import gitsafe

    names = _git(repo, "diff", "--name-only", "-z", *gitsafe.DIFF_FLAGS, commits["base"], commits["head"])
    if names.returncode != 0:
        raise UserError(f"git diff {base} {head} failed: {names.stderr.strip()}")
    changed = [p for p in names.stdout.split("\0") if p]
    modes: dict[str, dict[str, str]] = {"base": {}, "head": {}}
    try:
        blobs = {side: cache.tree_blobs(repo, c, modes[side]) for side, c in commits.items()}
    except OSError as exc:
        raise UserError(str(exc)) from None
    infos = {side: aff.describe_stacks(_stack_files(repo, c, blobs[side], modes[side])) for side, c in commits.items()}
    every = aff.merge_infos(infos["base"], infos["head"])
    kinds = {p: _kind_in_git(p, every, modes) for p in changed}
    # A data path that is a symbolic link or a submodule on either side is no data: planned as unknown
    # (every stack, with HEAD's own code), never written into the base's tree.
    verdict = aff.affected_stacks(changed, every, kinds)
    if every_stack:
        verdict = aff.Affected({s.name: verdict.stacks.get(s.name, ("--all-stacks",)) for s in every}, {})
    bad = sorted(s.name for s in every if not _STACK_NAME.match(s.name))
    if bad:
        raise UserError(f"stacks/: {', '.join(repr(b) for b in bad)} is not a stack name; allowed: letters, digits, "
                        "'_', '.', '-' (stacks/Pulumi.<stack>.yaml)")
    return Scope(commits, blobs, infos, verdict,
                 head_code_paths=sorted(p for p, k in kinds.items() if k in ("code", "unknown")),
                 data_paths=sorted(p for p, k in kinds.items() if k in DATA_KINDS))


# The kinds of path (mssp.diff.affected.classify_path) whose HEAD content plan_overlay may write.
DATA_KINDS = ("stack", "inventory", "import")


def _kind_in_git(path: str, stacks: Sequence[Any], modes: Mapping[str, Mapping[str, str]]) -> str:
    """classify_path, where a data path that is not a plain file in git on either side is "unknown"."""
    from mssp.diff import affected as aff
    from mssp.diff import cache

    kind = aff.classify_path(path, stacks)
    if kind in DATA_KINDS and any(m.get(path, "100644") not in cache.REGULAR_MODES for m in modes.values()):
        return "unknown"
    return kind


def plan_refs(base: str, head: str, repo: Path, *, use_cache: bool = True, jobs: int | None = None,
              every_stack: bool = False, head_plans: Path | None = None) -> RefSides:
    """Plan two refs: only the affected stacks, from the cache where possible, the rest in parallel.

    BASE is planned with its own code. HEAD is planned with BASE's code when the change edits no code
    (plan_overlay); otherwise with HEAD's own code, here (scrubbed) or, given `head_plans`, not at all
    here: HEAD's plans are then read from that folder (load_head_plans), and never enter the cache."""
    from mssp.diff import cache

    scope = ref_scope(base, head, repo, every_stack)
    if not scope.head_code_paths:
        source = HEAD_FROM_BASE_CODE
    else:
        source = HEAD_FROM_DIR if head_plans is not None else HEAD_FROM_HEAD_CODE
    sides: dict[str, dict[str, dict[str, Any]]] = {}
    result = RefSides({}, {}, scope.affected, head_source=source, head_code_paths=scope.head_code_paths)
    for side, commit in scope.commits.items():
        mine = {s.name: s for s in scope.infos[side]}
        wanted = scope.wanted(side)
        if side == "head" and source == HEAD_FROM_DIR:
            assert head_plans is not None
            sides[side] = load_head_plans(head_plans, wanted)
            result.cached[side], result.planned[side] = 0, 0
            continue
        keys = {s: cache.plan_key(scope.blobs[side], mine[s], scope.infos[side]) for s in wanted}
        got: dict[str, dict[str, Any]] = {}
        for s in wanted:
            hit = cache.load(keys[s]) if use_cache else None
            if hit is not None and isinstance(hit.get("manifest"), dict):
                got[s] = _mask(hit["manifest"])
        missing = [s for s in wanted if s not in got]
        result.cached[side], result.planned[side] = len(got), len(missing)
        if missing:
            # Progress on stderr (stdout is the comment): a fleet of plans takes a while.
            print(f"diff: planning {len(missing)} stack(s) at {side} ({commit[:12]}; {len(got)} from the cache), "
                  "about a second per stack", file=sys.stderr, flush=True)
            if side == "head" and source == HEAD_FROM_BASE_CODE:
                # Same code on both sides (no code path changed), so this is HEAD's plan: cached under its key.
                fresh = plan_overlay(scope.commits["base"], commit, repo, scope.data_paths, missing, jobs,
                                     head_blobs=scope.blobs["head"])
            else:
                fresh = plan_ref(commit, repo, missing, jobs)
            for s, m in fresh.items():
                got[s] = m
                if use_cache:
                    cache.store(keys[s], {"stack": s, "commit": commit, "manifest": m})
        sides[side] = {s: got[s] for s in sorted(got)}
    result.base, result.head = sides["base"], sides["head"]
    return result


def _check_same_stack(base_spec: str, base: Mapping[str, Any], head_spec: str, head: Mapping[str, Any]) -> None:
    """Two single manifests compare one stack before and after: manifests of two different stacks would read
    as every resource of one deleted and every resource of the other created."""
    if not (Path(base_spec).is_file() and Path(head_spec).is_file()) or set(base) == set(head):
        return
    from components.facts.strict_yaml import shown

    raise UserError(f"BASE {shown(base_spec)} is a plan of stack {', '.join(map(repr, base))} but HEAD {shown(head_spec)} "
                    f"is a plan of stack {', '.join(map(repr, head))}; allowed: two plans of the same stack (or two "
                    "directories of manifests, or two git refs, to compare a fleet)")


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
    protect: bool = False  # in the base (the current state's `protect`)
    retain_on_delete: bool = False
    protect_after: bool = False  # in the head (the program's new `protect`)

    @property
    def blocked_by_protect(self) -> bool:
        """Whether the engine refuses this step. A delete: when the resource was protected (the state's flag).
        A replace: only when it is protected both before and after, so unprotecting and replacing in one
        update goes through (pulumi/pulumi#8873; pkg/resource/deploy/step_generator.go at v3.274.0:
        `if new.Protect && old.Protect` refuses the replace; step.go DeleteStep refuses `s.old.Protect`)."""
        if self.op == "delete":
            return self.protect
        if self.op == "replace":
            return self.protect and self.protect_after
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "changedProperties": [p.path for p in self.properties],
            "replaceReasons": self.reasons,
            "protect": self.protect,
            "protectAfter": self.protect_after,
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
                                          protect=False, protect_after=bool(_options(n).get("protect")),
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
            protect=bool(_options(o).get("protect")),
            protect_after=bool(_options(n).get("protect")),
            retain_on_delete=bool(_options(o).get("retainOnDelete")),
        ))
    return changes, same


def _policy_key(p: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(p.get("policy")), str(p.get("urn")), str(p.get("message")))


def _policies_of(manifest: Mapping[str, Any] | None, context: Any = None) -> list[dict[str, Any]]:
    """The guardrail results of a plan, decided by THIS checkout's rules (policies/rules.py).

    A manifest carries the results its own code computed; that code may be the change under review,
    which could have weakened or emptied them. So every plan is re-evaluated here, and what the
    manifest reported is added only where this checkout's rules did not already find it (a rule that
    exists only on the other side still shows). The PR workflow runs this command from the base
    branch, so the base's rules decide (docs/design/identities.md "`mssp diff` runs the ref's code, scrubbed").
    """
    if manifest is None:
        return []
    if isinstance(context, RulesSource):
        found = context.evaluate(manifest)
    else:
        from policies import rules

        found = rules.evaluate_manifest(manifest, context)
    keys = {_policy_key(p) for p in found}
    reported = manifest.get("policies") if isinstance(manifest.get("policies"), list) else []
    extra = [dict(p) for p in reported if isinstance(p, Mapping) and _policy_key(p) not in keys]
    return [*found, *extra]


def output_findings(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Stack outputs that were secret in BASE and are not in HEAD: a credential about to be exported in
    plain text (e.g. the Splunk webhook URL). Only the output's path is named, never its value."""
    if base is None or head is None:
        return []
    found: list[dict[str, Any]] = []
    for path in _secret_paths(_outputs(base)):
        value = _at(_outputs(head), path)
        if value is not MISSING and value != SECRET:
            found.append({"policy": "outputs-stay-secret", "level": "mandatory", "urn": "",
                          "message": f"stack output `{path}` was a secret and is no longer one: its value would be "
                                     "stored and shown in plain text; keep it wrapped in pulumi.Output.secret(...)"})
    return found


def output_changes(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Per top-level stack output: added, removed or changed, and whether it is secret on each side."""
    old, new = _outputs(base), _outputs(head)
    out = []
    for key in sorted(set(old) | set(new)):
        if key in old and key in new and old[key] == new[key]:
            continue
        change = "added" if key not in old else "removed" if key not in new else "changed"
        out.append({"output": key, "change": change,
                    "baseSecret": bool(_secret_paths({key: old[key]})) if key in old else None,
                    "headSecret": bool(_secret_paths({key: new[key]})) if key in new else None})
    return out


def _outputs(manifest: Mapping[str, Any] | None) -> Mapping[str, Any]:
    outputs = (manifest or {}).get("outputs")
    return outputs if isinstance(outputs, Mapping) else {}


def _secret_paths(value: Any, path: str = "") -> list[str]:
    if value == SECRET:
        return [path]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _secret_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _secret_paths(v, f"{path}[{i}]")]
    return []


def _at(value: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            i = int(part[1:-1])
            if not isinstance(value, list) or i >= len(value):
                return MISSING
            value = value[i]
        elif isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return MISSING
    return value


def policy_context(*sides: Mapping[str, dict[str, Any]]) -> Any:
    """The guardrails' context (the MSSP workspace) from the first side with a platform plan: BASE first,
    so the change under review cannot move the workspace the rules compare against."""
    from policies import rules

    for side in sides:
        for manifest in side.values():
            outputs = _outputs(manifest)
            if outputs.get("stackKind") == "platform" and isinstance(outputs.get("workspaceResourceId"), str):
                return rules.PolicyContext(workspace_resource_id=outputs["workspaceResourceId"],
                                           workspace_location=_str_or_none(outputs.get("workspaceLocation")))
    return rules.PolicyContext()


# Runs in the rules checkout (cwd): its policies.rules over the manifest on stdin, results on stdout.
_EVALUATE = (
    "import json, sys\n"
    "from policies import rules\n"
    "job = json.load(sys.stdin)\n"
    "json.dump(rules.evaluate_manifest(job['manifest'], job['context']), sys.stdout)\n"
)


@dataclass(frozen=True)
class RulesSource:
    """Guardrails taken from another checkout (`--rules DIR`), e.g. the base branch's."""

    tree: Path
    context: Mapping[str, Any]
    python: str = sys.executable

    def evaluate(self, manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
        home = Path(tempfile.mkdtemp(prefix="mssp-rules-home-"))
        try:
            proc = subprocess.run([self.python, "-c", _EVALUATE], cwd=self.tree, input=json.dumps(
                {"manifest": manifest, "context": dict(self.context)}), capture_output=True, text=True,
                timeout=300, check=False, env=scrubbed_env(os.environ, home))
        finally:
            shutil.rmtree(home, ignore_errors=True)
        if proc.returncode != 0:
            detail = " / ".join(proc.stderr.strip().splitlines()[-3:])
            raise UserError(f"--rules {self.tree}: its policies/rules.py could not evaluate the plan: {detail}")
        return list(json.loads(proc.stdout))


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value != SECRET else None


def diff_stack(stack: str, base: Mapping[str, Any] | None, head: Mapping[str, Any] | None,
               context: Any = None) -> dict[str, Any]:
    """The report of one stack (JSON-ready)."""
    from policies import rules

    changes, same = compare_resources((base or {}).get("resources") or [], (head or {}).get("resources") or [])
    counts = {op: sum(1 for c in changes if c.op == op) for op in OPS}
    counts["same"] = same
    output_list = output_changes(base, head)
    if output_list:
        counts["outputs"] = len(output_list)
    from mssp.diff import topology

    # Each side's customer topology (its own workspace, its residency) joins the platform context.
    base_policies = _policies_of(base, topology.stack_context(context, base))
    head_policies = [*_policies_of(head, topology.stack_context(context, head)), *output_findings(base, head)]
    before = {_policy_key(p) for p in base_policies}
    after = {_policy_key(p) for p in head_policies}
    inputs_by_urn = {r.get("urn"): r.get("inputs") or {}
                     for side in (base, head) for r in (side or {}).get("resources") or []}
    advisories = rules.evaluate_changes(
        [{"op": c.op, "urn": c.urn, "type": c.type, "reasons": c.reasons,
          "kind": rules.resource_kind(c.type, inputs_by_urn.get(c.urn))} for c in changes]
    )
    from mssp.plan import facts as plan_facts

    template_changes = exported_changes(base, head)
    moves = topology.destination_moves(changes)
    changed = bool(changes) or bool(output_list) or bool(template_changes)

    access = plan_facts.access_changes(plan_facts.access_rows(base or {}), plan_facts.access_rows(head or {}))
    outputs = plan_facts.compare_outputs((base or {}).get("outputs"), (head or {}).get("outputs"))
    status = "added" if base is None else "removed" if head is None else "changed" if changed else "unchanged"
    return {
        "stack": stack,
        "status": status,
        "changed": changed,
        "counts": counts,
        "changes": [c.to_json() for c in changes],
        "outputChanges": output_list,
        # Lighthouse template mode: what the customer deploys changed, so the customer must deploy it again.
        "templateChanges": template_changes,
        # Where the logs go (mssp/diff/topology.py): settings whose destination moves, a topology change.
        "destinationMoves": moves,
        "topologyChange": topology.topology_change(base, head, moves),
        "policies": [{**p, "new": _policy_key(p) not in before} for p in head_policies],
        "resolvedPolicies": [p for p in base_policies if _policy_key(p) not in after],
        "changeAdvisories": advisories,
        "accessChanges": [_access_json(a) for a in access],
        "outputs": [{"name": o.name, "op": o.op, "secretBefore": o.secret_before, "secretAfter": o.secret_after,
                     "stoppedBeingSecret": o.stopped_being_secret} for o in outputs],
        # Dropped from JSON; kept for the Markdown renderer.
        "_changes": changes,
        "_access": access,
        "_outputs": outputs,
        "_base": base,
        "_head": head,
    }


def exported_changes(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Every difference in the files the customer deploys (Lighthouse template mode), as
    {file, path, before, after}; nothing when a side's manifest predates the template in the review."""
    from mssp.plan.facts import exported_files

    old, new = exported_files(base), exported_files(head)
    if old is None or new is None or (base is None or head is None):
        return []
    found = []
    for name in sorted(set(old) | set(new)):
        for change in changed_paths(old.get(name, {}), new.get(name, {})):
            found.append({"file": name, "path": change.path,
                          "before": None if change.old is MISSING else change.old,
                          "after": None if change.new is MISSING else change.new})
    return found


def _access_json(change: Any) -> dict[str, Any]:
    def row(r: Any) -> dict[str, Any] | None:
        if r is None:
            return None
        return {"scope": r.scope, "principalId": r.principal_id, "principalName": r.principal_name,
                "principalType": r.principal_type, "identity": r.identity, "role": r.role_name, "roleGuid": r.role_guid,
                "eligible": r.eligible, "maximumActivationDuration": r.max_duration or None, "multiFactorAuth": r.mfa or None,
                "approvers": list(r.approvers), "via": r.via}

    return {"change": change.kind, "before": row(change.before), "after": row(change.after), "reasons": list(change.reasons)}


def diff_sides(base: Mapping[str, dict[str, Any]], head: Mapping[str, dict[str, Any]],
               rules_tree: Path | None = None) -> list[dict[str, Any]]:
    context = policy_context(base, head)
    if rules_tree is not None:
        context = RulesSource(rules_tree, {"workspaceResourceId": context.workspace_resource_id,
                                           "workspaceLocation": context.workspace_location})
    return [diff_stack(s, base.get(s), head.get(s), context) for s in sorted(set(base) | set(head))]


# The files that decide what the guardrails allow: a change to them is a change to the review itself.
# Besides the rules and the tables they read, the review's own machinery: the judge (mssp/diff), the planner
# whose manifests it judges (mssp/plan), the plan cache (mssp/cache: which signed entries it trusts), what
# is data (components/facts/data_paths.py), the entry points and installs (dev, scripts, .ci, requirements)
# and the workflows (.github). A change to any of them is a change to the review itself (issue 20, item 8).
GUARDRAIL_PATHS: tuple[str, ...] = (
    "policies", "components/facts/roles.py", "components/facts/trust.py", "components/facts/data_paths.py",
    "components/config", "mssp/diff", "mssp/plan", "mssp/cache", "dev", "scripts", ".ci", ".github",
    "requirements.txt", "requirements-dev.txt", "requirements.lock", "requirements-dev.lock",
)
_MAX_GUARDRAIL_DIFF_LINES = 300


def guardrail_changes(base: str, head: str, repo: Path) -> dict[str, Any] | None:
    """What HEAD changes in the guardrail files (GUARDRAIL_PATHS), when both sides are git refs.

    None when a side is not a ref (manifests carry no code). The text diff is what the PR comment shows,
    so weakening a rule or a role table is visible to the reviewer, not only its effect on today's plans.
    """
    if any(Path(spec).exists() for spec in (base, head)):
        return None
    if any(_git(repo, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}").returncode != 0 for spec in (base, head)):
        return None
    from mssp.diff import gitsafe

    # Attributes off and text shown (mssp.diff.gitsafe): a `.gitattributes` of HEAD cannot make the guardrail
    # diff "Binary files differ", convert it with a textconv driver or run a filter.
    numstat = _git(repo, "diff", "--numstat", *gitsafe.DIFF_FLAGS, base, head, "--", *GUARDRAIL_PATHS)
    files = []
    for line in numstat.stdout.splitlines():
        added, deleted, path = line.split("\t", 2)
        files.append({"path": path, "added": int(added) if added.isdigit() else 0,
                      "deleted": int(deleted) if deleted.isdigit() else 0})
    text = _git(repo, "diff", *gitsafe.DIFF_FLAGS, base, head, "--", *GUARDRAIL_PATHS).stdout
    return {"files": files, "diff": "\n".join(text.splitlines()[:_MAX_GUARDRAIL_DIFF_LINES]),
            "truncated": len(text.splitlines()) > _MAX_GUARDRAIL_DIFF_LINES}


def report_json(stacks: Sequence[Mapping[str, Any]], base: str, head: str,
                guardrails: Mapping[str, Any] | None = None, scope: RefSides | None = None) -> str:
    clean = [{k: v for k, v in s.items() if not k.startswith("_")} for s in stacks]
    doc: dict[str, Any] = {"base": base, "head": head, "stacks": clean}
    if guardrails is not None:
        doc["guardrailChanges"] = guardrails["files"]
    if scope is not None:
        doc["affected"] = scope.affected.to_json()
        doc["cache"] = {"cached": scope.cached, "planned": scope.planned}
        doc["headPlans"] = {"source": scope.head_source, "headCodePaths": scope.head_code_paths}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def has_mandatory(stacks: Sequence[Mapping[str, Any]]) -> bool:
    return any(p.get("level") == "mandatory" for s in stacks for p in s["policies"])


# --------------------------------------------------------------------------------------------------
# Markdown (mssp/diff/markdown.py)
# --------------------------------------------------------------------------------------------------
def _short(value: Any, start: int = 0) -> str:
    from mssp.diff.markdown import short_value

    return short_value(value, start)


def _first_difference(old: Any, new: Any) -> int:
    from mssp.diff.markdown import first_difference

    return first_difference(old, new)


def render_markdown(stacks: Sequence[Mapping[str, Any]], base: str, head: str, limit: int | None = None,
                    hint: str = "in the `--full-markdown` file", guardrails: Mapping[str, Any] | None = None,
                    scope: RefSides | None = None) -> str:
    """The report as Markdown; with `limit`, shortened to fit a comment of that many characters. A change
    to the guardrails' own files (policies, role tables) comes first, whatever the size; then, for two
    refs, which stacks were planned and which skipped (`scope`)."""
    from mssp.diff import markdown as diff_markdown

    scope_lines = diff_markdown.scope_section(scope.affected.stacks, scope.affected.skipped, scope.cached,
                                              None if limit is None else diff_markdown.SCOPE_NAMES,
                                              hint, _head_source_line(scope)) if scope is not None else []
    preamble = "\n\n".join(part for part in ("\n".join(_guardrail_section(guardrails)), "\n".join(scope_lines))
                           if part)
    if limit is None:
        body = diff_markdown.render(stacks, base, head, diff_markdown.FULL, hint)
    else:
        body = diff_markdown.render_comment(stacks, base, head, hint,
                                            limit - diff_markdown.comment_length(preamble) - 2)
    if not preamble:
        return body
    # After the comment's marker and title line, before the summary.
    head_lines, _, rest = body.partition("\n\n")
    return f"{head_lines}\n\n{preamble}\n\n{rest}"


def _head_source_line(scope: RefSides) -> str:
    """Whose code made HEAD's plans: the reviewer must know whether the plans themselves can be trusted."""
    from mssp.plan.markdown import code

    if scope.head_source == HEAD_FROM_BASE_CODE:
        return ("HEAD was planned with the base commit's code over HEAD's stack files and inventories: this change "
                "edits no code, so none of its code ran.")
    paths = ", ".join(code(p) for p in scope.head_code_paths[:5]) + (
        f" and {len(scope.head_code_paths) - 5} more" if len(scope.head_code_paths) > 5 else "")
    where = ("by HEAD's own code in a job without credentials (plan-head), and read here as data"
             if scope.head_source == HEAD_FROM_DIR else "by HEAD's own code, run here with a scrubbed environment")
    return (f"⚠️ HEAD's plans were made {where}, because this change edits code ({paths}). The guardrails above "
            "are the base's, but a plan is only as faithful as the code that made it: review the code change.")


def _guardrail_section(guardrails: Mapping[str, Any] | None) -> list[str]:
    if not guardrails or not guardrails["files"]:
        return []
    lines = ["> ⚠️ **Guardrail change**: this change edits the files that decide what the guardrails allow. "
             "The results below use the rules of the side this command ran from (the base branch in the PR "
             "workflow); review the rule change itself:", ">"]
    from mssp.plan.markdown import code

    lines += [f"> - {code(f['path'])} (+{f['added']} −{f['deleted']})" for f in guardrails["files"]]
    fence = "````"
    lines += ["", "<details><summary>Guardrail diff</summary>", "", fence + "diff",
              guardrails["diff"].replace(fence, "` ` ` `"), fence,
              *(["… truncated"] if guardrails["truncated"] else []), "", "</details>", ""]
    return lines


# --------------------------------------------------------------------------------------------------
# Command
# --------------------------------------------------------------------------------------------------
def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "diff", help="compare two offline plans (manifests or git refs) as Markdown",
        description="Compare two offline plans. A git ref is checked out in a temporary worktree and planned "
        "with THAT ref's code: it runs with a scrubbed environment (only PATH, locale and TZ pass; no ARM_*, "
        "AZURE_*, PULUMI_*, GITHUB_*/ACTIONS_* or *TOKEN*/*SECRET*/*KEY* variable) and an empty temporary HOME. "
        "With two git refs only the stacks the change can affect are planned (--all-stacks: every stack), "
        "plans come from the plan cache where they are there (--no-cache), the rest run in --jobs processes. "
        "Exit codes: 0 compared; 1 --fail-on-mandatory and HEAD breaks a mandatory guardrail; 2 a side cannot "
        "be read or planned. With two git refs, a change to the guardrails themselves (policies/rules.py) is "
        "reported in the report.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", help="manifest file, directory of manifests, or git ref (planned in a temporary worktree)")
    p.add_argument("head", help="manifest file, directory of manifests, or git ref")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the report as JSON here")
    p.add_argument("--markdown", type=Path, metavar="OUT",
                   help="write the Markdown here instead of stdout, shortened to fit a PR comment (65,536 characters)")
    p.add_argument("--full-markdown", type=Path, metavar="OUT", help="also write the whole, unshortened Markdown here")
    p.add_argument("--full-report-hint", metavar="TEXT", default=None,
                   help="where readers of a shortened report find the full one (default: the --full-markdown path)")
    p.add_argument("--repo", type=Path, default=Path.cwd(), help="git repository for refs (default: current directory)")
    p.add_argument("--fail-on-mandatory", action="store_true", help="exit 1 when HEAD breaks a mandatory guardrail")
    p.add_argument("--rules", type=Path, metavar="DIR",
                   help="take the guardrails from this checkout's policies/rules.py (e.g. the base branch's), run "
                   "in a scrubbed environment; default: this command's own checkout")
    p.add_argument("--all-stacks", action="store_true",
                   help="with two git refs: plan every stack, not only those the change can affect")
    p.add_argument("--no-cache", action="store_true", help="with two git refs: neither read nor write the plan cache")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="planning processes at once (default: the core count)")
    p.add_argument("--head-plans", type=Path, metavar="DIR",
                   help="with two git refs: never run HEAD's code here. A change that edits code takes HEAD's plans "
                   "of the affected stacks from DIR (written by HEAD's own `mssp plan STACK ... --out-dir DIR` in a "
                   "job without credentials, e.g. the PR workflow's plan-head job); a change that edits only stack "
                   "files, inventories or docs is planned with BASE's code, as without this option")
    p.add_argument("--scope-only", action="store_true",
                   help="with two git refs: plan nothing; write (to --json, else stdout) which stacks the change can "
                   "affect, which are skipped and why, and whether planning HEAD needs HEAD's code (headRunsCode, "
                   "headCodePaths, headStacks). Reads git's trees only: no code of either ref runs")
    p.add_argument("--write-overlay", type=Path, metavar="DIR",
                   help="with two git refs: write HEAD's changed stack files, inventories and import files into DIR, a "
                   "checkout of BASE, and plan nothing (the PR workflow's real preview then runs BASE's program over "
                   "them). Refused (exit 2) when the change edits code, or when a stack file holds anything but "
                   "`config` (mssp-sentinel keys only) and `encryptionsalt`")
    p.set_defaults(func=run)


# What a stack file the real preview reads may hold: the project's config and the passphrase salt. Anything
# else would make the Pulumi CLI or a provider act for the PR with the preview's credentials (`environment`
# imports Pulumi ESC environments the token can read, `secretsprovider` calls a key service, provider
# config such as azure-native:oidcRequestUrl sends the job's OIDC request token to a URL).
PREVIEW_STACK_KEYS = frozenset({"config", "encryptionsalt"})


def preview_data_problems(tree: Path, data_paths: Sequence[str]) -> list[str]:
    """Why the stack files among `data_paths` in `tree` may not be previewed with real credentials."""
    import yaml

    from components.facts import config_keys, strict_yaml
    from components.facts import data_paths as dp
    from mssp.diff.affected import NAMESPACE

    problems = []
    for path in data_paths:
        if dp.stack_file_stack(path) is None or not (tree / path).is_file():
            continue
        try:
            doc = strict_yaml.loads((tree / path).read_text(encoding="utf-8"), path)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, strict_yaml.YamlKeyError) as exc:
            problems.append(f"{path}: not a readable YAML stack file ({strict_yaml.shown(exc, 200)})")
            continue
        doc = doc if isinstance(doc, dict) else {}
        extra = sorted(str(k) for k in doc if k not in PREVIEW_STACK_KEYS)
        if extra:
            problems.append(f"{path}: top-level key(s) {', '.join(extra)}; allowed: {', '.join(sorted(PREVIEW_STACK_KEYS))}")
        config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
        foreign = sorted(str(k) for k in config
                         if not isinstance(k, str) or not (config_keys.parse_key(NAMESPACE, k) or "").startswith(f"{NAMESPACE}:"))
        if foreign:
            problems.append(f"{path}: config key(s) {', '.join(foreign)} outside the {NAMESPACE} namespace; allowed: "
                            f"{NAMESPACE}:* keys only (provider and pulumi: settings belong in reviewed code)")
    return problems


def write_overlay(args: argparse.Namespace) -> int:
    """`--write-overlay DIR` (see its help)."""
    from mssp.diff import gitsafe

    scope = ref_scope(args.base, args.head, args.repo)
    if scope.head_code_paths:
        raise UserError(f"--write-overlay: the change edits code ({', '.join(scope.head_code_paths[:5])}): no real "
                        "preview of a pull request's code runs with credentials; its offline plan is in the plan-diff "
                        "comment, and the real preview runs after merge (docs/security.md)")
    tree = args.write_overlay
    at = gitsafe.run(tree, "rev-parse", "HEAD") if tree.is_dir() else None
    if at is None or at.returncode != 0 or at.stdout.strip() != scope.commits["base"]:
        raise UserError(f"--write-overlay {tree}: not a checkout of the base commit {scope.commits['base']}")
    overlay_data(tree, scope.commits["head"], args.repo, scope.data_paths)
    problems = preview_data_problems(tree, scope.data_paths)
    if problems:
        raise UserError("--write-overlay: the real preview refuses HEAD's data: " + "; ".join(problems))
    print(f"wrote {len(scope.data_paths)} data file(s) of HEAD into {tree}: " + (", ".join(scope.data_paths) or "none"))
    return 0


def _write_failure(args: argparse.Namespace, error: str) -> None:
    """A side of a ref-to-ref diff could not be planned: the reports say why (and show a guardrail change),
    so the PR comment tells the author; the command still exits 2."""
    from mssp.diff import markdown as diff_markdown

    try:
        guardrails = guardrail_changes(args.base, args.head, args.repo)
    except (OSError, ValueError):
        guardrails = None
    text = diff_markdown.render_failure(args.base, args.head, error, "\n".join(_guardrail_section(guardrails)))
    for path in (args.markdown, args.full_markdown):
        if path:
            write_output(path, text)
    if args.json:
        doc = {"base": args.base, "head": args.head, "error": error, "stacks": [],
               **({"guardrailChanges": guardrails["files"]} if guardrails else {})}
        write_output(args.json, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def _is_ref(spec: str) -> bool:
    return not Path(spec).exists()


def run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise UserError("--jobs must be at least 1")
    if args.rules is not None and not (args.rules / "policies" / "rules.py").is_file():
        raise UserError(f"--rules {args.rules}: no policies/rules.py there")
    scope: RefSides | None = None
    both_refs = _is_ref(args.base) and _is_ref(args.head)
    if (args.scope_only or args.head_plans is not None) and not both_refs:
        option = "--scope-only" if args.scope_only else "--head-plans"
        raise UserError(f"{option} needs two git refs (BASE and HEAD); got a manifest or directory")
    if args.write_overlay is not None:
        if not both_refs:
            raise UserError("--write-overlay needs two git refs (BASE and HEAD); got a manifest or directory")
        return write_overlay(args)
    if args.scope_only:
        text = json.dumps(ref_scope(args.base, args.head, args.repo, args.all_stacks).to_json(), indent=2) + "\n"
        if args.json:
            write_output(args.json, text)
        else:
            print(text, end="")
        return 0
    if both_refs:
        try:
            scope = plan_refs(args.base, args.head, args.repo, use_cache=not args.no_cache, jobs=args.jobs,
                              every_stack=args.all_stacks, head_plans=args.head_plans)
        except UserError as exc:
            _write_failure(args, str(exc))
            raise
        base, head = scope.base, scope.head
    else:
        base = load_side(args.base, args.repo)
        head = load_side(args.head, args.repo)
        _check_same_stack(args.base, base, args.head, head)
    stacks = diff_sides(base, head, args.rules.resolve() if args.rules else None)
    guardrails = guardrail_changes(args.base, args.head, args.repo)
    hint = args.full_report_hint or (f"in `{args.full_markdown}`" if args.full_markdown else
                                     "in the output of `mssp diff` with `--full-markdown`")
    markdown = render_markdown(stacks, args.base, args.head, limit=COMMENT_LIMIT, hint=hint, guardrails=guardrails,
                               scope=scope)
    if args.full_markdown:
        write_output(args.full_markdown, render_markdown(stacks, args.base, args.head, guardrails=guardrails, scope=scope))
    if args.json:
        write_output(args.json, report_json(stacks, args.base, args.head, guardrails, scope))
    if args.markdown:
        write_output(args.markdown, markdown)
        changed = [s["stack"] for s in stacks if s["changed"]]
        print(f"diff written to {args.markdown}: {len(changed)} stack(s) changed" + (f" ({', '.join(changed)})" if changed else ""))
    else:
        print(markdown, end="")
    if guardrails and guardrails["files"]:
        print(f"guardrail change: {', '.join(f['path'] for f in guardrails['files'])}", file=sys.stderr)
    if args.fail_on_mandatory and has_mandatory(stacks):
        print("HEAD breaks a mandatory guardrail", file=sys.stderr)
        return 1
    return 0
