"""What another customer's inventory claims, read once per file version (components.config.fleet.claimed_ids).

Every customer plan compares itself with every other customer stack. The claims are kept by the
sha256 of the inventory's bytes, in the process and, for `mssp plan`, in the plan cache. Each test
names the bug it would catch: a memo keyed by the path (an edited inventory keeps its old claims), a
cached answer that loses the conflict, a stored entry trusted after tampering, or a cache that stays
on with `--no-cache`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import read_stack

from components.config import fleet
from components.config.fleet import ClaimsCache, claimed_ids, claims_cache

SUB = "22222222-3333-4444-8555-666666666666"
KV = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-One"
NSG = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg-1"
CUSTOMER = "mssp-sentinel:customer"
CONTOSO_KV = ("/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/resourceGroups/rg-prod/providers/"
              "Microsoft.KeyVault/vaults/kv-contoso-prod")


@pytest.fixture(autouse=True)
def _fresh_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test starts as a new process would: nothing read yet.
    monkeypatch.setattr(fleet, "_CLAIMS", {})


def _inventory(path: Path, *ids: str) -> Path:
    path.write_text(yaml.safe_dump({"resources": [{"id": i, "type": "Microsoft.KeyVault/vaults"} for i in ids]}),
                    encoding="utf-8")
    return path


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    parsed: list[str] = []
    real = fleet._parse_claims

    def counting(data: bytes, name: str) -> list[str]:
        parsed.append(name)
        return real(data, name)

    monkeypatch.setattr(fleet, "_parse_claims", counting)
    return parsed


def test_claims_are_every_listed_id_lower_cased(tmp_path: Path) -> None:
    assert claimed_ids(_inventory(tmp_path / "a.yaml", KV, NSG)) == {KV.lower(), NSG.lower()}


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty"),
    ("resources: {}\n", "resources not a list"),
    ("- just a list\n", "no mapping"),
    ("resources:\n- id: a\n  id: b\n", "a key twice"),
    ("resources: [\n", "not YAML"),
])
def test_what_is_no_inventory_claims_nothing(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    assert claimed_ids(path) == frozenset(), why


def test_an_unreadable_inventory_claims_nothing(tmp_path: Path) -> None:
    assert claimed_ids(tmp_path / "missing.yaml") == frozenset()
    (tmp_path / "latin1.yaml").write_bytes(b"resources:\n- id: caf\xe9\n")
    assert claimed_ids(tmp_path / "latin1.yaml") == frozenset()


def test_an_entry_its_own_plan_refuses_does_not_hide_the_others(tmp_path: Path) -> None:
    # The other stack still means to manage what it lists; its own plan reports the bad entry.
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump({"resources": [{"id": KV, "type": "Not.A/type"}, {"type": "no id"}, "text"]}))
    assert claimed_ids(path) == {KV.lower()}


def test_one_parse_per_file_version_and_an_edit_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _count_parses(monkeypatch)
    path = _inventory(tmp_path / "a.yaml", KV)
    twin = _inventory(tmp_path / "b.yaml", KV)  # the same bytes elsewhere: the same claims
    assert claimed_ids(path) == claimed_ids(path) == claimed_ids(twin) == {KV.lower()}
    assert len(parsed) == 1
    _inventory(path, KV, NSG)  # edited in place: the old claims must not stand
    assert claimed_ids(path) == {KV.lower(), NSG.lower()}
    assert len(parsed) == 2


def _dict_cache(entries: dict[str, list[str]]) -> ClaimsCache:
    return ClaimsCache(load=entries.get, store=entries.__setitem__)


def test_the_cache_answers_a_new_process_and_is_keyed_by_content_and_code(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _count_parses(monkeypatch)
    entries: dict[str, list[str]] = {}
    path = _inventory(tmp_path / "a.yaml", KV)
    with claims_cache(_dict_cache(entries)):
        assert claimed_ids(path) == {KV.lower()}
    ((key, ids),) = entries.items()
    assert len(key) == 64 and ids == [KV.lower()]
    monkeypatch.setattr(fleet, "_CLAIMS", {})  # a new process
    with claims_cache(_dict_cache(entries)):
        assert claimed_ids(path) == {KV.lower()}
    assert len(parsed) == 1
    # Outside the block the cache is not used (and the in-process memo still answers).
    monkeypatch.setattr(fleet, "_CLAIMS", {})
    assert claimed_ids(path) == {KV.lower()} and len(parsed) == 2
    # Other code reading claims: another key, so a stored answer of the old code is never used.
    monkeypatch.setattr(fleet, "_CLAIMS", {})
    monkeypatch.setattr(fleet, "_CLAIMS_CODE", ["another reader"])
    with claims_cache(_dict_cache(entries)):
        claimed_ids(path)
    assert len(entries) == 2 and len(parsed) == 3


def _copy_of_contoso(tmp_path: Path) -> Path:
    """contoso's stack with its own tenant, subscriptions and workflow, but one of contoso's resources."""
    doc = copy.deepcopy(read_stack("contoso"))
    c = doc["config"][CUSTOMER]
    c["name"], c["displayName"], c["tenantId"] = "northwind", "Northwind", "11111111-2222-4333-8444-555555555555"
    # A resource lies in one subscription, so sharing one also shares that subscription (reported too).
    c["subscriptions"] = [{"id": SUB, "displayName": "NW"}, {"id": CONTOSO_KV.split("/")[2], "displayName": "shared"}]
    c["splunk"]["workflowName"] = "la-splunk-northwind"
    inventory = tmp_path / "northwind.yaml"
    inventory.write_text(yaml.safe_dump({"resources": [{"id": CONTOSO_KV, "type": "Microsoft.KeyVault/vaults"}]}))
    c["forwarding"]["inventory"] = str(inventory)
    path = tmp_path / "Pulumi.northwind.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _claim_entries(cache_dir: Path) -> dict[Path, dict[str, Any]]:
    entries = {p: json.loads(p.read_text()) for p in cache_dir.glob("*.json")}
    return {p: e for p, e in entries.items() if e.get("fleetClaims")}


def test_a_plan_keeps_the_claims_and_a_cached_answer_still_finds_the_overlap(
        tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch, _private_plan_cache: Path) -> None:
    stack_file = _copy_of_contoso(tmp_path)
    parsed = _count_parses(monkeypatch)
    counts = []
    for run in ("first", "second"):
        monkeypatch.setattr(fleet, "_CLAIMS", {})  # each run as a new process
        code, _, err = run_cli(["plan", "northwind", "--config", str(stack_file), "--quiet"])
        assert code == 2, run
        assert "customer.forwarding.inventory" in err and CONTOSO_KV.lower() in err and "Pulumi.contoso.yaml" in err
        counts.append(len(parsed))
    stored = _claim_entries(_private_plan_cache)
    assert any(CONTOSO_KV.lower() in e["ids"] for e in stored.values())  # contoso's, among the other customers'
    # The first run parsed each other customer's inventory once and stored it; the second parsed none.
    assert counts == [len(stored), len(stored)] and len(stored) >= 2


def test_no_cache_keeps_no_claims(tmp_path: Path, run_cli: Any, _private_plan_cache: Path) -> None:
    code, _, _ = run_cli(["plan", "contoso", "--quiet", "--no-cache"])
    assert code == 0
    assert _claim_entries(_private_plan_cache) == {}


def test_a_tampered_signed_entry_is_not_believed(tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch,
                                                 _private_plan_cache: Path) -> None:
    # Someone who can write the cache empties contoso's claims to hide the overlap: with only signed entries
    # trusted (CI), the altered entry is a miss and the inventory is read again.
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from mssp.diff import cache

    key = Ed25519PrivateKey.generate()
    keys_file = tmp_path / "trusted-keys.txt"
    keys_file.write_text(cache.public_key_of(key) + "\n")
    monkeypatch.setattr(cache, "TRUSTED_KEYS_FILE", keys_file)
    monkeypatch.setenv(cache.SIGNING_ENV, base64.b64encode(
        key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode())
    monkeypatch.setenv(cache.TRUST_ENV, "signed")
    stack_file = _copy_of_contoso(tmp_path)
    code, _, _ = run_cli(["plan", "northwind", "--config", str(stack_file), "--quiet"])
    assert code == 2
    for path, entry in _claim_entries(_private_plan_cache).items():
        if CONTOSO_KV.lower() in entry["ids"]:
            entry["ids"] = []
            path.write_text(json.dumps(entry))
            break
    else:
        pytest.fail("contoso's claims were not stored")
    monkeypatch.setattr(fleet, "_CLAIMS", {})
    code, _, err = run_cli(["plan", "northwind", "--config", str(stack_file), "--quiet"])
    assert code == 2 and CONTOSO_KV.lower() in err


def test_other_stack_files_are_parsed_once_per_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Bug it catches: the values memo keyed by path, so an edited stack file keeps its old tenant and
    # the overlap it now has goes unreported.
    from conftest import copy_project

    import components.config as config

    project = copy_project(tmp_path / "project", ("stacks", "Pulumi.yaml"))
    monkeypatch.setattr(config, "_OTHER_STACK_VALUES", {})
    calls: list[str] = []
    real = config.read_stack_values

    def counting(path: Path, text: str | None = None) -> Any:
        calls.append(Path(path).name)
        return real(path, text)

    monkeypatch.setattr(config, "read_stack_values", counting)
    config.load_stack("contoso", project)
    config.load_stack("contoso", project)
    assert calls.count("Pulumi.fabrikam.yaml") == 1
    fabrikam = project / "stacks" / "Pulumi.fabrikam.yaml"
    contoso_tenant = read_stack("contoso")["config"][CUSTOMER]["tenantId"]
    doc = yaml.safe_load(fabrikam.read_text())
    doc["config"][CUSTOMER]["tenantId"] = contoso_tenant
    fabrikam.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(config.ConfigError) as raised:
        config.load_stack("contoso", project)
    assert calls.count("Pulumi.fabrikam.yaml") == 2
    assert any(key == "customer.tenantId" and "fabrikam" in message for key, message in raised.value.issues)
