"""Issue 20 item 4, least privilege by narrower designs.

SQL Security Manager was granted permanently and subscription-wide wherever the inventory listed a SQL server,
and the program wrote its own acknowledgement of that grant. Now: on the SQL servers' resource groups by default,
not at all when the customer enables auditing, subscription-wide only with a person's acknowledgement in the stack
file; an inventory change that adds the grant is an access change with a finding in the diff.

The Managed Services Registration assignment Delete Role sat on the CI deploy identity, which never used it: now a
small human group holds it (platform.offboardingGroup), and offboarding still removes the delegation (destroy runs
with the customer-Owner provider; the runbook names the group).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.facts import roles

SUB1 = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"
SQL_RG = f"/subscriptions/{SUB1}/resourceGroups/rg-prod"
REG_DEF = "azure-native:managedservices:RegistrationDefinition"
REG_ASSIGN = "azure-native:managedservices:RegistrationAssignment"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
AUDIT_POLICY = "azure-native:sql:ServerBlobAuditingPolicy"
ACK = "CAB-4711: J. Doe (SOC lead) accepts subscription-wide SQL auditing for Contoso"


def customer(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["mssp-sentinel:customer"]


def plan(run_cli, path: Path, tmp_path: Path, stack: str = "contoso", code: int = 0) -> dict[str, Any]:
    out = tmp_path / f"{path.stem}-{len(list(tmp_path.glob('*.json')))}.json"
    got, _, err = run_cli(["plan", stack, "--config", str(path), "--json", str(out), "--quiet"])
    assert got == code, err
    return json.loads(out.read_text())


def sql_grants(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(via, scope) of every SQL Security Manager grant in a plan."""
    found = []
    for r in manifest["resources"]:
        if r["type"] == REG_DEF:
            for a in r["inputs"]["properties"]["authorizations"]:
                if a["roleDefinitionId"] == roles.SQL_SECURITY_MANAGER.guid:
                    found.append(("lighthouse", r["inputs"]["scope"]))
        elif r["type"] == ROLE_ASSIGNMENT and r["inputs"]["roleDefinitionId"].endswith(roles.SQL_SECURITY_MANAGER.guid):
            found.append(("role assignment", r["inputs"]["scope"]))
    return sorted(found)


def expect_config_error(run_cli, path: Path, *needles: str) -> str:
    code, out, err = run_cli(["plan", "contoso", "--config", str(path)])
    assert code == 2, (out, err)
    assert "Traceback" not in err and "planned stack" not in out
    for needle in needles:
        assert needle in err, err
    return err


def direct(doc: dict[str, Any]) -> dict[str, Any]:
    customer(doc)["accessModel"] = "direct"
    customer(doc)["lighthouse"].pop("authorizations", None)
    return doc


# --------------------------------------------------------------------------------------------------
# SQL Security Manager
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["lighthouse", "direct"])
def test_by_default_the_grant_covers_only_the_sql_servers_resource_groups(run_cli, stack_doc, write_stack, tmp_path, model):
    doc = stack_doc("contoso")
    if model == "direct":
        direct(doc)
    m = plan(run_cli, write_stack(doc, "contoso"), tmp_path)
    via = "lighthouse" if model == "lighthouse" else "role assignment"
    assert sql_grants(m) == [(via, SQL_RG)]  # the one SQL server's group; never /subscriptions/<id>
    assert [p for p in m["policies"] if p["level"] == "mandatory"] == []
    # The program acknowledges nothing itself.
    assert not any("SQL Security Manager" in k for k in m["outputs"].get("lighthouseAcknowledgements", {}))
    assert "sqlAuditAcknowledgement" not in m["outputs"]
    # A resource-group grant is no finding (the example plans cleanly); it is an access row like every grant.
    assert not [p for p in m["policies"] if "SQL Security Manager" in p["message"]]
    # The server's auditing is still enabled by the MSSP, through the grant.
    assert [r["inputs"]["serverName"] for r in m["resources"] if r["type"] == AUDIT_POLICY] == ["sql-contoso-prod"]


