"""Inside a real `pulumi up` the language host passes config through the environment; load it the same way."""

from __future__ import annotations

import json

from conftest import PROJECT_DIR, read_stack
from pulumi.runtime import config as runtime_config

from components.config import load_from_pulumi


def test_config_from_the_language_host_environment(monkeypatch):
    values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in read_stack("contoso")["config"].items()}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(values))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["mssp-sentinel:kind"]))
    token = runtime_config.CONFIG.set({})
    try:
        monkeypatch.setattr("pulumi.get_stack", lambda: "contoso")
        loaded = load_from_pulumi(PROJECT_DIR)
    finally:
        runtime_config.CONFIG.reset(token)
    assert loaded.kind == "customer" and loaded.customer.name == "contoso"
    assert len(loaded.inventory) == 13
    assert "mssp-sentinel:kind" in loaded.secret_keys
