"""Support of the real-CLI tests (fixtures and a workspace): the real Pulumi CLI, run against copies of the project: as far as the provider boundary, no further.

Where the CLI comes from: `scripts/pulumi-cli` (a `pulumi` of the version in .pulumi-version on PATH, or
the one it built from the Go module proxy into a cache outside the repository). `./dev test` runs it
first and passes the folder on in MSSP_PULUMI_BIN_DIR. Without a CLI these tests skip, saying why; under
CI (CI=true) they fail instead, because CI must run them.

The Python language host (`pulumi-language-python`) is needed to run the program under the engine. The
Go module proxy does not serve its module, so it is used only where one is found next to the CLI or in
MSSP_PULUMI_LANGUAGE_HOST_DIR; the tests that need it skip otherwise, with that reason. The tests that
need only the CLI (config, secrets, stack import, config validation of `preview`, the drift input) run
everywhere.

No plugin is ever downloaded (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION), state is a file backend in a
temporary folder, and no Azure or Pulumi Cloud credential reaches the CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
VERSION = (PROJECT_DIR / ".pulumi-version").read_text().strip()
PASSPHRASE = "realcli-test-passphrase"
# What a file backend calls a stack from another project's point of view (organization is fixed).
FILE_BACKEND_ORG = "organization"
LANGUAGE_HOST_MISSING = (
    "no Python language host (pulumi-language-python) next to the Pulumi CLI or in "
    "MSSP_PULUMI_LANGUAGE_HOST_DIR: its Go module github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 "
    "is not served by the Go module proxy here (403 Forbidden, 'This module version is not available'), "
    "so the program cannot run under the engine on this machine"
)
# Where no pulumi-language-python exists (LANGUAGE_HOST_MISSING): testing/bin/pulumi runs the real CLI with
# the Automation API's in-process language host attached through --client (testing/engine_host.py).
IN_PROCESS_HOST = PROJECT_DIR / "testing" / "bin"
# Copied into each workspace: everything the program, the policy pack and `python -m mssp` read.
PROJECT_PARTS = ("Pulumi.yaml", "__main__.py", "components", "mssp", "policies", "stacks")


def _fail_or_skip(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the real-CLI tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pulumi_bin_dir() -> Path:
    configured = os.environ.get("MSSP_PULUMI_BIN_DIR")
    if configured:
        return Path(configured)
    found = subprocess.run([str(PROJECT_DIR / "scripts" / "pulumi-cli"), "--no-build"],
                           capture_output=True, text=True, check=False)
    if found.returncode != 0:
        _fail_or_skip(found.stderr.strip() or "scripts/pulumi-cli found no Pulumi CLI")
    return Path(found.stdout.strip())


def language_host_dir(bin_dir: Path) -> Path:
    """The folder of pulumi-language-python next to the CLI (or in MSSP_PULUMI_LANGUAGE_HOST_DIR); without
    one, IN_PROCESS_HOST: the real CLI with the Automation API's in-process language host (testing/bin/pulumi)."""
    for folder in (os.environ.get("MSSP_PULUMI_LANGUAGE_HOST_DIR"), str(bin_dir)):
        if folder and (Path(folder) / "pulumi-language-python").is_file():
            return Path(folder)
    return IN_PROCESS_HOST


@pytest.fixture(scope="session")
def language_host(pulumi_bin_dir: Path) -> Path:
    """The folder of the Python language host: the real one when it exists, else IN_PROCESS_HOST."""
    return language_host_dir(pulumi_bin_dir)