def test_a_resource_group_delegation_repeats_no_principal_and_role_of_the_subscription_one(run_cli, stack_doc, write_stack,
                                                                                           tmp_path):
    # Removing one delegation removes a (principal, role) pair granted by both (remove-delegation.md).
    m = plan(run_cli, write_stack(stack_doc("contoso"), "contoso"), tmp_path)
    defs = [r["inputs"] for r in m["resources"] if r["type"] == REG_DEF]
    pairs = lambda d: {(a["principalId"], a["roleDefinitionId"]) for a in d["properties"]["authorizations"]}  # noqa: E731
    on_group = [d for d in defs if "/resourceGroups/" in d["scope"]]
    on_sub = [d for d in defs if d["scope"] == f"/subscriptions/{SUB1}"]
    assert len(on_group) == 1 and len(on_sub) == 1
    assert not pairs(on_group[0]) & pairs(on_sub[0])
    assignments = [r for r in m["resources"] if r["type"] == REG_ASSIGN and r["inputs"]["scope"] == SQL_RG]
    assert len(assignments) == 1 and assignments[0]["provider"].startswith("customer-admin-")


@pytest.mark.parametrize("model", ["lighthouse", "direct"])
def test_subscription_scope_needs_a_persons_acknowledgement_and_carries_it_verbatim(run_cli, stack_doc, write_stack,
                                                                                     tmp_path, model):
    doc = stack_doc("contoso")
    if model == "direct":
        direct(doc)
    customer(doc)["forwarding"]["sqlAudit"] = {"scope": "subscription"}
    expect_config_error(run_cli, write_stack(doc, "contoso"), "customer.forwarding.sqlAudit", "acknowledgeSubscriptionScope",
                        "enabledBy: customer")
    customer(doc)["forwarding"]["sqlAudit"]["acknowledgeSubscriptionScope"] = ACK
    m = plan(run_cli, write_stack(doc, "contoso"), tmp_path)
    via = "lighthouse" if model == "lighthouse" else "role assignment"
    assert sql_grants(m) == [(via, f"/subscriptions/{SUB1}")]
    assert m["outputs"]["sqlAuditAcknowledgement"] == ACK
    if model == "lighthouse":
        assert m["outputs"]["lighthouseAcknowledgements"]["MSSP Sentinel onboarding / SQL Security Manager"] == ACK
    assert [p for p in m["policies"] if p["level"] == "mandatory"] == []
    # The broad grant is named as a finding in every plan (and new in the diff that adds it).
    found = [p for p in m["policies"] if p["policy"] == "sql-security-manager-grant"]
    assert len(found) == 1 and f"/subscriptions/{SUB1}" in found[0]["message"] and "turn auditing off" in found[0]["message"]


@pytest.mark.parametrize("section, needle", [
    ({"acknowledgeSubscriptionScope": ACK}, "only with scope: subscription"),
    ({"enabledBy": "customer", "scope": "resourceGroups"}, "only with enabledBy: mssp"),
    ({"enabledBy": "customer", "acknowledgeSubscriptionScope": ACK}, "only with enabledBy: mssp"),
    ({"scope": "subscription", "acknowledgeSubscriptionScope": "ok"}, "at least 10 characters"),
    ({"enabledBy": "nobody"}, "enabledBy"),
    ({"scope": "managementGroup"}, "scope"),
])
def test_bad_sql_audit_settings_are_refused_with_their_key(run_cli, stack_doc, write_stack, section, needle):
    doc = stack_doc("contoso")
    customer(doc)["forwarding"]["sqlAudit"] = section
    expect_config_error(run_cli, write_stack(doc, "contoso"), "customer.forwarding.sqlAudit", needle)


@pytest.mark.parametrize("model", ["lighthouse", "direct"])
def test_when_the_customer_enables_auditing_the_mssp_gets_no_sql_role(run_cli, stack_doc, write_stack, tmp_path, model):
    doc = stack_doc("contoso")
    if model == "direct":
        direct(doc)
    customer(doc)["forwarding"]["sqlAudit"] = {"enabledBy": "customer"}
    m = plan(run_cli, write_stack(doc, "contoso"), tmp_path)
    assert sql_grants(m) == []
    assert not [r for r in m["resources"] if r["type"] == AUDIT_POLICY]
    by_customer = m["outputs"]["sqlAuditingByCustomer"]
    assert by_customer["servers"] == [f"{SQL_RG}/providers/Microsoft.Sql/servers/sql-contoso-prod"]
    assert by_customer["policyDefinitionId"].endswith("/policyDefinitions/25da7dfb-0666-4a15-a8f5-402127efd8bb")
    # The master database still forwards the audit categories once the customer's audit is on.
    master = [r for r in m["resources"] if r["inputs"].get("resourceUri", "").endswith("/databases/master")]
    assert master and "SQLSecurityAuditEvents" in json.dumps(master[0]["inputs"]["logs"])
    assert not [p for p in m["policies"] if p["policy"] == "sql-security-manager-grant"]


