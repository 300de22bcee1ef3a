"""The plan cache's signature, by class: every way an entry can be tampered with, truncated, re-keyed or
mis-signed is a miss in the judge ($MSSP_PLAN_CACHE_TRUST), and only the genuine entry is a hit. Also the
bounds the loader keeps (the size cap at both ends) and the trusted-keys file's grammar."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from mssp.diff import cache
from mssp.errors import UserError

ENTRY = {"stack": "contoso", "commit": "abc", "manifest": {"stack": "contoso", "resources": [{"n": 1}], "outputs": {}}}
KEY = "c" * 64


def _private_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()


@pytest.fixture
def judge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, Any], Ed25519PrivateKey]:
    """(folder, the genuine signed entry as stored, the trusted key); the environment is the judge's after."""
    trusted = Ed25519PrivateKey.generate()
    keys_file = tmp_path / "trusted-keys.txt"
    keys_file.write_text(f"{cache.public_key_of(trusted)}\n")
    monkeypatch.setattr(cache, "TRUSTED_KEYS_FILE", keys_file)
    monkeypatch.delenv(cache.TRUST_ENV, raising=False)
    monkeypatch.setenv(cache.SIGNING_ENV, _private_b64(trusted))
    folder = tmp_path / "c"
    cache.store(KEY, ENTRY, folder)
    genuine = json.loads((folder / f"{KEY}.json").read_text())
    monkeypatch.delenv(cache.SIGNING_ENV)
    monkeypatch.setenv(cache.TRUST_ENV, "signed")
    assert cache.load(KEY, folder) == ENTRY  # the control: the untouched entry is a hit
    return folder, genuine, trusted


def _write(folder: Path, entry: Any, key: str = KEY) -> None:
    (folder / f"{key}.json").write_text(json.dumps(entry))


def _flip_last_char(text: str) -> str:
    decoded = bytearray(base64.b64decode(text))
    decoded[-1] ^= 1
    return base64.b64encode(bytes(decoded)).decode()


TAMPERS = {
    "signature removed": lambda e: {k: v for k, v in e.items() if k != "signature"},
    "signature null": lambda e: {**e, "signature": None},
    "signature a string": lambda e: {**e, "signature": e["signature"]["sig"]},
    "signature a list": lambda e: {**e, "signature": [e["signature"]]},
    "sig missing": lambda e: {**e, "signature": {"ed25519": e["signature"]["ed25519"]}},
    "sig not a string": lambda e: {**e, "signature": {**e["signature"], "sig": 12345}},
    "sig empty": lambda e: {**e, "signature": {**e["signature"], "sig": ""}},
    "sig truncated by one byte": lambda e: {**e, "signature": {**e["signature"], "sig": base64.b64encode(
        base64.b64decode(e["signature"]["sig"])[:-1]).decode()}},
    "sig truncated to half": lambda e: {**e, "signature": {**e["signature"], "sig": e["signature"]["sig"][:44]}},
    "sig one bit flipped": lambda e: {**e, "signature": {**e["signature"], "sig": _flip_last_char(e["signature"]["sig"])}},
    "sig not base64": lambda e: {**e, "signature": {**e["signature"], "sig": "!" * 88}},
    "sig with a byte appended": lambda e: {**e, "signature": {**e["signature"], "sig": base64.b64encode(
        base64.b64decode(e["signature"]["sig"]) + b"\0").decode()}},
    "public key missing": lambda e: {**e, "signature": {"sig": e["signature"]["sig"]}},
    "public key in lower case": lambda e: {**e, "signature": {**e["signature"],
                                                             "ed25519": e["signature"]["ed25519"].lower()}},
    "a value edited": lambda e: {**e, "commit": "abd"},
    "a key added": lambda e: {**e, "extra": True},
    "a key removed": lambda e: {k: v for k, v in e.items() if k != "commit"},
    "a nested value edited": lambda e: {**e, "manifest": {**e["manifest"], "resources": [{"n": 2}]}},
    "a nested list emptied": lambda e: {**e, "manifest": {**e["manifest"], "resources": []}},
}


@pytest.mark.parametrize("how", sorted(TAMPERS))
def test_a_tampered_or_truncated_signature_is_a_miss_in_the_judge(judge, how):
    # Bug caught: any shortcut in verification (a signature accepted when absent, malformed, truncated or
    # over another body) lets a pull request's own code serve the judge a forged plan.
    folder, genuine, _ = judge
    _write(folder, TAMPERS[how](json.loads(json.dumps(genuine))))
    assert cache.load(KEY, folder) is None


