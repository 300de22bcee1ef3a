"""customer.workspace (central | customer topology) and customer.dataResidency: bad input is exit 2 with the key
path and what is allowed, before anything is planned (components/config/topology.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.config.topology import RETENTION_MAX_DAYS, RETENTION_MIN_DAYS, WORKSPACE_SOC_ROLES
from components.facts import roles


def customer(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["mssp-sentinel:customer"]


def plan(run_cli, path: Path, stack: str = "northwind") -> tuple[int, str, str]:
    return run_cli(["plan", stack, "--config", str(path), "--quiet"])


def expect_error(run_cli, path: Path, *needles: str, stack: str = "northwind") -> str:
    code, out, err = plan(run_cli, path, stack)
    assert code == 2, (out, err)
    assert "Traceback" not in err + out and "planned stack" not in out
    for needle in needles:
        assert needle in err, err
    return err


def test_the_customer_mode_example_is_valid(run_cli, stack_doc, write_stack):
    code, _out, err = plan(run_cli, write_stack(stack_doc("northwind")))
    assert code == 0, err


@pytest.mark.parametrize("key,value", [("subscriptionId", "3f405162-7c8d-4e9f-a0b1-2c3d4e5f6071"),
                                       ("resourceGroup", "rg-x"), ("name", "law-x"), ("location", "westeurope"),
                                       ("retentionInDays", 90), ("dailyQuotaGb", 5), ("onOffboard", "retain")])
def test_central_mode_refuses_customer_workspace_keys(run_cli, stack_doc, write_stack, key, value):
    # Catches: a central customer silently ignoring a workspace location or retention it was given.
    doc = stack_doc("contoso")
    customer(doc)["workspace"] = {"mode": "central", key: value}
    expect_error(run_cli, write_stack(doc), "customer.workspace", key, "only with mode customer", stack="contoso")


@pytest.mark.parametrize("missing", ["subscriptionId", "resourceGroup", "name", "location"])
def test_customer_mode_needs_where_the_workspace_goes(run_cli, stack_doc, write_stack, missing):
    doc = stack_doc("northwind")
    del customer(doc)["workspace"][missing]
    expect_error(run_cli, write_stack(doc), "customer.workspace", f"mode customer needs {missing}")


@pytest.mark.parametrize("days", [RETENTION_MIN_DAYS - 1, RETENTION_MAX_DAYS + 1, 0])
def test_retention_outside_what_a_workspace_takes(run_cli, stack_doc, write_stack, days):
    doc = stack_doc("northwind")
    customer(doc)["workspace"]["retentionInDays"] = days
    expect_error(run_cli, write_stack(doc), "customer.workspace.retentionInDays", "allowed:")


@pytest.mark.parametrize("cap", [0, -1, "lots"])
def test_daily_cap_must_be_a_positive_number(run_cli, stack_doc, write_stack, cap):
    doc = stack_doc("northwind")
    customer(doc)["workspace"]["dailyQuotaGb"] = cap
    expect_error(run_cli, write_stack(doc), "customer.workspace.dailyQuotaGb")


@pytest.mark.parametrize("role,why", [
    ("Owner", "Owner cannot be delegated"),
    ("Monitoring Metrics Publisher", "DataActions"),
    ("Contributor", "not a Sentinel or Log Analytics reading role"),
    ("Log Analytics Contributor", "not a Sentinel or Log Analytics reading role"),
    ("User Access Administrator", "managed identities"),
    ("No Such Role", "unknown role"),
])
def test_soc_roles_on_the_workspace_are_the_sentinel_ones_only(run_cli, stack_doc, write_stack, role, why):
    doc = stack_doc("northwind")
    customer(doc)["workspace"]["authorizations"][0]["role"] = role
    err = expect_error(run_cli, write_stack(doc), "customer.workspace.authorizations[0].role", why)
    assert "Microsoft Sentinel Responder" in err  # the message lists what is allowed


def test_every_allowed_soc_role_is_delegable_and_monitoring_scoped():
    # Catches: a role added to WORKSPACE_SOC_ROLES that Lighthouse refuses or that writes outside Sentinel.
    for role in WORKSPACE_SOC_ROLES:
        assert role.delegable is roles.Delegable.YES, role.name
        assert not roles.is_broad(role.guid), role.name


def test_the_same_soc_principal_and_role_twice(run_cli, stack_doc, write_stack):
    doc = stack_doc("northwind")
    auths = customer(doc)["workspace"]["authorizations"]
    auths.append(dict(auths[1], role="Microsoft Sentinel Responder"))
    expect_error(run_cli, write_stack(doc), "listed twice")


def test_the_workspace_subscription_cannot_be_a_delegated_subscription(run_cli, stack_doc, write_stack):
    # Lighthouse refuses a resource-group delegation inside a subscription delegated whole.
    doc = stack_doc("northwind")
    customer(doc)["workspace"]["subscriptionId"] = customer(doc)["subscriptions"][0]["id"]
    expect_error(run_cli, write_stack(doc), "MultipleRegistrationAssignmentsNotAllowed", "allowed:")


def test_customer_mode_needs_lighthouse(run_cli, stack_doc, write_stack):
    doc = stack_doc("northwind")
    customer(doc)["accessModel"] = "direct"
    del customer(doc)["lighthouse"]
    expect_error(run_cli, write_stack(doc), "workspace.mode customer", "accessModel: lighthouse")


def test_deleting_the_workspace_on_offboarding_needs_a_recorded_decision(run_cli, stack_doc, write_stack):
    doc = stack_doc("northwind")
    customer(doc)["workspace"]["onOffboard"] = "delete"
    expect_error(run_cli, write_stack(doc), "deleteDecision", "onOffboard: retain (default)")
    customer(doc)["workspace"]["onOffboard"] = "retain"
    customer(doc)["workspace"]["deleteDecision"] = "CAB-1234, Jane Doe, 2026-12-01"
    expect_error(run_cli, write_stack(doc), "deleteDecision: only with onOffboard: delete")


def test_unknown_workspace_key_names_the_allowed_ones(run_cli, stack_doc, write_stack):
    doc = stack_doc("northwind")
    customer(doc)["workspace"]["retention"] = 90
    expect_error(run_cli, write_stack(doc), "customer.workspace.retention", "unknown key", "retentionInDays")


@pytest.mark.parametrize("regions,needle", [([], "at least 1"), (["West Europe"], "not an Azure region name"),
                                            (["westeurope", "westeurope"], "listed twice"), ("westeurope", "list")])
def test_bad_data_residency(run_cli, stack_doc, write_stack, regions, needle):
    doc = stack_doc("northwind")
    customer(doc)["dataResidency"] = {"allowedRegions": regions}
    expect_error(run_cli, write_stack(doc), "customer.dataResidency.allowedRegions", needle)
