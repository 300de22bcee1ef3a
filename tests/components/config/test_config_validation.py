"""Bad stack configuration: exit 2, the key path and what is allowed on stderr, no traceback, nothing planned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SUB1 = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"


def customer(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["mssp-sentinel:customer"]


def expect_config_error(run_cli, path: Path, *needles: str) -> str:
    code, out, err = run_cli(["plan", "contoso", "--config", str(path)])
    assert code == 2, (out, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert "planned stack" not in out  # nothing was planned
    for needle in needles:
        assert needle in err, err
    return err


def test_example_contoso_is_valid(run_cli, stack_doc, write_stack):
    code, _out, err = run_cli(["plan", "contoso", "--config", str(write_stack(stack_doc("contoso"))), "--quiet"])
    assert code == 0, err


def test_malformed_guid(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["tenantId"] = "not-a-guid"
    expect_config_error(run_cli, write_stack(doc), "customer.tenantId", "is not a GUID", "8-4-4-4-12")


def test_malformed_subscription_guid(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["subscriptions"][1]["id"] = "4d9e1f6a-7b8c-4d0e-9f2a"
    expect_config_error(run_cli, write_stack(doc), "customer.subscriptions[1].id", "is not a GUID")


def test_duplicate_subscription(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["subscriptions"][1]["id"] = SUB1.upper()
    expect_config_error(run_cli, write_stack(doc), "customer.subscriptions", "listed twice")


def test_customer_tenant_equal_to_mssp_tenant(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["tenantId"] = stack_doc("mssp")["config"]["mssp-sentinel:platform"]["tenantId"]
    expect_config_error(run_cli, write_stack(doc), "customer.tenantId", "must differ from the MSSP tenant")


@pytest.mark.parametrize(
    ("role", "why"),
    [
        ("Owner", "Owner cannot be delegated"),
        ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner cannot be delegated"),
        ("Monitoring Metrics Publisher", "DataActions"),
        ("User Access Administrator", "delegatedRoles"),
        ("Security Admin", "Microsoft.Authorization"),
    ],
)
def test_roles_lighthouse_refuses(run_cli, stack_doc, write_stack, role, why):
    doc = stack_doc("contoso")
    customer(doc)["lighthouse"]["authorizations"][0]["role"] = role
    expect_config_error(run_cli, write_stack(doc), "customer.lighthouse.authorizations[0]", why)


def test_unknown_role_lists_known_ones(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["lighthouse"]["authorizations"][0]["role"] = "Super Reader"
    expect_config_error(run_cli, write_stack(doc), "customer.lighthouse.authorizations[0].role", "unknown role", "Reader")


def test_user_access_administrator_with_delegated_roles_is_accepted(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    auth = customer(doc)["lighthouse"]["authorizations"][0]
    auth["role"] = "User Access Administrator"
    auth["delegatedRoles"] = ["Monitoring Contributor"]
    # A permanent role that can assign roles is broad: accepted only with a named acknowledgement.
    expect_config_error(run_cli, write_stack(doc), "customer.lighthouse.authorizations[0].role", "SOC Analysts",
                        "acknowledgeBroadRole")
    auth["acknowledgeBroadRole"] = "CAB-1234: SOC leads assign managed identities for remediation"
    code, _, err = run_cli(["plan", "contoso", "--config", str(write_stack(doc)), "--quiet"])
    assert code == 0, err


def test_service_principal_in_just_in_time_authorization(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["lighthouse"]["authorizations"][1]["principalType"] = "servicePrincipal"
    expect_config_error(run_cli, write_stack(doc), "customer.lighthouse.authorizations[1]", "cannot name a service principal")


def test_just_in_time_duration_out_of_range(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["lighthouse"]["authorizations"][1]["justInTime"]["maximumActivationDuration"] = "PT9H"
    expect_config_error(run_cli, write_stack(doc), "maximumActivationDuration", "PT30M to PT8H")


def test_unknown_key_typo_names_allowed_keys(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["lighthuose"] = customer(doc).pop("lighthouse")
    expect_config_error(run_cli, write_stack(doc), "customer.lighthuose: unknown key", "allowed keys:", "lighthouse")


def test_unknown_nested_key(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["activityLogs"] = True
    expect_config_error(run_cli, write_stack(doc), "customer.forwarding.activityLogs: unknown key", "activityLog")


def test_unknown_top_level_project_key(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    doc["config"]["mssp-sentinel:costumer"] = {}
    expect_config_error(run_cli, write_stack(doc), "costumer: unknown key", "customer")


def test_unknown_resource_type(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["resourceTypes"] = ["Microsoft.KeyVault/vaults", "Microsoft.Web/sites"]
    expect_config_error(run_cli, write_stack(doc), "customer.forwarding.resourceTypes", "Microsoft.Web/sites",
                        "supported:", "Microsoft.Network/azureFirewalls")


def test_audit_group_on_a_type_without_it(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["perType"]["Microsoft.Network/networkSecurityGroups"] = {"logs": "audit"}
    expect_config_error(run_cli, write_stack(doc), "customer.forwarding", "perType.Microsoft.Network/networkSecurityGroups.logs",
                        "'audit' is not offered")


def test_unknown_category(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["perType"]["Microsoft.KeyVault/vaults"] = {"logs": ["AuditEvent", "Nope"]}
    expect_config_error(run_cli, write_stack(doc), "Nope not a log category", "AuditEvent")


def write_inventory(tmp_path: Path, text: str) -> str:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    return str(path)


def test_inventory_resource_outside_customer_subscriptions(run_cli, stack_doc, write_stack, tmp_path):
    doc = stack_doc("contoso")
    other = "9c4d6e1f-2a3b-4c5d-a4f7-809102132435"
    customer(doc)["forwarding"]["inventory"] = write_inventory(tmp_path, f"""resources:
