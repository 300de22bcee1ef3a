"""The Splunk webhook Logic App, hardened (issue 10): schema validation, bounded concurrency, no raw
ingestion error to the caller, and a plan warning when anyone on the internet may call it."""

from __future__ import annotations

import json

import pytest
from conftest import PROJECT_DIR, by_type, example_manifest

from components.splunk import webhook as splunk_webhook
from mssp.plan.command import build_manifest
from testing.logic_apps_check import check_workflow

WORKFLOW = "azure-native:logic:Workflow"


def definition() -> dict:
    return splunk_webhook.workflow_definition("contoso", "2b7c9d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e", "https://x.ingest/")


def test_trigger_validates_the_schema_and_limits_concurrency():
    trigger = definition()["triggers"][splunk_webhook.TRIGGER_NAME]
    assert trigger["operationOptions"] == "EnableSchemaValidation"
    assert trigger["inputs"]["schema"]  # validation needs the schema it validates against
    assert set(trigger["runtimeConfiguration"]["concurrency"]) == {"runs", "maximumWaitingRuns"}
    assert check_workflow(definition()) == []  # the checker holds the published concurrency bounds


def test_failure_answer_has_status_and_correlation_id_only():
    d = definition()
    body = d["actions"]["Ingestion_failed"]["inputs"]["body"]
    assert set(body) == {"status", "sid", "ingestionStatus", "correlationId"}
    assert body["correlationId"] == "@workflow()?['run']?['name']"
    # Nothing the caller gets back quotes the Logs Ingestion API's response body.
    for name in ("Accepted", "Ingestion_failed"):
        assert "body('Send_to_Sentinel')" not in json.dumps(d["actions"][name])
    assert check_workflow(d) == []


def test_the_deployed_definition_is_the_hardened_one():
    (wf,) = [w for w in by_type(example_manifest("contoso"), WORKFLOW) if "SplunkWebhook" in w["urn"]]
    trigger = wf["inputs"]["definition"]["triggers"][splunk_webhook.TRIGGER_NAME]
    assert trigger["operationOptions"] == "EnableSchemaValidation"
    assert "ingestionError" not in json.dumps(wf["inputs"]["definition"])


def test_empty_allowed_caller_ranges_warn_in_the_plan(stack_doc, write_stack):
    assert not [p for p in example_manifest("contoso")["policies"] if p["policy"] == "webhook-caller-ip-restriction"]
    doc = stack_doc("contoso")
    doc["config"]["mssp-sentinel:customer"]["splunk"]["allowedCallerIpRanges"] = []
    m = build_manifest("contoso", PROJECT_DIR, write_stack(doc, "contoso"))
    (warning,) = [p for p in m["policies"] if p["policy"] == "webhook-caller-ip-restriction"]
    assert warning["level"] == "advisory" and "allowedCallerIpRanges" in warning["message"]
    assert "SplunkWebhook" in warning["urn"]


@pytest.mark.parametrize(("concurrency", "options", "problem"), [
    ({"runs": 10, "maximumWaitingRuns": 50}, None, None),
    ({"runs": 1}, None, None),
    ({"runs": 50, "maximumWaitingRuns": 60}, None, None),
    ({"runs": 0}, None, "runs: must be a whole number from 1 to 50 (found 0)"),
    ({"runs": 51}, None, "runs: must be a whole number from 1 to 50 (found 51)"),
    ({"runs": True}, None, "runs: must be a whole number"),
    ({"runs": "10"}, None, "runs: must be a whole number"),
    ({"runs": 10, "maximumWaitingRuns": 19}, None, "maximumWaitingRuns: must be a whole number from 20 (runs + 10)"),
    ({"runs": 10, "maximumWaitingRuns": 101}, None, "to 100 (found 101)"),
    ({"maximumWaitingRuns": 5}, None, "maximumWaitingRuns: must be a whole number from 11"),
    ({"runs": 1}, "SingleInstance", "SingleInstance and runtimeConfiguration.concurrency.runs cannot both be set"),
])
def test_the_checker_holds_trigger_concurrency_to_the_published_bounds(concurrency, options, problem):
    d = definition()
    trigger = d["triggers"][splunk_webhook.TRIGGER_NAME]
    trigger["runtimeConfiguration"] = {"concurrency": concurrency}
    if options:
        trigger["operationOptions"] = options
    found = [p for p in check_workflow(d) if "concurrency" in p or "SingleInstance" in p]
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0], found
