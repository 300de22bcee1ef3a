"""Review that the change under review cannot switch off (issue 10): `mssp diff` runs a ref's code with a
scrubbed environment, decides guardrails with its own (the base branch's) rules, flags outputs that stop
being secret and shows edits to the guardrail files."""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import copy_project, example_manifest
from test_diff import commit, fake_repo, git, write

from mssp.cli import main
from mssp.diff import command as diff

ENV_DUMP_MAIN = '''\
import json, os, sys
stack, out = sys.argv[2], sys.argv[sys.argv.index("--json") + 1]
json.dump({"env": dict(os.environ), "home": os.path.expanduser("~"),
           "home_files": os.listdir(os.path.expanduser("~"))}, open(DUMP, "w"))
json.dump({"stack": stack, "resources": [], "outputs": {}, "policies": []}, open(out, "w"))
'''

SECRETS = {
    "ARM_CLIENT_SECRET": "arm-secret-value", "ARM_CLIENT_ID": "arm-client-id", "AZURE_CLIENT_SECRET": "azure-secret",
    "AZURE_FEDERATED_TOKEN_FILE": "/tmp/federated-token-file", "PULUMI_ACCESS_TOKEN": "pul-token",
    "PULUMI_CONFIG_PASSPHRASE": "passphrase", "GITHUB_TOKEN": "ghs_token", "GH_TOKEN": "gh-token",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-request-token", "ACTIONS_ID_TOKEN_REQUEST_URL": "https://oidc.example",
    "ACTIONS_RUNTIME_TOKEN": "runtime-token", "MY_API_KEY": "api-key-value", "SERVICE_PASSWORD": "password-value", "SOME_SECRET": "some-secret",
    "NPM_TOKEN": "npm-token-value",
}


def test_a_ref_that_writes_its_environment_sees_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dump = tmp_path / "dump.json"
    repo = fake_repo(tmp_path)
    (repo / "mssp" / "__main__.py").write_text(f"DUMP = {str(dump)!r}\n" + ENV_DUMP_MAIN)
    commit(repo, {"contoso": example_manifest("contoso")}, "a branch that reads its environment")
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    real_home = tmp_path / "real-home"
    (real_home / ".azure").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(real_home))
    diff.load_side("HEAD", repo)
    seen = json.loads(dump.read_text())
    leaked = {k for k in seen["env"] if k in SECRETS}
    assert leaked == set()
    assert not any(v in json.dumps(seen["env"]) for v in SECRETS.values())
    # A fresh, empty HOME: no ~/.azure, ~/.pulumi token cache of the caller's.
    assert seen["home"] != str(real_home) and seen["home_files"] == []
    assert "PATH" in seen["env"]


def test_scrubbed_env_keeps_only_the_allowlist(tmp_path: Path) -> None:
    env = diff.scrubbed_env({"PATH": "/bin", "LANG": "C", **SECRETS, "PYTHONPATH": "/evil"}, tmp_path)
    assert env == {"PATH": "/bin", "LANG": "C", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1",
                   "PYTHONNOUSERSITE": "1"}