def test_in_template_mode_the_customer_enables_auditing_unless_the_stack_says_otherwise(run_cli, stack_doc, write_stack,
                                                                                        tmp_path):
    # The customer deploys the MSSP's access themselves there, and the exported template carries no resource-group
    # delegations: by default they enable the audit too, and the MSSP gets no SQL role.
    doc = stack_doc("contoso")
    customer(doc)["lighthouse"]["mode"] = "template"
    m = plan(run_cli, write_stack(doc, "contoso"), tmp_path)
    assert "sqlAuditingByCustomer" in m["outputs"] and not [r for r in m["resources"] if r["type"] == AUDIT_POLICY]
    assert roles.SQL_SECURITY_MANAGER.guid not in json.dumps(m["review"]["delegationTemplate"])
    customer(doc)["forwarding"]["sqlAudit"] = {"enabledBy": "mssp"}
    expect_config_error(run_cli, write_stack(doc, "contoso"), "customer.forwarding.sqlAudit", "enabledBy: customer",
                        "25da7dfb-0666-4a15-a8f5-402127efd8bb")
    customer(doc)["forwarding"]["sqlAudit"] = {"enabledBy": "mssp", "scope": "subscription", "acknowledgeSubscriptionScope": ACK}
    m = plan(run_cli, write_stack(doc, "contoso"), tmp_path)
    assert roles.SQL_SECURITY_MANAGER.guid in json.dumps(m["review"]["delegationTemplate"])


