"""The CrossGuard pack: its project file, its pins, and that __main__.py registers every rule with its level.

Constructing a real PolicyPack starts a gRPC server and blocks, so the pack's __main__.py is run the
way Pulumi runs it (runpy.run_path on the pack directory, pulumi/policy/__main__.py) with PolicyPack
replaced by a recorder.
"""

from __future__ import annotations

import ast
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
import yaml
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from policies import rules

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    captured: dict[str, Any] = {}

    def recorder(*args: Any, **kwargs: Any) -> None:
        captured["args"], captured["kwargs"] = args, kwargs

    monkeypatch.setattr(pulumi_policy, "PolicyPack", recorder)
    monkeypatch.setattr(sys, "path", list(sys.path))  # __main__ puts the repository root on sys.path
    monkeypatch.chdir(PACK_DIR)  # Pulumi starts the pack in its own directory
    runpy.run_path(str(PACK_DIR), run_name="__main__")
    return captured


def test_main_registers_every_rule_with_its_level_and_remediation(registered: dict[str, Any]):
    policies = registered["kwargs"]["policies"]
    assert [p.name for p in policies] == [r.name for r in rules.RULES]
    for p, r in zip(policies, rules.RULES, strict=True):
        assert p.enforcement_level == EnforcementLevel(r.level)
        assert p.description == r.description
        assert p.remediation_steps == r.remediation
        assert isinstance(p, ResourceValidationPolicy if r.kind == "resource" else StackValidationPolicy)
        assert (p.config_schema is not None) == r.uses_context


def test_pack_name_is_valid(registered: dict[str, Any]):
    import re

    name = registered["kwargs"]["name"]
    # pulumi_policy's own pattern for pack names (policy.py _POLICY_PACK_NAME_RE).
    assert re.fullmatch(r"[a-zA-Z0-9-_.]{1,100}", name)


def test_main_only_builds_the_pack():
    tree = ast.parse((PACK_DIR / "__main__.py").read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert calls.count("PolicyPack") == 1


def test_project_file_declares_a_python_pack_using_the_project_virtualenv():
    doc = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert doc["runtime"]["name"] == "python"
    assert doc["version"] and doc["description"]
    # The pack imports components/roles.py, so it shares the repository's virtualenv.
    assert (PACK_DIR / doc["runtime"]["options"]["virtualenv"]).resolve() == PACK_DIR.parent / ".venv"


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line} is not pinned"
            pins[name.lower()] = version
    return pins


def test_pack_requirements_are_pinned_like_the_project():
    pack = _pins(PACK_DIR / "requirements.txt")
    project = _pins(PACK_DIR.parent / "requirements.txt")
    assert pack == {"pulumi": "3.272.0", "pulumi-policy": "1.21.0"}
    assert all(project[k] == v for k, v in pack.items())
    assert pulumi_policy.__name__ and _installed("pulumi-policy") == "1.21.0"


def _installed(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def test_example_pack_config_names_real_policies_and_their_schema_properties():
    import json

    config = json.loads((PACK_DIR / "config.example.json").read_text())
    for name, values in config.items():
        rule = rules.BY_NAME[name]
        assert rule.uses_context
        assert set(values) <= {"enforcementLevel", "workspaceResourceId", "workspaceLocation"}
        assert rules.pack_context(values, {}) != rules.PolicyContext()
