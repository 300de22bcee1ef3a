"""Whole-graph tests of the example customer stacks, through the offline plan (the real program under mocks)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT_DIR, by_type, example_manifest

from components.config import load_stack
from components.facts import catalog, roles
from components.forwarding.inventory import load_inventory

DIAG = "azure-native:monitor:DiagnosticSetting"
SUB_DIAG = "azure-native:monitor:SubscriptionDiagnosticSetting"
DEFINITION = "azure-native:managedservices:RegistrationDefinition"
ASSIGNMENT = "azure-native:managedservices:RegistrationAssignment"
ARM_PROVIDER = "pulumi:providers:azure-native"


def workspace_id() -> str:
    return load_stack("mssp", PROJECT_DIR).platform.workspace_id


def customer_subs(stack: str) -> list[str]:
    return [s.id for s in load_stack(stack, PROJECT_DIR).customer.subscriptions]


def expected_setting_uris(stack: str) -> set[str]:
    """Independent of the component: inventory ids, storage fanned out to four services."""
    loaded = load_stack(stack, PROJECT_DIR)
    fwd = loaded.customer.forwarding
    uris = set()
    for item in load_inventory(loaded.inventory_path, loaded.customer.subscription_ids):
        if item.type not in fwd.in_scope:
            continue
        if item.type == "Microsoft.Storage/storageAccounts":
            assert item.kind == "StorageV2"  # general-purpose v2: all four services
            uris |= {f"{item.id}/{svc}Services/default" for svc in ("blob", "file", "queue", "table")}
            if fwd.metrics_for(item.type):
                uris.add(item.id)
        elif item.type == "Microsoft.Sql/servers":
            uris.add(f"{item.id}/databases/master")  # server audit goes to the master database
        else:
            uris.add(item.id)
    return uris


def test_contoso_inventory_covers_every_catalog_type():
    loaded = load_stack("contoso", PROJECT_DIR)
    assert {i.type for i in loaded.inventory} == set(catalog.supported_types())
    assert len(loaded.customer.subscriptions) == 2 and loaded.customer.lighthouse.mode == "deploy"


def test_contoso_one_activity_log_setting_per_subscription():
    m = example_manifest("contoso")
    settings = by_type(m, SUB_DIAG)
    assert sorted(s["provider"] for s in settings) == sorted(f"forward-{sub}" for sub in customer_subs("contoso"))
    for s in settings:
        assert s["inputs"]["workspaceId"] == workspace_id()
        assert [entry["category"] for entry in s["inputs"]["logs"]] == list(catalog.ACTIVITY_LOG_CATEGORIES)


def test_contoso_one_setting_per_inventoried_resource_and_storage_service():
    m = example_manifest("contoso")
    uris = [s["inputs"]["resourceUri"] for s in by_type(m, DIAG)]
    assert len(uris) == len(set(uris))
    assert set(uris) == expected_setting_uris("contoso")
    # 11 other resources, 1 SQL server's master database, 4 storage services, 1 account (metrics on)
    assert len(uris) == 11 + 1 + 4 + 1


def test_every_setting_is_well_formed_and_targets_the_mssp_workspace():
    for stack in ("contoso", "fabrikam"):
        m = example_manifest(stack)
        for s in by_type(m, DIAG) + by_type(m, SUB_DIAG):
            inputs = s["inputs"]
            assert inputs["workspaceId"] == workspace_id()
            assert inputs["name"] == "mssp-sentinel"
            entries = inputs.get("logs", []) + inputs.get("metrics", [])
            assert entries, s["name"]
            assert all(e["enabled"] is True for e in entries)
            logs = inputs.get("logs", [])
            kinds = {("categoryGroup" in e, "category" in e) for e in logs}
            assert len(kinds) <= 1 and (True, True) not in kinds, f"mixed category/categoryGroup in {s['name']}"


def test_settings_use_the_catalog_categories_and_the_configured_selection():
    m = example_manifest("contoso")
    settings = {s["inputs"]["resourceUri"]: s["inputs"] for s in by_type(m, DIAG)}
    kv = next(v for k, v in settings.items() if k.endswith("/vaults/kv-contoso-prod"))
    assert kv["logs"] == [{"categoryGroup": "audit", "enabled": True}]
    assert kv["metrics"] == [{"category": "AllMetrics", "enabled": True}]
    sql = next(v for k, v in settings.items() if "/databases/sqldb-orders" in k)
    assert [e["category"] for e in sql["logs"]] == ["SQLInsights", "Errors", "Timeouts", "Blocks", "Deadlocks"]
    master = next(v for k, v in settings.items() if k.endswith("/sql-contoso-prod/databases/master"))
    assert master["logs"] == [{"category": "SQLSecurityAuditEvents", "enabled": True},
                              {"category": "DevOpsOperationsAudit", "enabled": True}]
    assert "metrics" not in sql  # metrics off by default
    nsg = next(v for k, v in settings.items() if k.endswith("/nsg-web"))
    assert nsg["logs"] == [{"categoryGroup": "allLogs", "enabled": True}] and "metrics" not in nsg
    firewall = next(v for k, v in settings.items() if "/azureFirewalls/" in k)
    assert firewall["logAnalyticsDestinationType"] == "Dedicated"
    account = next(v for k, v in settings.items() if k.endswith("/storageAccounts/stcontosoprod"))
    assert "logs" not in account and account["metrics"] == [{"category": "Transaction", "enabled": True}]


def test_every_setting_goes_through_its_subscriptions_explicit_provider():
    m = example_manifest("contoso")
    providers = {p["name"]: p["inputs"] for p in by_type(m, ARM_PROVIDER)}
    platform_tenant = load_stack("mssp", PROJECT_DIR).platform.tenant_id
    for s in by_type(m, DIAG):
        sub = s["inputs"]["resourceUri"].split("/")[2]
        assert s["provider"] == f"forward-{sub}"
        # Lighthouse model: the MSSP identity signs in to the MSSP tenant and acts through the projection.
        assert providers[s["provider"]]["subscriptionId"] == sub
        assert providers[s["provider"]]["tenantId"] == platform_tenant
    # Nothing relies on an ambient default provider.
    for r in m["resources"]:
        if r["custom"] and not r["type"].startswith("pulumi:"):
            assert r["provider"] is not None, r["urn"]


def test_contoso_lighthouse_one_definition_and_assignment_per_subscription():
    m = example_manifest("contoso")
    # The subscriptions' delegations; a resource group's extra SQL-auditing delegation is tested in
    # test_sql_audit_and_offboarding.py.
    definitions = [d for d in by_type(m, DEFINITION) if "/resourceGroups/" not in d["inputs"]["scope"]]
    assignments = [a for a in by_type(m, ASSIGNMENT) if "/resourceGroups/" not in a["inputs"]["scope"]]
    subs = customer_subs("contoso")
    assert sorted(d["inputs"]["scope"] for d in definitions) == sorted(f"/subscriptions/{s}" for s in subs)
    assert sorted(a["inputs"]["scope"] for a in assignments) == sorted(f"/subscriptions/{s}" for s in subs)
    platform = load_stack("mssp", PROJECT_DIR).platform
    customer = load_stack("contoso", PROJECT_DIR).customer
    for d in definitions:
        props = d["inputs"]["properties"]
        assert props["managedByTenantId"] == platform.tenant_id != customer.tenant_id
        assert d["provider"].startswith("customer-admin-")
        for auth in props["authorizations"] + props.get("eligibleAuthorizations", []):
            role = roles.BY_GUID[auth["roleDefinitionId"]]
            assert role.delegable in (roles.Delegable.YES, roles.Delegable.ONLY_WITH_DELEGATED_ROLES)
        sp_roles = {a["roleDefinitionId"] for a in props["authorizations"]
                    if a["principalIdDisplayName"] == platform.identity.display_name}
        # Never SQL Security Manager on a whole subscription (issue 20: its resource group's own delegation), and
        # never the Registration assignment Delete Role (the platform's offboarding group holds it).
        audits = {s["serverId"].split("/")[2] for s in m["outputs"]["auditedSqlServers"]}
        assert sp_roles == {roles.MONITORING_CONTRIBUTOR.guid, roles.READER.guid}
        eligible = props["eligibleAuthorizations"]
        assert eligible[0]["justInTimeAccessPolicy"]["maximumActivationDuration"] == "PT4H"
    assert audits and any(d["inputs"]["scope"].split("/")[2] not in audits for d in definitions)  # both cases seen
    # The assignment points at its own subscription's definition, and settings wait for the assignment.
    for a in assignments:
        sub = a["inputs"]["scope"].split("/")[2]
        assert a["inputs"]["properties"]["registrationDefinitionId"].startswith(
            f"/subscriptions/{sub}/providers/Microsoft.ManagedServices/registrationDefinitions/")
    for s in by_type(m, DIAG):
        sub = s["inputs"]["resourceUri"].split("/")[2]
        assert any(dep.endswith(f"assignment-{sub}") for dep in s["options"]["dependsOn"])


def test_role_guids_match_microsofts_list():
    # Pinned from MicrosoftDocs/azure-docs built-in-roles.md (see components/facts/roles.py).
    assert roles.READER.guid == "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    assert roles.MONITORING_CONTRIBUTOR.guid == "749f88d5-cbae-40b8-bcfc-e573ddc772fa"
    assert roles.REGISTRATION_DELETE.guid == "91c1777a-f3dc-4fae-b103-61d183457e46"
    assert roles.LOG_ANALYTICS_CONTRIBUTOR.guid == "92aaf0da-9dab-42b6-94a3-d43ce8d16293"
    assert roles.MONITORING_METRICS_PUBLISHER.guid == "3913510d-42f4-4e42-8a64-420c390055eb"
    assert roles.OWNER.guid == "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    assert roles.USER_ACCESS_ADMINISTRATOR.guid == "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
    assert roles.SENTINEL_RESPONDER.guid == "3e150937-b8fe-4cfb-8069-0eaf05ecd056"
    assert roles.SENTINEL_AUTOMATION_CONTRIBUTOR.guid == "f4c81013-99ee-4d62-a7ee-b3f1f648599a"


def test_lighthouse_creates_no_customer_tenant_service_principal_and_asks_no_consent():
    # Lighthouse projects the MSSP-tenant principals: nothing uses a customer-tenant service principal.
    m = example_manifest("contoso")
    assert not by_type(m, "azuread:index/servicePrincipal:ServicePrincipal")
    assert not by_type(m, "pulumi:providers:azuread")
    assert "adminConsentUrl" not in m["outputs"]
    assert m["outputs"]["accessModel"] == "lighthouse" and m["outputs"]["lighthouseMode"] == "deploy"


def test_lighthouse_read_only_identity_holds_only_reader():
    m = example_manifest("contoso")
    platform = example_manifest("mssp")["outputs"]
    reader = platform["readOnlyServicePrincipalObjectId"]
    assert reader != platform["servicePrincipalObjectId"]
    for d in by_type(m, DEFINITION):
        props = d["inputs"]["properties"]
        held = {a["roleDefinitionId"] for a in props["authorizations"] if a["principalId"] == reader}
        if "/resourceGroups/" in d["inputs"]["scope"]:  # a SQL-auditing delegation: the deploy identity's alone
            assert held == set()
            continue
        # Not Monitoring Reader: it adds workspace log search and Microsoft.Support/* (roles.READ_ONLY_ROLES).
        assert held == {roles.READER.guid}
        assert all(e["principalId"] != reader for e in props.get("eligibleAuthorizations", []))


def test_template_mode_creates_nothing_in_the_customer_tenant():
    m = example_manifest("fabrikam")
    customer = load_stack("fabrikam", PROJECT_DIR).customer
    assert not by_type(m, DEFINITION) and not by_type(m, ASSIGNMENT)
    assert not by_type(m, "azuread:index/servicePrincipal:ServicePrincipal")
    assert not by_type(m, "pulumi:providers:azuread")
    for p in by_type(m, ARM_PROVIDER):
        assert p["inputs"]["tenantId"] != customer.tenant_id, p["name"]
    assert "adminConsentUrl" not in m["outputs"]  # Lighthouse needs no consent (direct model only)
    assert m["outputs"]["lighthouseMode"] == "template"
    # Only the in-scope types are forwarded.
    types = Counter(s["inputs"]["resourceUri"].split("/providers/")[1].rsplit("/", 1)[0] for s in by_type(m, DIAG))
    assert set(types) == {"Microsoft.KeyVault/vaults", "Microsoft.Network/azureFirewalls"}
    assert {s["inputs"]["resourceUri"] for s in by_type(m, DIAG)} == expected_setting_uris("fabrikam")


def test_direct_model(stack_doc, write_stack, tmp_path: Path):
    from mssp.plan.command import build_manifest

    doc = stack_doc("contoso")
    cust = doc["config"]["mssp-sentinel:customer"]
    cust["accessModel"] = "direct"
    cust.pop("lighthouse")
    cust["forwarding"]["inventory"] = str(PROJECT_DIR / cust["forwarding"]["inventory"])
    path = write_stack(doc, "contoso")
    m = build_manifest("contoso", PROJECT_DIR, path)
    platform = load_stack("mssp", PROJECT_DIR).platform
    customer_tenant = cust["tenantId"]
    assert not by_type(m, DEFINITION)
    forward = [p for p in by_type(m, ARM_PROVIDER) if p["name"].startswith("forward-")]
    assert len(forward) == 2
    for p in forward:
        assert p["inputs"]["tenantId"] == customer_tenant
        # Provider inputs reach the engine as strings; lists as JSON text.
        assert json.loads(p["inputs"]["auxiliaryTenantIds"]) == [platform.tenant_id]
    # The Splunk webhook's own assignment (MSSP subscription, on the DCR) is tested in test_splunk_plan.py.
    assignments = [a for a in by_type(m, "azure-native:authorization:RoleAssignment")
                   if "mssp:splunk:SplunkWebhook" not in a["urn"]]
    sps = {sp["name"]: sp for sp in by_type(m, "azuread:index/servicePrincipal:ServicePrincipal")}
    assert set(sps) == {"contoso-identity-sp", "contoso-identity-readonly-sp"}
    assert all(sp["provider"] == "customer-entra" and sp["options"]["retainOnDelete"] for sp in sps.values())
    held: dict[str, set[tuple[str, str]]] = {}
    for a in assignments:
        assert a["inputs"]["principalType"] == "ServicePrincipal"
        who = "reader" if "-readonly-" in a["name"] else "deploy"
        held.setdefault(who, set()).add((a["inputs"]["scope"], a["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1]))
    subs = [f"/subscriptions/{s}" for s in customer_subs("contoso")]
    # The deploy identity writes diagnostic settings (and, where it audits SQL servers, their auditing);
    # the read-only one only reads.
    # Issue 20: SQL Security Manager on the audited servers' resource groups, not their subscriptions.
    audited = {a["serverId"].split("/providers/")[0] for a in m["outputs"]["auditedSqlServers"]}
    assert audited
    assert held["deploy"] == ({(s, roles.MONITORING_CONTRIBUTOR.guid) for s in subs}
                              | {(s, roles.SQL_SECURITY_MANAGER.guid) for s in audited})
    assert held["reader"] == {(s, roles.READER.guid) for s in subs}
    assert m["outputs"]["accessModel"] == "direct"
    assert m["outputs"]["adminConsentUrl"].startswith(f"https://login.microsoftonline.com/{customer_tenant}/adminconsent")
    assert yaml.safe_load(path.read_text())  # the file we planned is the one we wrote


def test_adopted_settings_keep_their_existing_names(stack_doc, write_stack, tmp_path: Path):
    from mssp.plan.command import build_manifest

    # An import file as `mssp discover --on-conflict adopt` writes it (pulumi import --file format).
    m = example_manifest("contoso")
    kv = next(s for s in by_type(m, DIAG) if s["inputs"]["resourceUri"].endswith("/vaults/kv-contoso-prod"))
    setting_id = f"{kv['inputs']['resourceUri']}/providers/Microsoft.Insights/diagnosticSettings/setbyhand"
    imports = tmp_path / "imports.json"
    imports.write_text(json.dumps({"resources": [{"type": DIAG, "name": kv["name"], "id": setting_id}]}))
    doc = stack_doc("contoso")
    fwd = doc["config"]["mssp-sentinel:customer"]["forwarding"]
    fwd["inventory"] = str(PROJECT_DIR / fwd["inventory"])
    fwd["importFile"] = str(imports)
    adopted = build_manifest("contoso", PROJECT_DIR, write_stack(doc, "contoso"))
    names = {s["name"]: s["inputs"]["name"] for s in by_type(adopted, DIAG)}
    assert names.pop(kv["name"]) == "setbyhand"
    assert set(names.values()) == {"mssp-sentinel"}


def test_missing_configured_import_file_is_a_config_error(run_cli, stack_doc, write_stack, tmp_path: Path):
    doc = stack_doc("contoso")
    doc["config"]["mssp-sentinel:customer"]["forwarding"]["importFile"] = str(tmp_path / "none.json")
    code, _, err = run_cli(["plan", "contoso", "--config", str(write_stack(doc))])
    assert code == 2 and "customer.forwarding.importFile" in err and "file not found" in err


def test_the_customer_tenant_identity_is_for_the_direct_model_only():
    # Lighthouse projects the MSSP-tenant principals; a customer-tenant service principal there would be
    # access nobody uses. Refused before anything is registered (no provider is touched either).
    from components.identity.customer import CustomerTenantIdentity, CustomerTenantIdentityArgs

    customer = load_stack("contoso", PROJECT_DIR).customer
    assert customer.access_model == "lighthouse"
    args = CustomerTenantIdentityArgs(customer=customer, app_client_id="app", entra_provider=None,  # type: ignore[arg-type]
                                      admin_providers={})
    with pytest.raises(ValueError, match="for the direct access model, not 'lighthouse'"):
        CustomerTenantIdentity("contoso-identity", args)