@pytest.mark.parametrize("scope", ["resourceGroups", "subscription"])
def test_an_inventory_change_that_adds_a_sql_server_is_an_access_change_with_a_finding(run_cli, stack_doc, write_stack,
                                                                                       tmp_path, scope):
    from conftest import PROJECT_DIR

    inventory = (PROJECT_DIR / "stacks" / "inventories" / "contoso.yaml").read_text()
    lines = inventory.splitlines(keepends=True)
    # The base inventory without the SQL server and its database; the head inventory as it is.
    keep, skip = [], False
    for line in lines:
        if line.startswith("- id: "):
            skip = "/Microsoft.Sql/" in line
        if not skip:
            keep.append(line)
    plans = {}
    for side, text in (("base", "".join(keep)), ("head", inventory)):
        folder = tmp_path / side
        (folder / "inventories").mkdir(parents=True)
        (folder / "inventories" / "contoso.yaml").write_text(text)
        doc = stack_doc("contoso")
        customer(doc)["forwarding"]["inventory"] = str(folder / "inventories" / "contoso.yaml")
        if scope == "subscription":  # the same acknowledged config on both sides: only the inventory changes
            customer(doc)["forwarding"]["sqlAudit"] = {"scope": "subscription", "acknowledgeSubscriptionScope": ACK}
        stack = folder / "Pulumi.contoso.yaml"
        stack.write_text(json.dumps(doc))
        (folder / "Pulumi.mssp.yaml").write_text(json.dumps(stack_doc("mssp")))
        plans[side] = plan(run_cli, stack, tmp_path)
        (tmp_path / f"{side}.json").write_text(json.dumps(plans[side]))
    where = SQL_RG if scope == "resourceGroups" else f"/subscriptions/{SUB1}"
    assert sql_grants(plans["base"]) == [] and sql_grants(plans["head"]) == [("lighthouse", where)]
    out = tmp_path / "diff.json"
    code, _, err = run_cli(["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "--json", str(out)])
    assert code == 0, err
    (report,) = json.loads(out.read_text())["stacks"]
    added = [a for a in report["accessChanges"] if a["change"] == "added"]
    assert [(a["after"]["role"], a["after"]["scope"]) for a in added] == [("SQL Security Manager", where)]
    new = [p for p in report["policies"] if p["new"]]
    if scope == "subscription":  # the broad grant: a new finding beside the access change
        assert [p["policy"] for p in new] == ["sql-security-manager-grant"] and where in new[0]["message"]
    else:
        assert new == []


# --------------------------------------------------------------------------------------------------
# Managed Services Registration assignment Delete Role: people, not the CI identity; offboarding still works
# --------------------------------------------------------------------------------------------------
def test_the_deploy_identity_holds_no_delete_role_and_the_offboarding_group_does(run_cli, stack_doc, write_stack, tmp_path):
    m = plan(run_cli, write_stack(stack_doc("contoso"), "contoso"), tmp_path)
    group = stack_doc("mssp")["config"]["mssp-sentinel:platform"]["offboardingGroup"]
    holders: dict[str, set[str]] = {}
    for r in m["resources"]:
        if r["type"] == REG_DEF:
            for a in r["inputs"]["properties"]["authorizations"]:
                if a["roleDefinitionId"] == roles.REGISTRATION_DELETE.guid:
                    holders.setdefault(a["principalId"], set()).add(r["inputs"]["scope"])
    deploy_sp = m["review"]["principals"]
    assert set(holders) == {group["principalId"]}
    assert holders[group["principalId"]] == {f"/subscriptions/{s['id']}" for s in customer(stack_doc("contoso"))["subscriptions"]}
    assert not any(p.get("identity", "").startswith("deploy identity") for pid, p in deploy_sp.items() if pid in holders)
    # No finding: the group removes a delegation by its id and needs no "My customers" listing.
    assert not [p for p in m["policies"] if group["displayName"] in p["message"]]


def test_without_an_offboarding_group_nobody_in_the_mssp_tenant_holds_the_delete_role(stack_doc, tmp_path):
    from components.config.customer import CustomerConfig
    from components.lighthouse.delegation import SERVICE_PRINCIPAL_ROLES, definition_properties
    from mssp.offboard.runbook import delegation_removers

    assert roles.REGISTRATION_DELETE not in SERVICE_PRINCIPAL_ROLES
    config = CustomerConfig.model_validate(customer(stack_doc("contoso")))
    props = definition_properties(config, "6f1e8a2c-3b4d-4e5f-9a0b-1c2d3e4f5a6b", SUB1, "sp-id", "MSSP Sentinel onboarding",
                                  "ro-id", "read-only", False, None)
    assert roles.REGISTRATION_DELETE.guid not in json.dumps(props)
    manifest = {"resources": [{"type": REG_DEF, "inputs": {"properties": props}}]}
    assert delegation_removers(manifest) == []
    with_group = definition_properties(config, "6f1e8a2c-3b4d-4e5f-9a0b-1c2d3e4f5a6b", SUB1, "sp-id", "x", None, None,
                                       False, ("3d4e5f60-7182-4a93-b4c5-d6e7f8091a2b", "Offboarders"))
    deletes = [a for a in with_group["authorizations"] if a["roleDefinitionId"] == roles.REGISTRATION_DELETE.guid]
    assert [(a["principalId"], a["principalIdDisplayName"]) for a in deletes] == [
        ("3d4e5f60-7182-4a93-b4c5-d6e7f8091a2b", "Offboarders")]


@pytest.mark.parametrize("stack", ["contoso", "fabrikam"])
def test_offboarding_still_removes_the_delegation_and_names_the_group(stack):
    from conftest import PROJECT_DIR

    from mssp.offboard.command import plan as offboard_plan
    from mssp.offboard.runbook import render_markdown

    report = offboard_plan(stack, PROJECT_DIR)
    group = "MSSP Lighthouse offboarding (3d4e5f60-7182-4a93-b4c5-d6e7f8091a2b)"
    assert report["delegationRemovers"] == [group]
    if stack == "contoso":
        # Deploy mode: `pulumi destroy` deletes the delegation, with the customer-Owner provider, not the CI identity.
        lighthouse = [r for r in report["resources"] if r["type"] in (REG_DEF, REG_ASSIGN)]
        assert lighthouse and all(r["disposition"] == "deleted" for r in lighthouse)
        from mssp.plan.command import build_manifest

        manifest = build_manifest(stack, PROJECT_DIR)
        providers = {r["provider"] for r in manifest["resources"] if r["type"] in (REG_DEF, REG_ASSIGN)}
        assert providers and all(p.startswith("customer-admin-") for p in providers), providers
    else:
        # Template mode: the customer (or the group) removes it; the step names who.
        steps = [s["step"] for s in report["customerSteps"] if "Lighthouse delegation" in s["step"]]
        assert steps and all(group in s for s in steps)
    md = render_markdown({**report, "status": "planned", "exitCode": 0})
    assert "Who removes the Lighthouse delegation" in md and group in md
