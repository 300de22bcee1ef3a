"""The type tokens and the secret placeholder are defined once (components/facts/pulumi_tokens.py), and
each token is the one the pinned provider SDK registers its resource with."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

from components.facts import pulumi_tokens

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = sorted(p for d in ("mssp", "components", "policies") for p in (ROOT / d).rglob("*.py"))
_TOKEN = re.compile(r"^(azure-native|azuread|pulumi):[^\s]+:[A-Za-z]+$")
TOKENS = {name: value for name, value in vars(pulumi_tokens).items()
          if name.isupper() and isinstance(value, str) and _TOKEN.match(value)}


def module_level_constants(path: Path) -> list[tuple[str, str]]:
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.extend((t.id, node.value.value) for t in node.targets if isinstance(t, ast.Name))
    return found


def test_no_other_module_defines_a_type_token_or_the_secret_placeholder() -> None:
    assert len(PRODUCT) > 40 and len(TOKENS) > 15
    offenders = [(str(p.relative_to(ROOT)), name) for p in PRODUCT if p.name != "pulumi_tokens.py"
                 for name, value in module_level_constants(p) if _TOKEN.match(value) or value == pulumi_tokens.SECRET]
    assert offenders == []


def test_the_check_sees_a_redefinition(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text('X = "azure-native:monitor:DiagnosticSetting"\nS = "[secret]"\ndef f():\n    y = "azuread:index/a:A"\n')
    # Module level only: the function's local is not a definition.
    assert module_level_constants(src) == [("X", "azure-native:monitor:DiagnosticSetting"), ("S", "[secret]")]


@pytest.mark.parametrize("name", sorted(n for n, v in TOKENS.items() if not v.startswith("pulumi:")))
def test_each_token_is_what_the_pinned_sdk_registers(name: str) -> None:
    token = TOKENS[name]
    package, module, cls_name = token.split(":")
    if package == "azure-native":
        sdk = importlib.import_module(f"pulumi_azure_native.{module}")
    else:
        sdk = importlib.import_module("pulumi_azuread")
    resource = getattr(sdk, cls_name)
    # The resource's __init__ passes its token to CustomResource.__init__ (bug caught: a misspelt token that
    # would make a guardrail, the review or the runbook miss every resource of the type).
    assert f"'{token}'" in inspect.getsource(resource.__init__) or f"'{token}'" in inspect.getsource(resource)
