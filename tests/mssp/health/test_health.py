"""`mssp health`: one Log Analytics query per stack through the real azure-monitor-query client, against
the local query server in testing/fake_loganalytics.py (answers shaped after the REST spec, see there)."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from mssp.health import command as health
from mssp.health import query as hq
from testing.credentials import StaticTokenCredential
from testing.fake_loganalytics import (
    PARTIAL,
    FakeLogAnalytics,
    Record,
    query_error,
    server_error,
    throttled,
    wrong_shape,
)

PROJECT_DIR = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((PROJECT_DIR / "tests/fixtures/loganalytics/query-results-schema.json").read_text())
# Real time (the CLI runs with the clock), on the hour so windows are exact.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
CONTOSO = hq.expectations("contoso", PROJECT_DIR)
SUB1, SUB2 = CONTOSO.all_subscriptions



@pytest.fixture(autouse=True)
def _plain_http_to_the_local_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests query the local fake Log Analytics over plain HTTP on 127.0.0.1: allowed only with
    mssp.azure.endpoints.PLAIN_HTTP_LOOPBACK_ENV (tests/mssp/test_hostile_input.py shows nothing else may)."""
    from mssp.azure.endpoints import PLAIN_HTTP_LOOPBACK_ENV

    monkeypatch.setenv(PLAIN_HTTP_LOOPBACK_ENV, "1")

def _rid(fragment: str) -> str:
    return next(r.id for r in CONTOSO.resources if fragment in r.id)


def _table(resource_id: str) -> str:
    """A table the resource really writes to (not AzureMetrics, which only says metrics flow)."""
    if "/storageAccounts/" in resource_id:
        return "StorageBlobLogs"
    if "/azureFirewalls/" in resource_id:
        return "AZFWNetworkRule"
    return "AzureDiagnostics"


def _sub(resource_id: str) -> str:
    return resource_id.split("/")[2]


def estate(silent: set[str], silent_subs: set[str] = frozenset(), *, customer: str = "contoso") -> list[Record]:
    """Records for every contoso resource and subscription except the silent ones (which get only
    records outside the window or of another customer, so a wrong filter would show them as alive)."""
    out = []
    for r in CONTOSO.resources:
        rid = r.id + "/blobServices/default" if "/storageAccounts/" in r.id else r.id
        if r.id.lower().endswith("/providers/microsoft.sql/servers/sql-contoso-prod"):
            rid = r.id + "/databases/master"  # server audit arrives under the master database's id
        when = NOW - timedelta(days=3) if r.id in silent else NOW - timedelta(hours=2)
        out.append(Record(_table(r.id), when, rid.lower(), _sub(r.id)))
    for sub in (SUB1, SUB2):
        when = NOW - timedelta(days=3) if sub in silent_subs else NOW - timedelta(minutes=30)
        out.append(Record("AzureActivity", when, "", sub))
    out.append(Record("SplunkAlerts_CL", NOW - timedelta(hours=1), "", "", customer))
    return out


def fast_client(credential, endpoint, retries: int = 3):
    from mssp.azure.loganalytics import make_client

    return make_client(credential, endpoint, retries=retries, backoff=0.01)  # Retry-After still honoured


def check(fake: FakeLogAnalytics, stack: str = "contoso", hours: int = 24) -> dict:
    return health.check(stack, PROJECT_DIR, hours, endpoint=fake.endpoint, credential=StaticTokenCredential(), now=NOW,
                        client_factory=fast_client)


def test_expectations_follow_the_plan():
    ids = {r.id.rsplit("/", 1)[-1] for r in CONTOSO.resources}
    assert ids == {"afd-premium-web", "aks-prod", "kv-contoso-prod", "agw-web", "afw-hub", "afd-classic-web",
                   "nsg-web", "pip-appgw", "sql-contoso-prod", "sqldb-orders", "stcontosoprod", "kv-contoso-shared",
                   "nsg-shared"}
    tables = {r.id.rsplit("/", 1)[-1]: set(r.tables) for r in CONTOSO.resources}
    assert {"StorageBlobLogs", "StorageFileLogs", "StorageQueueLogs", "StorageTableLogs"} <= tables["stcontosoprod"]
    # allLogs sends one firewall family (the resource-specific one), never the legacy AzureDiagnostics one too.
    assert "AZFWNetworkRule" in tables["afw-hub"] and "AzureDiagnostics" not in tables["afw-hub"]
    assert tables["sql-contoso-prod"] == {"AzureDiagnostics"}  # server audit, through the master database
    assert tables["nsg-web"] == {"AzureDiagnostics"}
    assert tables["kv-contoso-prod"] == {"AzureDiagnostics", "AzureMetrics"}  # metrics: true for Key Vault
    assert CONTOSO.workspace_resource_id.endswith("/workspaces/law-mssp-sentinel")
    assert CONTOSO.splunk_table == "SplunkAlerts_CL"


