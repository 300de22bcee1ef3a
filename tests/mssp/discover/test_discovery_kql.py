"""`mssp discover`'s Resource Graph query, checked by Microsoft's own Kusto parser (tests/kql_support.py).

Resource Graph runs a subset of KQL: the parser checks the syntax and the names against the `resources` and
`resourcecontainers` columns; the subset is checked separately: every query operator must be one Resource
Graph lists as supported, and `union` has at most 3 legs and no fuzzy resolution (query-language.md).
"""

from __future__ import annotations

import pytest
from kql_support import RESOURCE_GRAPH_COLUMNS, RESOURCE_GRAPH_OPERATORS, errors, parse

from components.facts import catalog
from mssp.discover.discovery import build_query

TYPE_SETS = {
    "every-catalog-type": catalog.supported_types(),
    "one-type": ["Microsoft.KeyVault/vaults"],
    "storage-and-sql": ["Microsoft.Storage/storageAccounts", "Microsoft.Sql/servers", "Microsoft.Sql/servers/databases"],
}
TABLES = {"resources": RESOURCE_GRAPH_COLUMNS, "resourcecontainers": RESOURCE_GRAPH_COLUMNS}


@pytest.fixture(scope="module")
def parsed():
    return parse([{"name": n, "text": build_query(t), "tables": TABLES} for n, t in TYPE_SETS.items()])


@pytest.mark.parametrize("name", TYPE_SETS)
def test_the_resource_graph_query_parses_within_the_resource_graph_subset(parsed, name):
    result = parsed[name]
    assert errors(result) == []
    assert [c[0] for c in result["columns"]] == ["id", "type", "subscriptionId", "kind"]
    assert set(result["operators"]) <= RESOURCE_GRAPH_OPERATORS, result["operators"]
    text = build_query(TYPE_SETS[name])
    assert "isfuzzy" not in text and text.count("union") <= 2  # at most 3 legs, no fuzzy resolution


def test_an_unsupported_operator_is_caught(parsed):
    result = parse([{"name": "x", "text": "resources | make-series count() on id step 1", "tables": TABLES}])
    assert not set(result["x"]["operators"]) <= RESOURCE_GRAPH_OPERATORS
