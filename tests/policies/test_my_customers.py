"""Lighthouse "My customers": a principal needs Reader or a role that includes it to see the customer
(MicrosoftDocs azure-management-docs articles/lighthouse/concepts/tenants-users-roles.md). The advisory
runs over planned definitions (deploy mode) and over the definition a template exports (template mode)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from conftest import PROJECT_DIR, example_manifest, read_stack

from mssp.plan.command import build_manifest

RULE = "lighthouse-my-customers-reader"
SOC = "5e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091"


def _sentinel_reader_only(stack: str, tmp_path: Path) -> Path:
    doc = copy.deepcopy(read_stack(stack))
    lighthouse = doc["config"]["mssp-sentinel:customer"]["lighthouse"]
    lighthouse["authorizations"] = [{"principalId": SOC, "displayName": "SOC Analysts", "role": "Microsoft Sentinel Reader"}]
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _findings(manifest: dict[str, Any]) -> list[dict[str, str]]:
    return [p for p in manifest["policies"] if p["policy"] == RULE]


def test_the_examples_give_every_principal_reader() -> None:
    for stack in ("contoso", "fabrikam"):
        assert _findings(example_manifest(stack)) == [], stack


def test_a_principal_with_only_sentinel_reader_is_flagged_in_deploy_and_template_mode(tmp_path: Path) -> None:
    for stack in ("contoso", "fabrikam"):  # contoso deploys the delegation, fabrikam exports it
        (tmp_path / stack).mkdir()
        findings = _findings(build_manifest(stack, PROJECT_DIR, _sentinel_reader_only(stack, tmp_path / stack)))
        assert findings, stack
        assert all(f["level"] == "advisory" and SOC in f["message"] and "My customers" in f["message"]
                   for f in findings)


def test_the_template_command_prints_the_advisory(tmp_path: Path, run_cli: Any) -> None:
    config = _sentinel_reader_only("fabrikam", tmp_path)
    code, out, err = run_cli(["template", "fabrikam", "--config", str(config), "--out", str(tmp_path / "out"),
                              "--mssp-principal-id", "6a256914-6252-544b-99f2-98195e83b59f",
                              "--read-only-principal-id", "8bf04397-1c1e-5b8e-9a55-2d6f0f6b1c3a"])
    assert code == 0, err
    assert f"advisory: {RULE}" in out and "SOC Analysts" in out
