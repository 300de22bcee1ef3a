"""Which Log Analytics table each catalog category lands in, pinned against Microsoft's reference.

tests/fixtures/supported-logs-tables.md holds the "Log table" cells copied from the Azure Monitor
"Supported logs for <type>" pages (source per section). `mssp health` queries exactly these tables,
so a wrong name here would make a forwarding resource read as silent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.facts import catalog

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "supported-logs-tables.md"


def _sections() -> dict[str, list[tuple[str, str]]]:
    """{section title: [(first cell, table name or "")]} from the fixture's copied rows."""
    out: dict[str, list[tuple[str, str]]] = {}
    title = ""
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            out[title] = []
        elif line.startswith("|") and title:
            cells = line.split("|")[1:]  # Category | Costs to export | Log table, or Category | Log table
            table_cell = cells[2] if len(cells) >= 3 else cells[1]
            m = re.match(r"\[(\w+)\]", table_cell)
            out[title].append((cells[0].strip(), m.group(1) if m else table_cell.strip()))
    return out


SECTIONS = _sections()


def test_fixture_was_read():
    assert len(SECTIONS) == 6
    assert all(SECTIONS.values())


def test_firewall_tables_match_microsoft_by_category():
    rows = dict(SECTIONS["Microsoft.Network/azureFirewalls (by category)"])
    entry = catalog.entry_for("Microsoft.Network/azureFirewalls")
    assert entry.destination_type == "Dedicated"
    assert {c for c, _ in entry.tables} == set(entry.categories) == set(rows)
    for category, table in rows.items():
        if category == "AZFWFqdnResolveFailure":
            # Microsoft's page names no table for it; the catalog uses the tables reference's name.
            assert table == ""
            assert entry.table_of(category) == "AZFWInternalFqdnResolutionFailure"
            continue
        assert entry.table_of(category) == table, category
    assert entry.table_of("AZFWDnsAdditional") == "AZFWDnsFlowTrace"  # the one not named after its category
    assert entry.table_of("AzureFirewallNetworkRule") == "AzureDiagnostics"


@pytest.mark.parametrize(("service", "table"), [("blob", "StorageBlobLogs"), ("table", "StorageTableLogs")])
def test_storage_service_tables_match_microsoft(service, table):
    rows = dict(SECTIONS[f"Microsoft.Storage/storageAccounts/{service}Services (by category)"])
    storage = catalog.entry_for("Microsoft.Storage/storageAccounts")
    sub = next(s for s in storage.sub_services if s.path == f"{service}Services/default")
    assert dict(sub.tables) == rows
    assert set(rows.values()) == {table}


def test_all_storage_services_have_their_own_table():
    storage = catalog.entry_for("Microsoft.Storage/storageAccounts")
    assert {s.path.split("/")[0]: sorted(set(dict(s.tables).values())) for s in storage.sub_services} == {
        "blobServices": ["StorageBlobLogs"], "fileServices": ["StorageFileLogs"],
        "queueServices": ["StorageQueueLogs"], "tableServices": ["StorageTableLogs"]}


@pytest.mark.parametrize(("rtype", "section"), [
    ("Microsoft.Network/networkSecurityGroups", "Microsoft.Network/networkSecurityGroups (by display name)"),
    ("Microsoft.Network/applicationGateways", "Microsoft.Network/applicationGateways (by display name)"),
    ("Microsoft.Sql/servers/databases", "Microsoft.Sql/servers/databases (by display name)"),
])
def test_azure_diagnostics_types_match_microsoft(rtype, section):
    rows = SECTIONS[section]
    entry = catalog.entry_for(rtype)
    assert {t for _, t in rows} == {"AzureDiagnostics"}
    assert len(rows) == len(entry.categories)  # one row per category, none left out
    assert dict(entry.tables) == {c: "AzureDiagnostics" for c in entry.categories}


def test_every_category_has_exactly_one_table():
    for entry in catalog.CATALOG:
        assert sorted(c for c, _ in entry.tables) == sorted(entry.categories)
        assert all(t for _, t in entry.tables)
        for sub in entry.sub_services:
            assert {c for c, _ in sub.tables} == set(sub.categories)


def test_resource_specific_tables_only_with_dedicated():
    # Without logAnalyticsDestinationType Dedicated, Azure writes these types to AzureDiagnostics (AKSAudit,
    # AGWAccessLogs ... need Dedicated), so the catalog must not claim otherwise.
    for entry in catalog.CATALOG:
        if entry.destination_type != "Dedicated":
            assert {t for _, t in entry.tables} <= {"AzureDiagnostics"}, entry.type
    assert catalog.ACTIVITY_LOG_TABLE == "AzureActivity"
