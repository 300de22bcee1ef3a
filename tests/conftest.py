"""Shared test fixtures: the project directory, offline plans, temp stack files.

Every plan runs the real program under a fresh mock monitor (mssp.offline.run_program sets new mocks
and a new root stack per run), so tests never share Pulumi state.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _private_plan_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty plan cache (mssp.review.cache), never the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("plan-cache")
    monkeypatch.setenv("MSSP_PLAN_CACHE", str(folder))
    return folder


@pytest.fixture
def project_dir() -> Path:
    return PROJECT_DIR


@functools.cache
def _cached_manifest_json(stack: str) -> str:
    from mssp.plan import build_manifest

    return json.dumps(build_manifest(stack, PROJECT_DIR))


def example_manifest(stack: str) -> dict[str, Any]:
    """The offline plan of an example stack (planned once per session, a fresh copy per call)."""
    return json.loads(_cached_manifest_json(stack))


@pytest.fixture
def manifest() -> Callable[[str], dict[str, Any]]:
    return example_manifest


def read_stack(name: str) -> dict[str, Any]:
    return yaml.safe_load((PROJECT_DIR / "stacks" / f"Pulumi.{name}.yaml").read_text())


@pytest.fixture
def stack_doc() -> Callable[[str], dict[str, Any]]:
    """A deep copy of an example stack file's document, to mutate into a bad one."""
    return lambda name: copy.deepcopy(read_stack(name))


@pytest.fixture
def write_stack(tmp_path: Path) -> Callable[..., Path]:
    def write(doc: dict[str, Any], name: str = "custom") -> Path:
        path = tmp_path / f"Pulumi.{name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return write


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], tuple[int, str, str]]:
    """Run `python -m mssp ...` in-process; returns (exit code, stdout, stderr)."""
    from mssp.cli import main

    def run(argv: list[str]) -> tuple[int, str, str]:
        code = main(argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run


PROJECT_PARTS = ("components", "mssp", "policies", "stacks", "__main__.py", "Pulumi.yaml")


def copy_project(dest: Path, parts: tuple[str, ...] = PROJECT_PARTS) -> Path:
    """A copy of the project's program, planner and stacks (for tests that commit to a fresh repository)."""
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    for part in parts:
        src = PROJECT_DIR / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / part)
    return dest


def by_type(manifest: dict[str, Any], type_token: str) -> list[dict[str, Any]]:
    return [r for r in manifest["resources"] if r["type"] == type_token]
