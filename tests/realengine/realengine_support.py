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
EXAMPLES = ("contoso", "fabrikam")
TEMPLATE_MODE = "fabrikam"  # the customer deploys the exported template before the MSSP's `pulumi up`
DIRECT = "northwind"  # a direct-model customer written from scratch (no example stack uses that model)

DIRECT_STACK = """\
# A direct-access-model customer, written for the real-engine tests: the MSSP identity signs in to the
# customer tenant (its service principal there, after admin consent), no Lighthouse.
config:
  mssp-sentinel:kind: customer
  mssp-sentinel:customer:
    name: northwind
    displayName: Northwind Traders
    tenantId: 1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5
    platformStack: organization/mssp-sentinel/mssp
    accessModel: direct
    subscriptions:
      - id: 2e3f4a5b-6c7d-4e8f-9a0b-c1d2e3f4a5b6
        displayName: Northwind Production
    forwarding:
      inventory: stacks/inventories/northwind.yaml
      logs: allLogs
"""
DIRECT_INVENTORY = """\
resources:
- id: /subscriptions/2e3f4a5b-6c7d-4e8f-9a0b-c1d2e3f4a5b6/resourceGroups/rg-nw/providers/Microsoft.KeyVault/vaults/kv-northwind
  type: Microsoft.KeyVault/vaults
- id: /subscriptions/2e3f4a5b-6c7d-4e8f-9a0b-c1d2e3f4a5b6/resourceGroups/rg-nw/providers/Microsoft.Storage/storageAccounts/stnorthwind
  type: Microsoft.Storage/storageAccounts
  kind: StorageV2
- id: /subscriptions/2e3f4a5b-6c7d-4e8f-9a0b-c1d2e3f4a5b6/resourceGroups/rg-nw/providers/Microsoft.Network/networkSecurityGroups/nsg-northwind
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
        if stack == TEMPLATE_MODE:
            customer_deploys_the_template(project, stack)
        project.up(stack)
    return Deployment(project, local_azure, stacks)


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
