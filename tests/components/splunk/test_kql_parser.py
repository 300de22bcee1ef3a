"""The Splunk path's KQL, checked by Microsoft's own Kusto parser (tests/kql_support.py): the analytics rule's
query against the table the program creates, the DCR transform against the stream it declares, with no
diagnostics, the transform within the documented DCR subset and producing exactly the table's columns.

Bugs this catches: a column the query names that the table does not have, a function or operator a DCR
transform cannot use (Azure rejects the rule), a transform whose output does not match the table.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from kql_support import DCR_FUNCTIONS, DCR_OPERATORS, STANDARD_COLUMNS, errors, parse

from components.config.splunk import SplunkPlatformConfig
from components.splunk import schema
from components.splunk.ingestion import dcr_properties, rule_properties

KUSTO_TYPE = {"dateTime": "datetime", "boolean": "bool"}  # Log Analytics spelling -> Kusto's


def kusto(columns: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(c["name"], KUSTO_TYPE.get(c["type"], c["type"])) for c in columns]


EXTRAS = [
    [],
    [{"name": "Host", "type": "string", "sourceField": "host"}],
    [{"name": "Count", "type": "long", "sourceField": "count"}, {"name": "Score", "type": "real", "sourceField": "x'y"},
     {"name": "Flag", "type": "boolean", "sourceField": "flag"}, {"name": "Seen", "type": "dateTime", "sourceField": "_time"},
     {"name": "Raw", "type": "dynamic", "sourceField": "raw \"quoted\""}, {"name": "N", "type": "int", "sourceField": "n"}],
]
RULES = [
    {},
    {"severityField": "urgency", "severityMap": {"critical": "High", "low": "Low"}, "severity": "Medium"},
    {"severityField": "sev'erity", "severityMap": {"x\"y": "Informational"}},
]


def configs() -> list[SplunkPlatformConfig]:
    return [SplunkPlatformConfig.model_validate({"tableName": "SocAlerts_CL", "extraColumns": extras,
                                                 "analyticsRule": rule})
            for extras, rule in itertools.product(EXTRAS, RULES)]


CONFIGS = configs()


def texts(cfg: SplunkPlatformConfig) -> list[dict[str, Any]]:
    table = kusto(schema.table_columns(cfg.extras))
    names = {n for n, _ in table}
    flow = dcr_properties(cfg, "/subscriptions/x/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w")
    (data_flow,) = flow["dataFlows"]
    return [
        {"name": "rule", "text": rule_properties(cfg)["query"],
         "tables": {cfg.table_name: table + [c for c in STANDARD_COLUMNS if c[0] not in names]}},
        {"name": "transform", "text": data_flow["transformKql"],
         # The transform reads `source`: the stream's declared columns (the DCR's streamDeclarations).
         "tables": {"source": kusto(flow["streamDeclarations"][data_flow["streams"][0]]["columns"])}},
    ]


@pytest.fixture(scope="module")
def parsed() -> list[dict[str, dict[str, Any]]]:
    """Every config's texts, parsed in one run of the parser (it takes seconds to load)."""
    batch = [{**q, "name": f"{i}:{q['name']}"} for i, cfg in enumerate(CONFIGS) for q in texts(cfg)]
    results = parse(batch)
    return [{name: results[f"{i}:{name}"] for name in ("rule", "transform")} for i in range(len(CONFIGS))]


@pytest.mark.parametrize("i", range(len(CONFIGS)))
def test_the_rule_query_and_the_transform_parse_without_diagnostics(parsed, i):
    assert errors(parsed[i]["rule"]) == []
    assert errors(parsed[i]["transform"]) == []


@pytest.mark.parametrize("i", range(len(CONFIGS)))
def test_the_transform_yields_exactly_the_tables_columns_within_the_dcr_subset(parsed, i):
    result = parsed[i]["transform"]
    # Same names, same types, same order as the table the DCR writes to.
    assert [tuple(c) for c in result["columns"]] == kusto(schema.table_columns(CONFIGS[i].extras))
    assert set(result["operators"]) <= DCR_OPERATORS, result["operators"]
    assert set(result["functions"]) <= DCR_FUNCTIONS, result["functions"]
    assert "parse_json" in result["functions"]  # the documented form for the dynamic Result column


def test_the_parser_is_not_vacuous():
    # A column the table lacks and an operator outside the DCR subset are caught.
    results = parse([
        {"name": "unknown", "text": "SocAlerts_CL | where NoSuchColumn == 1",
         "tables": {"SocAlerts_CL": [("TimeGenerated", "datetime")]}},
        {"name": "summarize", "text": "source | summarize count() by A", "tables": {"source": [("A", "string")]}},
    ])
    assert any("NoSuchColumn" in e for e in errors(results["unknown"]))
    assert not set(results["summarize"]["operators"]) <= DCR_OPERATORS


@pytest.mark.parametrize("name", schema.HELPER_COLUMN_NAMES)
def test_an_extra_column_named_like_a_helper_column_is_refused(name):
    # The transform and the rule compute these along the way; an extra of the same name would be overwritten.
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="reserved column name"):
        SplunkPlatformConfig.model_validate({"extraColumns": [{"name": name, "sourceField": "x"}]})
