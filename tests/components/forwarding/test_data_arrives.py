"""What the plan promises reaches Azure and delivers data: SQL audit, storage by account kind, one firewall family.

Sources: SQL audit needs server auditing with the Azure Monitor target and a setting on the master database
(Azure/azure-rest-api-specs Microsoft.Sql stable/2021-11-01 BlobAuditing.json; azure-native
sql.ServerBlobAuditingPolicy docs). Storage services per account kind: Microsoft's "Storage account
overview". Azure Firewall legacy and AZFW* categories carry the same events (Azure/ALZ-Bicep#960).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import by_type, example_manifest

from components.config.customer import ForwardingConfig
from components.facts import catalog
from components.forwarding.diagnostics import plan_settings
from components.forwarding.inventory import InventoryError, InventoryItem, dump_inventory, parse_inventory
from mssp.discover.discovery import FoundResource, build_query, setting_targets
from mssp.plan.command import render_markdown

SUB = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers"
SERVER = f"{RG}/Microsoft.Sql/servers/sql-a"
FIREWALL = f"{RG}/Microsoft.Network/azureFirewalls/afw"
AUDIT_POLICY = "azure-native:sql:ServerBlobAuditingPolicy"
DIAG = "azure-native:monitor:DiagnosticSetting"


def fwd(**over: Any) -> ForwardingConfig:
    return ForwardingConfig.model_validate({"inventory": "x.yaml", **over})


# --- SQL audit -----------------------------------------------------------------------------------------
def test_a_sql_server_gets_auditing_to_azure_monitor_and_a_master_database_setting() -> None:
    plan = plan_settings([InventoryItem(SERVER, "Microsoft.Sql/servers")], fwd())
    (setting,) = plan.settings
    assert setting.resource_uri == f"{SERVER}/databases/master"
    assert [e["category"] for e in setting.logs] == ["SQLSecurityAuditEvents", "DevOpsOperationsAudit"]
    assert all("category_group" not in e for e in setting.logs)  # not a group: only the audit categories
    (audit,) = plan.audits
    assert (audit.server_id, audit.resource_group, audit.server_name, audit.devops) == (SERVER, "rg-prod", "sql-a", True)


def test_devops_audit_is_enabled_only_when_its_category_is_forwarded() -> None:
    plan = plan_settings([InventoryItem(SERVER, "Microsoft.Sql/servers")],
                         fwd(perType={"Microsoft.Sql/servers": {"logs": ["SQLSecurityAuditEvents"]}}))
    assert [e["category"] for e in plan.settings[0].logs] == ["SQLSecurityAuditEvents"]
    assert plan.audits[0].devops is False


def test_contoso_enables_its_servers_auditing_through_the_subscriptions_provider() -> None:
    m = example_manifest("contoso")
    (policy,) = by_type(m, AUDIT_POLICY)
    assert policy["inputs"] == {
        "blobAuditingPolicyName": "default", "isAzureMonitorTargetEnabled": True, "isDevopsAuditEnabled": True,
        "resourceGroupName": "rg-prod", "serverName": "sql-contoso-prod", "state": "Enabled",
    }
    assert policy["provider"] == f"forward-{SUB}"
    # The customer's configuration: removing the customer must not reset or delete it.
    assert policy["options"]["retainOnDelete"] is True
    # The identity writing it through that provider may: SQL Security Manager on the server's resource group only
    # (issue 20: never subscription-wide without a person's acknowledgement).
    sql_roles = {d["inputs"]["scope"] for d in by_type(m, "azure-native:managedservices:RegistrationDefinition")
                 if "056cd41c-7e88-42e1-933e-88ba6a50c9c3" in
                 {a["roleDefinitionId"] for a in d["inputs"]["properties"]["authorizations"]}}
    assert sql_roles == {f"/subscriptions/{SUB}/resourceGroups/rg-prod"}
    forwarding = next(r for r in m["resources"] if r["type"] == "mssp:forwarding:DiagnosticForwarding")
    assert policy["parent"] == forwarding["urn"]
    master = [r for r in by_type(m, DIAG) if r["inputs"]["resourceUri"].endswith("/sql-contoso-prod/databases/master")]
    assert len(master) == 1 and master[0]["provider"] == f"forward-{SUB}"
    # The plan says what it changes on the customer's servers: in the manifest and in the Markdown.
    (audited,) = m["outputs"]["auditedSqlServers"]
    assert audited["serverId"].endswith("/Microsoft.Sql/servers/sql-contoso-prod")
    assert audited["isAzureMonitorTargetEnabled"] is True and audited["isDevopsAuditEnabled"] is True
    markdown = render_markdown(m)
    assert "## Changed on the customer's SQL servers" in markdown and "sql-contoso-prod" in markdown


def test_user_databases_keep_the_categories_that_do_not_depend_on_auditing() -> None:
    db = f"{SERVER}/databases/orders"
    (setting,) = plan_settings([InventoryItem(db, "Microsoft.Sql/servers/databases")],
                               fwd(perType={"Microsoft.Sql/servers/databases": {"logs": ["SQLInsights", "Errors"]}})).settings
    assert [e["category"] for e in setting.logs] == ["SQLInsights", "Errors"]
    with pytest.raises(ValueError, match=r"Microsoft\.Sql/servers"):
        fwd(perType={"Microsoft.Sql/servers/databases": {"logs": ["SQLInsights", "SQLSecurityAuditEvents"]}})


def test_discovery_finds_sql_servers_and_reads_their_master_database() -> None:
    assert "'microsoft.sql/servers'" in build_query(catalog.supported_types())
    assert setting_targets(FoundResource(SERVER, "Microsoft.Sql/servers", SUB)) == [SERVER, f"{SERVER}/databases/master"]


# --- storage by kind -----------------------------------------------------------------------------------
def _account(kind: str) -> InventoryItem:
    return InventoryItem(f"{RG}/Microsoft.Storage/storageAccounts/st{kind.lower()}", "Microsoft.Storage/storageAccounts", kind)


@pytest.mark.parametrize(("kind", "services"), [
    ("FileStorage", ["file"]),
    ("BlockBlobStorage", ["blob"]),
    ("BlobStorage", ["blob"]),
    ("StorageV2", ["blob", "file", "queue", "table"]),
    ("Storage", ["blob", "file", "queue", "table"]),
])
def test_storage_accounts_fan_out_by_kind(kind: str, services: list[str]) -> None:
    item = _account(kind)
    uris = [s.resource_uri for s in plan_settings([item], fwd()).settings]
    assert uris == [f"{item.id}/{svc}Services/default" for svc in services]
    assert setting_targets(FoundResource(item.id, item.type, SUB, kind)) == [item.id, *uris]


def test_a_file_storage_account_gets_only_a_file_services_setting_even_with_metrics() -> None:
    item = _account("FileStorage")
    uris = [s.resource_uri for s in plan_settings([item], fwd(metrics=True)).settings]
    assert uris == [item.id, f"{item.id}/fileServices/default"]  # the account's own metrics, and file only


def test_the_inventory_records_kind_and_refuses_a_storage_account_without_it() -> None:
    item = _account("FileStorage")
    text = dump_inventory([item])
    assert "kind: FileStorage" in text
    assert parse_inventory({"resources": [{"id": item.id, "type": item.type, "kind": "filestorage"}]}, {SUB}) == [item]
    with pytest.raises(InventoryError) as exc:
        parse_inventory({"resources": [{"id": item.id, "type": item.type}]}, {SUB})
    ((where, message),) = exc.value.problems
    assert where == "resources[0].kind" and "StorageV2" in message and "discover" in message


def test_discovery_reads_kind_from_resource_graph() -> None:
    assert "project id, type, subscriptionId, kind" in build_query(catalog.supported_types())


# --- Azure Firewall once ---------------------------------------------------------------------------------
def _firewall(**over: Any) -> tuple[list[str], str | None]:
    (setting,) = plan_settings([InventoryItem(FIREWALL, "Microsoft.Network/azureFirewalls")], fwd(**over)).settings
    return [e.get("category") or e["category_group"] for e in setting.logs], setting.destination_type


def test_the_firewall_sends_one_family_resource_specific_by_default() -> None:
    categories, destination = _firewall()
    assert categories == list(catalog.FIREWALL_RESOURCE_SPECIFIC_CATEGORIES)
    assert destination == "Dedicated"
    assert not set(categories) & set(catalog.FIREWALL_LEGACY_CATEGORIES)


def test_the_firewall_sends_the_legacy_family_on_request() -> None:
    categories, destination = _firewall(azureFirewallLogs="legacy")
    assert categories == list(catalog.FIREWALL_LEGACY_CATEGORIES)
    assert destination is None  # AzureDiagnostics, Azure's default


def test_an_explicit_firewall_list_may_not_mix_the_families() -> None:
    categories, destination = _firewall(perType={"Microsoft.Network/azureFirewalls": {"logs": ["AzureFirewallDnsProxy"]}})
    assert (categories, destination) == (["AzureFirewallDnsProxy"], None)
    with pytest.raises(ValueError, match="ALZ-Bicep#960"):
        fwd(perType={"Microsoft.Network/azureFirewalls": {"logs": ["AZFWDnsQuery", "AzureFirewallDnsProxy"]}})


def test_no_planned_firewall_setting_selects_both_families() -> None:
    for stack in ("contoso", "fabrikam"):
        for r in by_type(example_manifest(stack), DIAG):
            if "/azureFirewalls/" not in r["inputs"]["resourceUri"]:
                continue
            logs = [e.get("category") or e.get("categoryGroup") for e in r["inputs"]["logs"]]
            assert "allLogs" not in logs
            legacy = set(logs) & set(catalog.FIREWALL_LEGACY_CATEGORIES)
            specific = set(logs) & set(catalog.FIREWALL_RESOURCE_SPECIFIC_CATEGORIES)
            assert bool(legacy) != bool(specific), logs
