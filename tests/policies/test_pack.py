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
    # The pack imports components/facts/roles.py, so it shares the repository's virtualenv.
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


# ------------------------------------------------------------------------------------------------
# The pack behind pulumi_policy's own analyzer servicer: requests shaped as the engine sends them
# (pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go: MarshalProperties with KeepUnknowns
# and KeepSecrets; proto/pulumi/analyzer.proto AnalyzeRequest / AnalyzeStackRequest).
# ------------------------------------------------------------------------------------------------
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
WS = "/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"


def servicer(config: dict[str, Any] | None = None) -> Any:
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    return _PolicyAnalyzerServicer("mssp-sentinel-guardrails", "0.1.0", rules.build_policies(), EnforcementLevel.ADVISORY, config)


def struct(data: dict[str, Any]) -> Any:
    from google.protobuf import json_format, struct_pb2

    return json_format.ParseDict(data, struct_pb2.Struct())


def analyze(rtype: str, props: dict[str, Any], protect: bool = False) -> list[tuple[str, str, str]]:
    from pulumi.runtime import proto

    request = proto.AnalyzeRequest(type=rtype, properties=struct(props), urn=f"urn:pulumi:s::p::{rtype}::r", name="r",
                                   options=proto.AnalyzerResourceOptions(protect=protect))
    response = servicer().Analyze(request, None)
    level = {proto.MANDATORY: "mandatory", proto.ADVISORY: "advisory"}
    return [(d.policyName, level[d.enforcementLevel], d.message) for d in response.diagnostics]


def test_servicer_reports_a_mandatory_violation_with_the_message(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(rules.ENV_WORKSPACE_RESOURCE_ID, WS)
    other = WS.replace("/law", "/other")
    props = {"name": "s", "resourceUri": "/subscriptions/x/resourceGroups/r/providers/Microsoft.KeyVault/vaults/v",
             "workspaceId": other, "logs": [{"categoryGroup": "allLogs", "enabled": True}]}
    found = analyze(rules.DIAGNOSTIC_SETTING, props)
    assert [(p, lvl) for p, lvl, _ in found] == [("diagnostic-settings-to-mssp-workspace", "mandatory")]
    assert f"workspaceId {other} is not the MSSP workspace {WS}" in found[0][2]
    props["workspaceId"] = WS
    assert analyze(rules.DIAGNOSTIC_SETTING, props) == []


def test_servicer_passes_protect_and_unknowns_through():
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    table = {"tableName": "T_CL", "workspaceName": UNKNOWN_STRING_VALUE,
             "schema": {"name": "T_CL", "columns": [{"name": "TimeGenerated", "type": "dateTime"}]}}
    assert analyze(rules.TABLE, table, protect=True) == []
    assert [p for p, _, _ in analyze(rules.TABLE, table, protect=False)] == ["tables-and-dcrs-protected"]


def test_servicer_stack_analysis_marks_secret_output_rule_not_applicable():
    from pulumi.runtime import proto

    stack_urn = "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s"
    url = "https://x.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=abcdefghijklmnop"
    request = proto.AnalyzeStackRequest(resources=[proto.AnalyzerResource(
        type=rules.STACK, urn=stack_urn, name="p-s", properties=struct({"splunkWebhookUrl": {**SECRET_SIG, "value": url}}),
        options=proto.AnalyzerResourceOptions())])
    response = servicer().AnalyzeStack(request, None)
    assert list(response.diagnostics) == []
    reasons = {n.policy_name: n.reason for n in response.not_applicable}
    assert set(reasons) == {"webhook-url-secret-output", "diagnostic-settings-delete-or-replace", "table-or-dcr-replace"}
    assert "unwraps secrets" in reasons["webhook-url-secret-output"]
