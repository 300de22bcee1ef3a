"""The Splunk alert ingestion contract, as data: what the Logic App sends, what the DCR stream declares,
what the transform writes, what the table holds. Every other piece (config validation, the platform
component, the customer workflow, the contract tests) reads it from here, so the record, the stream and
the table cannot drift apart the way Microsoft's tool did (its stream declared `result` as string while
the table said dynamic).

Facts (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/logs/logs-ingestion-api-overview.md, "Supported
tables", and create-custom-table.md): custom table names end in `_CL`; a table needs `TimeGenerated` (dateTime);
column names start with a letter and hold at most 45 letters, digits or underscores; reserved names
`_ResourceId`, `id`, `_SubscriptionId`, `TenantId`, `Type`, `UniqueId`, `Title`. Table column types use
`dateTime` while DCR stream column types use lower-case `datetime` (Microsoft.OperationalInsights
2022-10-01 and Microsoft.Insights 2023-03-11 ARM schemas, shared/reference/microsoft-data). Splunk's
webhook body: `result` (the first result row, an object), `sid`, `results_link`, `search_name` (may be
null), `owner`, `app` (Splunk docs "Use a webhook alert action").

Pure: no Pulumi import, cheap to use from config validation and tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# Column types: table (Log Analytics) spelling -> stream (DCR) spelling.
TABLE_TO_STREAM_TYPE: Mapping[str, str] = MappingProxyType({
    "string": "string", "int": "int", "long": "long", "real": "real", "boolean": "boolean",
    "dateTime": "datetime", "dynamic": "dynamic",
})
# KQL conversion a transform applies to turn a value of the result row into a column of each type.
# Only functions the DCR transformation KQL subset allows (learn.microsoft.com azure-monitor
# data-collection-transformations-kql: tostring, toint, tolong, toreal, tobool, todatetime).
KQL_CONVERSION: Mapping[str, str] = MappingProxyType({
    "string": "tostring", "int": "toint", "long": "tolong", "real": "toreal", "boolean": "tobool",
    "dateTime": "todatetime", "dynamic": "",
})
RESERVED_COLUMN_NAMES = ("_ResourceId", "id", "_SubscriptionId", "TenantId", "Type", "UniqueId", "Title")
# Columns the transform (ResultFields, SplunkTime, EpochSeconds) and the analytics rule (SplunkSeverity,
# AlertSeverity) compute along the way: an extra column of the same name would clash with them.
HELPER_COLUMN_NAMES = ("ResultFields", "SplunkTime", "EpochSeconds", "SplunkSeverity", "AlertSeverity")
COLUMN_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,44}$")
TABLE_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*_CL$")
MAX_TABLE_NAME = 63  # including the _CL suffix (Log Analytics custom table name limit)


@dataclass(frozen=True)
class Column:
    """One column of the contract: its table type and, when the Logic App sends it, where it comes from."""

    name: str
    table_type: str  # Log Analytics spelling (dateTime)
    description: str
    # The Logic App record field's value: a WDL expression over the trigger body, or "{customer.name}" /
    # "{customer.tenant_id}" stamped at deployment. None: not sent, computed by the transform.
    record: str | None = None

    @property
    def stream_type(self) -> str:
        return TABLE_TO_STREAM_TYPE[self.table_type]


# The record the Logic App sends, field for field the stream's declared columns (in this order).
STREAM_COLUMNS: tuple[Column, ...] = (
    Column("CustomerName", "string", "The MSSP customer the alert came from (stack name).", "{customer.name}"),
    Column("CustomerTenantId", "string", "The customer's Entra tenant id (TenantId is a reserved name).",
           "{customer.tenant_id}"),
    Column("SearchName", "string", "Splunk saved search that fired (search_name; null for ad hoc).",
           "@triggerBody()?['search_name']"),
    Column("Sid", "string", "Splunk search id (sid).", "@triggerBody()?['sid']"),
    Column("ResultsLink", "string", "Link to the search results in Splunk (results_link).",
           "@triggerBody()?['results_link']"),
    Column("Owner", "string", "Owner of the saved search (owner).", "@triggerBody()?['owner']"),
    Column("App", "string", "Splunk app of the saved search (app).", "@triggerBody()?['app']"),
    Column("Result", "dynamic", "The first result row of the search, as an object (result).",
           "@triggerBody()?['result']"),
)
# Columns the transform adds: TimeGenerated (the alert's own time when the result row has Splunk's
# _time, else ingestion time) and AlertTime (Splunk's _time parsed, empty when absent).
COMPUTED_COLUMNS: tuple[Column, ...] = (
    Column("TimeGenerated", "dateTime", "Splunk's _time of the result row when present, else ingestion time."),
    Column("AlertTime", "dateTime", "Splunk's _time of the result row, parsed (epoch seconds or ISO 8601)."),
)


@dataclass(frozen=True)
class ExtraColumn:
    """A field of Splunk's result row promoted to its own typed table column by the transform."""

    name: str
    table_type: str
    source_field: str  # key in the result row, e.g. "host" or "urgency"


def table_columns(extra: tuple[ExtraColumn, ...] = ()) -> list[dict[str, str]]:
    """The table's columns (Log Analytics spelling), in table order."""
    cols = [{"name": c.name, "type": c.table_type} for c in (*COMPUTED_COLUMNS, *STREAM_COLUMNS)]
    return cols + [{"name": e.name, "type": e.table_type} for e in extra]


def stream_columns() -> list[dict[str, str]]:
    """The DCR stream's declared columns (DCR spelling): exactly the Logic App record's fields."""
    return [{"name": c.name, "type": c.stream_type} for c in STREAM_COLUMNS]


