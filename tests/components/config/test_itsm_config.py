"""ITSM sync configuration: each bad input of issue 4 exits 2 with its key path, no traceback, nothing planned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import ITSM_CREDENTIAL_KEY as CREDENTIAL_KEY
from conftest import ITSM_SECRET_PLACEHOLDER as SECURE
from conftest import with_itsm_secret_credential

from components.config import ConfigError, parse_config


def itsm(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["mssp-sentinel:platform"]["itsm"]


def expect_config_error(run_cli, path: Path, *needles: str) -> str:
    code, out, err = run_cli(["plan", "mssp", "--config", str(path)])
    assert code == 2, (out, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert "planned stack" not in out
    for needle in needles:
        assert needle in err, err
    return err


def test_example_platform_stack_with_itsm_is_valid(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    assert itsm(doc)["kind"] == "servicenow"
    code, _out, err = run_cli(["plan", "mssp", "--config", str(write_stack(doc, "mssp")), "--quiet"])
    assert code == 0, err


def test_unknown_kind_lists_the_allowed_ones(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    itsm(doc)["kind"] = "jira"
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.kind", "unknown ITSM kind 'jira'",
                        "allowed: servicenow, webhook")


def test_servicenow_without_instance_url(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    del itsm(doc)["servicenow"]["instanceUrl"]
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.servicenow.instanceUrl",
                        "required key is missing")


def test_servicenow_without_its_section(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    del itsm(doc)["servicenow"]
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.servicenow.instanceUrl",
                        "platform.itsm.servicenow.userName")


def test_servicenow_instance_url_must_be_https(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    itsm(doc)["servicenow"]["instanceUrl"] = "http://acme.service-now.com"
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.servicenow.instanceUrl", "https://")


def test_credential_as_plain_config(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    doc["config"][CREDENTIAL_KEY] = "hunter2-plain"
    err = expect_config_error(run_cli, write_stack(doc, "mssp"), "itsmCredential", "plain config",
                              "pulumi config set --secret itsmCredential")
    assert "hunter2-plain" not in err  # the error does not repeat the leaked value


def test_credential_inside_the_itsm_section(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    itsm(doc)["servicenow"]["password"] = "hunter2-plain"
    err = expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm", "not allowed in plain config")
    assert "hunter2-plain" not in err


@pytest.mark.parametrize("minutes", [0, 4, 1441, 10080])
def test_poll_interval_out_of_range(run_cli, stack_doc, write_stack, minutes):
    doc = stack_doc("mssp")
    itsm(doc)["poller"]["intervalMinutes"] = minutes
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.poller.intervalMinutes",
                        "between 5 and 1440 minutes", f"found {minutes}")


@pytest.mark.parametrize("minutes", [5, 1440])
def test_poll_interval_bounds_are_inclusive(run_cli, stack_doc, write_stack, minutes):
    doc = stack_doc("mssp")
    itsm(doc)["poller"]["intervalMinutes"] = minutes
    code, _out, err = run_cli(["plan", "mssp", "--config", str(write_stack(doc, "mssp")), "--quiet"])
    assert code == 0, err


def plans(run_cli, path: Path) -> None:
    code, _out, err = run_cli(["plan", "mssp", "--config", str(path), "--quiet"])
    assert code == 0, err


def test_servicenow_needs_a_credential(run_cli, stack_doc, write_stack):
    # The example's form: a Key Vault secret. Enough on its own; without it (and no secret key), refused.
    doc = stack_doc("mssp")
    assert CREDENTIAL_KEY not in doc["config"] and "keyVaultSecretUri" in itsm(doc)["credential"]
    plans(run_cli, write_stack(doc, "mssp"))
    del itsm(doc)["credential"]
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.credential", "itsmCredential")
    # The secret-key form: enough on its own; without it (and no Key Vault secret), refused.
    doc = with_itsm_secret_credential(stack_doc("mssp"))
    plans(run_cli, write_stack(doc, "mssp"))
    del doc["config"][CREDENTIAL_KEY]
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.credential", "itsmCredential")


def test_webhook_url_with_a_signature_is_refused(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    itsm(doc).pop("servicenow")
    itsm(doc).update({"kind": "webhook", "webhook": {"url": "https://itsm.example.com/hook?sv=1&sig=abc"}})
    err = expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.webhook.url", "SAS")
    assert "sig=abc" not in err


def test_webhook_without_url_needs_the_url_as_secret(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    key_vault = itsm(doc).pop("credential")  # the example's Key Vault credential: neither form to start with
    itsm(doc).pop("servicenow")
    itsm(doc).update({"kind": "webhook", "webhook": {}})
    assert CREDENTIAL_KEY not in doc["config"]
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.webhook.url", "required unless")
    # The whole URL as the secret key.
    doc["config"][CREDENTIAL_KEY] = SECURE
    plans(run_cli, write_stack(doc, "mssp"))
    # Or as a Key Vault secret.
    del doc["config"][CREDENTIAL_KEY]
    itsm(doc)["credential"] = key_vault
    plans(run_cli, write_stack(doc, "mssp"))


def test_credential_given_twice(run_cli, stack_doc, write_stack):
    # The secret-key variant (valid on its own, see above) plus a Key Vault secret.
    doc = with_itsm_secret_credential(stack_doc("mssp"))
    itsm(doc)["credential"] = {
        "keyVaultSecretUri": "https://kv-acme-mssp.vault.azure.net/secrets/servicenow",
        "keyVaultId": "/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg-kv/providers/"
                      "Microsoft.KeyVault/vaults/kv-acme-mssp",
    }
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.credential", "not both")
    # The example (Key Vault, valid on its own) plus the secret key.
    doc = stack_doc("mssp")
    doc["config"][CREDENTIAL_KEY] = SECURE
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.itsm.credential", "not both")


def test_itsm_credential_not_allowed_in_a_customer_stack(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    doc["config"][CREDENTIAL_KEY] = SECURE
    code, out, err = run_cli(["plan", "contoso", "--config", str(write_stack(doc, "contoso"))])
    assert code == 2, (out, err)
    assert "itsmCredential: not allowed in a customer stack" in err


def test_secret_value_reaches_loaded_stack_but_not_its_repr(stack_doc, project_dir):
    doc = with_itsm_secret_credential(stack_doc("mssp"))
    values = dict(doc["config"])
    values[CREDENTIAL_KEY] = "known-secret-value-1"
    loaded = parse_config(values, {CREDENTIAL_KEY}, stack="mssp", project_dir=project_dir)
    assert loaded.secret_values == {"itsmCredential": "known-secret-value-1"}
    assert "known-secret-value-1" not in repr(loaded)
    with pytest.raises(ConfigError) as exc:
        parse_config(values, set(), stack="mssp", project_dir=project_dir)
    assert [p for p, _ in exc.value.issues] == ["itsmCredential"]
    # The example's Key Vault form: no secret config, so no secret value is loaded at all.
    example = parse_config(dict(stack_doc("mssp")["config"]), set(), stack="mssp", project_dir=project_dir)
    assert example.secret_values == {}


@pytest.mark.parametrize("url_key", ["servicenow", "webhook"])
def test_urls_with_user_info_are_refused(run_cli, stack_doc, write_stack, url_key):
    doc = stack_doc("mssp")
    if url_key == "servicenow":
        itsm(doc)["servicenow"]["instanceUrl"] = "https://svc:Hunter2Pw@acme.service-now.com"
        path = "platform.itsm.servicenow.instanceUrl"
    else:
        itsm(doc).clear()
        itsm(doc).update({"kind": "webhook", "webhook": {"url": "https://u:p4ss@itsm.example.net/events"}})
        path = "platform.itsm.webhook.url"
    err = expect_config_error(run_cli, write_stack(doc, "mssp"), path, "must not carry user info", "itsmCredential")
    assert "Hunter2Pw" not in err and "p4ss" not in err
