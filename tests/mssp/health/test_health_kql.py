"""`mssp health`'s query, checked by Microsoft's own Kusto parser (tests/kql_support.py) against the schemas of
the tables it reads: every table the catalog's settings land in, AzureActivity, the Splunk table.

Bug this catches: a table or column name the workspace does not have (the query would fail, or `isfuzzy`
would hide a misspelt table as "no data"), or a syntax error in the generated text.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PROJECT_DIR
from kql_support import AZURE_ACTIVITY_COLUMNS, STANDARD_COLUMNS, errors, parse

from components.facts import catalog
from components.splunk import schema
from mssp.health.query import METRICS_TABLE, RESULT_COLUMNS, Expectations, ExpectedResource, build_query, expectations

SPLUNK_TABLE = "SplunkAlerts_CL"


def every_catalog_table() -> set[str]:
    tables = {t for e in catalog.CATALOG for _, t in e.tables}
    tables |= {t for e in catalog.CATALOG for s in e.sub_services for _, t in s.tables}
    return tables | {METRICS_TABLE}


def schemas(query_tables: set[str]) -> dict[str, Any]:
    splunk = [(c["name"], {"dateTime": "datetime", "boolean": "bool"}.get(c["type"], c["type"]))
              for c in schema.table_columns()]
    names = {n for n, _ in splunk}
    tables: dict[str, Any] = {t: STANDARD_COLUMNS for t in query_tables}
    tables["AzureActivity"] = AZURE_ACTIVITY_COLUMNS
    tables[SPLUNK_TABLE] = splunk + [c for c in STANDARD_COLUMNS if c[0] not in names]
    return tables


def all_tables_expectation(splunk: bool) -> Expectations:
    resources = tuple(ExpectedResource(f"/subscriptions/s/resourceGroups/r/providers/{t}/x{i}", "x", (t,))
                      for i, t in enumerate(sorted(every_catalog_table())))
    return Expectations(stack="all", customer="o'brien \"quoted\"", workspace_resource_id="w", resources=resources,
                        subscriptions=(("s", "S"),), all_subscriptions=("s",),
                        splunk_table=SPLUNK_TABLE if splunk else None)


CASES: dict[str, Expectations] = {
    "contoso": expectations("contoso", PROJECT_DIR),
    "fabrikam": expectations("fabrikam", PROJECT_DIR),
    "every-table-with-splunk": all_tables_expectation(True),
    "every-table-without-splunk": all_tables_expectation(False),
}


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict[str, Any]]:
    tables = schemas(every_catalog_table())
    return parse([{"name": name, "text": build_query(e), "tables": tables} for name, e in CASES.items()])


@pytest.mark.parametrize("case", CASES)
def test_the_health_query_parses_against_the_tables_it_reads(parsed, case):
    assert errors(parsed[case]) == []
    assert [c[0] for c in parsed[case]["columns"]] == list(RESULT_COLUMNS)


def test_a_misspelt_table_is_caught():
    # Without isfuzzy's cover the parser names an unknown table; the schemas above hold every real one.
    result = parse([{"name": "bad", "text": "AzureDiagnostic | take 1", "tables": schemas(every_catalog_table())}])
    assert errors(result["bad"])
