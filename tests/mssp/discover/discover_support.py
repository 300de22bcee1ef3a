"""Shared pieces of the discovery tests: the example stack's ids, a client for the fake server,
a throw-away project folder. (A helper module, not a conftest, so other test folders are unaffected.)"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mssp.azure.rest import AzureRestClient
from testing.fake_arm import FakeArm, resource_id

PROJECT_DIR = Path(__file__).resolve().parents[3]

# From stacks/Pulumi.contoso.yaml and stacks/Pulumi.mssp.yaml (fictitious ids).
SUB_A = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"  # Contoso Production
SUB_B = "4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80"  # Contoso Shared Services
WORKSPACE = ("/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg-mssp-sentinel/providers/"
             "Microsoft.OperationalInsights/workspaces/law-mssp-sentinel")
OTHER_WORKSPACE = ("/subscriptions/" + SUB_A + "/resourceGroups/rg-sec/providers/"
                   "Microsoft.OperationalInsights/workspaces/law-customer")


def row(rid: str, rtype: str, kind: str | None = None) -> dict[str, str]:
    """A Resource Graph row as discovery projects it (type in lower case, as Resource Graph stores it;
    storage accounts carry their `kind`, general-purpose v2 unless given)."""
    out = {"id": rid, "type": rtype.lower(), "subscriptionId": rid.split("/")[2]}
    if kind is not None or rtype.lower() == "microsoft.storage/storageaccounts":
        out["kind"] = kind or "StorageV2"
    return out


def rid(sub: str, rtype: str, name: str, group: str = "rg-test") -> str:
    return resource_id(sub, group, rtype, name)


def client_for(fake: FakeArm, sleeps: list[float] | None = None, **kwargs: Any) -> AzureRestClient:
    """A real client pointed at the fake server; sleeps are recorded instead of waited."""
    record = sleeps if sleeps is not None else []
    kwargs.setdefault("timeout", 10.0)
    return AzureRestClient(lambda: fake.token, fake.base_url, sleep=record.append, **kwargs)


def make_project(tmp_path: Path) -> Path:
    """A copy of the project's Pulumi.yaml and stacks/ folder (stack files and inventories) to run discovery in."""
    shutil.copytree(PROJECT_DIR / "stacks", tmp_path / "stacks")
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    return tmp_path
