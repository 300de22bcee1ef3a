"""`python -m mssp diff`: manifests that add, change, replace and delete; directories; git refs planned
in a temporary worktree; secrets; guardrails; the forces-replacement facts.

Base manifests are real offline plans of the example stacks (tests/conftest.py `example_manifest`);
heads are edited copies, as a pull request would change them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_project, example_manifest

from mssp.diff import command as diff
from mssp.diff import markdown as diff_markdown
from mssp.errors import UserError
from policies import rules

DIAG = "azure-native:monitor:DiagnosticSetting"
PROJECT_DIR = Path(__file__).resolve().parents[3]


def write(path: Path, manifest: dict[str, Any]) -> Path:
    path.write_text(json.dumps(manifest))
    return path


def diags(m: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in m["resources"] if r["type"] == DIAG]


def edited_contoso() -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(base, head, names) where head updates one setting, moves one, deletes one and adds one."""
    base = example_manifest("contoso")
    head = example_manifest("contoso")
    d = diags(head)
    names = {"update": d[0]["name"], "replace": d[1]["name"], "delete": d[2]["name"]}
    d[0]["inputs"]["logs"][0]["categoryGroup"] = "audit"
    d[1]["inputs"]["resourceUri"] = d[1]["inputs"]["resourceUri"] + "-moved"
    head["resources"].remove(d[2])
    added = json.loads(json.dumps(d[3]))
    added["urn"] += "-extra"
    added["name"] += "-extra"
    head["resources"].append(added)
    names["create"] = added["name"]
    return base, head, names


