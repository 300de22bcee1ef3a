"""Semantic mistakes that planned silently before issue #23: each refused with the key, the rule and its source."""

from __future__ import annotations

from typing import Any

import pytest

from components.facts import apps

PLATFORM_SUB = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def customer(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["mssp-sentinel:customer"]


def platform(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["mssp-sentinel:platform"]


def refused(run_cli: Any, path: Any, stack: str, *needles: str) -> str:
    code, out, err = run_cli(["plan", stack, "--config", str(path), "--quiet"])
    assert code == 2, (out, err)
    assert "Traceback" not in err and "planned stack" not in out
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.parametrize("app_id", sorted(apps.WELL_KNOWN_APP_IDS))
@pytest.mark.parametrize("where", ["authorization", "approver"])
def test_a_well_known_application_id_is_no_object_id(run_cli, stack_doc, write_stack, app_id: str, where: str) -> None:
    doc = stack_doc("contoso")
    auths = customer(doc)["lighthouse"]["authorizations"]
    if where == "authorization":
        auths[0]["principalId"] = app_id.upper()  # GUIDs compare case-insensitively
        key = "customer.lighthouse.authorizations[0].principalId"
    else:
        auths[1]["justInTime"]["approvers"][0]["principalId"] = app_id
        key = "customer.lighthouse.authorizations[1].justInTime.approvers[0].principalId"
    refused(run_cli, write_stack(doc, "contoso"), "contoso", key, "application (client) id", "not an object id",
            f"az ad sp show --id {app_id}")


def test_the_sentinel_application_id_where_its_service_principal_object_id_is_required(run_cli, stack_doc,
                                                                                        write_stack) -> None:
    doc = stack_doc("mssp")
    platform(doc)["itsm"]["sentinelServicePrincipalObjectId"] = apps.AZURE_SECURITY_INSIGHTS_APP_ID
    refused(run_cli, write_stack(doc, "mssp"), "mssp", "platform.itsm.sentinelServicePrincipalObjectId",
            "Azure Security Insights", "not an object id")


@pytest.mark.parametrize(("interactive", "total", "ok"), [
    (90, 30, False), (730, 729, False), (90, 90, True), (90, 4383, True), (-1, 30, True), (90, -1, True),
    (90, None, True),
])
def test_total_retention_below_interactive_retention_is_refused(run_cli, stack_doc, write_stack, interactive: int,
                                                                 total: int | None, ok: bool) -> None:
    doc = stack_doc("mssp")
    splunk = platform(doc)["splunk"]
    splunk["retentionInDays"] = interactive
    if total is not None:
        splunk["totalRetentionInDays"] = total
    path = write_stack(doc, "mssp")
    if ok:
        code, _, err = run_cli(["plan", "mssp", "--config", str(path), "--quiet"])
        assert code == 0, err
    else:
        refused(run_cli, path, "mssp", "platform.splunk", f"totalRetentionInDays {total} is below retentionInDays "
                f"{interactive}", "data-retention-configure")


@pytest.mark.parametrize(("reference", "needle"), [
    ("acme-mssp/other-project/mssp", "names project 'other-project'"),
    ("acme-mssp/mssp-sentinel-old/mssp", "names project 'mssp-sentinel-old'"),
    ("other-org/mssp-sentinel/mssp", "names organization 'other-org'"),
])
def test_a_platform_stack_of_another_project_or_organization_is_refused(run_cli, stack_doc, write_stack,
                                                                         reference: str, needle: str) -> None:
    doc = stack_doc("contoso")
    customer(doc)["platformStack"] = reference
    refused(run_cli, write_stack(doc, "contoso"), "contoso", "customer.platformStack", needle)


@pytest.mark.parametrize("reference", ["mssp", "acme-mssp/mssp-sentinel/mssp"])
def test_the_fleets_own_platform_stack_is_accepted(run_cli, stack_doc, write_stack, reference: str) -> None:
    doc = stack_doc("contoso")
    customer(doc)["platformStack"] = reference
    code, _, err = run_cli(["plan", "contoso", "--config", str(write_stack(doc, "contoso")), "--quiet"])
    assert code == 0, err


@pytest.mark.parametrize("spelling", [PLATFORM_SUB, PLATFORM_SUB.upper()])
def test_a_customer_listing_the_mssps_own_subscription_is_refused(run_cli, stack_doc, write_stack, tmp_path,
                                                                  spelling: str) -> None:
    doc = stack_doc("fabrikam")
    assert platform(stack_doc("mssp"))["subscriptionId"] == PLATFORM_SUB
    customer(doc)["subscriptions"].append({"id": spelling, "displayName": "Looks like the customer's"})
    refused(run_cli, write_stack(doc, "fabrikam"), "fabrikam", "customer.subscriptions[", "the platform's "
            "subscriptionId", "the MSSP's own subscription")
