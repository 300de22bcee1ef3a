"""run_program collects cyclic garbage less often while the program runs, and restores the thresholds.

The thresholds are process-wide; a plan must not leave them changed for the rest of the process
(tests, the CLI). README "Scale benchmark" has the measurement that motivates them.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from mssp.plan.offline import PLAN_GC_THRESHOLDS, run_program

# A program that reports, as a stack output, the thresholds it ran under.
PROGRAM = "import gc\nimport pulumi\n\npulumi.export('gcThresholds', list(gc.get_threshold()))\n"


def test_program_runs_under_plan_thresholds_and_they_are_restored(tmp_path: Path):
    (tmp_path / "__main__.py").write_text(PROGRAM, encoding="utf-8")
    before = gc.get_threshold()
    assert before != PLAN_GC_THRESHOLDS
    run = run_program(tmp_path, "gc-check", {}, set())
    assert run.outputs["gcThresholds"] == list(PLAN_GC_THRESHOLDS)
    assert gc.get_threshold() == before


def test_thresholds_are_restored_when_the_program_fails(tmp_path: Path):
    (tmp_path / "__main__.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    before = gc.get_threshold()
    # The SDK may wrap the program's error; either way it propagates, with its message.
    with pytest.raises(Exception, match="boom"):
        run_program(tmp_path, "gc-fail", {}, set())
    assert gc.get_threshold() == before


def test_the_runner_names_the_project_and_the_secret_marker_as_the_config_does():
    import subprocess
    import sys

    from components import config
    from mssp.plan import offline

    assert (offline.PROJECT, offline.SECRET) == (config.PROJECT, config.SECRET_PLACEHOLDER)
    # The runner itself imports no config models (the benchmark's floor relies on it).
    code = "import sys, mssp.plan.offline; sys.exit(int('pydantic' in sys.modules or 'components.config' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=120).returncode == 0
