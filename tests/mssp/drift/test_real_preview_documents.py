"""`mssp drift --from-json` on documents the real Pulumi CLI printed (tests/fixtures/preview/real/, made by
tests/realcli/record_fixtures.py; INDEX.json says which command, CLI version and language host made each).

They are the runs that can happen on this project's machines: a preview that stopped at the missing
language host (the CLI prints `{}`), or that ran the program under the real engine until the first
provider plugin was missing. Each is a failed run: drift must say "error" (exit 1), never "clean" (0)
or "drift" (3). The hand-shaped documents next to them (clean, replace, ...) model runs that need the
provider plugins, which cannot be had here; their shape is pulumi/pulumi's JSON display.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "preview" / "real"
INDEX = json.loads((REAL / "INDEX.json").read_text(encoding="utf-8"))
PREVIEWS = sorted(name for name in INDEX if name != "numbers")


def test_the_index_names_every_fixture_and_its_command() -> None:
    # Bug: a fixture nobody can trace to the command that made it.
    assert {p.stem for p in REAL.glob("*.json")} - {"INDEX"} == set(INDEX)
    for entry in INDEX.values():
        assert entry["command"].startswith("pulumi preview ") and entry["cliVersion"]
    # Both kinds of run are kept: without a language host, and into the program with one.
    assert {INDEX[n]["languageHost"] for n in PREVIEWS} == {True, False}


@pytest.mark.parametrize("name", PREVIEWS)
def test_a_real_failed_preview_is_an_error_never_clean(name: str, run_cli, tmp_path: Path) -> None:
    stack = name.split("-", 1)[0]
    code, out, err = run_cli(["drift", stack, "--from-json", str(REAL / f"{name}.json"),
                              "--json", str(tmp_path / "drift.json")])
    assert code == 1, out + err
    assert "Traceback" not in err
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["status"] == "error" and report["exitCode"] == 1
    if INDEX[name]["languageHost"]:
        # The reason is the engine's own: the provider plugin that could not be loaded.
        assert "no resource plugin 'pulumi-resource-azure" in out + err


@pytest.mark.parametrize("name", [n for n in PREVIEWS if INDEX[n]["languageHost"]])
def test_the_program_reached_the_provider_boundary_in_each_recorded_run(name: str) -> None:
    # The recorded runs themselves: the program ran and stopped on a provider plugin, nothing else.
    doc = json.loads((REAL / f"{name}.json").read_text())
    errors = [d["message"] for d in doc["diagnostics"] if d.get("severity") == "error"]
    assert errors and all("no resource plugin 'pulumi-resource-azure" in m for m in errors), errors
    assert not any("invalid configuration" in d.get("message", "") for d in doc["diagnostics"])