def report(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    (stack,) = diff.diff_sides({base["stack"]: base}, {head["stack"]: head})
    return stack


def test_add_change_replace_delete_get_the_right_operation(run_cli, tmp_path: Path):
    base, head, names = edited_contoso()
    out = tmp_path / "diff.json"
    code, stdout, err = run_cli(["diff", str(write(tmp_path / "a.json", base)), str(write(tmp_path / "b.json", head)),
                                 "--json", str(out)])
    assert code == 0, err
    (s,) = json.loads(out.read_text())["stacks"]
    assert s["stack"] == "contoso" and s["changed"] and s["status"] == "changed"
    assert {k: s["counts"][k] for k in diff.OPS} == {"create": 1, "update": 1, "replace": 1, "delete": 1}
    by_name = {c["name"]: c for c in s["changes"]}
    assert {op: by_name[n]["op"] for op, n in names.items()} == {op: op for op in names}
    assert by_name[names["update"]]["changedProperties"] == ["logs[0].categoryGroup"]
    assert by_name[names["update"]]["replaceReasons"] == []
    assert by_name[names["replace"]]["changedProperties"] == ["resourceUri"]
    assert by_name[names["replace"]]["replaceReasons"] == ["resourceUri"]
    # The Markdown names each resource with its operation and the forcing property.
    assert stdout.startswith(diff.MARKER)
    assert f"| 🟡 update | `{names['update']}` |" in stdout
    assert f"| 🟠 replace (forced by `resourceUri`) | `{names['replace']}` |" in stdout
    assert f"| 🔴 delete | `{names['delete']}` |" in stdout
    assert f"| 🟢 create | `{names['create']}` |" in stdout
    assert "`logs[0].categoryGroup`: `\"allLogs\"` → `\"audit\"`" in stdout
    assert "| `contoso` | 1 | 1 | 1 | 1 | 0 | 2 |" in stdout


def test_deleting_or_replacing_diagnostic_settings_raises_the_advisories():
    base, head, names = edited_contoso()
    s = report(base, head)
    found = {(a["policy"], a["urn"].rsplit("::", 1)[1]) for a in s["changeAdvisories"]}
    assert found == {("diagnostic-settings-delete-or-replace", names["replace"]),
                     ("diagnostic-settings-delete-or-replace", names["delete"])}


def test_identical_plans_have_no_changes(tmp_path: Path, run_cli):
    m = write(tmp_path / "m.json", example_manifest("fabrikam"))
    code, stdout, _ = run_cli(["diff", str(m), str(m)])
    assert code == 0
    assert "No stack changes." in stdout and "| `fabrikam` | 0 | 0 | 0 | 0 | 0 | 0 |" in stdout


def test_deleting_a_protected_resource_is_highlighted():
    table = {"urn": "urn:pulumi:mssp::mssp-sentinel::azure-native:operationalinsights:Table::splunk-table",
             "type": rules.TABLE, "name": "splunk-table", "parent": None, "custom": True, "provider": None,
             "inputs": {"tableName": "SplunkAlerts_CL", "workspaceName": "law"},
             "options": {"protect": True, "retainOnDelete": True, "dependsOn": []}}
    moved = json.loads(json.dumps(table))
    moved["inputs"]["workspaceName"] = "law-2"
    base = {"stack": "mssp", "resources": [table], "outputs": {}, "policies": []}
    gone = {"stack": "mssp", "resources": [], "outputs": {}, "policies": []}
    s = report(base, gone)
    assert s["changes"][0]["op"] == "delete" and s["changes"][0]["blockedByProtect"]
    md = diff.render_markdown([s], "a", "b")
    assert "⛔ **1 protected resource(s) would be deleted or replaced**: `splunk-table`" in md
    assert "retained in Azure" in md
    r = report(base, {**base, "resources": [moved]})
    assert r["changes"][0]["op"] == "replace" and r["changes"][0]["replaceReasons"] == ["workspaceName"]
    assert [a["policy"] for a in r["changeAdvisories"]] == ["table-or-dcr-replace"]


def test_secrets_stay_secret():
    base = {"stack": "s", "outputs": {}, "policies": [], "resources": [
        {"urn": "urn:pulumi:s::p::azure-native:logic:Workflow::wf", "type": rules.WORKFLOW, "name": "wf", "custom": True,
         "inputs": {"parameters": {"key": {"value": diff.SECRET}}, "state": "Enabled"}, "options": {}}]}
    head = json.loads(json.dumps(base))
    # A raw Pulumi secret envelope (what an unscrubbed writer would leave) is masked on load.
    head["resources"][0]["inputs"]["parameters"]["key"]["value"] = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hunter2-plaintext"}
    head["resources"][0]["inputs"]["state"] = "Disabled"
    masked = diff._mask(head)
    s = report(base, masked)
    assert s["changes"][0]["changedProperties"] == ["state"]  # the secret compares equal as "[secret]"
    text = diff.render_markdown([s], "a", "b") + diff.report_json([s], "a", "b")
    assert "hunter2" not in text


def test_head_guardrails_are_shown_and_marked_new(tmp_path: Path, run_cli):
    base, head, names = edited_contoso()
    violation = {"policy": "diagnostic-settings-to-mssp-workspace", "level": "mandatory",
                 "urn": next(r["urn"] for r in head["resources"] if r["name"] == names["create"]),
                 "message": "workspaceId x is not the MSSP workspace y"}
    head["policies"] = [violation]
    a, b = write(tmp_path / "a.json", base), write(tmp_path / "b.json", head)
    code, stdout, err = run_cli(["diff", str(a), str(b), "--fail-on-mandatory"])
    assert code == 1 and "mandatory guardrail" in err
    assert f"- ❌ **mandatory** `diagnostic-settings-to-mssp-workspace` (new) on `{names['create']}`" in stdout
    assert "| `contoso` | 1 | 1 | 1 | 1 | ❌ 1 | 2 |" in stdout
    assert run_cli(["diff", str(b), str(a)])[1].count("Resolved by this change") == 1


def test_directories_of_manifests_and_added_or_removed_stacks(tmp_path: Path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    write(old / "mssp.json", example_manifest("mssp"))
    write(old / "fabrikam.json", example_manifest("fabrikam"))
    write(new / "mssp.json", example_manifest("mssp"))
    write(new / "contoso.json", example_manifest("contoso"))
    stacks = {s["stack"]: s for s in diff.diff_sides(diff.load_side(str(old), tmp_path), diff.load_side(str(new), tmp_path))}
    assert sorted(stacks) == ["contoso", "fabrikam", "mssp"]
    assert stacks["contoso"]["status"] == "added" and stacks["contoso"]["counts"]["delete"] == 0
    assert stacks["fabrikam"]["status"] == "removed" and stacks["fabrikam"]["counts"]["create"] == 0
    assert stacks["fabrikam"]["counts"]["delete"] == sum(1 for r in example_manifest("fabrikam")["resources"]
                                                         if r["custom"] and not r["type"].startswith("pulumi:pulumi:"))
    assert stacks["mssp"]["status"] == "unchanged"


def test_changed_paths_walks_nested_inputs():
    old = {"properties": {"authorizations": [{"roleDefinitionId": "a"}, {"roleDefinitionId": "b"}]}, "scope": "/s/1"}
    new = {"properties": {"authorizations": [{"roleDefinitionId": "a"}]}, "scope": "/s/2", "extra": 1}
    assert [p.path for p in diff.changed_paths(old, new)] == ["extra", "properties.authorizations[1]", "scope"]
    assert diff.replace_reasons(rules.REGISTRATION_DEFINITION, ["properties.authorizations[1]", "scope"]) == ["scope"]


def test_forces_replacement_facts_are_pinned():
    # Source: pulumi/pulumi-azure-native#2167 (resourceUri), replacement.go (RoleAssignment principalId, scope),
    # ARM path parameters, terraform azurerm data collection rule docs (kind).
    table = diff.FORCES_REPLACEMENT
    assert "resourceUri" in table["azure-native:monitor:DiagnosticSetting"]
    assert {"scope", "registrationDefinitionId"} <= set(table["azure-native:managedservices:RegistrationDefinition"])
    assert {"tableName", "workspaceName"} <= set(table["azure-native:operationalinsights:Table"])
    assert {"location", "kind"} <= set(table["azure-native:monitor:DataCollectionRule"])
    assert {"principalId", "scope"} <= set(table["azure-native:authorization:RoleAssignment"])
    assert diff.forcing_properties("azure-native:monitor/v20210501preview:DiagnosticSetting") == table[DIAG]
    assert diff.forcing_properties("azure-native:keyvault:Vault") == ("name", "resourceGroupName", "location")
    assert diff.forcing_properties("azuread:index/application:Application") == ()


def test_bad_inputs_are_user_errors(tmp_path: Path, run_cli):
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a manifest"}')
    code, _, err = run_cli(["diff", str(bad), str(bad)])
    assert code == 2 and "not a plan manifest" in err
    code, _, err = run_cli(["diff", "no-such-ref-or-file", str(bad), "--repo", str(tmp_path)])
    assert code == 2 and "neither a manifest file" in err


# ------------------------------------------------------------------------------------------------
# Git refs: each ref is planned in a temporary worktree
# ------------------------------------------------------------------------------------------------
# A stand-in for `python -m mssp plan STACK --json OUT`: it copies plans/<stack>.json of its checkout.
# It lets the ref mode be tested on a small repository; the test below also runs the real planner.
FAKE_MAIN = '''
import shutil, sys
from pathlib import Path
args = sys.argv[1:]
assert args[0] == "plan", args
stack, out = args[1], Path(args[args.index("--json") + 1])
src = Path("plans") / f"{stack}.json"
if not src.exists():
    print(f"error: invalid configuration: {stack}", file=sys.stderr)
    sys.exit(2)
shutil.copy(src, out)
sys.exit(0)
'''


def git(repo: Path, *args: str) -> str:
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", "-C", str(repo), *env_args, *args], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def fake_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "mssp").mkdir(parents=True)
    (repo / "plans").mkdir()
    (repo / "stacks").mkdir()
    (repo / "mssp" / "__init__.py").write_text("")
    (repo / "mssp" / "__main__.py").write_text(FAKE_MAIN)
    git(repo, "init", "-q")
    return repo


def commit(repo: Path, plans: dict[str, dict[str, Any]], message: str) -> str:
    for old in (repo / "stacks").glob("Pulumi.*.yaml"):
        old.unlink()
    for old in (repo / "plans").glob("*.json"):
        old.unlink()
    for stack, m in plans.items():
        (repo / "stacks" / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
        write(repo / "plans" / f"{stack}.json", m)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def test_git_refs_are_planned_in_a_temporary_worktree(tmp_path: Path, run_cli):
    repo = fake_repo(tmp_path)
    base, head, names = edited_contoso()
    first = commit(repo, {"contoso": base, "mssp": example_manifest("mssp")}, "base")
    commit(repo, {"contoso": head}, "head: contoso edited, platform stack removed")
    out = tmp_path / "d.json"
    code, stdout, err = run_cli(["diff", first, "HEAD", "--repo", str(repo), "--json", str(out)])
    assert code == 0, err
    assert f"`{first}` → `HEAD`" in stdout and f"| 🔴 delete | `{names['delete']}` |" in stdout
    stacks = {s["stack"]: s for s in json.loads(out.read_text())["stacks"]}
    assert {k: stacks["contoso"]["counts"][k] for k in diff.OPS} == {"create": 1, "update": 1, "replace": 1, "delete": 1}
    assert stacks["mssp"]["status"] == "removed"
    # The temporary worktrees are gone.
    assert git(repo, "worktree", "list").strip().count("\n") == 0


def test_a_ref_that_fails_to_plan_is_a_user_error(tmp_path: Path):
    repo = fake_repo(tmp_path)
    commit(repo, {"contoso": example_manifest("contoso")}, "base")
    (repo / "plans" / "contoso.json").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "plan fails")
    with pytest.raises(UserError, match="planning stack contoso failed \\(exit 2\\)"):
        diff.load_side("HEAD", repo)
    assert git(repo, "worktree", "list").strip().count("\n") == 0


def test_real_planner_on_two_commits(tmp_path: Path):
    """The ref mode with the project's own `mssp plan`: a copy of the project in a fresh repository."""
    repo = copy_project(tmp_path / "project")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    stack = repo / "stacks" / "Pulumi.fabrikam.yaml"
    stack.write_text(stack.read_text().replace("        - Microsoft.KeyVault/vaults\n", ""))
    git(repo, "commit", "-q", "-am", "fabrikam stops forwarding Key Vault logs")
    sides = [diff.load_side(ref, repo) for ref in ("HEAD~1", "HEAD")]
    stacks = {s["stack"]: s for s in diff.diff_sides(*sides)}
    assert sorted(stacks) == ["contoso", "fabrikam", "mssp", "northwind"]
    assert not stacks["mssp"]["changed"] and not stacks["contoso"]["changed"] and not stacks["northwind"]["changed"]
    (deleted,) = stacks["fabrikam"]["changes"]
    assert deleted["op"] == "delete" and deleted["type"] == DIAG and "-kv-" in deleted["name"]
    assert [a["policy"] for a in stacks["fabrikam"]["changeAdvisories"]] == ["diagnostic-settings-delete-or-replace"]


def test_long_values_show_the_part_that_changed():
    old = "/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv-a"
    new = old[:-1] + "b"
    at = diff._first_difference(old, new)
    assert at == len(old) - 1
    assert diff._short(old, at).endswith('vaults/kv-a"') and diff._short(new, at).endswith('vaults/kv-b"')
    assert diff._short(old, at).startswith('"…') and len(diff._short(old, at)) <= diff_markdown._MAX_VALUE + 4
    assert diff._short("short", 0) == '"short"' and diff._short({"a": 1}) == "{…}" and diff._short(diff.MISSING) == "(none)"


def test_a_manifest_resource_without_type_is_a_clear_error(tmp_path):
    import json as _json

    from mssp.cli import main

    bad = tmp_path / "bad.json"
    bad.write_text(_json.dumps({"stack": "s", "resources": [{"urn": "u", "name": "n"}], "outputs": {}, "policies": []}))
    good = tmp_path / "good.json"
    good.write_text(_json.dumps({"stack": "s", "resources": [], "outputs": {}, "policies": []}))
    assert main(["diff", str(good), str(bad)]) == 2
