"""Known plaintext secrets never reach a manifest, a Markdown plan or stdout.

The offline plan normally sees only "[secret]" for `secure:` values, so here the stack's secret config
is replaced by a known plaintext value, as a real `pulumi up` would receive it decrypted, and the
whole output is searched for it. The example platform stack takes its ITSM credential from Key Vault
(it has no secret config), so the platform stack planned here, directly or as a customer's platform,
is its variant with the secret key itsmCredential (conftest.with_itsm_secret_credential).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ITSM_CREDENTIAL_KEY

from components import config as config_module
from mssp.plan.command import build_manifest, render_markdown

PLAINTEXT = "Pl41ntext-ITSM-credential-do-not-leak"


@pytest.fixture
def decrypted_secrets(monkeypatch: pytest.MonkeyPatch, itsm_secret_stack_file: Path) -> set[str]:
    """Decrypt every secret to PLAINTEXT; returns the keys decrypted so far (the test checks they were)."""
    real_read, real_file = config_module.read_stack_values, config_module.stack_file
    decrypted: set[str] = set()

    def read(path):
        values, secrets = real_read(path)
        decrypted.update(k for k in values if k in secrets)
        return {k: (PLAINTEXT if k in secrets else v) for k, v in values.items()}, secrets

    def stack_file(project_dir, stack):
        return itsm_secret_stack_file if stack == "mssp" else real_file(project_dir, stack)

    monkeypatch.setattr(config_module, "read_stack_values", read)
    monkeypatch.setattr(config_module, "stack_file", stack_file)
    return decrypted


@pytest.mark.parametrize("stack", ["mssp", "contoso"])
def test_decrypted_secrets_never_appear_in_the_plan(decrypted_secrets, project_dir, capsys, stack):
    manifest = build_manifest(stack, project_dir)
    text = json.dumps(manifest) + render_markdown(manifest)
    out, err = capsys.readouterr()
    assert PLAINTEXT not in text + out + err
    assert ITSM_CREDENTIAL_KEY in decrypted_secrets  # the platform's credential was in play, decrypted
    if stack == "mssp":
        # The credential reached the program (it is wired into the playbook) and is shown as a secret.
        assert "[secret]" in json.dumps([r["inputs"] for r in manifest["resources"] if r["type"] == "azure-native:logic:Workflow"])
