"""Microsoft's own Kusto parser for the tests: Kusto.Language (npm `@kusto/language-service-next`, pinned with
its integrity hash in tools/kql/package-lock.json), run by tools/kql/check.js under Node.

`parse` installs it with `npm ci` the first time (`.ci/run` runs the tests, so CI installs it too) and returns,
per text, the parser's diagnostics, the result columns, the functions called and the query operators used.
Without Node/npm the KQL tests skip locally and fail under CI (CI=true), like the real-CLI tests.

The table schemas the texts are checked against, with their sources, are below (SCHEMAS, *_COLUMNS).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

KQL_DIR = Path(__file__).resolve().parents[1] / "tools" / "kql"
PACKAGE = KQL_DIR / "node_modules" / "@kusto" / "language-service-next"

# Columns every Log Analytics table has (MicrosoftDocs/azure-monitor-docs
# articles/azure-monitor/logs/log-standard-columns.md: TenantId, TimeGenerated, Type, _ItemId, _ResourceId,
# _SubscriptionId; TimeGenerated is a datetime, the ids strings).
STANDARD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("TenantId", "string"), ("TimeGenerated", "datetime"), ("Type", "string"), ("_ItemId", "string"),
    ("_ResourceId", "string"), ("_SubscriptionId", "string"),
)
# AzureActivity's subscription column (azure-monitor-docs articles/azure-monitor/reference/tables/azureactivity.md:
# SubscriptionId, string), besides the standard columns.
AZURE_ACTIVITY_COLUMNS = (*STANDARD_COLUMNS, ("SubscriptionId", "string"))
# Resource Graph's resources and resourcecontainers tables: the ARM envelope of each resource as Resource Graph
# returns it (MicrosoftDocs/azure-docs articles/governance/resource-graph/concepts/query-language.md, "Resource
# Graph tables" and its samples: id, name, type, kind, location, subscriptionId, resourceGroup, properties).
RESOURCE_GRAPH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "string"), ("name", "string"), ("type", "string"), ("tenantId", "string"), ("kind", "string"),
    ("location", "string"), ("resourceGroup", "string"), ("subscriptionId", "string"), ("managedBy", "string"),
    ("sku", "dynamic"), ("plan", "dynamic"), ("properties", "dynamic"), ("tags", "dynamic"),
    ("identity", "dynamic"), ("zones", "dynamic"),
)
# Resource Graph's tabular operators (query-language.md, "Supported tabular/top level operators"), as the
# parser's syntax classes name them (limit/take: TakeOperator; order/sort: SortOperator; mv-expand:
# MvExpandOperator).
RESOURCE_GRAPH_OPERATORS = frozenset({
    "CountOperator", "DistinctOperator", "ExtendOperator", "JoinOperator", "TakeOperator", "MvExpandOperator",
    "SortOperator", "ProjectOperator", "ProjectAwayOperator", "SummarizeOperator", "TopOperator", "UnionOperator",
    "FilterOperator",
})
# Data collection rule transformations: the operators and functions Microsoft lists as supported
# (azure-monitor-docs articles/azure-monitor/data-collection/data-collection-transformations-kql.md,
# "Supported tabular operators" and "Scalar functions"; `where` is the parser's FilterOperator).
DCR_OPERATORS = frozenset({"ExtendOperator", "ProjectOperator", "PrintOperator", "FilterOperator", "ParseOperator",
                           "ProjectAwayOperator", "ProjectRenameOperator"})
DCR_FUNCTIONS = frozenset({
    "binary_and", "binary_or", "binary_not", "binary_shift_left", "binary_shift_right", "binary_xor",
    "tobool", "todatetime", "todouble", "toreal", "toguid", "toint", "tolong", "tostring", "totimespan",
    "ago", "datetime_add", "datetime_diff", "datetime_part", "dayofmonth", "dayofweek", "dayofyear", "endofday",
    "endofmonth", "endofweek", "endofyear", "getmonth", "getyear", "hourofday", "make_datetime", "make_timespan",
    "now", "startofday", "startofmonth", "startofweek", "startofyear", "weekofyear",
    "array_concat", "array_length", "pack_array", "pack", "parse_json", "parse_xml", "zip",
    "abs", "bin", "floor", "ceiling", "exp", "exp10", "exp2", "isfinite", "isinf", "isnan", "log", "log10", "log2",
    "pow", "round", "sign", "case", "iif", "max_of", "min_of",
    "base64_encodestring", "base64_decodestring", "countof", "extract", "extract_all", "indexof", "isempty",
    "isnotempty", "split", "strcat", "strcat_delim", "strlen", "substring", "tolower", "toupper", "hash_sha256",
    "gettype", "isnotnull", "isnull", "parse_cef_dictionary", "geo_location", "columnifexists",
})


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the KQL checks: {reason}")
    pytest.skip(reason)


def ensure_installed() -> None:
    """`npm ci` in tools/kql when the parser is not there yet (one process at a time: a file lock)."""
    if PACKAGE.is_dir():
        return
    if shutil.which("npm") is None or shutil.which("node") is None:
        _unavailable("Node.js and npm are needed for Microsoft's Kusto parser (tools/kql); install nodejs and npm")
    with open(KQL_DIR / ".install.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not PACKAGE.is_dir():
            done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=KQL_DIR,
                                  capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0:
                _unavailable(f"npm ci in tools/kql failed: {done.stderr.strip()[-500:]}")


def parse(queries: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Parse each {"name", "text", "tables": {table: [(column, type), ...]}}; results by name."""
    ensure_installed()
    payload = {"queries": [{**q, "tables": {t: [list(c) for c in cols] for t, cols in q["tables"].items()}}
                           for q in queries]}
    done = subprocess.run(["node", "check.js"], cwd=KQL_DIR, input=json.dumps(payload), capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return {r["name"]: r for r in json.loads(done.stdout)}


def errors(result: Mapping[str, Any]) -> list[str]:
    """Every diagnostic, as `CODE message @start`."""
    return [f"{d['code']} {d['message']} @{d['start']}" for d in result["diagnostics"]]
