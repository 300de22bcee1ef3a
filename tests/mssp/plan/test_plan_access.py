"""The plan shows which identity holds what (issue 10): deploy vs read-only, per scope (issue 12's table)."""

from __future__ import annotations

from conftest import example_manifest

from mssp.plan.command import render_markdown
from mssp.plan.facts import access_rows


def test_platform_plan_names_the_deploy_and_read_only_identities():
    rows = access_rows(example_manifest("mssp"))
    deploy = {(r.role_name.split(" (custom role")[0], r.via) for r in rows if r.identity.startswith("deploy identity")}
    reader = {(r.role_name.split(" (custom role")[0], r.scope.rsplit("/", 2)[-2])
              for r in rows if r.identity.startswith("read-only identity")}
    # The deploy identity: only the custom diagnostic-destination role on the workspace, nothing to read logs.
    assert deploy == {("MSSP Sentinel diagnostic destination (law-mssp-sentinel)", "role assignment")}
    custom = next(r for r in rows if r.identity.startswith("deploy identity"))
    assert "workspaces/sharedKeys/action" in custom.role_name and "query" not in custom.role_name.lower()
    assert custom.scope.endswith("/workspaces/law-mssp-sentinel")
    # The read-only identity: Reader on the platform resource group, the configuration reader on the
    # workspace (not Reader: that would read every customer's logs), no write role.
    assert reader == {("Reader", "resourceGroups"), ("MSSP Sentinel workspace configuration reader (law-mssp-sentinel)", "workspaces")}
    assert not any(r.role_name == "Log Analytics Contributor" for r in rows)
    md = render_markdown(example_manifest("mssp"))
    assert "deploy identity (mssp-identity)" in md and "read-only identity (mssp-readonly-identity)" in md


def test_customer_plan_shows_lighthouse_roles_per_principal():
    rows = access_rows(example_manifest("contoso"))
    reader = {r.role_name for r in rows if r.principal_name == "MSSP Sentinel read-only" and not r.eligible}
    assert reader == {"Reader"}
    assert ("SOC Tier 3", "Monitoring Contributor") in {(r.principal_name, r.role_name) for r in rows if r.eligible}