def test_help_says_the_ref_runs_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["diff", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "scrubbed environment" in out and "temporary HOME" in out and "Exit codes" in out


def _secret_output_pair() -> tuple[dict, dict]:
    base = example_manifest("contoso")
    assert base["outputs"]["splunkWebhookUrl"] == "[secret]"
    head = copy.deepcopy(base)
    head["outputs"]["splunkWebhookUrl"] = "https://prod.logic.azure.com/x?sig=PLAINSIG"
    head["policies"] = []  # the head's own code claims all is well
    return base, head


def test_an_output_that_stops_being_secret_is_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, head = _secret_output_pair()
    b, h = write(tmp_path / "b.json", base), write(tmp_path / "h.json", head)
    out = tmp_path / "d.json"
    rc = main(["diff", str(b), str(h), "--json", str(out), "--fail-on-mandatory"])
    stdout = capsys.readouterr().out
    assert rc == 1
    (stack,) = json.loads(out.read_text())["stacks"]
    assert stack["changed"] and stack["outputChanges"] == [
        {"output": "splunkWebhookUrl", "change": "changed", "baseSecret": True, "headSecret": False}]
    flagged = {p["policy"] for p in stack["policies"] if p["level"] == "mandatory"}
    # Both: the diff's own secretness check and the base rules' webhook rule, whatever HEAD reported.
    assert {"outputs-stay-secret", "webhook-url-secret-output"} <= flagged
    assert "PLAINSIG" not in stdout and "PLAINSIG" not in out.read_text().replace(
        json.dumps(head["outputs"]["splunkWebhookUrl"]), "")
    row = next(ln for ln in stdout.splitlines() if ln.startswith("| `splunkWebhookUrl` |"))
    assert "| yes | no |" in row and "stopped being secret" in row


def test_nested_secret_outputs_are_compared_by_path() -> None:
    base = {"stack": "s", "resources": [], "outputs": {"splunk": {"dcrId": "x", "key": "[secret]"}}}
    head = {"stack": "s", "resources": [], "outputs": {"splunk": {"dcrId": "x", "key": "LEAKED-VALUE"}}}
    (finding,) = diff.output_findings(base, head)
    assert "`splunk.key`" in finding["message"] and "LEAKED-VALUE" not in finding["message"]
    assert diff.output_findings(base, base) == []
    # Removing an output is not a leak.
    assert diff.output_findings(base, {"stack": "s", "resources": [], "outputs": {}}) == []


def test_head_guardrail_results_are_recomputed_not_trusted() -> None:
    base = example_manifest("contoso")
    head = copy.deepcopy(base)
    definition = next(r for r in head["resources"] if r["type"].endswith("RegistrationDefinition"))
    definition["inputs"]["properties"]["authorizations"][0]["roleDefinitionId"] = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    head["policies"] = []  # HEAD's weakened code reported nothing
    (stack,) = diff.diff_sides({"contoso": base}, {"contoso": head})
    assert "lighthouse-delegable-roles" in {p["policy"] for p in stack["policies"] if p["level"] == "mandatory"}


def test_a_branch_that_weakens_a_rule_and_exports_the_webhook_url_plain(tmp_path: Path) -> None:
    """As the PR workflow runs it: the base checkout's `mssp diff BASE HEAD`, with HEAD planned in a worktree."""
    repo = copy_project(tmp_path / "project")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    rules_py = repo / "policies" / "rules.py"
    text = rules_py.read_text()
    assert "def check_webhook_outputs(" in text
    rules_py.write_text(text.replace("def check_webhook_outputs(", "def check_webhook_outputs(*_args, **_kw):\n"
                                     "    return []\n\n\ndef _disabled(", 1))
    webhook = repo / "components" / "splunk" / "webhook.py"
    webhook.write_text(webhook.read_text().replace("pulumi.Output.secret(callback.value)", "callback.value"))
    git(repo, "commit", "-q", "-am", "harmless refactoring")
    out_md, out_json = tmp_path / "d.md", tmp_path / "d.json"
    rc = main(["diff", "HEAD~1", "HEAD", "--repo", str(repo), "--markdown", str(out_md), "--json", str(out_json),
               "--fail-on-mandatory"])
    assert rc == 1
    report = json.loads(out_json.read_text())
    contoso = next(s for s in report["stacks"] if s["stack"] == "contoso")
    mandatory = {p["policy"] for p in contoso["policies"] if p["level"] == "mandatory"}
    assert {"webhook-url-secret-output", "outputs-stay-secret"} <= mandatory
    assert {f["path"] for f in report["guardrailChanges"]} == {"policies/rules.py"}
    md = out_md.read_text()
    assert "Guardrail change" in md and "policies/rules.py" in md and "def _disabled(" in md


def test_rules_from_another_checkout(tmp_path: Path) -> None:
    """--rules DIR: that checkout's policies/rules.py decides (here one that flags every resource)."""
    rules_tree = tmp_path / "base"
    (rules_tree / "policies").mkdir(parents=True)
    (rules_tree / "policies" / "__init__.py").write_text("")
    (rules_tree / "policies" / "rules.py").write_text(
        "import os\n"
        "def evaluate_manifest(manifest, context):\n"
        "    assert 'ARM_CLIENT_SECRET' not in os.environ\n"
        "    return [{'policy': 'base-only-rule', 'level': 'mandatory', 'urn': r['urn'], 'message': "
        "str(context['workspaceResourceId'])} for r in manifest['resources'][:1]]\n")
    m = example_manifest("fabrikam")
    os.environ["ARM_CLIENT_SECRET"] = "x"
    try:
        (stack,) = diff.diff_sides({"fabrikam": m}, {"fabrikam": m}, rules_tree)
    finally:
        del os.environ["ARM_CLIENT_SECRET"]
    found = [p for p in stack["policies"] if p["policy"] == "base-only-rule"]
    assert len(found) == 1 and found[0]["message"] == "None"  # no platform plan on either side here
    assert sys.executable  # the rules ran under this interpreter, in the other checkout


def test_rules_dir_without_rules_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = write(tmp_path / "m.json", example_manifest("fabrikam"))
    assert main(["diff", str(m), str(m), "--rules", str(tmp_path)]) == 2
    assert "no policies/rules.py" in capsys.readouterr().err
