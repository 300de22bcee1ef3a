"""Stack-file keys as the Pulumi CLI parses them, through the one strict YAML reader: a key without a
namespace is the project's (the CLI accepts `kind: customer`), also where the fleet checks read another
stack; YAML 1.1's `on`/`yes` are text (the CLI reads YAML 1.2)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import PROJECT_DIR

from components.config import ConfigError, load_stack, read_stack_values


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(PROJECT_DIR / "stacks", project / "stacks")
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", project / "Pulumi.yaml")
    return project


def _without_namespace(text: str) -> str:
    # Only the top-level keys: values (a federated credential's subject) may hold the text too.
    return re.sub(r"(?m)^(  )mssp-sentinel:", r"\1", text)


def test_keys_without_namespace_are_the_projects(tmp_path: Path) -> None:
    # Bug caught: the reader keeping `kind` as it stands, so the stack "has no kind" although the CLI runs it.
    project = _project(tmp_path)
    for stack in ("mssp", "contoso"):
        path = project / "stacks" / f"Pulumi.{stack}.yaml"
        original = load_stack(stack, project)
        path.write_text(_without_namespace(path.read_text(encoding="utf-8")), encoding="utf-8")
        assert "mssp-sentinel:kind" not in path.read_text(encoding="utf-8")
        stripped = load_stack(stack, project)
        assert (stripped.kind, stripped.platform, stripped.customer, stripped.inventory) == (
            original.kind, original.platform, original.customer, original.inventory)


def test_the_fleet_check_reads_a_sibling_written_without_namespaces(tmp_path: Path) -> None:
    # A copied contoso stack, keys without namespace and only its name changed: it claims contoso's tenant,
    # subscriptions and resources, and the fleet check must see that although its keys are spelled otherwise.
    project = _project(tmp_path)
    text = (project / "stacks" / "Pulumi.contoso.yaml").read_text(encoding="utf-8")
    copy = _without_namespace(text).replace("    name: contoso\n", "    name: contoso-copy\n", 1)
    assert "name: contoso-copy" in copy
    (project / "stacks" / "Pulumi.contoso-copy.yaml").write_text(copy, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_stack("contoso", project)
    paths = {p for p, _ in exc.value.issues}
    assert {"customer.tenantId", "customer.subscriptions", "customer.forwarding.inventory"} <= paths
    assert any("stacks/Pulumi.contoso-copy.yaml" in m for _, m in exc.value.issues)


def test_yaml_1_1_booleans_are_text_in_stack_files(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text("config:\n  kind: on\n  mssp-sentinel:flag: yes\n  other:n: 1:20\n", encoding="utf-8")
    values, secrets = read_stack_values(path)
    assert values == {"mssp-sentinel:kind": "on", "mssp-sentinel:flag": "yes", "other:n": "1:20"} and not secrets
