"""`python -m mssp drift`: exit codes, reports, the real subprocess path and the scheduled workflow.

Preview documents come from tests/fixtures/preview/ (shape: pulumi/pulumi
sdk/go/common/display/json.go; see the README there). The subprocess tests put a fake `pulumi`
executable first on PATH: it prints a saved document and exits with the code a real CLI would
(255 for everything on older CLIs, 7 for --expect-no-changes with changes on newer ones), so
mssp.drift.command's own code runs end to end: PATH lookup, arguments, capture, exit-code reading.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mssp import cli
from mssp.drift import command as drift
from mssp.drift import preview_json as pj

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "preview"
WORKFLOW = REPO / ".github" / "workflows" / "drift.yml"


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """mssp.cli.main with only the drift command registered (other commands may not exist in this branch)."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", {"drift": "mssp.drift.command"})

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(["drift", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def test_drift_is_a_registered_command() -> None:
    assert cli.COMMAND_MODULES["drift"] == "mssp.drift.command"


# --- --from-json ----------------------------------------------------------------------------------


def test_clean_preview_exits_0(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    code, out, err = run_cli("contoso", "--from-json", fixture("clean.json"), "--json", str(tmp_path / "r.json"))
    assert code == 0
    assert "**Status: clean**" in out
    assert err == ""
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["status"], report["exitCode"], report["resources"]) == ("clean", 0, [])


def test_update_and_delete_exit_3_naming_both(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    md, js = tmp_path / "out" / "contoso.md", tmp_path / "out" / "contoso.json"
    code, out, _ = run_cli(
        "contoso", "--from-json", fixture("update_and_delete.json"), "--markdown", str(md), "--json", str(js)
    )
    assert code == 3
    assert "**Status: drift**" in out
    assert "## Deleted outside Pulumi (1)" in out
    assert "**diag-nsg-nsg-web-1cc89a6a** `azure-native:monitor:DiagnosticSetting`: operation `create`" in out
    assert "## Changed (1)" in out
    assert "**diag-kv-kv-contoso-prod-07afbe9d** `azure-native:monitor:DiagnosticSetting`: operation `update`" in out
    assert '`logs[0].categoryGroup` (update): Azure `"allLogs"`, program `"audit"`' in out
    assert "`metrics` (add)" in out
    assert md.read_text() == out  # the file holds exactly what was printed

    report = json.loads(js.read_text())
    assert report["status"] == "drift" and report["exitCode"] == 3
    assert report["summary"]["deleted"] == 1 and report["summary"]["changed"] == 1
    by_name = {r["name"]: r for r in report["resources"]}
    assert by_name["diag-nsg-nsg-web-1cc89a6a"]["operation"] == "create"
    assert by_name["diag-kv-kv-contoso-prod-07afbe9d"]["urn"].endswith("::diag-kv-kv-contoso-prod-07afbe9d")
    assert [p["path"] for p in by_name["diag-kv-kv-contoso-prod-07afbe9d"]["properties"]] == [
        "logs[0].categoryGroup",
        "metrics",
    ]


def test_delete_step_is_drift(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    # The same preview with the out-of-band delete replaced by a plain `delete` step.
    doc = json.loads((FIXTURES / "update_and_delete.json").read_text())
    for s in doc["steps"]:
        if s["op"] == "create":
            s.update(op="delete", oldState={**s["newState"], "id": "/subscriptions/x/diag"})
            del s["newState"]
    doc["changeSummary"] = {"delete": 1, "update": 1, "same": 5}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    code, out, _ = run_cli("contoso", "--from-json", str(path))
    assert code == 3
    assert "**diag-nsg-nsg-web-1cc89a6a** `azure-native:monitor:DiagnosticSetting`: operation `delete`" in out
    assert "**diag-kv-kv-contoso-prod-07afbe9d**" in out


def test_replace_exits_3_with_its_reasons(run_cli: Callable[..., tuple[int, str, str]]) -> None:
    code, out, _ = run_cli("contoso", "--from-json", fixture("replace.json"))
    assert code == 3
    assert "## Would be replaced (1)" in out
    assert "replaced because of: `resourceUri`" in out


def test_removed_delegation(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    code, out, _ = run_cli("contoso", "--from-json", fixture("delegation_removed.json"), "--json", str(tmp_path / "r"))
    assert code == 3
    assert "## Lighthouse delegations removed (1)" in out
    report = json.loads((tmp_path / "r").read_text())
    assert report["summary"]["delegation-removed"] == 1
    assert report["resources"][0]["delegation"] is True


def test_secrets_stay_secret_in_every_output(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "secrets.json").read_text())
    # Also a secret in signature form with its plaintext, which Pulumi's --json never prints but a
    # hand-made document might: it must not leak either.
    (update,) = [s for s in doc["steps"] if s["op"] == "update"]
    plaintext = "splunk-hec-token-0f9e8d7c"
    update["oldState"]["inputs"]["parameters"] = {
        pj.SECRET_SIG_KEY: pj.SECRET_SIG,
        "plaintext": json.dumps({"splunkToken": {"value": plaintext}}),
    }
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps(doc))
    md, js = tmp_path / "r.md", tmp_path / "r.json"
    code, out, err = run_cli("contoso", "--from-json", str(path), "--markdown", str(md), "--json", str(js))
    assert code == 3
    assert '`parameters.splunkToken.value` (update): Azure `"[secret]"`, program `"[secret]"`' in out
    assert '`state` (update): Azure `"Disabled"`, program `"Enabled"`' in out
    for text in (out, err, md.read_text(), js.read_text()):
        assert plaintext not in text


def test_error_diagnostic_exits_1(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    code, out, err = run_cli("contoso", "--from-json", fixture("failed.json"), "--json", str(tmp_path / "r.json"))
    assert code == 1
    assert "**Status: error**" in out
    assert "**Status: drift**" not in out and "**Status: clean**" not in out
    assert re.search(r"^error: diag-kv-kv-contoso-prod-07afbe9d .*AuthorizationFailed", err, re.MULTILINE)
    assert "Traceback" not in err
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["status"], report["exitCode"]) == ("error", 1)
    assert report["hints"] == [drift.ACCESS_HINT]


def test_error_diagnostic_wins_over_changes(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "update_and_delete.json").read_text())
    doc["diagnostics"] = [{"message": "error: preview failed\n", "severity": "error"}]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    code, out, _ = run_cli("contoso", "--from-json", str(path))
    assert code == 1
    assert "the changes below may be incomplete" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"not the output of `pulumi preview --json`: missing 'steps' and 'changeSummary'"),
        ("this is not json", r"error: not JSON"),
        ('{"steps": [], "changeSummary": {"update": "one"}}', r"changeSummary\['update'\]"),
        ("[1, 2]", r"JSON list"),
    ],
)
def test_not_a_pulumi_preview_exits_1(
    run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path, content: str | None, message: str
) -> None:
    path = FIXTURES / "not_pulumi.json" if content is None else tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    report = tmp_path / "r.json"
    code, _, err = run_cli("contoso", "--from-json", str(path), "--json", str(report))
    assert code == 1
    assert re.search(message, err)
    assert "Traceback" not in err
    assert json.loads(report.read_text())["status"] == "error"


