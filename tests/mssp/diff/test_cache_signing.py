"""Signed plan-cache entries (issue 10, item 6): a pull request's code can write cache entries that its
later runs restore, so the judge trusts only entries signed with $MSSP_PLAN_CACHE_KEY."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mssp.diff import cache

ENTRY = {"stack": "contoso", "commit": "abc", "manifest": {"stack": "contoso", "resources": [], "outputs": {}}}
KEY_A, KEY_B = "a" * 64, "b" * 64


@pytest.fixture
def signing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.SIGNING_ENV, "the-repository-secret")


def test_a_signed_entry_round_trips(tmp_path: Path, signing: None) -> None:
    cache.store(KEY_A, ENTRY, tmp_path)
    assert "hmac" in json.loads((tmp_path / f"{KEY_A}.json").read_text())
    assert cache.load(KEY_A, tmp_path) == ENTRY


def test_unsigned_forged_moved_or_wrongly_keyed_entries_are_misses(tmp_path: Path, signing: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Written by a job without the secret (a pull request's code): no hmac.
    (tmp_path / f"{KEY_A}.json").write_text(json.dumps(ENTRY))
    assert cache.load(KEY_A, tmp_path) is None
    # A signed entry whose plan was edited afterwards.
    cache.store(KEY_A, ENTRY, tmp_path)
    forged = json.loads((tmp_path / f"{KEY_A}.json").read_text())
    forged["manifest"]["resources"] = [{"urn": "x", "type": "t", "name": "n", "inputs": {}}]
    (tmp_path / f"{KEY_A}.json").write_text(json.dumps(forged))
    assert cache.load(KEY_A, tmp_path) is None
    # A genuine entry copied under another key (another stack's inputs).
    cache.store(KEY_A, ENTRY, tmp_path)
    (tmp_path / f"{KEY_B}.json").write_text((tmp_path / f"{KEY_A}.json").read_text())
    assert cache.load(KEY_B, tmp_path) is None
    # Signed with another secret.
    monkeypatch.setenv(cache.SIGNING_ENV, "another-secret")
    assert cache.load(KEY_A, tmp_path) is None


def test_without_the_secret_nothing_is_signed_or_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cache.SIGNING_ENV, raising=False)
    cache.store(KEY_A, ENTRY, tmp_path)
    assert "hmac" not in json.loads((tmp_path / f"{KEY_A}.json").read_text())
    assert cache.load(KEY_A, tmp_path) == ENTRY
