"""Shared test fixtures: the project directory, offline plans, temp stack files.

Every plan runs the real program under a fresh mock monitor (mssp.plan.offline.run_program sets new mocks
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
    """Every test gets its own empty plan cache (mssp.diff.cache), never the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("plan-cache")
    monkeypatch.setenv("MSSP_PLAN_CACHE", str(folder))
    return folder


@pytest.fixture
def project_dir() -> Path:
    return PROJECT_DIR


@functools.cache
def _cached_manifest_json(stack: str) -> str:
    from mssp.plan.command import build_manifest

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


# The ITSM credential as the secret key `pulumi config set --secret itsmCredential <value>` writes it. The
# example platform stack cannot ship such a value (only that stack's secrets provider decrypts it, and the
# real CLI refuses ciphertext it cannot decrypt), so it takes the credential from Key Vault; tests of the
# secret-key form build that variant themselves. The ciphertext is a stand-in: the offline plan never
# decrypts (it plans with "[secret]").
ITSM_CREDENTIAL_KEY = "mssp-sentinel:itsmCredential"
ITSM_SECRET_PLACEHOLDER = {"secure": "v1:b2ZmbGluZQ==:cGxhY2Vob2xkZXI="}


def with_itsm_secret_credential(doc: dict[str, Any]) -> dict[str, Any]:
    """The example platform stack's document (mutated in place) with the ITSM credential as the secret key
    itsmCredential instead of the example's Key Vault secret (`platform.itsm.credential`)."""
    config = doc["config"]
    itsm = config["mssp-sentinel:platform"]["itsm"]
    del itsm["credential"]  # a KeyError here: the example no longer uses Key Vault, revisit the variant
    assert ITSM_CREDENTIAL_KEY not in config
    config[ITSM_CREDENTIAL_KEY] = dict(ITSM_SECRET_PLACEHOLDER)
    return doc


def itsm_secret_stack_doc() -> dict[str, Any]:
    """A fresh copy of the example platform stack with the ITSM credential as the secret key."""
    return with_itsm_secret_credential(copy.deepcopy(read_stack("mssp")))


@pytest.fixture(scope="session")
def itsm_secret_stack_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The secret-key variant of the example platform stack, written once per session (read it, don't edit it)."""
    path = tmp_path_factory.mktemp("itsm-secret-credential") / "Pulumi.mssp.yaml"
    path.write_text(yaml.safe_dump(itsm_secret_stack_doc(), sort_keys=False))
    return path


@pytest.fixture(scope="session")
def _itsm_secret_manifest_json(itsm_secret_stack_file: Path) -> str:
    from mssp.plan.command import build_manifest

    return json.dumps(build_manifest("mssp", PROJECT_DIR, itsm_secret_stack_file))


@pytest.fixture
def itsm_secret_manifest(_itsm_secret_manifest_json: str) -> dict[str, Any]:
    """The offline plan of the secret-key variant (planned once per session, a fresh copy per test)."""
    return json.loads(_itsm_secret_manifest_json)


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
