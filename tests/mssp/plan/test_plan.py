"""The offline plan command: contract of the manifest, determinism, outputs, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

STACKS = ("mssp", "contoso", "fabrikam")


@pytest.mark.parametrize("stack", STACKS)
def test_every_example_stack_plans_and_follows_the_manifest_contract(run_cli, tmp_path: Path, stack):
    out, md = tmp_path / "plan.json", tmp_path / "plan.md"
    code, stdout, err = run_cli(["plan", stack, "--json", str(out), "--markdown", str(md)])
    assert code == 0, err
    m = json.loads(out.read_text())
    assert set(m) == {"stack", "resources", "outputs", "policies", "review"} and m["stack"] == stack
    urns = [r["urn"] for r in m["resources"]]
    assert urns == sorted(urns) and len(urns) == len(set(urns))
    for r in m["resources"]:
        assert set(r) == {"urn", "type", "name", "parent", "custom", "provider", "inputs", "options"}
        assert r["urn"].startswith(f"urn:pulumi:{stack}::mssp-sentinel::") and r["urn"].endswith(f"::{r['name']}")
        # URNs as the engine writes them (sdk/go/common/resource/urn.go): the root stack is no type parent.
        assert "pulumi:pulumi:Stack$" not in r["urn"]
        assert set(r["options"]) == {"protect", "retainOnDelete", "dependsOn"}
        assert r["parent"] is None or r["parent"] in urns
        assert all(dep in urns for dep in r["options"]["dependsOn"])
        if not r["custom"]:
            assert r["type"].startswith("mssp:")  # our components: mssp:<area>:<Name>
    assert isinstance(m["policies"], list)
    assert md.read_text() in stdout


@pytest.mark.parametrize("stack", STACKS)
def test_two_plans_are_byte_identical(run_cli, tmp_path: Path, stack):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli(["plan", stack, "--json", str(a), "--quiet"])[0] == 0
    assert run_cli(["plan", stack, "--json", str(b), "--quiet"])[0] == 0
    assert a.read_bytes() == b.read_bytes()


def test_markdown_shows_the_access_model(run_cli):
    code, out, _ = run_cli(["plan", "fabrikam"])
    assert code == 0
    assert "access model: **lighthouse** (Lighthouse template mode)" in out
    code, out, _ = run_cli(["plan", "contoso"])
    assert "access model: **lighthouse** (Lighthouse deploy mode)" in out


def test_secure_config_values_stay_secret(run_cli, stack_doc, write_stack, tmp_path: Path):
    doc = stack_doc("mssp")
    # A `secure:` value is ciphertext only the Pulumi CLI decrypts; the plan must never print it.
    doc["config"]["mssp-sentinel:kind"] = "platform"
    doc["config"]["azure-native:clientSecret"] = {"secure": "v1:c2VjcmV0LWNpcGhlcnRleHQ="}
    out = tmp_path / "p.json"
    code, stdout, err = run_cli(["plan", "mssp", "--config", str(write_stack(doc, "mssp")), "--json", str(out)])
    assert code == 0, err
    assert "c2VjcmV0LWNpcGhlcnRleHQ" not in out.read_text() + stdout + err


def test_unknown_config_file_is_a_clear_error(run_cli, tmp_path: Path):
    code, _, err = run_cli(["plan", "contoso", "--config", str(tmp_path / "missing.yaml")])
    assert code == 2 and "file not found" in err


def test_duplicate_urns_fail_the_plan_like_the_engine_would(run_cli, monkeypatch):
    from components.forwarding import diagnostics as forwarding
    from mssp.cli import INTERNAL_ERROR

    monkeypatch.setattr(forwarding.naming, "resource_logical_name", lambda prefix, rid, name: "same-name")
    code, _, err = run_cli(["plan", "contoso", "--quiet"])
    assert code == INTERNAL_ERROR
    assert "duplicate resource URN" in err and "same-name" in err


def test_subscriptions_sharing_an_id_prefix_get_distinct_names(run_cli, stack_doc, write_stack, tmp_path):
    doc = stack_doc("contoso")
    cust = doc["config"]["mssp-sentinel:customer"]
    cust["subscriptions"][1]["id"] = cust["subscriptions"][0]["id"][:8] + "-0000-4000-8000-000000000001"
    cust["forwarding"]["inventory"] = str(tmp_path / "empty.yaml")
    (tmp_path / "empty.yaml").write_text("resources: []\n")
    cust.pop("splunk", None)
    out = tmp_path / "p.json"
    code, _, err = run_cli(["plan", "contoso", "--config", str(write_stack(doc)), "--json", str(out), "--quiet"])
    assert code == 0, err
    m = json.loads(out.read_text())
    urns = [r["urn"] for r in m["resources"]]
    assert len(urns) == len(set(urns))
    assert len([r for r in m["resources"] if r["type"] == "azure-native:managedservices:RegistrationDefinition"]) == 2


def test_plans_are_identical_across_processes_and_hash_seeds(tmp_path: Path, project_dir: Path):
    import os
    import subprocess
    import sys

    outs = []
    for seed in ("1", "4242"):
        out = tmp_path / f"plan-{seed}.json"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-m", "mssp", "plan", "contoso", "--json", str(out), "--quiet"],
                              cwd=project_dir, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