def test_unreadable_file_exits_1(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    code, _, err = run_cli("contoso", "--from-json", str(tmp_path / "nope.json"))
    assert code == 1
    assert "cannot read" in err


def test_unattributed_changes_are_drift(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "clean.json").read_text())
    doc["changeSummary"] = {"same": 5, "update": 2}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    code, out, _ = run_cli("contoso", "--from-json", str(path))
    assert code == 3
    assert "## Changes Pulumi counted but did not list" in out


def test_reports_are_deterministic(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        js = tmp_path / f"{i}.json"
        _, out, _ = run_cli("contoso", "--from-json", fixture("update_and_delete.json"), "--json", str(js))
        outs.append((out, js.read_text()))
    assert outs[0] == outs[1]


def test_markdown_escapes_names_and_values() -> None:
    report = drift.build_report(
        "contoso",
        {"kind": "file", "path": "p.json"},
        pj.classify(
            pj.parse(
                {
                    "steps": [
                        {
                            "op": "update",
                            "urn": "urn:pulumi:contoso::mssp-sentinel::azure-native:monitor:DiagnosticSetting::a*b|c",
                            "newState": {"inputs": {"name": "x`y\nz"}},
                            "detailedDiff": {"name": {"kind": "update", "inputDiff": True}},
                        }
                    ],
                    "changeSummary": {"update": 1},
                }
            )
        ),
        drift.Assessment(),
        None,
    )
    md = drift.render_markdown(report)
    assert "**a\\*b\\|c**" in md
    assert 'program `` "x`y\\nz" ``' in md  # a backtick in a value widens the code span


def test_python_dash_m_mssp_drift_end_to_end(tmp_path: Path) -> None:
    # The whole CLI as users run it, every command module registered: exit codes reach the shell.
    for name, expected in (("clean.json", 0), ("update_and_delete.json", 3), ("not_pulumi.json", 1)):
        proc = subprocess.run(
            [sys.executable, "-m", "mssp", "drift", "contoso", "--from-json", fixture(name)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == expected, (name, proc.stderr)
        assert "Traceback" not in proc.stderr


# --- the subprocess path with a fake `pulumi` ------------------------------------------------------

FAKE_PULUMI = """#!{python}
# A stand-in for the Pulumi CLI: prints a saved `pulumi preview --json` document, echoes stderr text,
# records how it was called, and exits with the code a real CLI would use.
import json, os, sys, time
with open(os.environ["FAKE_PULUMI_CALLS"], "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
time.sleep(float(os.environ.get("FAKE_PULUMI_SLEEP", "0")))
if os.environ.get("FAKE_PULUMI_STDOUT"):
    with open(os.environ["FAKE_PULUMI_STDOUT"]) as f:
        sys.stdout.write(f.read())
sys.stderr.write(os.environ.get("FAKE_PULUMI_STDERR", ""))
sys.exit(int(os.environ.get("FAKE_PULUMI_EXIT", "0")))
"""


@pytest.fixture
def fake_pulumi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Path]:
    """Install a fake `pulumi` first on PATH; returns the file its calls are recorded in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "pulumi"
    exe.write_text(FAKE_PULUMI.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_PULUMI_CALLS", str(calls))

    def configure(stdout: str | None, exit_code: int, stderr: str = "", sleep: float = 0) -> Path:
        monkeypatch.setenv("FAKE_PULUMI_STDOUT", fixture(stdout) if stdout else "")
        monkeypatch.setenv("FAKE_PULUMI_EXIT", str(exit_code))
        monkeypatch.setenv("FAKE_PULUMI_STDERR", stderr)
        monkeypatch.setenv("FAKE_PULUMI_SLEEP", str(sleep))
        return calls

    return configure


OLD_CLI_DRIFT = "error: no changes were expected but changes were proposed\n"


@pytest.mark.parametrize(
    ("stdout", "exit_code", "stderr", "expected"),
    [
        ("clean.json", 0, "", 0),
        ("update_and_delete.json", 7, "error: no changes were expected but changes occurred\n", 3),  # newer CLI
        ("update_and_delete.json", 255, OLD_CLI_DRIFT, 3),  # older CLI: 255 for everything
        ("delegation_removed.json", 255, OLD_CLI_DRIFT, 3),
        # An error never reads as clean or drift, whatever the JSON says:
        ("clean.json", 255, "error: failed to load plugin azure-native\n", 1),
        ("update_and_delete.json", 255, "error: an unhandled error occurred\n", 1),
        ("update_and_delete.json", 5, "error: policy violation\n", 1),
        ("failed.json", 255, "error: preview failed\n", 1),
        ("failed.json", 7, "", 1),
    ],
)
def test_real_code_path_with_fake_pulumi(
    run_cli: Callable[..., tuple[int, str, str]],
    fake_pulumi: Callable[..., Path],
    tmp_path: Path,
    stdout: str,
    exit_code: int,
    stderr: str,
    expected: int,
) -> None:
    calls = fake_pulumi(stdout, exit_code, stderr)
    report = tmp_path / "r.json"
    code, out, err = run_cli("contoso", "--json", str(report))
    assert code == expected
    assert json.loads(report.read_text())["status"] == {0: "clean", 3: "drift", 1: "error"}[expected]
    (call,) = [json.loads(line) for line in calls.read_text().splitlines()]
    assert call["argv"][:4] == ["preview", "--refresh", "--expect-no-changes", "--json"]
    assert call["argv"][-2:] == ["--stack", "contoso"]
    assert "--show-replacement-steps" in call["argv"]
    assert Path(call["cwd"]) == drift.PROJECT_DIR
    assert f"pulumi exit code {exit_code}" in out
    for line in stderr.splitlines():
        assert f"pulumi: {line}" in err  # pulumi's own messages stay visible, marked as pulumi's


def test_new_cli_drift_without_steps_is_unattributed_drift(
    run_cli: Callable[..., tuple[int, str, str]], fake_pulumi: Callable[..., Path]
) -> None:
    fake_pulumi("clean.json", 7)
    code, out, _ = run_cli("contoso")
    assert code == 3
    assert "pulumi reported changes (exit code 7) that its JSON does not list" in out


def test_failure_before_any_json(
    run_cli: Callable[..., tuple[int, str, str]], fake_pulumi: Callable[..., Path]
) -> None:
    fake_pulumi(None, 6, "error: no stack named 'contoso' found\n")
    code, _, err = run_cli("contoso")
    assert code == 1
    assert "pulumi preview failed with exit code 6 (stack not found)" in err
    assert "no stack named 'contoso' found" in err


def test_org_qualified_stack_is_passed_through(
    run_cli: Callable[..., tuple[int, str, str]], fake_pulumi: Callable[..., Path]
) -> None:
    calls = fake_pulumi("clean.json", 0)
    code, _, _ = run_cli("acme-mssp/contoso")
    assert code == 0
    assert json.loads(calls.read_text())["argv"][-2:] == ["--stack", "acme-mssp/contoso"]


def test_timeout_is_an_error(run_cli: Callable[..., tuple[int, str, str]], fake_pulumi: Callable[..., Path]) -> None:
    fake_pulumi("clean.json", 0, sleep=60)
    code, _, err = run_cli("contoso", "--timeout", "1")
    assert code == 1
    assert "did not finish within 1 seconds" in err


def test_pulumi_not_on_path(
    run_cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    report = tmp_path / "r.json"
    code, _, err = run_cli("contoso", "--json", str(report))
    assert code == 1
    assert "the Pulumi CLI (`pulumi`) is not on PATH" in err
    assert "--from-json" in err
    assert json.loads(report.read_text())["status"] == "error"


def test_unknown_stack_is_an_error_before_pulumi_runs(
    run_cli: Callable[..., tuple[int, str, str]], fake_pulumi: Callable[..., Path]
) -> None:
    calls = fake_pulumi("clean.json", 0)
    code, _, err = run_cli("nosuchcustomer")
    assert code == 2  # a usage error, as with --settings (issue #23), not "the check could not decide"
    assert "no stack file" in err and "contoso" in err  # names the stacks that exist
    assert not calls.exists()


# --- --discover -----------------------------------------------------------------------------------


@pytest.fixture
def fake_discover(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], list[tuple[str, Path]]]:
    """Stand in for mssp.discover.command.coverage_drift (written by another helper); records its calls."""

    def install(result: Any) -> list[tuple[str, Path]]:
        calls: list[tuple[str, Path]] = []

        def coverage_drift(stack: str, project_dir: Path) -> list[dict[str, str]]:
            calls.append((stack, project_dir))
            if isinstance(result, Exception):
                raise result
            return result

        module = types.ModuleType("mssp.discover.command")
        module.coverage_drift = coverage_drift  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "mssp.discover.command", module)
        return calls

    return install


UNCOVERED = [
    {
        "id": "/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/resourceGroups/rg-new/providers/Microsoft.KeyVault/vaults/kv-new",
        "type": "Microsoft.KeyVault/vaults",
        "reason": "not in the inventory",
    }
]


def test_discover_reports_uncovered_resources(
    run_cli: Callable[..., tuple[int, str, str]], fake_discover: Callable[[Any], list[Any]], tmp_path: Path
) -> None:
    calls = fake_discover(UNCOVERED)
    report = tmp_path / "r.json"
    code, out, _ = run_cli("contoso", "--from-json", fixture("clean.json"), "--discover", "--json", str(report))
    assert code == 3
    assert calls == [("contoso", drift.PROJECT_DIR)]
    assert "## Not covered: in scope but not in the inventory (1)" in out
    assert "kv-new" in out
    data = json.loads(report.read_text())
    assert data["coverage"] == UNCOVERED and data["summary"]["uncovered"] == 1


def test_discover_with_full_coverage_is_clean(
    run_cli: Callable[..., tuple[int, str, str]], fake_discover: Callable[[Any], list[Any]]
) -> None:
    fake_discover([])
    code, out, _ = run_cli("contoso", "--from-json", fixture("clean.json"), "--discover")
    assert code == 0
    assert "Every in-scope resource is in the inventory." in out


def test_discover_failure_is_an_error(
    run_cli: Callable[..., tuple[int, str, str]], fake_discover: Callable[[Any], list[Any]]
) -> None:
    fake_discover(RuntimeError("Resource Graph answered 403 for subscription 3c8d0e5f"))
    code, _, err = run_cli("contoso", "--from-json", fixture("clean.json"), "--discover")
    assert code == 1
    assert "coverage check failed: RuntimeError: Resource Graph answered 403" in err


def test_discover_unavailable_is_an_error(
    run_cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mssp.discover.command", None)  # makes the import fail
    code, _, err = run_cli("contoso", "--from-json", fixture("clean.json"), "--discover")
    assert code == 1
    assert "--discover needs mssp.discover.command.coverage_drift" in err


def test_without_discover_coverage_is_not_checked(
    run_cli: Callable[..., tuple[int, str, str]], fake_discover: Callable[[Any], list[Any]], tmp_path: Path
) -> None:
    calls = fake_discover(UNCOVERED)
    code, _, _ = run_cli("contoso", "--from-json", fixture("clean.json"), "--json", str(tmp_path / "r"))
    assert code == 0
    assert calls == []
    assert json.loads((tmp_path / "r").read_text())["coverage"] is None


# --- the scheduled workflow -----------------------------------------------------------------------


def _workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def _run_scripts(workflow: dict[Any, Any]) -> list[str]:
    return [s["run"] for job in workflow["jobs"].values() for s in job.get("steps", []) if "run" in s]


def test_workflow_runs_settings_daily_and_the_full_preview_weekly_and_on_demand() -> None:
    wf = _workflow()
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert "workflow_dispatch" in triggers
    assert triggers["workflow_dispatch"]["inputs"]["mode"]["default"] == "full"
    daily, weekly = triggers["schedule"]
    minute, hour, day, month, weekday = daily["cron"].split()
    assert (day, month, weekday) == ("*", "*", "*") and minute.isdigit() and hour.isdigit()
    assert weekly["cron"].split()[2:] == ["*", "*", "0"]
    drift_job = next(j for j in wf["jobs"].values() if "strategy" in j)
    mode = drift_job["env"]["MODE"]
    # The daily cron (and only it) selects the settings check.
    assert f"github.event.schedule == '{daily['cron']}' && 'settings'" in mode and "|| 'full'" in mode
    scripts = "\n".join(_run_scripts(wf))
    assert 'mssp drift "$STACK" --settings' in scripts


def test_workflow_matrix_covers_every_stack_file() -> None:
    wf = _workflow()
    drift_job = next(j for j in wf["jobs"].values() if "strategy" in j)
    assert "fromJSON(needs." in str(drift_job["strategy"]["matrix"])
    assert drift_job["strategy"]["fail-fast"] is False
    lister = "\n".join(s for s in _run_scripts(wf) if "Pulumi." in s)
    assert "stacks/Pulumi." in lister  # the list comes from the stack files


def test_workflow_uses_oidc_and_no_secret_in_the_file() -> None:
    wf = _workflow()
    text = WORKFLOW.read_text()
    drift_job = next(j for j in wf["jobs"].values() if "strategy" in j)
    assert drift_job["permissions"]["id-token"] == "write"
    env = drift_job["env"]
    assert env["ARM_USE_OIDC"] == "true"
    for name in ("ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID"):
        assert env[name].startswith("${{ vars."), name
    # The Pulumi token for drift, and the plan cache's signing key for the plan-cache job (offline).
    assert set(re.findall(r"secrets\.(\w+)", text)) == {"PULUMI_ACCESS_TOKEN", "MSSP_PLAN_CACHE_SIGNING_KEY"}
    assert "secrets." not in yaml.safe_dump(env)  # only on the steps that need it
    assert not re.search(r"(?i)client[-_]?secret", text)


def test_workflow_only_previews_and_only_calls_existing_commands() -> None:
    scripts = "\n".join(_run_scripts(_workflow()))
    text = WORKFLOW.read_text()
    commands = re.findall(r"python -m mssp (\w+)", scripts)
    assert "drift" in commands
    parser = cli.build_parser()
    known = set(next(a for a in parser._actions if a.dest == "command").choices)
    assert set(commands) <= known
    # Never applies anything: no up/refresh/destroy/import, no state edits.
    assert not re.search(r"pulumi\s+(up|update|refresh|destroy|import|state|cancel)\b", text)
    assert "--yes" not in text and "--skip-preview" not in text
    uses = [s.get("uses", "") for j in _workflow()["jobs"].values() for s in j.get("steps", [])]
    pulumi_action = [u for u in uses if u.startswith("pulumi/actions")]
    assert pulumi_action, "installs the Pulumi CLI with pulumi/actions"
    for job in _workflow()["jobs"].values():
        for s in job.get("steps", []):
            if s.get("uses", "").startswith("pulumi/actions"):
                assert "command" not in s.get("with", {})  # install only


def test_workflow_uploads_reports_and_keeps_one_issue_per_stack() -> None:
    text = WORKFLOW.read_text()
    assert "actions/upload-artifact" in text
    assert "gh issue list" in text and "gh issue create" in text and "gh issue edit" in text
    wf = _workflow()
    drift_job = next(j for j in wf["jobs"].values() if "strategy" in j)
    assert drift_job["permissions"]["issues"] == "write"
