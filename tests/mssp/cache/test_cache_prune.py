"""Pruning the plan cache (mssp.cache.pruning, `python -m mssp cache-prune`): entries unused for N days
go, then the least recently used beyond the size cap; a hit counts as use; nothing but the cache's own
files in the cache folder is ever deleted. Ages are set with os.utime."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from mssp.cache import pruning
from mssp.diff import cache

NOW = time.time()
DAY = 86400.0
ROOT = Path(__file__).resolve().parents[3]


def key(n: int) -> str:
    return f"{n:064x}"


def entry(folder: Path, n: int, *, days_old: float, size: int = 100) -> Path:
    path = folder / f"{key(n)}.json"
    path.write_text('{"x": "' + "a" * (size - 9) + '"}', encoding="utf-8")
    os.utime(path, (NOW - days_old * DAY, NOW - days_old * DAY))
    return path


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_select_drops_the_unused_then_the_least_recently_used_beyond_the_cap() -> None:
    e = [pruning.Entry("new", 40, NOW), pruning.Entry("mid", 40, NOW - 2 * DAY), pruning.Entry("old", 40, NOW - 5 * DAY),
         pruning.Entry("ancient", 40, NOW - 40 * DAY)]
    remove, keep = pruning.select(e, now=NOW, max_age_days=30, max_bytes=100)
    # ancient by age; then 120 bytes left over a 100-byte cap: the oldest of the rest (old) goes, not new.
    assert [(p.entry.name, p.why) for p in remove] == [("ancient", "age"), ("old", "size")]
    assert [k.name for k in keep] == ["mid", "new"]
    assert pruning.select(e, now=NOW, max_age_days=30, max_bytes=0)[1] == []
    assert [k.name for k in pruning.select(e, now=NOW, max_age_days=1, max_bytes=10**9)[1]] == ["new"]


def test_prune_deletes_old_entries_and_nothing_else(tmp_path: Path) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    outside = tmp_path / "precious.json"
    outside.write_text("{}")
    os.utime(outside, (NOW - 400 * DAY, NOW - 400 * DAY))
    old, fresh = entry(folder, 1, days_old=31), entry(folder, 2, days_old=1)
    leftover = folder / ".tmp-abc123.json"  # a killed writer's temp file
    leftover.write_text("{")
    os.utime(leftover, (NOW - 60 * DAY, NOW - 60 * DAY))
    # Old things pruning must not touch: not the cache's names, a link out of the folder, a sub-folder.
    for other in ("notes.txt", "README.json"):
        (folder / other).write_text("mine")
        os.utime(folder / other, (NOW - 90 * DAY, NOW - 90 * DAY))
    (folder / f"{key(3)}.json").symlink_to(outside)
    (folder / f"{key(4)}.json").mkdir()
    result = pruning.prune(folder, max_age_days=30, max_bytes=10**9, now=NOW)
    assert sorted(p.entry.name for p in result.removed) == sorted([old.name, leftover.name])
    assert [e.name for e in result.kept] == [fresh.name] and result.failed == ()
    assert names(folder) == sorted([fresh.name, "notes.txt", "README.json", f"{key(3)}.json", f"{key(4)}.json"])
    assert outside.read_text() == "{}"


def test_the_size_cap_removes_the_least_recently_used_first(tmp_path: Path) -> None:
    for n, age in enumerate((5, 1, 3, 2, 4)):
        entry(tmp_path, n, days_old=age, size=1000)
    result = pruning.prune(tmp_path, max_age_days=30, max_bytes=2500, now=NOW)
    # 5,000 bytes over a 2,500-byte cap: the three least recently used go (5, 4 and 3 days old).
    assert [p.entry.name for p in result.removed] == [f"{key(n)}.json" for n in (0, 4, 2)]
    assert names(tmp_path) == [f"{key(1)}.json", f"{key(3)}.json"]


def test_a_hit_counts_as_use(tmp_path: Path) -> None:
    cache.store(key(7), {"stack": "contoso"}, tmp_path)
    path = tmp_path / f"{key(7)}.json"
    os.utime(path, (NOW - 45 * DAY, NOW - 45 * DAY))
    assert cache.load(key(7), tmp_path) == {"stack": "contoso"}
    assert NOW - path.stat().st_mtime < DAY  # read just now: not "unused for 45 days"
    assert pruning.prune(tmp_path, max_age_days=30, max_bytes=10**9).removed == ()


def test_dry_run_deletes_nothing(tmp_path: Path) -> None:
    entry(tmp_path, 1, days_old=40)
    result = pruning.prune(tmp_path, max_age_days=30, max_bytes=10**9, now=NOW, dry_run=True)
    assert len(result.removed) == 1 and names(tmp_path) == [f"{key(1)}.json"]


def test_a_symlinked_cache_folder_is_refused(tmp_path: Path, run_cli) -> None:
    real = tmp_path / "real"
    real.mkdir()
    old = entry(real, 1, days_old=99)
    link = tmp_path / "plans"
    link.symlink_to(real, target_is_directory=True)
    with pytest.raises(pruning.UnsafeCacheDir, match="symlink"):
        pruning.prune(link, max_age_days=1, max_bytes=0)
    code, _, err = run_cli(["cache-prune", "--dir", str(link)])
    assert code == 2 and "plan cache not pruned" in err and "symlink" in err and "Traceback" not in err
    assert old.exists()


def test_a_folder_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = entry(tmp_path, 1, days_old=99)
    owner = tmp_path.stat().st_uid
    monkeypatch.setattr(os, "getuid", lambda: owner + 1)
    with pytest.raises(pruning.UnsafeCacheDir, match="not a folder owned by you"):
        pruning.prune(tmp_path, max_age_days=1, max_bytes=0)
    assert old.exists()


def test_the_command_prunes_the_configured_cache_and_says_what_it_did(run_cli, _private_plan_cache: Path) -> None:
    entry(_private_plan_cache, 1, days_old=40, size=2 * 1024 * 1024)
    entry(_private_plan_cache, 2, days_old=2, size=1024 * 1024)
    code, out, _ = run_cli(["cache-prune", "--dry-run"])
    assert code == 0 and f"{key(1)}.json  2.0 MB  (not used for 30 days)" in out
    assert f"{_private_plan_cache}: would remove 1 entry" in out and len(names(_private_plan_cache)) == 2
    code, out, _ = run_cli(["cache-prune", "--max-size-mb", "0.5"])
    assert code == 0 and names(_private_plan_cache) == []
    assert "removed 2 entries (3.0 MB: 1 not used for 30 days, 1 over the 0.5 MB cap); kept 0 (0 KB)." in out
    code, _, err = run_cli(["cache-prune", "--max-age-days", "-1"])
    assert code == 2 and "--max-age-days must be a finite number of 0 or more, not -1" in err
    code, _, err = run_cli(["cache-prune", "--max-size-mb", "inf"])
    assert code == 2 and "--max-size-mb must be a finite number" in err
    code, out, _ = run_cli(["cache-prune", "--dir", str(_private_plan_cache / "never-made")])
    assert code == 0 and "removed 0 entries" in out


def test_the_ci_plan_cache_job_prunes_before_actions_cache_saves() -> None:
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "drift.yml").read_text(encoding="utf-8"))
    steps = doc["jobs"]["plan-cache"]["steps"]
    runs = [str(s.get("run", "")) for s in steps]
    plan = next(i for i, r in enumerate(runs) if "./dev diff" in r)
    prune = next(i for i, r in enumerate(runs) if "./dev cache-prune" in r)
    # actions/cache saves in its post step, at the end of the job: pruning after the plans is before the save.
    assert prune > plan
    assert any("actions/cache@" in str(s.get("uses", "")) for s in steps[:plan])