def stream_name(table: str) -> str:
    return f"Custom-{table}"


def output_stream(table: str) -> str:
    return f"Custom-{table}"


def record_template(customer_name: str, customer_tenant_id: str) -> dict[str, Any]:
    """The Compose action's inputs: one record, stamped with the customer, `Result` kept as an object."""
    stamps = {"{customer.name}": customer_name, "{customer.tenant_id}": customer_tenant_id}
    out: dict[str, Any] = {}
    for col in STREAM_COLUMNS:
        assert col.record is not None
        out[col.name] = stamps.get(col.record, col.record)
    return out


def _kql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


PARSED_RESULT = "ResultFields"  # the transform's parse_json(Result), not a table column


def transform_kql(extra: tuple[ExtraColumn, ...] = ()) -> str:
    """The DCR transform: stream columns through, Splunk's `_time` to AlertTime/TimeGenerated, extras.

    Splunk's `_time` in a webhook's result row is usually epoch seconds as a string ("1700000000.000",
    the results file stores it that way), but a search can also render it as ISO 8601 text. `todouble`
    of ISO text is null and `todatetime` of epoch text is null, so: a number -> epoch seconds (converted
    with datetime_add from 1970-01-01 in milliseconds, keeping sub-second precision), otherwise
    todatetime. No `_time` (or an unparseable one) -> now(), the ingestion time. Only functions the DCR
    transformation KQL subset allows are used (no unixtime_* helpers, no coalesce).

    The dynamic `Result` column is read through `parse_json()` before it is indexed, the form Microsoft
    documents for transformations ("Handling dynamic data": `extend parsed = parse_json(AdditionalContext)`,
    azure-monitor-docs articles/azure-monitor/data-collection/data-collection-transformations-kql.md);
    the helper column is not projected. Microsoft's Kusto parser checks the text (tests/kql_support.py).
    """
    lines = [
        "source",
        f"| extend {PARSED_RESULT} = parse_json(Result)",
        f"| extend SplunkTime = tostring({PARSED_RESULT}['_time'])",
        "| extend EpochSeconds = todouble(SplunkTime)",
        "| extend AlertTime = iif(isnotnull(EpochSeconds), "
        "datetime_add('millisecond', tolong(EpochSeconds * 1000), make_datetime(1970, 1, 1)), "
        "todatetime(SplunkTime))",
        "| extend TimeGenerated = iif(isnotnull(AlertTime), AlertTime, now())",
    ]
    for e in extra:
        value = f"{PARSED_RESULT}[{_kql_string(e.source_field)}]"
        conv = KQL_CONVERSION[e.table_type]
        lines.append(f"| extend {e.name} = {conv}({value})" if conv else f"| extend {e.name} = {value}")
    projected = [c["name"] for c in table_columns(extra)]
    lines.append("| project " + ", ".join(projected))
    return "\n".join(lines)


# Sentinel alert severities (securityinsights AlertSeverity enum, 2023-02-01 AlertRules.json).
SEVERITIES = ("High", "Medium", "Low", "Informational")


def rule_query(table: str, query_frequency_kql: str, severity_field: str | None,
               severity_map: Mapping[str, str], default_severity: str) -> str:
    """The scheduled rule's query: every row ingested since the last run becomes one alert.

    The rule filters on ingestion_time(), not TimeGenerated: TimeGenerated is Splunk's own alert time,
    which can lie before the rule's window when the alert arrives late; the lookback (queryPeriod)
    covers how late, ingestion_time() prevents duplicates (Microsoft Sentinel docs "Handle ingestion
    delay in scheduled analytics rules").
    """
    lines = [table, f"| where ingestion_time() > ago({query_frequency_kql})"]
    lines.append("| extend SearchName = iif(isempty(SearchName), '(ad hoc Splunk search)', SearchName)")
    if severity_field and severity_map:
        cases = ", ".join(f"SplunkSeverity == {_kql_string(k.lower())}, {_kql_string(v)}"
                          for k, v in sorted(severity_map.items()))
        lines.append(f"| extend SplunkSeverity = tolower(tostring(Result[{_kql_string(severity_field)}]))")
        lines.append(f"| extend AlertSeverity = case({cases}, {_kql_string(default_severity)})")
    else:
        lines.append(f"| extend AlertSeverity = {_kql_string(default_severity)}")
    return "\n".join(lines)


# JSON schema of Splunk's webhook alert action body, for the Logic App's Request trigger. Fields per
# Splunk docs "Use a webhook alert action" (Webhook data payload): result is the first result row (an
# object of field -> string, or list of strings for multivalue fields); search_name is null for ad hoc
# searches. Other keys are allowed: newer Splunk versions may add some.
def trigger_schema() -> dict[str, Any]:
    """A fresh copy of the schema (callers may embed it in definitions)."""
    nullable_string = {"type": ["string", "null"]}
    return {
        "type": "object",
        "properties": {
            "result": {"type": "object"},
            "sid": {"type": "string"},
            "results_link": dict(nullable_string),
            "search_name": dict(nullable_string),
            "owner": dict(nullable_string),
            "app": dict(nullable_string),
        },
        "required": ["result", "sid"],
    }


# The trigger body field each record column comes from (the contract tests check these against the schema).
PAYLOAD_FIELDS: Mapping[str, str] = MappingProxyType({
    "SearchName": "search_name", "Sid": "sid", "ResultsLink": "results_link", "Owner": "owner", "App": "app",
    "Result": "result",
})
