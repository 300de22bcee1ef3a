"""Fixtures of the real-engine tests (imported by the test modules, like tests/realcli/realcli_support.py: a conftest.py here would shadow tests/conftest.py for `from conftest import`): one local Azure and one deployment of every example stack per session.

The real Pulumi CLI (scripts/pulumi-cli) deploys the project's unmodified program into the local Azure
(testing/engine.py says what is real and what stands in). `pulumi up` runs once per stack per session;
tests that change the deployment (drift, offboarding) use their own stack or put things back.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testing.engine import TOKEN, EngineProject, deploy_template, seed_local_azure
from testing.fake_arm import FakeArm

PROJECT_DIR = Path(__file__).resolve().parents[2]
PLATFORM = "mssp"


def example_customers() -> tuple[str, ...]:
    """Every customer stack file in stacks/ (a stack added there is deployed and compared too)."""
    return tuple(sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml")
                        for p in (PROJECT_DIR / "stacks").glob("Pulumi.*.yaml")
                        if "mssp-sentinel:kind: customer" in p.read_text(encoding="utf-8")))


EXAMPLES = example_customers()
DIRECT = "adventure"  # a direct-model customer written from scratch (no example stack uses that model)

DIRECT_STACK = """\
# A direct-access-model customer, written for the real-engine tests: the MSSP identity signs in to the
# customer tenant (its service principal there, after admin consent), no Lighthouse.
config:
  mssp-sentinel:kind: customer
  mssp-sentinel:customer:
    name: adventure
    displayName: Adventure Works
    tenantId: 9d8e7f60-5a4b-4c3d-8e2f-a1b2c3d4e5f6
    platformStack: organization/mssp-sentinel/mssp
    accessModel: direct
    subscriptions:
      - id: 0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b
        displayName: Adventure Works Production
    forwarding:
      inventory: stacks/inventories/adventure.yaml
      logs: allLogs
"""
DIRECT_INVENTORY = """\
resources:
- id: /subscriptions/0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b/resourceGroups/rg-aw/providers/Microsoft.KeyVault/vaults/kv-adventure
  type: Microsoft.KeyVault/vaults
- id: /subscriptions/0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b/resourceGroups/rg-aw/providers/Microsoft.Storage/storageAccounts/stadventure
  type: Microsoft.Storage/storageAccounts
  kind: StorageV2
- id: /subscriptions/0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b/resourceGroups/rg-aw/providers/Microsoft.Network/networkSecurityGroups/nsg-adventure
  type: Microsoft.Network/networkSecurityGroups
"""


def _fail_or_skip(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the real-engine tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine_bin_dir() -> Path:
    configured = os.environ.get("MSSP_PULUMI_BIN_DIR")
    if configured:
        return Path(configured)
    found = subprocess.run([str(PROJECT_DIR / "scripts" / "pulumi-cli"), "--no-build"],
                           capture_output=True, text=True, check=False)
    if found.returncode != 0:
        _fail_or_skip(found.stderr.strip() or "scripts/pulumi-cli found no Pulumi CLI")
    return Path(found.stdout.strip())


@dataclass
class Deployment:
    project: EngineProject
    arm: FakeArm
    stacks: tuple[str, ...]


@pytest.fixture(scope="session")
def local_azure() -> Iterator[FakeArm]:
    with FakeArm(token=TOKEN) as arm:
        yield arm


@pytest.fixture(scope="session")
def deployment(engine_bin_dir: Path, local_azure: FakeArm, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """`pulumi up` of the platform, then of every customer, through real stack references."""
    project = EngineProject.create(tmp_path_factory.mktemp("realengine"), engine_bin_dir, local_azure)
    (project.root / "stacks" / f"Pulumi.{DIRECT}.yaml").write_text(DIRECT_STACK, encoding="utf-8")
    (project.root / "stacks" / "inventories" / f"{DIRECT}.yaml").write_text(DIRECT_INVENTORY, encoding="utf-8")
    stacks = (PLATFORM, *EXAMPLES, DIRECT)
    seed_local_azure(local_azure, project.root, stacks)
    for stack in stacks:
        if template_mode(project, stack):
            customer_deploys_the_template(project, stack)
        project.up(stack)
    return Deployment(project, local_azure, stacks)


def template_mode(project: EngineProject, stack: str) -> bool:
    """Lighthouse in template mode: the customer deploys the exported template before the MSSP's `up`."""
    from components.config import load_stack

    customer = load_stack(stack, project.root).customer
    return customer is not None and customer.access_model == "lighthouse" and customer.lighthouse.mode == "template"


def customer_deploys_the_template(project: EngineProject, stack: str) -> None:
    """Template mode: `mssp template` with the deployed platform's principals, then the customer's admin
    deploys it into each subscription, signed in to the customer's tenant."""
    from components.config import load_stack

    platform = project.outputs(PLATFORM)
    out = project.root.parent / f"template-{stack}"
    done = project.mssp("template", stack, "--out", str(out),
                        "--mssp-principal-id", platform["servicePrincipalObjectId"],
                        "--read-only-principal-id", platform["readOnlyServicePrincipalObjectId"])
    assert done.returncode == 0, done.stdout + done.stderr
    customer = load_stack(stack, project.root).customer
    assert customer is not None
    for sub in customer.subscriptions:
        deploy_template(project.arm, sub.id, customer.tenant_id, out)


@pytest.fixture
def signed_in(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    """In-process `mssp` commands signed in to the local Azure as they sign in to Azure: the read-only
    identity in the MSSP tenant (Lighthouse customers) or in the customer's tenant (direct model); the
    token carries the tenant (testing/fake_arm.py). Only the credential is replaced."""
    from contextlib import contextmanager

    from components.config import load_stack
    from mssp.azure.rest import AzureRestClient
    from mssp.discover import command as discover_cmd
    from mssp.offboard import command as offboard_cmd

    arm = deployment.arm
    platform_tenant = load_stack(PLATFORM, deployment.project.root).platform.tenant_id

    def client(tenant: str | None) -> AzureRestClient:
        return AzureRestClient(lambda: f"{arm.token};tid={tenant or platform_tenant}", arm.base_url,
                               sleep=lambda s: None, max_retries=1)

    @contextmanager
    def session(stack: str) -> Iterator[None]:
        with monkeypatch.context() as m:
            m.setattr(discover_cmd, "arm_client", lambda customer: client(
                customer.tenant_id if customer is not None and customer.access_model == "direct" else None))
            m.setattr(offboard_cmd, "make_arm_client", lambda endpoint, tenant: client(tenant))
            for key, value in deployment.project.env.items():
                m.setenv(key, value)
            m.chdir(deployment.project.root)
            yield

    return session
