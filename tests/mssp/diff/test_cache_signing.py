"""Signed plan-cache entries (issue 10 item 6, issue 20 item 5): a pull request's code can write cache entries
that its later runs restore, and any branch's workflow could read the former HMAC key (a repository secret).
Now only an Ed25519 signature by a public key committed in mssp/cache/trusted-keys.txt makes an entry count
in the judge ($MSSP_PLAN_CACHE_TRUST); the judge itself holds no key that can make one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from mssp.diff import cache
from mssp.errors import UserError

ENTRY = {"stack": "contoso", "commit": "abc", "manifest": {"stack": "contoso", "resources": [], "outputs": {}}}
KEY_A, KEY_B = "a" * 64, "b" * 64


def _private_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Ed25519PrivateKey, Ed25519PrivateKey]:
    """(trusted, untrusted): the trusted key's public half is in the keys file the judge reads."""
    trusted, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys_file = tmp_path / "trusted-keys.txt"
    keys_file.write_text(f"# comment\n{cache.public_key_of(trusted)}  # the plan-cache environment's key\n")
    monkeypatch.setattr(cache, "TRUSTED_KEYS_FILE", keys_file)
    monkeypatch.delenv(cache.SIGNING_ENV, raising=False)
    monkeypatch.delenv(cache.TRUST_ENV, raising=False)
    return trusted, other


def _sign_with(monkeypatch: pytest.MonkeyPatch, key: Ed25519PrivateKey | None) -> None:
    if key is None:
        monkeypatch.delenv(cache.SIGNING_ENV, raising=False)
    else:
        monkeypatch.setenv(cache.SIGNING_ENV, _private_b64(key))


def test_a_signed_entry_round_trips_in_the_judge(tmp_path: Path, keys, monkeypatch: pytest.MonkeyPatch) -> None:
    trusted, _ = keys
    _sign_with(monkeypatch, trusted)  # drift.yml's plan-cache job
    cache.store(KEY_A, ENTRY, tmp_path / "c")
    stored = json.loads((tmp_path / "c" / f"{KEY_A}.json").read_text())
    assert stored["signature"]["ed25519"] == cache.public_key_of(trusted)
    _sign_with(monkeypatch, None)  # the judge: no private key at all
    monkeypatch.setenv(cache.TRUST_ENV, "signed")
    assert cache.load(KEY_A, tmp_path / "c") == ENTRY


def test_what_unreviewed_code_can_write_is_a_miss(tmp_path: Path, keys, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: entries forged with the repository secret (any branch's workflow could read it) were trusted."""
    trusted, other = keys
    folder = tmp_path / "c"
    folder.mkdir()
    monkeypatch.setenv(cache.TRUST_ENV, "signed")
    # Unsigned (a PR job's own write).
    (folder / f"{KEY_A}.json").write_text(json.dumps(ENTRY))
    assert cache.load(KEY_A, folder) is None
    # HMAC'd with the former repository secret.
    body = json.dumps(ENTRY, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    mac = hmac.new(b"the-repository-secret", f"{cache.FORMAT}\0{KEY_A}\0{body}".encode(), hashlib.sha256).hexdigest()
    (folder / f"{KEY_A}.json").write_text(json.dumps({**ENTRY, "hmac": mac}))
    assert cache.load(KEY_A, folder) is None
    # Signed with a key of its own, naming that key as the signer.
    _sign_with(monkeypatch, other)
    monkeypatch.delenv(cache.TRUST_ENV)
    cache.store(KEY_A, ENTRY, folder)
    monkeypatch.setenv(cache.TRUST_ENV, "signed")
    assert cache.load(KEY_A, folder) is None
    # ... or naming the trusted key with its own signature.
    forged = json.loads((folder / f"{KEY_A}.json").read_text())
    forged["signature"]["ed25519"] = cache.public_key_of(trusted)
    (folder / f"{KEY_A}.json").write_text(json.dumps(forged))
    assert cache.load(KEY_A, folder) is None
    # A genuine entry edited afterwards, or moved to another key.
    _sign_with(monkeypatch, trusted)
    cache.store(KEY_A, ENTRY, folder)
    genuine = (folder / f"{KEY_A}.json").read_text()
    edited = json.loads(genuine)
    edited["manifest"]["resources"] = [{"urn": "x", "type": "t", "name": "n", "inputs": {}}]
    (folder / f"{KEY_A}.json").write_text(json.dumps(edited))
    _sign_with(monkeypatch, None)
    assert cache.load(KEY_A, folder) is None
    (folder / f"{KEY_B}.json").write_text(genuine)
    assert cache.load(KEY_B, folder) is None
    (folder / f"{KEY_A}.json").write_text(genuine)
    assert cache.load(KEY_A, folder) == ENTRY


def test_the_judge_writes_nothing_it_cannot_sign(tmp_path: Path, keys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.TRUST_ENV, "signed")
    cache.store(KEY_A, ENTRY, tmp_path / "c")
    assert not (tmp_path / "c" / f"{KEY_A}.json").exists()


def test_with_no_trusted_key_committed_nothing_counts(tmp_path: Path, keys, monkeypatch: pytest.MonkeyPatch) -> None:
    trusted, _ = keys
    _sign_with(monkeypatch, trusted)
    cache.store(KEY_A, ENTRY, tmp_path)
    (tmp_path / "trusted-keys.txt").write_text("# no key yet\n")
    monkeypatch.setenv(cache.TRUST_ENV, "signed")
    assert cache.load(KEY_A, tmp_path) is None


def test_the_committed_keys_file_parses() -> None:
    """The shipped file holds only comments or valid keys (a typo would make every entry a miss silently)."""
    assert isinstance(cache.trusted_keys(), frozenset) and cache.TRUSTED_KEYS_FILE.exists()


def test_a_malformed_signing_key_is_a_clear_error(tmp_path: Path, keys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.SIGNING_ENV, "not-a-key")
    with pytest.raises(UserError, match=r"\$MSSP_PLAN_CACHE_SIGNING_KEY: not the base64 of 32 bytes"):
        cache.store(KEY_A, ENTRY, tmp_path)


def test_on_a_users_machine_nothing_is_signed_or_checked(tmp_path: Path, keys) -> None:
    cache.store(KEY_A, ENTRY, tmp_path)
    assert "signature" not in json.loads((tmp_path / f"{KEY_A}.json").read_text())
    assert cache.load(KEY_A, tmp_path) == ENTRY


def test_cache_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path, run_cli,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "k"
    code, stdout, _ = run_cli(["cache-keygen", "--private-key-out", str(out)])
    assert code == 0 and out.stat().st_mode & 0o777 == 0o600
    public = stdout.strip().splitlines()[-1]
    monkeypatch.setenv(cache.SIGNING_ENV, out.read_text().strip())
    assert cache.public_key_of(cache._signer()) == public
    code, _, err = run_cli(["cache-keygen", "--private-key-out", str(out)])
    assert code == 2 and "never overwritten" in err
