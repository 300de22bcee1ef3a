"""Known plaintext secrets never reach a manifest, a Markdown plan or stdout.

The offline plan normally sees only "[secret]" for `secure:` values, so here the stack's secret config
is replaced by a known plaintext value, as a real `pulumi up` would receive it decrypted, and the
whole output is searched for it.
"""

from __future__ import annotations

import json

import pytest

from components import config as config_module
from mssp.plan.command import build_manifest, render_markdown

PLAINTEXT = "Pl41ntext-ITSM-credential-do-not-leak"


@pytest.fixture
def decrypted_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    real = config_module.read_stack_values

    def read(path):
        values, secrets = real(path)
        return {k: (PLAINTEXT if k in secrets else v) for k, v in values.items()}, secrets

    monkeypatch.setattr(config_module, "read_stack_values", read)


@pytest.mark.parametrize("stack", ["mssp", "contoso"])
def test_decrypted_secrets_never_appear_in_the_plan(decrypted_secrets, project_dir, capsys, stack):
    manifest = build_manifest(stack, project_dir)
    text = json.dumps(manifest) + render_markdown(manifest)
    out, err = capsys.readouterr()
    assert PLAINTEXT not in text + out + err
    if stack == "mssp":
        # The credential reached the program (it is wired into the playbook) and is shown as a secret.
        assert "[secret]" in json.dumps([r["inputs"] for r in manifest["resources"] if r["type"] == "azure-native:logic:Workflow"])
