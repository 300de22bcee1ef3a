"""Least privilege in config (issue 10): federated credentials of the deploy and read-only identities,
and Microsoft's Lighthouse security practices for authorizations. Each is refused before anything runs,
naming the key path and what is allowed instead."""

from __future__ import annotations

from typing import Any

import pytest
from test_config_validation import customer, expect_config_error

from policies import rules

REPO = "repo:acme-mssp/mssp-sentinel"


def platform(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["mssp-sentinel:platform"]


def deploy_fic(doc: dict[str, Any]) -> dict[str, Any]:
    return platform(doc)["identity"]["federatedCredentials"][0]


@pytest.mark.parametrize("subject, why", [
    (f"{REPO}:pull_request", "pull requests can obtain it"),
    (f"{REPO}:ref:refs/heads/main", "push a branch"),
    (f"{REPO}:ref:refs/heads/feature-x", "push a branch"),
    (f"{REPO}:ref:refs/tags/v1", "push a branch or tag"),
    (f"{REPO}:environment:*", "no wildcards"),
    ("repo:acme-mssp/*:environment:production", "no wildcards"),
    ("*", "no wildcards"),
    (f"{REPO}:job_workflow_ref:acme-mssp/mssp-sentinel/.github/workflows/up.yml@refs/heads/main",
     "not a deployment-environment subject"),
])
def test_deploy_identity_refuses_subjects_unreviewed_code_can_obtain(run_cli, stack_doc, write_stack, subject, why):
    doc = stack_doc("mssp")
    deploy_fic(doc)["subject"] = subject
    err = expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.identity.federatedCredentials[0].subject",
                              why, "environment:<name>")
    assert "readOnlyIdentity" in err


def test_read_only_identity_may_use_pull_request(run_cli, stack_doc, write_stack):
    # Allowed on the read-only identity (never on the deploy identity); the example does not use it, since a
    # job a pull request adds could claim it without the preview environment's reviewer.
    doc = stack_doc("mssp")
    creds = platform(doc)["readOnlyIdentity"]["federatedCredentials"]
    assert not any(c["subject"].endswith(":pull_request") for c in creds)
    creds.append({"name": "github-pull-request", "issuer": "https://token.actions.githubusercontent.com",
                  "subject": "repo:acme-mssp/mssp-sentinel:pull_request"})
    code, _, err = run_cli(["plan", "mssp", "--config", str(write_stack(doc, "mssp")), "--quiet"])
    assert code == 0, err


def test_the_identities_share_no_subject(run_cli, stack_doc, write_stack):
    doc = stack_doc("mssp")
    platform(doc)["readOnlyIdentity"]["federatedCredentials"][1]["subject"] = deploy_fic(doc)["subject"]
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.readOnlyIdentity.federatedCredentials[1].subject",
                        "also a subject of the deploy identity")


@pytest.mark.parametrize("where", ["identity", "readOnlyIdentity"])
@pytest.mark.parametrize("issuer", ["https://gitlab.example.com", "https://token.actions.githubusercontent.com/",
                                    "https://TOKEN.actions.githubusercontent.com"])
def test_issuer_other_than_github_refused_even_when_the_stack_allows_it(run_cli, stack_doc, write_stack, where, issuer):
    # Issue 20: the trust anchors are reviewed data (components/facts/trust.py), not a stack file's choice; an
    # issuer Entra would compare exactly (trailing slash, case) is a different issuer.
    doc = stack_doc("mssp")
    platform(doc)[where]["federatedCredentials"][0]["issuer"] = issuer
    expect_config_error(run_cli, write_stack(doc, "mssp"), f"platform.{where}.federatedCredentials[0].issuer",
                        "not an issuer the identities trust", "components/facts/trust.py")
    platform(doc)[where]["allowedIssuers"] = [issuer]
    expect_config_error(run_cli, write_stack(doc, "mssp"), f"platform.{where}.allowedIssuers", "no longer accepted")


@pytest.mark.parametrize("where", ["identity", "readOnlyIdentity"])
@pytest.mark.parametrize("audiences", [["api://AzureADTokenExchange", "https://evil.example"], ["https://evil.example"],
                                       ["api://azureadtokenexchange"]])
