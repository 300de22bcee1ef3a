"""The hash lock files match the top-level pins and are what every install uses (issue 10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", re.M)


def pins(path: Path) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in _PIN.findall(path.read_text())}


@pytest.mark.parametrize("top, lock", [("requirements.txt", "requirements.lock"),
                                       ("requirements-dev.txt", "requirements-dev.lock")])
def test_lock_holds_every_top_level_pin_with_hashes(top: str, lock: str) -> None:
    wanted = pins(ROOT / top)
    if top == "requirements-dev.txt":
        wanted |= pins(ROOT / "requirements.txt")  # it includes -r requirements.txt
    locked = pins(ROOT / lock)
    assert {k: locked.get(k) for k in wanted} == wanted, f"{lock} is stale: regenerate it (see its header)"
    # Every locked requirement carries at least one sha256 hash (pip --require-hashes needs them all).
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", (ROOT / lock).read_text())
    for block in blocks:
        if _PIN.match(block):
            assert "--hash=sha256:" in block, block.splitlines()[0]
    assert "--find-links" not in (ROOT / lock).read_text()  # no machine-specific index in a lock


def test_the_runtime_lock_agrees_with_the_dev_lock() -> None:
    runtime, dev = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-dev.lock")
    assert {k: dev.get(k) for k in runtime} == runtime


def test_dev_installs_from_the_lock_with_hashes() -> None:
    text = (ROOT / "dev").read_text()
    (install,) = [ln for ln in text.splitlines() if "pip install" in ln]
    assert "--require-hashes" in install and "-r requirements-dev.lock" in install
    assert "requirements.lock" in text and "requirements-dev.lock" in text  # both in the re-install stamp
