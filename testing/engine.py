"""A copy of the project that the REAL Pulumi engine deploys into the local Azure (tests/realengine).

What runs for real: the Pulumi CLI of .pulumi-version (built by scripts/pulumi-cli), its engine, the
file state backend with the passphrase secrets provider, the pinned Python SDK and the program itself
(__main__.py, unchanged). What stands in: the Python language host (testing/engine_host.py serves the
Automation API's in-process one through the CLI's --client flag), the provider plugins
(testing/providers/: stand-ins that send ARM and Graph requests) and Azure itself (testing/fake_arm.py
with testing/fake_azure.py: the local Azure, which enforces each type's contract).

No plugin is ever downloaded (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION), no Azure or Pulumi Cloud
credential reaches the CLI, and everything lives in a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testing.fake_arm import FakeArm

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = PROJECT_DIR / "testing" / "bin"  # `pulumi`: the real CLI with the in-process language host
PLUGINS = PROJECT_DIR / "testing" / "providers" / "bin"  # the stand-in provider plugins, the policy-pack launcher
PASSPHRASE = "realengine-test-passphrase"
FILE_BACKEND_ORG = "organization"  # how a file backend names the organization in stack references
PROJECT_PARTS = ("Pulumi.yaml", "__main__.py", "components", "mssp", "policies", "stacks")
TOKEN = "realengine-token"


def seed_local_azure(arm: FakeArm, project_dir: Path, stacks: Iterable[str]) -> None:
    """What exists in Azure before any `pulumi up`: the MSSP workspace and resource groups, the
    customers' subscriptions and their inventoried resources (the stack files say which)."""
    from components.config import load_stack

    rows: list[dict[str, str]] = []
    groups: set[str] = set()
    subs: set[str] = set()
    homes: dict[str, str] = {}
    for stack in stacks:
        loaded = load_stack(stack, project_dir)
        p = loaded.platform
        ws_sub, ws_rg, _ = p.workspace.parts(p.subscription_id)
        homes |= {p.subscription_id.lower(): p.tenant_id.lower(), ws_sub.lower(): p.tenant_id.lower()}
        groups |= {f"/subscriptions/{p.subscription_id}/resourcegroups/{p.resource_group}".lower(),
                   f"/subscriptions/{ws_sub}/resourcegroups/{ws_rg}".lower()}
        rows.append({"id": p.workspace_id, "type": "Microsoft.OperationalInsights/workspaces", "subscriptionId": ws_sub})
        if p.itsm is not None and p.itsm.credential is not None and getattr(p.itsm.credential, "key_vault_id", None):
            kv = p.itsm.credential.key_vault_id
            rows.append({"id": kv, "type": "Microsoft.KeyVault/vaults", "subscriptionId": kv.split("/")[2]})
            # The secret the workflows read exists too (its role assignment is scoped to it).
            rows.append({"id": p.itsm.credential.secret_scope, "type": "Microsoft.KeyVault/vaults/secrets",
                         "subscriptionId": kv.split("/")[2]})
            groups.add("/".join(kv.split("/")[:5]).lower())
        if loaded.customer is not None:
            subs |= {s.id for s in loaded.customer.subscriptions}
            homes |= {s.id.lower(): loaded.customer.tenant_id.lower() for s in loaded.customer.subscriptions}
            ws = getattr(loaded.customer, "workspace", None)
            if ws is not None and getattr(ws, "subscription_id", None):  # a workspace in the customer's tenant
                homes[ws.subscription_id.lower()] = loaded.customer.tenant_id.lower()
            for item in loaded.inventory:
                rows.append({"id": item.id, "type": item.type, "subscriptionId": item.id.split("/")[2]})
                groups.add("/".join(item.id.split("/")[:5]).lower())
    add_resources(arm, rows)
    arm.store.resource_groups |= groups
    arm.readable |= {s.lower() for s in subs}
    arm.home_tenants |= homes


def add_resources(arm: FakeArm, rows: Iterable[dict[str, str]]) -> None:
    """Resources that exist in Azure outside Pulumi (and their resource groups)."""
    rows = [{**r, "subscriptionId": r.get("subscriptionId") or r["id"].split("/")[2]} for r in rows]
    known = {r["id"].lower() for r in arm.resources}
    arm.resources = sorted([*arm.resources, *(r for r in rows if r["id"].lower() not in known)],
                           key=lambda r: r["id"].lower())
    arm.store.resource_groups |= {"/".join(r["id"].split("/")[:5]).lower() for r in rows
                                  if r["id"].lower().split("/")[3:4] == ["resourcegroups"]}
    arm.reset_targets()