def test_audience_other_than_token_exchange_refused(run_cli, stack_doc, write_stack, where, audiences):
    doc = stack_doc("mssp")
    platform(doc)[where]["federatedCredentials"][0]["audiences"] = audiences
    bad = next(i for i, a in enumerate(audiences) if a != "api://AzureADTokenExchange")
    expect_config_error(run_cli, write_stack(doc, "mssp"), f"platform.{where}.federatedCredentials[0].audiences[{bad}]",
                        "api://AzureADTokenExchange only")
    platform(doc)[where]["allowedAudiences"] = audiences
    expect_config_error(run_cli, write_stack(doc, "mssp"), f"platform.{where}.allowedAudiences", "no longer accepted")


# Issue 20: only the form of a subject was checked, so another organisation's repository, or an environment
# GitHub creates unprotected when a branch's workflow names it, planned cleanly for the deploy identity.
@pytest.mark.parametrize("subject, why", [
    ("repo:other-org/mssp-sentinel:environment:production", "names repository other-org/mssp-sentinel"),
    ("repo:acme-mssp/other-repo:environment:production", "names repository acme-mssp/other-repo"),
    ("repo:acme-mssp/mssp-sentinel-fork:environment:production", "names repository"),
    ("repo:ACME-MSSP/mssp-sentinel:environment:production", "names repository"),
    (f"{REPO}:environment:preview", "names environment 'preview'"),
    (f"{REPO}:environment:drift", "names environment 'drift'"),
    (f"{REPO}:environment:Production", "names environment 'Production'"),
    (f"{REPO}:environment:production-2", "names environment 'production-2'"),
    (f"{REPO}:environment:prod?ction", "wildcard"),
    (f"{REPO}:environment:[p]roduction", "wildcard"),
    ("repo:acme-mssp/mssp-sentinel", "not a GitHub Actions subject"),
])
def test_deploy_identity_trusts_only_the_pinned_repository_and_production(run_cli, stack_doc, write_stack, subject, why):
    doc = stack_doc("mssp")
    deploy_fic(doc)["subject"] = subject
    err = expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.identity.federatedCredentials[0].subject",
                              why, f"{REPO}:environment:production")
    assert "Traceback" not in err


@pytest.mark.parametrize("subject, why", [
    ("repo:other-org/mssp-sentinel:environment:preview", "names repository other-org/mssp-sentinel"),
    ("repo:other-org/mssp-sentinel:pull_request", "names repository"),
    (f"{REPO}:environment:staging", "names environment 'staging'"),
    (f"{REPO}:ref:refs/heads/main", "is not one of its subjects"),
    (f"{REPO}:environment:*", "wildcard"),
    ("*", "wildcard"),
])
def test_read_only_identity_trusts_only_the_pinned_repository_and_its_environments(run_cli, stack_doc, write_stack,
                                                                                    subject, why):
    doc = stack_doc("mssp")
    platform(doc)["readOnlyIdentity"]["federatedCredentials"][0]["subject"] = subject
    expect_config_error(run_cli, write_stack(doc, "mssp"), "platform.readOnlyIdentity.federatedCredentials[0].subject",
                        why, f"{REPO}:environment:preview")


# --------------------------------------------------------------------------------------------------
# Lighthouse authorizations
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["Contributor", "Log Analytics Contributor", "Logic App Contributor",
                                  "b24988ac-6180-42a0-ab88-20f7382dd24c"])
def test_permanent_broad_role_needs_a_named_acknowledgement(run_cli, stack_doc, write_stack, role):
    doc = stack_doc("contoso")
    auth = customer(doc)["lighthouse"]["authorizations"][0]
    auth["role"] = role
    err = expect_config_error(run_cli, write_stack(doc), "customer.lighthouse.authorizations[0].role",
                              "'SOC Analysts'", "permanent", "Microsoft Sentinel Contributor", "justInTime",
                              "acknowledgeBroadRole")
    assert "Traceback" not in err
    auth["acknowledgeBroadRole"] = "CAB-2041 approved by the SOC lead for incident response"
    code, _, err = run_cli(["plan", "contoso", "--config", str(write_stack(doc)), "--quiet"])
    assert code == 0, err


@pytest.mark.parametrize("role", ["Microsoft Sentinel Contributor", "Monitoring Contributor", "Reader",
                                  "Microsoft Sentinel Responder"])