- id: /subscriptions/{other}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1
  type: Microsoft.KeyVault/vaults
""")
    expect_config_error(run_cli, write_stack(doc), "resources[0].id", f"subscription {other} is not one of the customer's")


def test_inventory_malformed_resource_id(run_cli, stack_doc, write_stack, tmp_path):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["inventory"] = write_inventory(tmp_path, f"""resources:
- id: /subscriptions/{SUB1}/resourceGroups/rg/Microsoft.KeyVault/vaults/kv1
""")
    expect_config_error(run_cli, write_stack(doc), "resources[0].id", "is not an ARM resource id")


def test_inventory_unknown_type(run_cli, stack_doc, write_stack, tmp_path):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["inventory"] = write_inventory(tmp_path, f"""resources:
- id: /subscriptions/{SUB1}/resourceGroups/rg/providers/Microsoft.Web/sites/app1
""")
    expect_config_error(run_cli, write_stack(doc), "resources[0].id", "Microsoft.Web/sites", "is not supported; supported:")


def test_inventory_type_mismatch(run_cli, stack_doc, write_stack, tmp_path):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["inventory"] = write_inventory(tmp_path, f"""resources:
- id: /subscriptions/{SUB1}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1
  type: Microsoft.Network/networkSecurityGroups
""")
    expect_config_error(run_cli, write_stack(doc), "resources[0].type", "does not match")


def test_empty_subscription_list(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["subscriptions"] = []
    expect_config_error(run_cli, write_stack(doc), "customer.subscriptions", "at least 1")


def test_missing_inventory_file(run_cli, stack_doc, write_stack, tmp_path):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["inventory"] = str(tmp_path / "nope.yaml")
    expect_config_error(run_cli, write_stack(doc), "customer.forwarding.inventory", "file not found", "mssp discover")


def test_several_problems_are_all_reported(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["tenantId"] = "x"
    customer(doc)["accessModel"] = "telepathy"
    err = expect_config_error(run_cli, write_stack(doc), "customer.tenantId", "customer.accessModel", "'lighthouse' or 'direct'")
    assert err.count("customer.") >= 2


def test_direct_model_refuses_lighthouse_authorizations(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["accessModel"] = "direct"
    expect_config_error(run_cli, write_stack(doc), "lighthouse.authorizations apply only when accessModel is lighthouse")


def test_platform_identity_without_sign_in(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    doc["config"]["mssp-sentinel:platform"]["identity"]["federatedCredentials"] = []
    code, _out, err = run_cli(["plan", "mssp", "--config", str(write_stack(doc, "mssp"))])
    assert code == 2 and "platform.identity" in err and "federatedCredentials" in err and "Traceback" not in err


def test_missing_stack_name_is_a_clear_error(run_cli):
    code, _, err = run_cli(["plan", "nosuchcustomer"])
    assert code == 2 and "stacks/Pulumi.nosuchcustomer.yaml" in err and "contoso" in err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"- just\n- a list\n", "a stack file is a mapping"),
        (b"plain text", "a stack file is a mapping"),
        (b"config: {mssp-sentinel:kind: customer}\n\xff\xfe", "cannot read the stack file"),
        (b"config: [1, 2]\n", "expected a mapping of config keys"),
        (b"config:\n  mssp-sentinel:kind: customer\n  mssp-sentinel:customer: [1, 2]\n", "customer"),
        # Null is not an object: the CLI refuses it before the program runs, and so does the plan.
        (b"config:\n  mssp-sentinel:kind: customer\n  mssp-sentinel:customer:\n", "must be of type 'object'"),
    ],
)
def test_malformed_stack_files(run_cli, tmp_path, content, needle):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_bytes(content)
    code, out, err = run_cli(["plan", "bad", "--config", str(path)])
    assert code == 2, (out, err)
    assert needle in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"# only a comment\n", "the inventory file is empty"),
        (b"", "the inventory file is empty"),
        (b"resources:\n", "'resources' list"),
        (b"\xff\xfe\x00", "cannot read"),
    ],
)
def test_empty_or_unreadable_inventory(run_cli, stack_doc, write_stack, tmp_path, content, needle):
    inv = tmp_path / "inv.yaml"
    inv.write_bytes(content)
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["inventory"] = str(inv)
    expect_config_error(run_cli, write_stack(doc), "customer.forwarding.inventory", needle)


def test_inventory_path_that_is_a_directory(run_cli, stack_doc, write_stack, tmp_path):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["inventory"] = str(tmp_path)
    expect_config_error(run_cli, write_stack(doc), "customer.forwarding.inventory", "is a directory")


def test_unknown_platform_stack(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["platformStack"] = "acme-mssp/mssp-sentinel/nope"
    expect_config_error(run_cli, write_stack(doc), "customer.platformStack", "stacks/Pulumi.nope.yaml")