@dataclass
class Workspace:
    """A copy of the project with its own file backend, Pulumi home and passphrase."""

    root: Path
    env: dict[str, str]
    stacks: set[str] = field(default_factory=set)

    def run(self, *args: str, check: bool = False, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["pulumi", *args], cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def mssp(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """`python -m mssp ...` of this copy (its own PROJECT_DIR), as a user runs it."""
        return subprocess.run([str(PROJECT_DIR / ".venv" / "bin" / "python"), "-m", "mssp", *args], cwd=self.root,
                              env=self.env, capture_output=True, text=True, timeout=timeout, check=False)

    def init(self, stack: str) -> None:
        """`pulumi stack init`: reads stacks/Pulumi.<stack>.yaml (and adds its encryptionsalt to it)."""
        if stack not in self.stacks:
            self.run("stack", "init", stack, check=True)
            self.stacks.add(stack)

    def stack_file(self, stack: str) -> Path:
        return self.root / "stacks" / f"Pulumi.{stack}.yaml"

    def import_platform(self, outputs: dict[str, Any], stack: str = "mssp") -> None:
        """A platform deployment holding `outputs` (the platform's offline plan), via `pulumi stack import`."""
        self.init(stack)
        exported = json.loads(self.run("stack", "export", "-s", stack, check=True).stdout)
        exported["deployment"]["resources"] = [{
            "urn": f"urn:pulumi:{stack}::mssp-sentinel::pulumi:pulumi:Stack::mssp-sentinel-{stack}",
            "custom": False,
            "type": "pulumi:pulumi:Stack",
            "outputs": outputs,
        }]
        path = self.root / f".{stack}-deployment.json"
        path.write_text(json.dumps(exported), encoding="utf-8")
        self.run("stack", "import", "-s", stack, "--file", str(path), check=True)

    def point_customers_at_file_backend(self) -> None:
        """Customer stacks name their platform as `<org>/mssp-sentinel/mssp`; a file backend's org is fixed."""
        for path in (self.root / "stacks").glob("Pulumi.*.yaml"):
            text = path.read_text(encoding="utf-8")
            lines = [
                f"{ln.split('platformStack:')[0]}platformStack: {FILE_BACKEND_ORG}/mssp-sentinel/"
                f"{ln.split('platformStack:')[1].strip().rsplit('/', 1)[-1]}" if "platformStack:" in ln else ln
                for ln in text.splitlines()
            ]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def clean_env(bin_dir: Path, home: Path, backend: Path, host_dir: Path | None) -> dict[str, str]:
    """The environment of a CLI run: no Azure, Pulumi Cloud or GitHub credential, no plugin downloads."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("ARM_", "AZURE_", "PULUMI_", "GITHUB_", "ACTIONS_", "MSSP_")) and "TOKEN" not in k}
    if host_dir == IN_PROCESS_HOST:
        # testing/bin/pulumi first: it runs the real CLI ($MSSP_REAL_PULUMI) with the in-process host.
        path = [str(host_dir), str(bin_dir), keep.get("PATH", "")]
        keep["MSSP_REAL_PULUMI"] = str(bin_dir / "pulumi")
    else:
        path = [str(bin_dir)] + ([str(host_dir)] if host_dir and host_dir != bin_dir else []) + [keep.get("PATH", "")]
    keep.update(
        PATH=os.pathsep.join(path),
        PULUMI_HOME=str(home),
        PULUMI_BACKEND_URL=backend.as_uri(),
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_SKIP_UPDATE_CHECK="true",
        NO_COLOR="1",
    )
    return keep


@pytest.fixture
def workspace(tmp_path: Path, pulumi_bin_dir: Path) -> Iterator[Workspace]:
    root = tmp_path / "project"
    root.mkdir()
    for part in PROJECT_PARTS:
        src = PROJECT_DIR / part
        if src.is_dir():
            shutil.copytree(src, root / part, ignore=shutil.ignore_patterns("__pycache__", "imports"))
        else:
            shutil.copy(src, root / part)
    # Pulumi.yaml's `virtualenv: .venv` is relative to the project: the copy uses the repository's.
    (root / ".venv").symlink_to(PROJECT_DIR / ".venv")
    (tmp_path / "state").mkdir()
    env = clean_env(pulumi_bin_dir, tmp_path / "pulumi-home", tmp_path / "state", language_host_dir(pulumi_bin_dir))
    yield Workspace(root=root, env=env)


def example_stacks() -> list[str]:
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))


def customer_stacks() -> list[str]:
    return [s for s in example_stacks() if "mssp-sentinel:kind: customer" in
            (PROJECT_DIR / "stacks" / f"Pulumi.{s}.yaml").read_text(encoding="utf-8")]


@pytest.fixture(scope="session")
def platform_outputs() -> dict[str, Any]:
    """The platform stack's offline plan outputs: what a customer's StackReference reads."""
    from mssp.plan.command import build_manifest

    return build_manifest("mssp", PROJECT_DIR)["outputs"]


Runner = Callable[..., subprocess.CompletedProcess[str]]
