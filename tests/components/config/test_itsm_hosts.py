"""Issue 20 item 6: where the ITSM credential may be sent. `itsm.servicenow.instanceUrl` accepted any https host, so a
pull request could send the ServiceNow password (read from Key Vault) to a look-alike host. Now only
`<instance>.service-now.com` or a host listed in `platform.itsm.allowedHosts`; every plan diff shows a change to
the list as an access change."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_itsm_config import expect_config_error, itsm

from components.config.itsm import ItsmConfig, host_problem


@pytest.mark.parametrize("url", [
    "https://acme-mssp.service-now.com.evil.io",  # suffix match done wrong would pass this
    "https://acme-mssp-service-now.com",
    "https://evilservice-now.com",
    "https://service-now.com",
    "https://a.b.service-now.com",
    "https://acme-mssp.service-now.co",
    "https://acme-mssp.service-now.com:8443",
    "https://acme-mssp.service-now.com:443",
    "https://acme-mssp.service-now.com.",
    "https://xn--acme-mssp-9ob.service-now.com",
    "https://acme-mssp.xn--service-nw-xyz.com",
    "https://acmе-mssp.service-now.com",  # Cyrillic e
    "https://acme-mssp.service-now.com%2eevil.io",
    "https://203.0.113.7",
    "https://[2001:db8::1]",
])
def test_look_alike_instance_hosts_are_refused(run_cli, stack_doc, write_stack, url: str):
    doc = stack_doc("mssp")
    itsm(doc)["servicenow"]["instanceUrl"] = url
    err = expect_config_error(run_cli, write_stack(doc, "mssp"), "instanceUrl")
    assert any(w in err for w in ("allowedHosts", "plain DNS name", "port", "not a valid URL")), err


@pytest.mark.parametrize("url", ["https://acme-mssp.service-now.com", "https://ACME-MSSP.Service-Now.COM",
                                 "https://contoso-2.service-now.com"])
def test_service_now_instances_pass_in_any_case(run_cli, stack_doc, write_stack, url: str):
    doc = stack_doc("mssp")
    itsm(doc)["servicenow"]["instanceUrl"] = url
    code, _, err = run_cli(["plan", "mssp", "--config", str(write_stack(doc, "mssp")), "--quiet"])
    assert code == 0, err


def test_a_listed_host_passes_case_insensitively_and_only_exactly():
    base: dict[str, Any] = {"kind": "webhook", "webhook": {"url": "https://ITSM.Example.com/events"}}
    with pytest.raises(ValueError, match="allowedHosts"):
        ItsmConfig.model_validate(base)
    assert ItsmConfig.model_validate({**base, "allowedHosts": ["itsm.example.COM"]}).allowed_hosts == ["itsm.example.com"]
    for listed in ("example.com", "evil.itsm.example.com", "itsm.example.co"):
        assert host_problem("https://itsm.example.com/events", [listed]), listed
    assert host_problem("https://evil.itsm.example.com/events", ["itsm.example.com"])


@pytest.mark.parametrize("entry", ["*.example.com", "https://itsm.example.com", "itsm.example.com:443", "10.0.0.1",
                                   "xn--itsm-9ob.example.com", "itsm.example.com.", "", "itsm example.com"])
def test_allowed_hosts_are_exact_dns_names(entry: str):
    with pytest.raises(ValueError, match="not a host name"):
        ItsmConfig.model_validate({"kind": "webhook", "webhook": {"url": "https://itsm.example.com/e"},
                                   "allowedHosts": [entry]})


def test_a_secret_webhook_url_is_held_to_the_same_hosts_without_being_shown():
    from conftest import ITSM_CREDENTIAL_KEY, PROJECT_DIR

    from components.config import ConfigError, parse_config

    values = {"mssp-sentinel:kind": "platform", ITSM_CREDENTIAL_KEY: "https://evil.example.org/hook?sig=S3CRETSIG",
              "mssp-sentinel:platform": _platform({"kind": "webhook", "webhook": {}, "allowedHosts": ["itsm.example.com"]})}
    with pytest.raises(ConfigError) as exc:
        parse_config(values, {ITSM_CREDENTIAL_KEY}, stack="mssp", project_dir=PROJECT_DIR)
    text = str(exc.value.issues)
    assert "allowedHosts" in text and "S3CRETSIG" not in text and "evil.example.org" not in text
    values[ITSM_CREDENTIAL_KEY] = "https://itsm.example.com/hook?sig=S3CRETSIG"
    parse_config(values, {ITSM_CREDENTIAL_KEY}, stack="mssp", project_dir=PROJECT_DIR)


def _platform(itsm_section: dict[str, Any]) -> dict[str, Any]:
    from conftest import read_stack

    platform = json.loads(json.dumps(read_stack("mssp")["config"]["mssp-sentinel:platform"]))
    platform["itsm"] = itsm_section
    return platform


def test_adding_an_allowed_host_is_an_access_change_in_the_diff(run_cli, stack_doc, write_stack, tmp_path):
    base_doc = stack_doc("mssp")
    head_doc = stack_doc("mssp")
    itsm(head_doc)["allowedHosts"] = ["itsm.example.net"]
    plans = {}
    for side, doc in (("base", base_doc), ("head", head_doc)):
        out = tmp_path / f"{side}.json"
        code, _, err = run_cli(["plan", "mssp", "--config", str(write_stack(doc, "mssp")), "--json", str(out), "--quiet"])
        assert code == 0, err
        plans[side] = out
    report = tmp_path / "diff.json"
    code, _, err = run_cli(["diff", str(plans["base"]), str(plans["head"]), "--json", str(report)])
    assert code == 0, err
    (stack,) = json.loads(report.read_text())["stacks"]
    added = [a for a in stack["accessChanges"] if a["change"] == "added"]
    assert [(a["after"]["scope"], a["after"]["via"]) for a in added] == [("https://itsm.example.net", "ITSM host allowlist")]
