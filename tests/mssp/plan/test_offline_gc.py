"""run_program collects cyclic garbage less often while the program runs, and restores the thresholds;
it also skips the SDK's source positions, which nothing under the mocks reads, and puts them back.

The thresholds and the SDK's functions are process-wide; a plan must not leave them changed for the
rest of the process (tests, the CLI). docs/benchmarks.md "Scale benchmark" has the measurements that motivate them.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from pulumi.runtime import resource as sdk_resource

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


# A program whose registrations each count the stack walks the SDK makes for them.
COUNTING = (
    "import traceback\nimport pulumi\n\n"
    "walks = []\n"
    "real = traceback.extract_stack\n"
    "traceback.extract_stack = lambda *a, **k: (walks.append(1), real(*a, **k))[1]\n"
    "try:\n"
    "    for i in range(3):\n"
    "        pulumi.CustomResource('test:index:Thing', f'thing-{i}', {'n': i})\n"
    "finally:\n"
    "    traceback.extract_stack = real\n"
    "pulumi.export('walks', len(walks))\n"
)


def test_the_sdk_functions_the_runner_replaces_still_exist():
    # Bug: an SDK upgrade renames them; the runner would then set attributes nobody calls, and every
    # registration would walk the stack again without any test noticing.
    import inspect

    for name in ("_get_stack_trace", "_get_source_position"):
        assert callable(getattr(sdk_resource, name)), name
    source = inspect.getsource(sdk_resource)
    assert source.count("stack_trace = _get_stack_trace()") >= 2  # read_resource and register_resource
    assert "source_position = _get_source_position(stack_trace)" in source


def test_registrations_under_the_runner_walk_no_stack_and_the_sdk_is_restored(tmp_path: Path):
    (tmp_path / "__main__.py").write_text(COUNTING, encoding="utf-8")
    before = sdk_resource._get_stack_trace, sdk_resource._get_source_position
    run = run_program(tmp_path, "no-walk", {}, set())
    assert sorted(r.name for r in run.registrations) == ["thing-0", "thing-1", "thing-2"]
    assert run.outputs["walks"] == 0
    assert (sdk_resource._get_stack_trace, sdk_resource._get_source_position) == before
    # Outside the runner the SDK walks the stack as it always did (so the count above could fail).
    walked = []
    real = sdk_resource.traceback.extract_stack
    sdk_resource.traceback.extract_stack = lambda *a, **k: (walked.append(1), real(*a, **k))[1]
    try:
        sdk_resource._get_stack_trace()
    finally:
        sdk_resource.traceback.extract_stack = real
    assert walked == [1]


def test_the_sdk_is_restored_when_the_program_fails(tmp_path: Path):
    (tmp_path / "__main__.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    before = sdk_resource._get_stack_trace, sdk_resource._get_source_position
    with pytest.raises(Exception, match="boom"):
        run_program(tmp_path, "walk-fail", {}, set())
    assert (sdk_resource._get_stack_trace, sdk_resource._get_source_position) == before
