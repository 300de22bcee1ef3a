"""The plan cache: plan manifests and platform outputs kept by a content hash of what a plan reads.

A plan is a pure function of the program's code (and the pinned requirements), the stack file, for a
customer the platform stack file, and the inventory (README "Plan only what a change affects"), so a
plan whose inputs hash the same is the same plan, byte for byte. Entries live outside the repository
in `$MSSP_PLAN_CACHE`, else `$XDG_CACHE_HOME/mssp-sentinel/plans`, else `~/.cache/mssp-sentinel/plans`
(in CI restored and saved by `actions/cache`), one `<sha256>.json` each, written atomically.

Keys come from git blob ids (`git ls-tree`) for refs, and from file contents for a working folder;
both are content hashes, and a key also covers the cache format and the Python version.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from mssp.diff.affected import StackInfo, classify_path

CACHE_ENV = "MSSP_PLAN_CACHE"
FORMAT = "mssp-plan-cache/2"  # 2: platform entries keep the registrations too (mssp.plan.command.PlanSession)
# Folders never read by a plan (and large): not walked when hashing a working folder.
_SKIP_DIRS = frozenset({".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules", "out"})


def cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mssp-sentinel" / "plans"


def tree_blobs(repo: Path, ref: str) -> dict[str, str]:
    """{path: blob id} of every file of a commit (`git ls-tree -r`): the content hash git already has."""
    proc = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "-z", "--full-tree", ref],
                          capture_output=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise OSError(f"git ls-tree {ref} failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    out: dict[str, str] = {}
    for entry in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            out[path] = parts[2]
    return out


def folder_blobs(root: Path, wanted: Callable[[str], bool] = lambda _: True) -> dict[str, str]:
    """{path: sha256 of the content} of the wanted files of a working folder (symlinks followed)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        # Folders no plan reads (tests/, docs/, scripts/, .github/): not walked at all.
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and classify_path(
            f"{'' if rel_dir == '.' else rel_dir + '/'}{d}/x.py", ()) != "docs")
        for name in filenames:
            # A worktree's `.git` is a file naming its own (temporary) folder: not a plan input.
            if name.endswith((".pyc", ".pyo")) or name == ".git":
                continue
            # Strings, not a Path per file: every plan hashes the project's ~200 files for its cache key.
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if not wanted(rel):
                continue
            try:
                with open(os.path.join(dirpath, name), "rb") as f:
                    out[rel] = hashlib.sha256(f.read()).hexdigest()
            except OSError:
                continue
    return out


def plan_key(blobs: Mapping[str, str], stack: StackInfo, stacks: Iterable[StackInfo], extra: str = "") -> str:
    """The content hash of everything the stack's plan reads, from {path: content hash}.

    That is every file that is not documentation, not another stack's file and not an inventory
    (code and unknown files: conservative), plus the stack's own file, its platform's file and its
    inventory.
    """
    infos = list(stacks)
    own = {stack.file}
    if stack.platform:
        own.add(StackInfo(stack.platform, "platform").file)
    if stack.inventory:
        own.add(stack.inventory)
    h = hashlib.sha256()
    h.update(f"{FORMAT}\n{sys.version}\n{stack.name}\n{extra}\n".encode())
    for path in sorted(blobs):
        kind = classify_path(path, infos)
        if kind in ("code", "unknown") or path in own:
            h.update(f"{path}\0{blobs[path]}\n".encode("utf-8", "surrogateescape"))
    for path in sorted(own - set(blobs)):
        h.update(f"{path}\0(absent)\n".encode())  # a missing inventory is part of the input too
    return h.hexdigest()


def load(key: str, directory: Path | None = None) -> dict[str, Any] | None:
    path = (directory or cache_dir()) / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def store(key: str, value: Mapping[str, Any], directory: Path | None = None) -> None:
    """Write an entry atomically; a cache that cannot be written is no error (the plan stands)."""
    folder = directory or cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=False)
        os.replace(tmp, folder / f"{key}.json")
    except OSError:
        return


def platform_outputs_key(project_dir: Path, platform: str) -> str:
    """The key of a platform stack's outputs planned from a working folder: its code and its stack file."""
    info = StackInfo(platform, "platform")
    blobs = folder_blobs(project_dir, lambda p: p == info.file or classify_path(p, ()) in ("code", "unknown"))
    return plan_key(blobs, info, (), extra="platform-outputs")