def test_monitoring_and_sentinel_roles_may_be_permanent(run_cli, stack_doc, write_stack, role):
    doc = stack_doc("contoso")
    customer(doc)["lighthouse"]["authorizations"][0]["role"] = role
    code, _, err = run_cli(["plan", "contoso", "--config", str(write_stack(doc)), "--quiet"])
    assert code == 0, err


def test_just_in_time_needs_mfa(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["lighthouse"]["authorizations"][1]["justInTime"]["multiFactorAuth"] = "None"
    expect_config_error(run_cli, write_stack(doc), "customer.lighthouse.authorizations[1].justInTime.multiFactorAuth",
                        "'SOC Tier 3'", "multiFactorAuth: Azure")


def test_just_in_time_needs_an_approver(run_cli, stack_doc, write_stack):
    doc = stack_doc("contoso")
    customer(doc)["lighthouse"]["authorizations"][1]["justInTime"]["approvers"] = []
    expect_config_error(run_cli, write_stack(doc), "customer.lighthouse.authorizations[1].justInTime.approvers",
                        "'SOC Tier 3'", "at least one approver")
    del customer(doc)["lighthouse"]["authorizations"][1]["justInTime"]["approvers"]
    expect_config_error(run_cli, write_stack(doc), "justInTime.approvers", "at least one approver")


def test_a_user_principal_is_an_advisory(run_cli, stack_doc, write_stack, tmp_path):
    import json

    doc = stack_doc("contoso")
    customer(doc)["lighthouse"]["authorizations"][0]["principalType"] = "user"
    out = tmp_path / "m.json"
    code, _, err = run_cli(["plan", "contoso", "--config", str(write_stack(doc)), "--quiet", "--json", str(out)])
    assert code == 0, err
    (finding,) = [p for p in json.loads(out.read_text())["policies"] if p["policy"] == "lighthouse-groups-not-users"]
    assert finding["level"] == "advisory" and "'SOC Analysts'" in finding["message"] and "group" in finding["message"]


# The same practices as a guardrail over finished definitions (plans, the CrossGuard pack, base-branch review).
def _definition(authorizations: list[dict[str, Any]], eligible: list[dict[str, Any]] | None = None) -> rules.ResourceView:
    props: dict[str, Any] = {"authorizations": authorizations}
    if eligible is not None:
        props["eligibleAuthorizations"] = eligible
    return rules.ResourceView(type=rules.REGISTRATION_DEFINITION, props={"properties": props}, urn="urn:def")


CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
SENTINEL_CONTRIBUTOR = "ab8e14d6-4a74-4a29-9ba8-549422addade"


def test_rule_refuses_permanent_contributor_unless_acknowledged():
    view = _definition([{"principalId": "p", "principalIdDisplayName": "SOC Admins", "roleDefinitionId": CONTRIBUTOR},
                        {"principalId": "q", "principalIdDisplayName": "SOC", "roleDefinitionId": SENTINEL_CONTRIBUTOR}])
    (found,) = rules.check_lighthouse_least_privilege([view], {}, rules.PolicyContext())
    assert found[0] == "urn:def" and "'SOC Admins' (Contributor)" in found[1] and "justInTime" in found[1]
    acked = {"lighthouseAcknowledgements": {"SOC Admins": "CAB-1 decided by the CISO"}}
    assert rules.check_lighthouse_least_privilege([view], acked, rules.PolicyContext()) == []


def test_rule_requires_mfa_and_approvers_on_eligible_authorizations():
    view = _definition([], [{"principalId": "p", "principalIdDisplayName": "Tier 3", "roleDefinitionId": CONTRIBUTOR,
                             "justInTimeAccessPolicy": {"multiFactorAuthProvider": "None",
                                                        "maximumActivationDuration": "PT8H"}}])
    messages = [m for _, m in rules.check_lighthouse_least_privilege([view], None, rules.PolicyContext())]
    assert len(messages) == 2
    assert any("'Tier 3' does not require MFA" in m for m in messages)
    assert any("'Tier 3' has no approver" in m for m in messages)


def test_example_stacks_pass_the_rule(run_cli):
    for stack in ("contoso", "fabrikam"):
        from conftest import example_manifest

        assert not [p for p in example_manifest(stack)["policies"] if p["policy"] == "lighthouse-least-privilege"]
