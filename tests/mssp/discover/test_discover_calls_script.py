"""scripts/discovery_calls.py runs the real discovery against the local server and counts its calls."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "discovery_calls.py"


def test_call_counts_for_a_small_estate(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("discovery_calls", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--resources", "300", "--subscriptions", "2"]) == 0
    out = capsys.readouterr().out
    # 300 resources round-robin over 11 types: 27 storage accounts (4 services each) and 27 SQL servers
    # (their master database): 300 + 27 * 4 + 27 = 435 reads = 22 batches; 302 rows = 1 page.
    assert "(435 places to read settings" in out
    assert "| discovery (Resource Graph + ARM /batch) | 23 | 1 Resource Graph pages" in out
    assert "22 /batch calls of up to 20 reads, 0 single reads |" in out
    assert "| discovery, /batch refused (fallback) | 436 | 1 Resource Graph pages, 435 single reads |" in out
    # Seed: 11 types x 2 subscriptions lists, then one read and one write per resource.
    assert "| seed scripts (lists, then read + write per resource) | 622 | 22 list calls" in out
