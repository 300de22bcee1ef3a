"""The plan shows which identity holds what (issue 10): deploy vs read-only, per scope."""

from __future__ import annotations

from conftest import example_manifest

from mssp.plan.command import access_rows, render_markdown


def test_platform_plan_names_the_deploy_and_read_only_identities():
    rows = access_rows(example_manifest("mssp"))
    deploy = {(role, how) for who, role, _, how in rows if who == "deploy identity"}
    reader = {role for who, role, _, _ in rows if who == "read-only identity"}
    assert deploy == {("MSSP Sentinel diagnostic destination", "role assignment")}
    assert reader == {"Reader"}
    assert not any(role == "Log Analytics Contributor" for _, role, _, _ in rows)
    assert "## Who holds what" in render_markdown(example_manifest("mssp"))


def test_customer_plan_shows_lighthouse_roles_per_principal():
    rows = access_rows(example_manifest("contoso"))
    reader = {role for who, role, _, how in rows if who == "MSSP Sentinel read-only" and how == "Lighthouse, permanent"}
    assert reader == {"Reader", "Monitoring Reader"}
    assert ("SOC Tier 3", "Monitoring Contributor") in {(w, r) for w, r, _, h in rows if h == "Lighthouse, just in time"}