def test_one_query_per_stack_with_every_table_and_the_window():
    with FakeLogAnalytics(estate(set())) as fake:
        report = check(fake, hours=6)
        assert fake.calls == 1
        req = fake.requests[0]
    body = json.loads(req["body"])
    assert req["path"].endswith(CONTOSO.workspace_resource_id + "/query")
    assert req["headers"]["authorization"] == "Bearer test-token"
    fmt = "%Y-%m-%dT%H:%M:%S.000Z"
    assert body["timespan"] == f"{(NOW - timedelta(hours=6)).strftime(fmt)}/{NOW.strftime(fmt)}"
    q = body["query"]
    for table in ("StorageBlobLogs", "AZFWNetworkRule", "AzureDiagnostics", "AzureActivity", "SplunkAlerts_CL"):
        assert table in q
    assert report["status"] == "healthy" and report["exitCode"] == 0


def test_all_data_arrives_is_healthy():
    with FakeLogAnalytics(estate(set())) as fake:
        report = check(fake)
    assert report["exitCode"] == 0
    assert report["summary"]["forwarding"] == 13 and report["silentResources"] == []
    assert report["splunk"]["status"] == "forwarding" and report["splunk"]["rows"] == 1
    storage = next(r for r in report["resources"] if "stcontosoprod" in r["id"])
    assert storage["status"] == "forwarding"  # blob service rows count for the account
    assert storage["lastSeen"] == (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("silent", [
    {"kv-contoso-shared"},
    {"stcontosoprod", "afw-hub"},
    {"nsg-web", "nsg-shared", "sqldb-orders"},
])
def test_silent_resources_and_subscriptions_are_reported(silent, tmp_path, run_cli, monkeypatch):
    silent_ids = {_rid(s) for s in silent}
    with FakeLogAnalytics(estate(silent_ids, {SUB2})) as fake:
        monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda **_: StaticTokenCredential())
        code, out, err = run_cli(["health", "contoso", "--endpoint", fake.endpoint, "--json", str(tmp_path / "h.json"),
                                  "--markdown", str(tmp_path / "h.md")])
    assert code == 3, err
    report = json.loads((tmp_path / "h.json").read_text())
    assert set(report["silentResources"]) == silent_ids
    assert report["silentSubscriptions"] == [SUB2]
    md = (tmp_path / "h.md").read_text()
    for rid in silent_ids:
        assert f"- `{rid}`" in md
    assert f"- `{SUB2}` (Contoso Shared Services)" in md
    assert out == md


def test_rows_of_another_customer_or_subscription_do_not_count():
    records = [r for r in estate(set()) if r.table != "SplunkAlerts_CL"]
    records.append(Record("SplunkAlerts_CL", NOW - timedelta(hours=1), "", "", "fabrikam"))
    kv = _rid("kv-contoso-shared")
    records = [r for r in records if r.resource_id != kv.lower()]
    records.append(Record("AzureDiagnostics", NOW - timedelta(hours=1), kv.lower(), "00000000-0000-4000-8000-000000000000"))
    with FakeLogAnalytics(records) as fake:
        report = check(fake)
    assert report["silentResources"] == [kv]
    assert report["splunk"]["status"] == "quiet" and report["exitCode"] == 3


def test_quiet_splunk_alone_is_still_healthy():
    records = [r for r in estate(set()) if r.table != "SplunkAlerts_CL"]
    with FakeLogAnalytics(records) as fake:
        report = check(fake)
    assert report["splunk"]["status"] == "quiet" and report["exitCode"] == 0


def test_partial_result_is_an_error_and_nothing_reads_silent():
    with FakeLogAnalytics(estate({_rid("kv-contoso-shared")})) as fake:
        fake.always = PARTIAL
        report = check(fake)
    assert report["exitCode"] == 1 and report["status"] == "error"
    assert report["silentResources"] == [] and report["summary"]["unverified"] == 13
    assert "partial result" in report["errors"][0] and "PartialError" in report["errors"][0]
    # The Activity log part did come back: those subscriptions are verified.
    assert {s["status"] for s in report["subscriptions"]} == {"forwarding"}


def test_query_error_is_exit_1_with_the_service_message(tmp_path, run_cli, monkeypatch):
    with FakeLogAnalytics(estate(set())) as fake:
        fake.always = query_error("Failed to resolve table expression named 'Nope'")
        monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda **_: StaticTokenCredential())
        code, _out, err = run_cli(["health", "contoso", "--endpoint", fake.endpoint, "--json", str(tmp_path / "h.json")])
        assert fake.calls == 1  # a 400 is not retried
    assert code == 1
    assert "HTTP 400" in err and "Failed to resolve table expression named 'Nope'" in err
    report = json.loads((tmp_path / "h.json").read_text())
    assert report["silentResources"] == [] and report["status"] == "error"


def test_throttled_once_is_retried_after_retry_after():
    with FakeLogAnalytics(estate(set())) as fake:
        fake.faults[1] = throttled("1")
        report = check(fake)
        assert fake.calls == 2
    assert report["exitCode"] == 0


