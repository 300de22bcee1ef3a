"""Every subcommand has a one-line description and lists its exit codes in `--help`; `./dev --help` shows `./dev test`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mssp import cli

PROJECT_DIR = Path(__file__).resolve().parents[2]


def subcommands() -> dict[str, object]:
    parser = cli.build_parser()
    (action,) = [a for a in parser._actions if a.dest == "command"]
    return dict(action.choices)


def test_every_registered_command_has_a_description_and_exit_codes():
    names = set(subcommands())
    assert names == set(cli.COMMANDS), "a command without its entry in mssp.cli.COMMANDS (or an entry without a command)"
    for name, (line, codes) in cli.COMMANDS.items():
        assert "\n" not in line and line.endswith(".") and len(line) < 110, name
        assert codes.startswith("0 "), f"{name}: exit codes start with the success code"


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_subcommand_help_shows_its_description_and_exit_codes(name, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([name, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    line, codes = cli.COMMANDS[name]
    assert line in out
    assert f"exit codes: {codes}" in " ".join(out.split())
    assert str(cli.INTERNAL_ERROR) in out


def test_top_level_help_lists_every_command_with_its_exit_codes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name, (line, codes) in cli.COMMANDS.items():
        assert " ".join(line.split()) in out and codes in out, name


def test_dev_help_shows_dev_test():
    proc = subprocess.run([str(PROJECT_DIR / "dev"), "--help"], cwd=PROJECT_DIR, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "./dev test" in proc.stdout and "python -m mssp" in proc.stdout


def test_running_one_command_imports_only_that_commands_module() -> None:
    # Bug: every command module (and its imports) loaded for every run, a fixed cost on each plan.
    probe = ("import sys; from mssp.cli import build_parser; build_parser('plan'); "
             "print(' '.join(sorted(m for m in sys.modules if m.startswith('mssp.'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2]).stdout.split()
    assert "mssp.plan.command" in loaded
    others = [m for m in cli.COMMAND_MODULES.values() if m != "mssp.plan.command"]
    assert not [m for m in others if m in loaded], loaded
