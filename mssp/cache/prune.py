"""`python -m mssp cache-prune [--max-age-days N] [--max-size-mb M] [--dry-run] [--dir DIR]`.

The plan cache (mssp.diff.cache) is keyed by content hashes, so every change of code or of a stack adds
entries and none is ever replaced; in CI `actions/cache` saves the folder under a new key each run.
The deleting itself is mssp.cache.pruning.
This deletes the entries not read or written for more than N days (default 30), then the least
recently used until the rest fits in M MB (default 1024), and says what it removed and kept. It only
deletes names the cache writes, only regular files, only in the cache folder itself, and refuses a
folder that is a symlink or belongs to another user.

Exit 0 pruned (or nothing to prune, or no cache yet); 1 some entries could not be deleted; 2 invalid
arguments or a cache folder it refuses.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from mssp.errors import UserError

DEFAULT_MAX_AGE_DAYS = 30.0
DEFAULT_MAX_SIZE_MB = 1024.0
MB = 1024 * 1024


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cache-prune",
        help="delete plan-cache entries unused for N days, then the oldest beyond a size cap",
        description="Entries live in $MSSP_PLAN_CACHE, else $XDG_CACHE_HOME/mssp-sentinel/plans, else "
        "~/.cache/mssp-sentinel/plans. An entry's age is the time since a plan last wrote or read it. Only the "
        "cache's own files are deleted; a cache folder that is a symlink or not yours is refused.",
    )
    p.add_argument("--max-age-days", type=float, default=DEFAULT_MAX_AGE_DAYS, metavar="N",
                   help=f"delete entries not read or written for more than N days (default {DEFAULT_MAX_AGE_DAYS:g})")
    p.add_argument("--max-size-mb", type=float, default=DEFAULT_MAX_SIZE_MB, metavar="M",
                   help="then delete the least recently used entries until the rest fits in M MB "
                        f"(default {DEFAULT_MAX_SIZE_MB:g})")
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted; delete nothing")
    p.add_argument("--dir", type=Path, default=None, metavar="DIR", help="the cache folder (default: as above)")
    p.set_defaults(func=run)


def _mb(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < MB else f"{size / MB:.1f} MB"


def run(args: argparse.Namespace) -> int:
    from mssp.cache import pruning

    for flag, value in (("--max-age-days", args.max_age_days), ("--max-size-mb", args.max_size_mb)):
        if not (math.isfinite(value) and value >= 0):
            raise UserError(f"{flag} must be a finite number of 0 or more, not {value:g}", 2)
    try:
        result = pruning.prune(args.dir, max_age_days=args.max_age_days, max_bytes=int(args.max_size_mb * MB),
                             dry_run=args.dry_run)
    except pruning.UnsafeCacheDir as exc:
        raise UserError(f"plan cache not pruned: {exc}", 2) from None
    verb = "would remove" if args.dry_run else "removed"
    for p in result.removed if args.dry_run else ():
        why = f"not used for {args.max_age_days:g} days" if p.why == "age" else f"over {args.max_size_mb:g} MB"
        print(f"  {p.entry.name}  {_mb(p.entry.size)}  ({why})")
    aged = sum(1 for p in result.removed if p.why == "age")
    print(f"Plan cache {result.directory}: {verb} {len(result.removed)} entr{'y' if len(result.removed) == 1 else 'ies'} "
          f"({_mb(sum(p.entry.size for p in result.removed))}: {aged} not used for {args.max_age_days:g} days, "
          f"{len(result.removed) - aged} over the {args.max_size_mb:g} MB cap); kept {len(result.kept)} "
          f"({_mb(sum(e.size for e in result.kept))}).")
    for name, why in result.failed:
        print(f"error: could not delete {result.directory / name}: {why}", file=sys.stderr)
    return 1 if result.failed else 0
