"""Paths in config stay inside the project (issue 10): forwarding.inventory, forwarding.importFile and
platformStack; each bad one is a config error naming the key, before anything is read or created."""

from __future__ import annotations

import pytest
from conftest import PROJECT_DIR
from test_config_validation import customer, expect_config_error


@pytest.mark.parametrize("key, value", [
    ("inventory", "../stacks/inventories/contoso.yaml"),
    ("inventory", "stacks/../../etc/passwd"),
    ("inventory", "/etc/passwd"),
    ("inventory", "/tmp/contoso.yaml"),
    ("inventory", "stacks\\\\..\\\\..\\\\x.yaml"),
    ("importFile", "../imports/contoso.json"),
    ("importFile", "/etc/hostname"),
])
def test_paths_outside_the_project_are_refused(run_cli, stack_doc, write_stack, key, value):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"][key] = value
    err = expect_config_error(run_cli, write_stack(doc), f"customer.forwarding.{key}", "inside the project")
    assert "not found" not in err  # refused before it is opened


def test_an_absolute_path_inside_the_project_is_fine(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["inventory"] = str(PROJECT_DIR / "stacks" / "inventories" / "contoso.yaml")
    code, _, err = run_cli(["plan", "contoso", "--config", str(write_stack(doc)), "--quiet"])
    assert code == 0, err


@pytest.mark.parametrize("value", ["..", "org/../mssp", "org/project/..", "./mssp"])
def test_platform_stack_has_no_dot_segments(run_cli, stack_doc, write_stack, value):
    doc = stack_doc("contoso")
    customer(doc)["platformStack"] = value
    expect_config_error(run_cli, write_stack(doc), "customer.platformStack", "'.' or '..'")