def deploy_template(arm: FakeArm, subscription: str, tenant: str, folder: Path, name: str = "mssp-lighthouse") -> Any:
    """The customer's side of template mode: `az deployment sub create` of `mssp template`'s template.json
    with this subscription's parameters file, signed in to the customer's tenant."""
    import urllib.request

    template = json.loads((folder / "template.json").read_text(encoding="utf-8"))
    parameters = json.loads((folder / f"parameters.{subscription}.json").read_text(encoding="utf-8"))["parameters"]
    body = {"location": "westeurope", "properties": {"mode": "Incremental", "template": template, "parameters": parameters}}
    req = urllib.request.Request(
        f"{arm.base_url}/subscriptions/{subscription}/providers/Microsoft.Resources/deployments/{name}?api-version=2024-03-01",
        method="PUT", data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {arm.token};tid={tenant}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"template deployment into {subscription} failed: {exc.code} {exc.read()!r}") from None


@dataclass
class EngineProject:
    """A copy of the project with its own file backend, Pulumi home and the local Azure's address."""

    root: Path
    env: dict[str, str]
    arm: FakeArm
    initialised: set[str] = field(default_factory=set)

    @classmethod
    def create(cls, tmp: Path, pulumi_bin_dir: Path, arm: FakeArm) -> EngineProject:
        root = tmp / "project"
        root.mkdir(parents=True)
        for part in PROJECT_PARTS:
            src = PROJECT_DIR / part
            if src.is_dir():
                shutil.copytree(src, root / part, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, root / part)
        (tmp / "backend").mkdir()
        (tmp / "home").mkdir()
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("ARM_", "AZURE_", "PULUMI_", "GITHUB_", "ACTIONS_", "MSSP_")) and "TOKEN" not in k}
        keep.update(
            PATH=os.pathsep.join([str(BIN), str(PLUGINS), str(pulumi_bin_dir), keep.get("PATH", "")]),
            MSSP_REAL_PULUMI=str(pulumi_bin_dir / "pulumi"),
            PULUMI_HOME=str(tmp / "home"),
            PULUMI_BACKEND_URL=(tmp / "backend").as_uri(),
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            PULUMI_SKIP_UPDATE_CHECK="true",
            NO_COLOR="1",
            MSSP_STANDIN_ARM_URL=arm.base_url,
            MSSP_STANDIN_TOKEN=arm.token,
            MSSP_ARM_ENDPOINT=arm.base_url,
            # The local Azure speaks plain HTTP on loopback (mssp/azure/endpoints.py allows that only with this).
            MSSP_TEST_PLAIN_HTTP_LOOPBACK="1",
        )
        project = cls(root, keep, arm)
        project.point_customers_at_file_backend()
        return project

    def point_customers_at_file_backend(self) -> None:
        """Customer stacks name their platform `<org>/mssp-sentinel/<stack>`; a file backend's org is fixed."""
        for path in (self.root / "stacks").glob("Pulumi.*.yaml"):
            lines = []
            for ln in path.read_text(encoding="utf-8").splitlines():
                if "platformStack:" in ln:
                    head, tail = ln.split("platformStack:", 1)
                    ln = f"{head}platformStack: {FILE_BACKEND_ORG}/mssp-sentinel/{tail.strip().rsplit('/', 1)[-1]}"
                lines.append(ln)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def pulumi(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """`pulumi ...` in the copy: testing/bin/pulumi, i.e. the real CLI with the language host attached."""
        done = subprocess.run([str(BIN / "pulumi"), *args], cwd=self.root, env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {done.returncode}:\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}")
        return done

    def init(self, stack: str) -> None:
        if stack not in self.initialised:
            self.pulumi("stack", "init", stack)
            self.initialised.add(stack)

    def up(self, stack: str, *extra: str) -> subprocess.CompletedProcess[str]:
        self.init(stack)
        return self.pulumi("up", "--stack", stack, "--yes", "--non-interactive", "--skip-preview", *extra)

    def export(self, stack: str) -> dict[str, Any]:
        return json.loads(self.pulumi("stack", "export", "--stack", stack).stdout)

    def outputs(self, stack: str, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "output", "--stack", stack, "--json"] + (["--show-secrets"] if show_secrets else [])
        return json.loads(self.pulumi(*args).stdout)

    def mssp(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """`python -m mssp ...` of this copy, with testing/bin/pulumi first on PATH."""
        return subprocess.run([str(PROJECT_DIR / ".venv" / "bin" / "python"), "-m", "mssp", *args], cwd=self.root,
                              env=self.env, capture_output=True, text=True, timeout=timeout, check=False)


def held_by_local_azure(arm: FakeArm, resource_id: str) -> bool:
    """Whether the local Azure still holds the resource of a Pulumi state id (ARM id or Graph object path)."""
    low = resource_id.lower()
    if low.startswith(("/applications/", "/serviceprincipals/")):
        oid = low.split("/")[2]
        if "/federatedidentitycredential/" in low or "/password/" in low or "/approleassignedto/" in low:
            return any(low.rsplit("/", 1)[-1] in str(t.applications | t.principals).lower() for t in arm.graph.tenants.values())
        return any(oid in t.applications or oid in t.principals for t in arm.graph.tenants.values())
    mark = "/providers/microsoft.insights/diagnosticsettings/"
    if mark in low:
        scope, name = low.split(mark)
        return any(s["name"].lower() == name for s in arm.settings.get(scope, []))
    return low in arm.store.resources
