"""The Splunk ingestion contract, offline: Splunk's payload -> trigger schema -> record -> DCR stream ->
transform -> table. Each link is checked against the one definition in components.splunk.schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components.config.splunk import SplunkPlatformConfig
from components.splunk import schema
from components.splunk.ingestion import WORKSPACE_DESTINATION, dcr_properties
from components.splunk.webhook import ingestion_uri, workflow_definition
from testing.logic_apps_check import check_workflow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SAMPLE = json.loads((FIXTURES / "splunk_webhook_sample.json").read_text(encoding="utf-8"))
WORKSPACE = "/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"
# Logic Apps Request trigger schemas are JSON Schema draft 4.
VALIDATOR = jsonschema.Draft4Validator(schema.trigger_schema())


def test_splunk_sample_validates_against_trigger_schema() -> None:
    assert list(VALIDATOR.iter_errors(SAMPLE)) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.pop("sid"),
        lambda p: p.pop("result"),
        lambda p: p.__setitem__("result", "sourcetype=mongod count=8"),  # Microsoft's tool's string "result"
        lambda p: p.__setitem__("sid", 42),
    ],
)
def test_trigger_schema_rejects_non_splunk_bodies(mutate: Any) -> None:
    payload = json.loads(json.dumps(SAMPLE))
    mutate(payload)
    assert list(VALIDATOR.iter_errors(payload)) != []


def test_schema_covers_every_record_field_from_the_payload() -> None:
    props = schema.trigger_schema()["properties"]
    for column, field in schema.PAYLOAD_FIELDS.items():
        assert field in props, field
        col = next(c for c in schema.STREAM_COLUMNS if c.name == column)
        assert col.record == f"@triggerBody()?['{field}']"


_TRIGGER_FIELD = re.compile(r"^@triggerBody\(\)\?\['([^']+)'\]$")


def evaluate_record(template: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """What the Compose action yields for a trigger body (the template only uses triggerBody()?['x'])."""
    out = {}
    for key, value in template.items():
        m = _TRIGGER_FIELD.match(value) if isinstance(value, str) else None
        if isinstance(value, str) and value.startswith("@") and not m:
            raise AssertionError(f"unexpected expression in the record: {value}")
        out[key] = body.get(m[1]) if m else value
    return out


# Python types a value of each stream column type may take in the JSON the Logic App posts.
COMPATIBLE: dict[str, tuple[type, ...]] = {
    "string": (str, type(None)), "dynamic": (dict, list, str, int, float, bool, type(None)),
    "datetime": (str, type(None)), "int": (int, type(None)), "long": (int, type(None)),
    "real": (int, float, type(None)), "boolean": (bool, type(None)),
}


def test_record_has_exactly_the_stream_columns_with_compatible_types() -> None:
    record = evaluate_record(schema.record_template("contoso", "2b7c9d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e"), SAMPLE)
    stream = schema.stream_columns()
    assert list(record) == [c["name"] for c in stream]
    for col in stream:
        assert isinstance(record[col["name"]], COMPATIBLE[col["type"]]), col
    # Result stays an object (Microsoft's tool declared it a string while its table said dynamic).
    assert record["Result"] == SAMPLE["result"]
    assert record["CustomerName"] == "contoso" and record["SearchName"] is None


def test_stream_and_table_types_agree() -> None:
    table = {c["name"]: c["type"] for c in schema.table_columns()}
    for col in schema.stream_columns():
        assert schema.TABLE_TO_STREAM_TYPE[table[col["name"]]] == col["type"], col
    assert table["TimeGenerated"] == "dateTime"
    assert {c["type"] for c in schema.stream_columns()} <= {"string", "int", "long", "real", "boolean", "datetime",
                                                            "dynamic"}


def test_contract_names_are_valid_and_not_reserved() -> None:
    reserved = {r.lower() for r in schema.RESERVED_COLUMN_NAMES}
    for col in schema.table_columns():
        assert schema.COLUMN_NAME_RE.match(col["name"]) and col["name"].lower() not in reserved


_KQL_WORDS = {
    "source", "extend", "project", "iif", "isnotnull", "datetime_add", "tolong", "make_datetime", "todatetime",
    "todouble", "tostring", "toint", "toreal", "tobool", "now", "millisecond", "parse_json",
}


def transform_names(kql: str) -> tuple[set[str], set[str], list[str]]:
    """(identifiers read, columns defined by extend, projected columns) of a transform, string literals removed."""
    text = re.sub(r"'(?:[^'\\]|\\.)*'", "''", kql)
    defined = set(re.findall(r"\|\s*extend\s+([A-Za-z_]\w*)\s*=", text))
    project = re.search(r"\|\s*project\s+(.+)$", text, flags=re.S)
    assert project, "the transform must end in a project"
    projected = [p.strip() for p in project[1].split(",")]
    body = text[:project.start()]
    identifiers = set(re.findall(r"\b([A-Za-z_]\w*)\b", body)) - _KQL_WORDS - defined
    return identifiers, defined, projected


@pytest.mark.parametrize("extras", [(), (schema.ExtraColumn("Host", "string", "host"),
                                         schema.ExtraColumn("Count", "long", "count"),
                                         schema.ExtraColumn("Raw", "dynamic", "_raw"))])
def test_transform_reads_only_stream_columns_and_writes_the_table(extras: tuple[schema.ExtraColumn, ...]) -> None:
    kql = schema.transform_kql(extras)
    read, defined, projected = transform_names(kql)
    stream = {c["name"] for c in schema.stream_columns()}
    assert read <= stream, read - stream
    assert projected == [c["name"] for c in schema.table_columns(extras)]
    assert set(projected) <= stream | defined
    # TimeGenerated from Splunk's _time (epoch seconds or ISO), else ingestion time.
    assert "ResultFields['_time']" in kql and "now()" in kql and "TimeGenerated =" in kql
    # The documented DCR form: the dynamic column goes through parse_json() before it is indexed.
    assert "| extend ResultFields = parse_json(Result)" in kql
    assert "coalesce" not in kql and "unixtime_" not in kql  # not in the DCR transformation KQL subset


def test_transform_converts_extras_by_type() -> None:
    kql = schema.transform_kql((schema.ExtraColumn("Count", "long", "count"), schema.ExtraColumn("Raw", "dynamic", "x'y")))
    assert "| extend Count = tolong(ResultFields['count'])" in kql
    assert "| extend Raw = ResultFields['x\\'y']" in kql


def test_dcr_stream_destination_and_flow() -> None:
    cfg = SplunkPlatformConfig(table_name="SplunkAlerts_CL")
    props = dcr_properties(cfg, WORKSPACE)
    assert list(props["streamDeclarations"]) == ["Custom-SplunkAlerts_CL"]
    assert props["streamDeclarations"]["Custom-SplunkAlerts_CL"]["columns"] == schema.stream_columns()
    dest = props["destinations"]["logAnalytics"]
    assert dest == [{"workspaceResourceId": WORKSPACE, "name": WORKSPACE_DESTINATION}]
    (flow,) = props["dataFlows"]
    # The flow names the declared destination (the upstream REST example names one that does not exist).
    assert flow["destinations"] == [dest[0]["name"]]
    assert flow["streams"] == ["Custom-SplunkAlerts_CL"] and flow["outputStream"] == "Custom-SplunkAlerts_CL"


def test_the_dcr_api_version_documents_the_direct_rule_endpoint() -> None:
    # The version the DCR is created and read at is the one whose spec example sends kind Direct and answers
    # with endpoints.logsIngestion (tests/fixtures/rest-specs/README.md); the properties use its names.
    import json
    from pathlib import Path

    from components.splunk.ingestion import DCR_API_VERSION

    example = json.loads((Path(__file__).parents[2] / "fixtures" / "rest-specs" /
                          "monitor_2023-03-11_examples_DataCollectionRulesCreateEmbeddedDCE.json").read_text())
    assert example["parameters"]["api-version"] == DCR_API_VERSION
    assert example["parameters"]["body"]["kind"].strip() == "Direct"
    answer = example["responses"]["200"]["body"]
    assert answer["kind"].strip() == "Direct" and answer["properties"]["endpoints"]["logsIngestion"].startswith("https://")
    ours = dcr_properties(SplunkPlatformConfig(table_name="SplunkAlerts_CL"), WORKSPACE)
    assert set(ours) <= set(example["parameters"]["body"]["properties"])


def test_workflow_definition_passes_the_checker_and_posts_to_the_stream() -> None:
    uri = ingestion_uri("https://x.westeurope-1.ingest.monitor.azure.com/", "dcr-0123", "Custom-SplunkAlerts_CL")
    assert uri == ("https://x.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0123/streams/"
                   "Custom-SplunkAlerts_CL?api-version=2023-01-01")
    definition = workflow_definition("contoso", "2b7c9d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e", uri)
    assert check_workflow(definition) == []
    send = definition["actions"]["Send_to_Sentinel"]["inputs"]
    assert send["uri"] == uri and send["body"] == ["@outputs('Build_record')"]
    assert send["authentication"] == {"type": "ManagedServiceIdentity", "audience": "https://monitor.azure.com"}
    failed = definition["actions"]["Ingestion_failed"]
    assert failed["runAfter"] == {"Send_to_Sentinel": ["Failed", "TimedOut"]} and failed["inputs"]["statusCode"] >= 500


def test_facts_pinned() -> None:
    # create-custom-table.md (MicrosoftDocs/azure-monitor-docs) and the Microsoft.OperationalInsights 2022-10-01 / Microsoft.Insights 2023-03-11 ARM schemas.
    assert schema.RESERVED_COLUMN_NAMES == ("_ResourceId", "id", "_SubscriptionId", "TenantId", "Type", "UniqueId",
                                            "Title")
    assert schema.TABLE_TO_STREAM_TYPE["dateTime"] == "datetime"
    assert set(schema.TABLE_TO_STREAM_TYPE) == {"string", "int", "long", "real", "boolean", "dateTime", "dynamic"}
    assert schema.COLUMN_NAME_RE.match("A" * 45) and not schema.COLUMN_NAME_RE.match("A" * 46)
    assert schema.stream_name("X_CL") == schema.output_stream("X_CL") == "Custom-X_CL"
    assert schema.SEVERITIES == ("High", "Medium", "Low", "Informational")