@pytest.mark.parametrize("fault", [throttled("1"), server_error()], ids=["throttled", "server-error"])
def test_lasting_failure_is_exit_1_never_silent(fault):
    with FakeLogAnalytics(estate(set())) as fake:
        fake.always = fault
        report = check(fake)
        assert 2 <= fake.calls <= 1 + 3  # bounded retries
    assert report["exitCode"] == 1 and report["silentResources"] == [] and report["silentSubscriptions"] == []
    assert f"HTTP {fault.status}" in report["errors"][0]


def test_an_answer_without_the_projected_columns_is_an_error():
    with FakeLogAnalytics(estate(set())) as fake:
        fake.always = wrong_shape()
        report = check(fake)
    assert report["exitCode"] == 1 and report["silentResources"] == []
    assert "malformed answer" in report["errors"][0]


def test_server_unreachable_is_exit_1():
    with FakeLogAnalytics() as fake:
        endpoint = fake.endpoint
    report = health.check("contoso", PROJECT_DIR, 24, endpoint=endpoint, credential=StaticTokenCredential(), now=NOW,
                          client_factory=lambda c, e: fast_client(c, e, retries=0))
    assert report["exitCode"] == 1 and report["summary"]["unverified"] == 13


def test_template_mode_stack_without_splunk():
    fab = hq.expectations("fabrikam", PROJECT_DIR)
    q = hq.build_query(fab)
    assert fab.splunk_table is None and "splunk" not in q and "SplunkAlerts_CL" not in q
    assert "AZFWNetworkRule" in q and "StorageBlobLogs" not in q
    afw = next(r for r in fab.resources if "afw-fabrikam" in r.id)
    records = [Record("AZFWNetworkRule", NOW - timedelta(hours=1), afw.id.lower(), _sub(afw.id)),
               Record("AzureActivity", NOW - timedelta(hours=1), "", fab.all_subscriptions[0])]
    with FakeLogAnalytics(records) as fake:
        report = check(fake, "fabrikam")
    assert report["silentResources"] == [next(r.id for r in fab.resources if "kv-fabrikam" in r.id)]
    assert report["splunk"] is None and report["exitCode"] == 3


def test_bad_input_exits_2(run_cli):
    assert run_cli(["health", "mssp"])[0] == 2
    assert run_cli(["health", "contoso", "--hours", "0"])[0] == 2
    code, _, err = run_cli(["health", "nosuchstack"])
    assert code == 2 and "Traceback" not in err


def _post(fake: FakeLogAnalytics, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(f"{fake.endpoint}/v1{CONTOSO.workspace_resource_id}/query", method="POST",
                                 data=json.dumps(body).encode(), headers={"Authorization": "Bearer test-token",
                                                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def test_fake_answers_in_the_spec_shape():
    body = {"query": hq.build_query(CONTOSO), "timespan": "PT24H"}
    resolver = {"definitions": SCHEMA["definitions"]}
    ok = {**SCHEMA["definitions"]["queryResults"], **resolver}
    bad = {**SCHEMA["definitions"]["errorResponse"], **resolver}
    with FakeLogAnalytics(estate(set())) as fake:
        status, answer = _post(fake, body)
        assert status == 200 and answer["tables"][0]["rows"]
        jsonschema.validate(answer, ok)
        fake.faults[2] = PARTIAL
        status, answer = _post(fake, body)
        jsonschema.validate(answer, ok)
        assert status == 200 and answer["error"]["code"] == "PartialError"
        fake.faults[3] = query_error()
        status, answer = _post(fake, body)
        assert status == 400
        jsonschema.validate(answer, bad)
        status, answer = _post(fake, {"query": "let resources = NoSuchTable\n| take 1", "timespan": "PT1H"})
        assert status == 400 and "NoSuchTable" in answer["error"]["message"]


def test_a_customer_mode_customer_is_checked_in_its_own_workspace():
    # Catches: health querying the MSSP workspace for a customer whose logs go to its own (all silent, wrongly).
    nw = hq.expectations("northwind", PROJECT_DIR)
    assert nw.workspace_resource_id.endswith("/workspaces/law-northwind-sentinel")
    assert nw.splunk_table is None  # the Splunk feed's table is the platform's, not in this workspace
    records = [Record("AzureDiagnostics", NOW - timedelta(hours=1), r.id.lower(), _sub(r.id))
               for r in nw.resources if "/storageAccounts/" not in r.id]
    records += [Record("StorageBlobLogs", NOW - timedelta(hours=1), (r.id + "/blobServices/default").lower(), _sub(r.id))
                for r in nw.resources if "/storageAccounts/" in r.id]
    records.append(Record("AzureActivity", NOW - timedelta(hours=1), "", nw.all_subscriptions[0]))
    with FakeLogAnalytics(records) as fake:
        report = check(fake, "northwind")
        path = fake.requests[0]["path"]
    assert path.endswith(nw.workspace_resource_id + "/query")
    assert report["exitCode"] == 0 and report["workspace"] == nw.workspace_resource_id
