"""ITSM paths, hardened (issue 10): an allowlist for static headers, the secret webhook URL validated
like a plain one without being echoed, Key Vault Secrets User on the one secret of the named vault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_itsm_config import CREDENTIAL_KEY, expect_config_error, itsm

from components.config import ConfigError, parse_config
from components.config.itsm import ALLOWED_EXTRA_HEADERS

PROJECT_DIR = Path(__file__).resolve().parents[3]
VAULT = "/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-acme-mssp"


def webhook(doc, **webhook_section) -> None:
    doc["config"]["mssp-sentinel:platform"]["itsm"] = {"kind": "webhook", "webhook": webhook_section,
                                                       "allowedHosts": ["itsm.example.net"]}


@pytest.mark.parametrize("header", ["X-Api-Key", "X-Auth-Token", "Ocp-Apim-Subscription-Key", "X-Functions-Key",
                                    "Authorization", "Cookie", "X-Hub-Signature", "Proxy-Authorization", "X-Secret"])
def test_extra_headers_outside_the_allowlist_are_refused(run_cli, stack_doc, write_stack, header):
    doc = stack_doc("mssp")
    doc["config"].pop(CREDENTIAL_KEY, None)
    webhook(doc, url="https://itsm.example.net/events", extraHeaders={header: "anything"})
    err = expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.webhook.extraHeaders", header,
                              "allowed:", "X-Source", "itsmCredential")
    assert "anything" not in err


def test_allowlisted_headers_pass_in_any_case(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    doc["config"].pop(CREDENTIAL_KEY, None)
    webhook(doc, url="https://itsm.example.net/events", extraHeaders={"x-source": "mssp", "X-Routing-Key": "soc"})
    code, _, err = run_cli(["plan", "mssp", "--config", str(write_stack(doc, "mssp")), "--quiet"])
    assert code == 0, err
    assert not {h for h in ALLOWED_EXTRA_HEADERS if any(w in h for w in ("api-key", "auth", "token", "secret", "signature", "cookie"))}


def _values(doc) -> dict:
    # Under the engine, structured config arrives as JSON text and secrets decrypted.
    return {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in doc["config"].items()}


@pytest.mark.parametrize("secret_url, why", [
    ("http://itsm.example.net/hook?sig=S3CRETSIG", "must be an https:// URL"),
    ("https://user:S3CRETSIG@itsm.example.net/hook", "must not carry user info"),
    ("https://S3CRETSIG@itsm.example.net/hook", "must not carry user info"),
    ("https://itsm.example.net/ho ok?sig=S3CRETSIG", "whitespace"),
    ("ftp://itsm.example.net/S3CRETSIG", "must be an https:// URL"),
    ("https:///S3CRETSIG", "must be an https:// URL"),
])
def test_secret_webhook_url_is_validated_without_being_echoed(stack_doc, secret_url, why):
    doc = stack_doc("mssp")
    webhook(doc)  # no url: the whole URL is the secret itsmCredential
    values = _values(doc) | {CREDENTIAL_KEY: secret_url}
    with pytest.raises(ConfigError) as exc:
        parse_config(values, {CREDENTIAL_KEY}, stack="mssp", project_dir=PROJECT_DIR)
    text = str(exc.value)
    assert "itsmCredential" in text and why in text
    assert "S3CRETSIG" not in text and "itsm.example.net" not in text


def test_a_good_secret_webhook_url_and_the_offline_placeholder_pass(stack_doc):
    doc = stack_doc("mssp")
    webhook(doc)
    for value in ("https://itsm.example.net/hook?sig=S3CRETSIG", "[secret]"):
        loaded = parse_config(_values(doc) | {CREDENTIAL_KEY: value}, {CREDENTIAL_KEY}, stack="mssp",
                              project_dir=PROJECT_DIR)
        assert loaded.platform.itsm.webhook.url is None


def test_key_vault_must_be_the_vault_the_secret_uri_names(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    doc["config"].pop(CREDENTIAL_KEY, None)
    itsm(doc)["credential"] = {"keyVaultSecretUri": "https://kv-other.vault.azure.net/secrets/servicenow",
                               "keyVaultId": VAULT}
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.credential", "'kv-other'", "'kv-acme-mssp'")


def test_secrets_user_is_scoped_to_the_one_secret(run_cli, stack_doc, write_stack, tmp_path):
    doc = stack_doc("mssp")
    doc["config"].pop(CREDENTIAL_KEY, None)
    itsm(doc)["credential"] = {"keyVaultSecretUri": "https://kv-acme-mssp.vault.azure.net/secrets/servicenow/"
                                                    "0123456789abcdef0123456789abcdef", "keyVaultId": VAULT}
    out = tmp_path / "m.json"
    code, _, err = run_cli(["plan", "mssp", "--config", str(write_stack(doc, "mssp")), "--quiet", "--json", str(out)])
    assert code == 0, err
    grants = [r for r in json.loads(out.read_text())["resources"] if "keyvault-secrets-user" in r["name"]]
    assert grants and {g["inputs"]["scope"] for g in grants} == {f"{VAULT}/secrets/servicenow"}
    assert yaml  # the stack file round-trips through YAML (write_stack)
