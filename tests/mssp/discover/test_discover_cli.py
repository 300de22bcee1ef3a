"""`python -m mssp discover` end to end against a local Resource Graph / ARM batch server, on a copy
of the example contoso stack: the inventory written, the old one kept on failure, dry runs, adoption."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from discover_support import OTHER_WORKSPACE, SUB_A, SUB_B, WORKSPACE, client_for, make_project, rid, row

from components.config import load_stack
from components.forwarding.diagnostics import plan_settings
from components.forwarding.inventory import InventoryItem, dump_inventory
from mssp.cli import main
from mssp.discover import command as discover_cmd
from testing.fake_arm import FakeArm, make_setting, server_error, throttled

KV = "Microsoft.KeyVault/vaults"
PIP = "Microsoft.Network/publicIPAddresses"
NEW_KV = rid(SUB_A, KV, "kv-new", "rg-new")
NEW_PIP = rid(SUB_B, PIP, "pip-new", "rg-new")
FULL_KV = rid(SUB_A, KV, "kv-full", "rg-new")  # already holds five settings
CLASH_KV = rid(SUB_B, KV, "kv-soc", "rg-new")  # a foreign setting already sends to the MSSP workspace


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def inventory_path(project: Path) -> Path:
    return project / "stacks" / "inventories" / "contoso.yaml"


def old_items(project: Path) -> list[dict[str, str]]:
    return yaml.safe_load(inventory_path(project).read_text())["resources"]


def estate(project: Path, drop: str = "nsg-shared") -> list[dict[str, str]]:
    """Azure as the fake server shows it: the old inventory minus one resource, plus new ones."""
    rows = [row(r["id"], r["type"]) for r in old_items(project) if not r["id"].endswith("/" + drop)]
    return [*rows, row(NEW_KV, KV), row(NEW_PIP, PIP), row(FULL_KV, KV)]


def five(uri: str) -> list[dict[str, Any]]:
    return [make_setting(uri, f"export-{i}", workspace_id=OTHER_WORKSPACE) for i in range(5)]


@pytest.fixture
def fake(project: Path) -> Iterator[FakeArm]:
    with FakeArm(estate(project), readable_subscriptions=[SUB_A, SUB_B], settings={FULL_KV: five(FULL_KV)}) as server:
        yield server


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], project: Path) -> Callable[..., Any]:
    """Run `python -m mssp discover contoso ...` against a fake server; returns (code, out, err, sleeps)."""

    def run(server: FakeArm, *argv: str) -> tuple[int, str, str, list[float]]:
        sleeps: list[float] = []
        monkeypatch.setattr(discover_cmd, "make_client", lambda ctx: client_for(server, sleeps, max_retries=2))
        code = main(["discover", "contoso", "--project-dir", str(project), *argv])
        out, err = capsys.readouterr()
        return code, out, err, sleeps

    return run


def expected_text(project: Path, add: list[tuple[str, str]], drop: str = "nsg-shared") -> str:
    items = [InventoryItem(r["id"], r["type"], r.get("kind")) for r in old_items(project)
             if not r["id"].endswith("/" + drop)]
    return dump_inventory(items + [InventoryItem(i, t) for i, t in add])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_writes_the_expected_inventory_with_paging_and_a_429_in_the_way(cli: Any, fake: FakeArm, project: Path) -> None:
    fake.page_cap = 4  # 15 resources + 2 subscription rows: 5 pages
    fake.graph_faults[2] = throttled("1")
    want = expected_text(project, [(NEW_KV, KV), (NEW_PIP, PIP)])
    code, out, err, sleeps = cli(fake)
    assert code == 0, err
    assert inventory_path(project).read_text() == want
    assert sleeps == [1.0]
    assert fake.count("graph") == 6 and len(fake.graph_bodies) == 6
    assert "Resource Graph: page 5, 17 rows" in err
    assert "found      4 Microsoft.KeyVault/vaults" in err
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert total.split() == ["total", "15", "2", "1", "0", "1"]  # found, new, gone, adopted, skipped
    assert f"{FULL_KV}: the resource already holds 5 diagnostic settings, Azure's limit" in out
    assert "nsg-shared: not found in Azure" in out
    assert "Wrote stacks/inventories/contoso.yaml: 14 resources (+2, -1)." in out
    assert load_stack("contoso", project).inventory  # the result is a valid inventory for the stack
    # A second run changes nothing and says so.
    code, out, _, _ = cli(fake)
    assert code == 0 and "is up to date (14 resources)" in out
    assert leftovers(inventory_path(project).parent) == []


def test_a_running_batch_answered_202_is_polled_not_abandoned(cli: Any, fake: FakeArm, project: Path) -> None:
    # /batch answers 202 + Location, the Location answers 202 once more, then the responses
    # (mssp/azure/batch.py names the contract): discovery polls it instead of falling back to single reads.
    fake.batch_pending = 2
    code, out, err, _ = cli(fake, "--dry-run")
    assert code == 0, err
    batches = fake.count("batch")
    assert batches >= 1 and fake.count("poll") == 2 * batches and fake.count("get") == 0
    assert f"{batches} batch call(s) ({2 * batches} poll(s) of running batches), 0 single read(s)" in out
    assert "/batch not used" not in out
    assert f"{FULL_KV}: the resource already holds 5 diagnostic settings" in out  # the polled answers were read


def test_the_old_inventory_is_untouched_when_the_server_fails_mid_way(cli: Any, fake: FakeArm, project: Path) -> None:
    before = inventory_path(project).read_bytes()
    fake.page_cap = 4
    fake.graph_faults.update({n: server_error() for n in range(2, 10)})  # page 2 keeps failing
    code, _, err, sleeps = cli(fake)
    assert code == 1
    assert "Resource Graph query (page 2): HTTP 500 InternalServerError" in err
    assert "nothing written, stacks/inventories/contoso.yaml is unchanged" in err
    assert "Traceback" not in err
    assert inventory_path(project).read_bytes() == before
    assert len(sleeps) == 2  # bounded retries
    assert leftovers(inventory_path(project).parent) == []


def test_failure_while_reading_settings_writes_nothing(cli: Any, fake: FakeArm, project: Path) -> None:
    before = inventory_path(project).read_bytes()
    fake.batch_faults.update({n: server_error() for n in range(1, 30)})
    code, _, err, _ = cli(fake)
    assert code == 1 and "ARM batch read of" in err
    assert inventory_path(project).read_bytes() == before


def test_an_interrupted_run_leaves_the_inventory_alone(cli: Any, fake: FakeArm, project: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    before = inventory_path(project).read_bytes()
    import mssp.discover.discovery as core

    def interrupted(*_a: Any, **_k: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(core, "read_settings", interrupted)
    code, _, err, _ = cli(fake)
    assert code == 130 and "interrupted" in err
    assert inventory_path(project).read_bytes() == before


def test_a_failed_write_keeps_the_old_file(cli: Any, fake: FakeArm, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = inventory_path(project).read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", broken_replace)
    code, _, err, _ = cli(fake)
    assert code == 1 and "No space left on device" in err
    assert inventory_path(project).read_bytes() == before
    assert leftovers(inventory_path(project).parent) == []  # the temp file is gone too


def test_dry_run_writes_nothing_and_shows_the_change(cli: Any, fake: FakeArm, project: Path) -> None:
    before = inventory_path(project).read_bytes()
    fake.settings[CLASH_KV.lower()] = [make_setting(CLASH_KV, "soc-export", workspace_id=WORKSPACE)]
    fake.resources.append(row(CLASH_KV, KV))
    code, out, _, _ = cli(fake, "--dry-run", "--on-conflict", "adopt")
    assert code == 0
    assert inventory_path(project).read_bytes() == before
    assert not (project / "stacks" / "imports").exists()
    assert f"+ {NEW_KV}" in out and f"+ {NEW_PIP}" in out and f"+ {CLASH_KV}" in out
    assert "- /subscriptions/" + SUB_B in out and "nsg-shared  (not found in Azure" in out
    assert "would write 1 import(s) to stacks/imports/contoso.json; nothing written" in out


def test_conflicts_are_skipped_by_default(cli: Any, fake: FakeArm, project: Path) -> None:
    fake.settings[CLASH_KV.lower()] = [make_setting(CLASH_KV, "soc-export", workspace_id=WORKSPACE)]
    fake.resources.append(row(CLASH_KV, KV))
    code, out, _, _ = cli(fake)
    assert code == 0
    assert CLASH_KV not in inventory_path(project).read_text()
    assert f"{CLASH_KV}: foreign setting 'soc-export' on the resource already sends allLogs" in out
    assert not (project / "stacks" / "imports").exists()


def test_adopt_writes_a_valid_import_file(cli: Any, fake: FakeArm, project: Path) -> None:
    fake.settings[CLASH_KV.lower()] = [make_setting(CLASH_KV, "soc-export", workspace_id=WORKSPACE)]
    fake.resources.append(row(CLASH_KV, KV))
    code, out, _, _ = cli(fake, "--on-conflict", "adopt")
    assert code == 0
    assert CLASH_KV in inventory_path(project).read_text()
    doc = json.loads((project / "stacks" / "imports" / "contoso.json").read_text())
    # The `pulumi import --file` format (pulumi/pulumi pkg/cmd/pulumi/operations/import.go).
    assert set(doc) == {"nameTable", "resources"}
    [spec] = doc["resources"]
    assert set(spec) == {"type", "name", "id", "parent", "provider"}
    assert spec["type"] == "azure-native:monitor:DiagnosticSetting"
    assert spec["id"] == f"{CLASH_KV}/providers/microsoft.insights/diagnosticSettings/soc-export"
    assert doc["nameTable"] == {
        "contoso-forwarding": "urn:pulumi:contoso::mssp-sentinel::mssp:forwarding:DiagnosticForwarding::contoso-forwarding",
        f"forward-{SUB_B}": f"urn:pulumi:contoso::mssp-sentinel::pulumi:providers:azure-native::forward-{SUB_B}",
    }
    # The name is the one the program gives the setting on that vault, so the import lands on it.
    loaded = load_stack("contoso", project)
    plan = plan_settings(loaded.inventory, loaded.customer.forwarding)
    assert spec["name"] in {s.logical_name for s in plan.settings if s.resource_uri.lower() == CLASH_KV.lower()}
    assert "Adopted:" in out and "pulumi import --file stacks/imports/contoso.json -s contoso" in out


def test_unreadable_subscriptions_are_named_and_nothing_is_written(cli: Any, project: Path) -> None:
    before = inventory_path(project).read_bytes()
    with FakeArm(estate(project), readable_subscriptions=[SUB_A]) as server:
        code, out, err, _ = cli(server)
    assert code == 1
    assert f"cannot read subscription(s) {SUB_B}" in err and "Contoso Shared Services" in err
    assert "nothing written" in err and out == ""
    assert server.count("batch") == 0
    assert inventory_path(project).read_bytes() == before


def test_a_missing_inventory_is_created(cli: Any, fake: FakeArm, project: Path) -> None:
    want = expected_text(project, [(NEW_KV, KV), (NEW_PIP, PIP)])
    inventory_path(project).unlink()
    code, out, err, _ = cli(fake)
    assert code == 0, err
    assert inventory_path(project).read_text() == want
    assert "(+14, -0)" in out


def test_the_platform_stack_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "mssp", "--project-dir", str(project)]) == 2
    assert "customer stacks" in capsys.readouterr().err


def test_bad_config_is_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "stacks" / "Pulumi.contoso.yaml"
    path.write_text(path.read_text().replace("tenantId: 2b7c", "tenantId: zz7c"))
    assert main(["discover", "contoso", "--project-dir", str(project)]) == 2
    assert "customer.tenantId" in capsys.readouterr().err


def test_coverage_drift_lists_resources_missing_from_the_inventory(project: Path, fake: FakeArm) -> None:
    drift = discover_cmd.coverage_drift("contoso", project, client=client_for(fake))
    assert drift == [
        {"id": FULL_KV, "type": KV, "reason": "not in inventory"},
        {"id": NEW_KV, "type": KV, "reason": "not in inventory"},
        {"id": NEW_PIP, "type": PIP, "reason": "not in inventory"},
    ]
    assert fake.count("batch") == 0 and fake.count("graph") == 1


def test_coverage_drift_errors_never_read_as_clean(project: Path) -> None:
    from mssp.errors import UserError

    with FakeArm(estate(project), readable_subscriptions=[SUB_A]) as server:
        with pytest.raises(UserError) as err:
            discover_cmd.coverage_drift("contoso", project, client=client_for(server))
    assert err.value.exit_code == 1 and SUB_B in str(err.value)


def test_the_client_signs_in_for_the_access_model(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mssp.azure.rest as rest

    seen: list[tuple[str | None, str]] = []
    monkeypatch.setattr(rest, "default_token_provider", lambda tenant, scope: seen.append((tenant, scope)) or (lambda: "t"))
    monkeypatch.setenv(discover_cmd.ENDPOINT_ENV, "https://management.usgovcloudapi.net/")
    ctx = discover_cmd.load_context("contoso", project)
    client = discover_cmd.make_client(ctx)
    assert client.base_url == "https://management.usgovcloudapi.net"
    direct = ctx.customer.model_copy(update={"access_model": "direct"})
    discover_cmd.make_client(discover_cmd.StackContext(**{**ctx.__dict__, "customer": direct}))
    # Lighthouse: the MSSP identity's home tenant; direct: the customer tenant.
    assert seen == [(None, "https://management.usgovcloudapi.net/.default"),
                    (ctx.customer.tenant_id, "https://management.usgovcloudapi.net/.default")]


def test_an_empty_answer_writes_nothing_without_allow_empty(cli: Any, project: Path) -> None:
    # Bug (issue #23): an answer with no resources (a wrong scope, a removed delegation, a Resource Graph hiccup)
    # wrote an empty inventory, and the next `pulumi up` deleted every diagnostic setting of the customer.
    before = inventory_path(project).read_bytes()
    with FakeArm([], readable_subscriptions=[SUB_A, SUB_B]) as empty:
        code, _, err, _ = cli(empty)
        assert code == 1 and "no in-scope resources" in err and "--allow-empty" in err, err
        assert "nothing written" in err and f"({len(old_items(project))} resources)" in err
        assert inventory_path(project).read_bytes() == before
        code, _, err, _ = cli(empty, "--allow-empty")
    assert code == 0, err
    assert yaml.safe_load(inventory_path(project).read_text()) == {"resources": []}
