"""Pruning the plan cache (mssp.diff.cache): what `python -m mssp cache-prune` deletes, and how safely.

Kept apart from the cache itself, which every plan imports: a plan never prunes.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mssp.diff.cache import CACHE_ENV, cache_dir

# The only names pruning deletes: what mssp.diff.cache's `store` writes (entries, and the temp files of
# a writer that was killed). Anything else in the folder is left alone, so a cache dir pointed at a
# shared folder by mistake loses nothing but cache entries.
_OURS = re.compile(r"(?:[0-9a-f]{64}|\.tmp-[A-Za-z0-9_]+)\.json")
DAY = 86400.0


class UnsafeCacheDir(Exception):
    """A cache folder that pruning refuses to delete in (a symlink, not a folder, someone else's)."""


@dataclass(frozen=True)
class Entry:
    name: str
    size: int  # bytes
    mtime: float  # last written or read (load touches it)


@dataclass(frozen=True)
class Pruned:
    entry: Entry
    why: Literal["age", "size"]


@dataclass(frozen=True)
class PruneResult:
    directory: Path
    removed: tuple[Pruned, ...]  # removed, or to remove with dry_run
    kept: tuple[Entry, ...]
    failed: tuple[tuple[str, str], ...]  # (name, why) of entries that could not be removed


def select(entries: Sequence[Entry], *, now: float, max_age_days: float, max_bytes: int) -> tuple[list[Pruned], list[Entry]]:
    """(to remove, to keep): entries unused for more than max_age_days, then the least recently used
    until the rest fits in max_bytes (pure)."""
    by_age = sorted(entries, key=lambda e: (e.mtime, e.name))  # oldest first
    remove = [Pruned(e, "age") for e in by_age if now - e.mtime > max_age_days * DAY]
    keep = [e for e in by_age if now - e.mtime <= max_age_days * DAY]
    total = sum(e.size for e in keep)
    while keep and total > max_bytes:
        oldest = keep.pop(0)
        total -= oldest.size
        remove.append(Pruned(oldest, "size"))
    return remove, keep


def _open_dir(directory: Path) -> int:
    """A descriptor of the cache folder itself, refusing a symlink (O_NOFOLLOW: no swap between the
    check and the deletes, which all go through this descriptor) and a folder of another user."""
    flags = getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    if not flags or os.unlink not in os.supports_dir_fd:
        raise UnsafeCacheDir("pruning needs a system that deletes relative to a folder descriptor (Linux, macOS)")
    if directory.is_symlink():
        raise UnsafeCacheDir(f"{directory} is a symlink: point {CACHE_ENV} at the real folder")
    try:
        fd = os.open(directory, os.O_RDONLY | flags)
    except OSError as exc:
        raise UnsafeCacheDir(f"{directory}: {exc.strerror or exc} (not a folder, or a symlink)") from None
    info = os.fstat(fd)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        os.close(fd)
        raise UnsafeCacheDir(f"{directory} is not a folder owned by you (uid {os.getuid()}): not pruned")
    return fd


def prune(directory: Path | None = None, *, max_age_days: float, max_bytes: int, now: float | None = None,
          dry_run: bool = False) -> PruneResult:
    """Delete the entries `select` picks (only names `store` writes, only regular files, only in this
    folder). A missing folder is an empty cache. Raises UnsafeCacheDir."""
    folder = directory or cache_dir()
    if not folder.exists() and not folder.is_symlink():
        return PruneResult(folder, (), (), ())
    fd = _open_dir(folder)
    try:
        entries = []
        with os.scandir(fd) as it:
            for d in it:
                if _OURS.fullmatch(d.name) and d.is_file(follow_symlinks=False):
                    st = d.stat(follow_symlinks=False)
                    entries.append(Entry(d.name, st.st_size, st.st_mtime))
        remove, keep = select(entries, now=time.time() if now is None else now, max_age_days=max_age_days,
                              max_bytes=max_bytes)
        failed: list[tuple[str, str]] = []
        done: list[Pruned] = []
        for p in remove:
            if not dry_run:
                try:
                    os.unlink(p.entry.name, dir_fd=fd)
                except FileNotFoundError:
                    pass  # another run removed it first: gone either way
                except OSError as exc:
                    failed.append((p.entry.name, exc.strerror or str(exc)))
                    continue
            done.append(p)
    finally:
        os.close(fd)
    return PruneResult(folder, tuple(done), tuple(keep), tuple(failed))
