"""Guardrails under the real engine: `pulumi preview --policy-pack` runs the project's CrossGuard pack
(policies/, started as a binary analyzer: testing/providers/bin/mssp-policy-pack) and a mandatory violation blocks
the preview."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from realengine_support import (  # noqa: F401 (fixtures)
    PLATFORM,
    Deployment,
    deployment,
    engine_bin_dir,
    local_azure,
)

from testing.engine import PLUGINS

pytestmark = pytest.mark.realengine


# policies/ started as a binary analyzer (testing/providers/bin/mssp-policy-pack says why not as a folder).
POLICY_PACK = PLUGINS / "mssp-policy-pack"


@pytest.fixture
def platform_file(deployment: Deployment) -> Iterator[Path]:
    path = deployment.project.root / "stacks" / f"Pulumi.{PLATFORM}.yaml"
    text = path.read_text(encoding="utf-8")
    yield path
    path.write_text(text, encoding="utf-8")


def _preview(deployment: Deployment) -> tuple[int, str]:
    done = deployment.project.pulumi("preview", "--stack", PLATFORM, "--policy-pack", str(POLICY_PACK), "--non-interactive",
                                     check=False)
    return done.returncode, done.stdout + done.stderr


def test_the_policy_pack_runs_under_the_engine_and_passes_the_example(deployment: Deployment) -> None:
    code, text = _preview(deployment)
    assert code == 0, text
    assert "mssp-sentinel-guardrails@" in text and "Policies:" in text  # loaded and reported, not skipped


def test_a_mandatory_violation_blocks_the_real_preview(deployment: Deployment, platform_file: Path) -> None:
    """Valid config, but a credential in a static webhook header would sit in plain text in the workflow
    definition: mandatory `workflow-no-credentials` blocks the real preview, as it fails the offline plan."""
    doc = yaml.safe_load(platform_file.read_text(encoding="utf-8"))
    doc["config"]["mssp-sentinel:platform"]["itsm"] = {
        "kind": "webhook", "allowedHosts": ["itsm.example.net"],
        "webhook": {"url": "https://itsm.example.net/events",
                    "extraHeaders": {"X-Source": "Bearer abcdefghijklmnopqrstuvwxyz012345"}},
    }
    platform_file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    code, out = _preview(deployment)
    assert code != 0, out
    assert "workflow-no-credentials" in out and "mandatory" in out.lower(), out[-4000:]
    plan = deployment.project.mssp("plan", PLATFORM)
    assert plan.returncode == 1 and "mandatory guardrail failed: workflow-no-credentials" in plan.stdout
