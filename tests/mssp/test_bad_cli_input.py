"""Bad input to the commands themselves: arguments, another stack's preview, inputless manifests, and the
CLI run outside the project's virtual environment. Each says what is wrong and what is allowed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT_DIR

from mssp import cli

FIXTURES = PROJECT_DIR / "tests" / "fixtures" / "preview"


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err and "This is a bug" not in err


@pytest.mark.parametrize(("argv", "code", "expect"), [
    (["plan", "nosuchstack"], 2, "allowed: one of these"),
    (["plan", "contoso", "--config", "/nonexistent/Pulumi.x.yaml"], 2, "allowed: a stack file"),
    (["template", "mssp", "--out", "/tmp/mssp-template-never"], 2, "allowed: a customer stack"),
    (["template", "fabrikam", "--out", "/tmp/mssp-template-never", "--mssp-principal-id", "x" * 5000], 2,
     "allowed: the platform output servicePrincipalObjectId"),
    (["discover", "mssp"], 2, "allowed: a customer stack"),
    (["drift", "nosuchstack"], 2, "allowed: one of these"),
    # Names too long for the file system: still "not found", never OSError.
    (["plan", "s" * 5000], 2, "allowed: one of these"),
    (["plan", "x", "--config", "/tmp/" + "c" * 5000], 2, "allowed: a stack file"),
    (["template", "s" * 5000, "--out", "/tmp/mssp-template-never"], 2, "allowed: one of these"),
    (["drift", "s" * 5000], 2, "allowed: one of these"),
])
def test_bad_arguments_name_what_is_allowed(run_cli: Any, argv: list[str], code: int, expect: str) -> None:
    got, out, err = run_cli(argv)
    assert got == code, err
    assert expect in err + out
    _no_traceback(err)
    assert "x" * 201 not in err  # a huge argument is cut when echoed


def _other_stacks_preview(tmp_path: Path) -> Path:
    text = (FIXTURES / "clean.json").read_text().replace("urn:pulumi:contoso::", "urn:pulumi:fabrikam::")
    path = tmp_path / "fabrikam-preview.json"
    path.write_text(text)
    return path


def test_drift_refuses_another_stacks_preview(run_cli: Any, tmp_path: Path) -> None:
    path = _other_stacks_preview(tmp_path)
    code, _, err = run_cli(["drift", "contoso", "--from-json", str(path)])
    assert code == 1
    assert "preview of stack 'fabrikam', not of 'contoso'" in err
    assert str(path) in err and "allowed" in err
    _no_traceback(err)
    # The same document is clean for the stack it belongs to.
    code, _, err = run_cli(["drift", "contoso", "--from-json", str(FIXTURES / "clean.json")])
    assert code == 0, err


def test_drift_refuses_a_preview_whose_config_names_another_customer(run_cli: Any, tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "clean.json").read_text())
    doc["steps"] = []  # nothing but the config says whose preview it is
    doc["config"]["mssp-sentinel:customer"] = json.dumps({"name": "fabrikam"})
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(doc))
    code, _, err = run_cli(["drift", "contoso", "--from-json", str(path)])
    assert code == 1 and "preview of stack 'fabrikam'" in err
    _no_traceback(err)


def test_diff_refuses_a_manifest_whose_resources_have_no_inputs(run_cli: Any, tmp_path: Path) -> None:
    manifest = {"stack": "contoso", "resources": [
        {"urn": "urn:pulumi:contoso::mssp-sentinel::azure-native:monitor:DiagnosticSetting::d", "name": "d",
         "type": "azure-native:monitor:DiagnosticSetting"}], "outputs": {}, "policies": []}
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    base.write_text(json.dumps(manifest))
    manifest["resources"][0]["inputs"] = {"name": "mssp-sentinel"}
    head.write_text(json.dumps(manifest))
    code, out, err = run_cli(["diff", str(base), str(head)])
    assert code == 2
    assert "resources[0]" in err and "inputs" in err and "allowed" in err and str(base) in err
    assert "replace" not in out
    _no_traceback(err)


@pytest.mark.parametrize(("module", "code", "expect"), [
    ("pydantic", 2, "'pydantic' is not installed"),  # outside .venv: say how to run it
    ("components.gone", cli.INTERNAL_ERROR, "This is a bug"),  # a project module missing is a bug
])
def test_a_missing_module_is_an_environment_problem_unless_it_is_the_projects(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], module: str, code: int, expect: str) -> None:
    import mssp.plan.command

    def missing(_: Any) -> int:
        raise ModuleNotFoundError(f"No module named '{module}'", name=module)

    monkeypatch.setattr(mssp.plan.command, "run", missing)
    assert cli.main(["plan", "contoso"]) == code
    err = capsys.readouterr().err
    assert expect in err
    if code == cli.WRONG_ENVIRONMENT:
        assert "./dev" in err and ".venv" in err
        _no_traceback(err)


def test_outside_the_virtual_environment_the_cli_says_how_to_run_it() -> None:
    # -S: no site-packages, as with a system Python that lacks the pinned requirements.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([sys.executable, "-S", "-m", "mssp", "plan", "contoso"], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "./dev" in proc.stderr and "source .venv/bin/activate" in proc.stderr
    _no_traceback(proc.stderr)


def test_the_readme_says_how_to_run_python_m_mssp_where_it_first_uses_it() -> None:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    first = readme.index("python -m mssp")
    paragraph_end = readme.index("```", first)
    assert "./dev" in readme[first:paragraph_end] and ".venv" in readme[first:paragraph_end]


@pytest.mark.parametrize("option", ["--json", "--markdown"])
@pytest.mark.parametrize("command", ["plan", "diff"])
def test_an_output_path_that_cannot_be_written_is_a_clear_error(run_cli: Any, tmp_path: Path, command: str,
                                                                 option: str) -> None:
    # Bug: `--json FILE/x.json` where FILE is a file ended in a traceback ("internal error: File exists").
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    if command == "plan":
        argv = ["plan", "contoso", "--quiet"]
    else:
        manifest = tmp_path / "m.json"
        assert run_cli(["plan", "fabrikam", "--json", str(manifest), "--quiet"])[0] == 0
        argv = ["diff", str(manifest), str(manifest)]
    code, _, err = run_cli([*argv, option, str(blocker / "out")])
    assert code == 2, err
    assert f"cannot write {blocker / 'out'}" in err
    _no_traceback(err)


def test_write_output_replaces_a_report_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mssp.errors import UserError
    from mssp.output import write_output

    target = tmp_path / "deep" / "report.md"
    write_output(target, "first\n")
    assert target.read_text() == "first\n"
    # A failed write leaves the earlier report as it was and no temporary file beside it.
    monkeypatch.setattr(Path, "replace", lambda self, other: (_ for _ in ()).throw(OSError(28, "No space left")))
    with pytest.raises(UserError) as info:
        write_output(target, "second\n", 1)
    assert info.value.exit_code == 1 and "No space left" in str(info.value)
    assert target.read_text() == "first\n" and sorted(p.name for p in target.parent.iterdir()) == ["report.md"]


def test_an_out_dir_that_cannot_be_made_is_a_clear_error(run_cli: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = run_cli(["plan", "contoso", "fabrikam", "--out-dir", str(blocker / "d"), "--quiet"])
    assert code == 2 and f"cannot write to --out-dir {blocker / 'd'}" in err
    _no_traceback(err)