def test_a_genuine_entry_under_another_key_is_a_miss(judge):
    folder, genuine, _ = judge
    for other in ("d" * 64, KEY.upper(), KEY[:-1]):
        _write(folder, genuine, other)
        assert cache.load(other, folder) is None


def test_an_entry_signed_by_the_trusted_key_for_another_format_is_a_miss(judge, monkeypatch):
    folder, _, trusted = judge
    body = json.dumps(ENTRY, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    for payload in (f"mssp-plan-cache/1\0{KEY}\0{body}", f"{KEY}\0{body}", body):
        sig = base64.b64encode(trusted.sign(payload.encode())).decode()
        _write(folder, {**ENTRY, "signature": {"ed25519": cache.public_key_of(trusted), "sig": sig}})
        assert cache.load(KEY, folder) is None
    sig = base64.b64encode(trusted.sign(f"{cache.FORMAT}\0{KEY}\0{body}".encode())).decode()
    _write(folder, {**ENTRY, "signature": {"ed25519": cache.public_key_of(trusted), "sig": sig}})
    assert cache.load(KEY, folder) == ENTRY  # the control: that payload is exactly what a signature covers


def test_the_signature_does_not_depend_on_key_order_or_spacing(judge):
    folder, genuine, _ = judge
    reordered = {k: genuine[k] for k in reversed(list(genuine))}
    (folder / f"{KEY}.json").write_text(json.dumps(reordered, indent=3))
    assert cache.load(KEY, folder) == ENTRY


def test_a_document_that_is_not_an_object_is_a_miss_even_on_a_users_machine(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.TRUST_ENV, raising=False)
    for text in ("[1, 2]", '"x"', "null", "{", ""):
        (tmp_path / f"{KEY}.json").write_text(text)
        assert cache.load(KEY, tmp_path) is None


def test_the_size_cap_holds_at_both_ends(tmp_path, monkeypatch):
    # Bug caught: an off-by-one in the size check (an entry of exactly the cap refused, or one byte over read).
    monkeypatch.delenv(cache.TRUST_ENV, raising=False)
    text = json.dumps({"pad": ""})
    monkeypatch.setattr(cache, "MAX_ENTRY_BYTES", len(text))
    (tmp_path / f"{KEY}.json").write_text(text)
    assert cache.load(KEY, tmp_path) == {"pad": ""}
    (tmp_path / f"{KEY}.json").write_text(json.dumps({"pad": "x"}))
    assert cache.load(KEY, tmp_path) is None


def test_the_trusted_keys_file_grammar(tmp_path):
    a, b = (cache.public_key_of(Ed25519PrivateKey.generate()) for _ in range(2))
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text(f"# the plan-cache key\n\n   {a}   # comment after\n{b}\n#{a[:-4]}AAAA\n")
    assert cache.trusted_keys(keys_file) == frozenset({a, b})
    assert cache.trusted_keys(tmp_path / "absent.txt") == frozenset()


@pytest.mark.parametrize("bad", ["AAAA", "not base64!", base64.b64encode(b"\0" * 31).decode(),
                                 base64.b64encode(b"\0" * 33).decode()])
def test_a_malformed_trusted_key_names_its_line(tmp_path, bad):
    good = cache.public_key_of(Ed25519PrivateKey.generate())
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text(f"{good}\n# c\n{bad}\n")
    with pytest.raises(UserError, match=r"keys\.txt line 3: not the base64 of 32 bytes"):
        cache.trusted_keys(keys_file)


def test_a_private_key_of_the_wrong_length_is_refused_at_both_ends(tmp_path, monkeypatch):
    for size in (31, 33):
        monkeypatch.setenv(cache.SIGNING_ENV, base64.b64encode(b"\1" * size).decode())
        with pytest.raises(UserError, match="not the base64 of 32 bytes"):
            cache.store(KEY, ENTRY, tmp_path)
    monkeypatch.setenv(cache.SIGNING_ENV, base64.b64encode(b"\1" * 32).decode())
    cache.store(KEY, ENTRY, tmp_path)
    assert "signature" in json.loads((tmp_path / f"{KEY}.json").read_text())
