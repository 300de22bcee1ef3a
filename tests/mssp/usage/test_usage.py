"""`mssp usage` against the local Log Analytics (testing/fake_loganalytics.py) with the real azure-monitor-query
client: totals add up per customer, table and day; partial or throttled answers never read as complete."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from components.config import load_stack
from mssp.usage import command as usage
from testing.credentials import StaticTokenCredential
from testing.fake_loganalytics import PARTIAL, FakeLogAnalytics, Record, throttled

PROJECT_DIR = Path(__file__).resolve().parents[3]
DAY0 = datetime(2026, 11, 2, tzinfo=UTC)  # --from; --to is DAY0 + 2 days (three whole days)
MSSP_WS = load_stack("mssp", PROJECT_DIR).platform.workspace_id
NW = load_stack("northwind", PROJECT_DIR).customer
SUBS = {s: sorted(x.lower() for x in load_stack(s, PROJECT_DIR).customer.subscription_ids)
        for s in ("contoso", "fabrikam", "northwind")}



@pytest.fixture(autouse=True)
def _plain_http_to_the_local_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests query the local fake Log Analytics over plain HTTP on 127.0.0.1: allowed only with
    mssp.azure.endpoints.PLAIN_HTTP_LOOPBACK_ENV (tests/mssp/test_hostile_input.py shows nothing else may)."""
    from mssp.azure.endpoints import PLAIN_HTTP_LOOPBACK_ENV

    monkeypatch.setenv(PLAIN_HTTP_LOOPBACK_ENV, "1")

def estate() -> list[Record]:
    """Billable rows of three customers over five days, plus rows that must never count."""
    out = []
    for day in range(-1, 4):  # one day before the window, three inside, one after
        t = DAY0 + timedelta(days=day, hours=5)
        out += [Record("AzureDiagnostics", t, subscription_id=SUBS["contoso"][0], billed_size=1_500_000_000 + day,
                       workspace=MSSP_WS),
                Record("AzureActivity", t, subscription_id=SUBS["contoso"][1], billed_size=2_000_000, workspace=MSSP_WS),
                Record("AZFWNetworkRule", t, subscription_id=SUBS["fabrikam"][0], billed_size=700_000_000,
                       workspace=MSSP_WS),
                # Northwind's own workspace: every billable row there is Northwind's, whatever its subscription.
                Record("StorageBlobLogs", t, subscription_id=SUBS["northwind"][0], billed_size=3_000_000_000,
                       workspace=NW.workspace.resource_id),
                Record("AzureActivity", t, subscription_id="", billed_size=1_000, workspace=NW.workspace.resource_id),
                # Never counted: not billable, the Usage table, a subscription of nobody in the fleet.
                Record("AzureDiagnostics", t, subscription_id=SUBS["contoso"][0], billed_size=10**12, billable=False,
                       workspace=MSSP_WS),
                Record("Usage", t, subscription_id=SUBS["contoso"][0], billed_size=10**12, workspace=MSSP_WS),
                Record("AzureDiagnostics", t, subscription_id="11111111-2222-4333-8444-555555555555",
                       billed_size=10**12, workspace=MSSP_WS)]
    return out


def expected(records: list[Record], stack: str) -> dict[tuple[str, str], int]:
    """Independent of the command: the customer's billable bytes per (table, day) inside the window."""
    own = stack == "northwind"
    out: dict[tuple[str, str], int] = {}
    for r in records:
        if not (DAY0 <= r.time < DAY0 + timedelta(days=3)) or not r.billable or r.table == "Usage":
            continue
        if own != (r.workspace == NW.workspace.resource_id) or (not own and r.subscription_id not in SUBS[stack]):
            continue
        key = (r.table, r.time.date().isoformat())
        out[key] = out.get(key, 0) + r.billed_size
    return out


def fast_client(credential, endpoint):
    from mssp.azure.loganalytics import make_client

    return make_client(credential, endpoint, retries=2, backoff=0.01)


def report(fake: FakeLogAnalytics, stacks=("contoso", "fabrikam", "northwind")) -> dict:
    return usage.compute(list(stacks), PROJECT_DIR, DAY0, DAY0 + timedelta(days=3), endpoint=fake.endpoint,
                         credential=StaticTokenCredential(), client_factory=fast_client)


def test_usage_adds_up_per_customer_table_and_day():
    records = estate()
    with FakeLogAnalytics(records) as fake:
        r = report(fake)
        paths = sorted(req["path"] for req in fake.requests)
    # One query per workspace: the MSSP's (both central customers) and Northwind's own.
    assert len(paths) == 2 and any(MSSP_WS in p for p in paths) and any(NW.workspace.resource_id in p for p in paths)
    assert r["complete"] and r["from"] == "2026-11-02" and r["to"] == "2026-11-04"
    for c in r["customers"]:
        want = expected(records, c["stack"])
        got = {(row["table"], row["day"]): row["billableBytes"] for row in c["rows"]}
        assert got == want, c["stack"]
        assert c["totalBytes"] == sum(want.values()) and c["status"] == "complete"
        assert all(abs(row["billableGB"] - row["billableBytes"] / 1e9) < 1e-6 for row in c["rows"])
    topo = {c["stack"]: (c["topology"], c["workspace"]) for c in r["customers"]}
    assert topo["contoso"] == ("central", MSSP_WS) and topo["northwind"] == ("customer", NW.workspace.resource_id)


def test_the_central_query_is_microsofts_billable_query_for_the_customers_subscriptions():
    q = usage.build_query(DAY0, DAY0 + timedelta(days=1), SUBS["contoso"])
    assert q.startswith("find where TimeGenerated >= datetime(2026-11-02T00:00:00Z) and TimeGenerated < "
                        "datetime(2026-11-03T00:00:00Z) project _BilledSize, _IsBillable, _SubscriptionId")
    assert '| where _IsBillable == true and Type != "Usage"' in q and "sum(_BilledSize)" in q
    assert json.dumps(SUBS["contoso"]) in q
    assert "_SubscriptionId in~" not in usage.build_query(DAY0, DAY0 + timedelta(days=1), None)


@pytest.mark.parametrize("fault,status", [(PARTIAL, "partial"), (throttled("0"), "failed")])
def test_partial_or_throttled_answers_never_read_as_complete(fault, status, run_cli, tmp_path, monkeypatch):
    with FakeLogAnalytics(estate()) as fake:
        fake.always = fault
        r = report(fake, ("contoso",))
        monkeypatch.setenv(usage.ENDPOINT_ENV, fake.endpoint)
        monkeypatch.setattr(usage, "compute", _with_test_credential(usage.compute))
        code, out, err = run_cli(["usage", "contoso", "--from", "2026-11-02", "--to", "2026-11-04", "--format", "csv"])
    [c] = r["customers"]
    assert not r["complete"] and c["status"] == status and c["error"]
    want = sum(expected(estate(), "contoso").values())
    assert c["totalBytes"] < want  # what came back is a lower bound, and says so
    assert code == 1 and "error: contoso" in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {row["status"] for row in rows} == {status}
    md = usage.render_markdown(r)
    assert "Incomplete" in md and "(incomplete)" in md


def _with_test_credential(compute):
    def wrapped(*args, **kwargs):
        kwargs["credential"] = StaticTokenCredential()
        kwargs["client_factory"] = fast_client
        return compute(*args, **kwargs)

    return wrapped


def test_cli_formats_and_fleet(run_cli, tmp_path, monkeypatch):
    with FakeLogAnalytics(estate()) as fake:
        monkeypatch.setenv(usage.ENDPOINT_ENV, fake.endpoint)
        monkeypatch.setattr(usage, "compute", _with_test_credential(usage.compute))
        code, _out, err = run_cli(["usage", "--fleet", "--from", "2026-11-02", "--to", "2026-11-04", "--format", "json",
                                   "--out", str(tmp_path / "u.json")])
        assert code == 0, err
        data = json.loads((tmp_path / "u.json").read_text())
        assert [c["stack"] for c in data["customers"]] == ["contoso", "fabrikam", "northwind"]
        code, out, _ = run_cli(["usage", "northwind", "--from", "2026-11-02", "--to", "2026-11-02"])
    assert code == 0 and "| northwind" not in out and "(`northwind`)" in out and "StorageBlobLogs" in out
    assert "3.000000" in out  # one day of Northwind's storage logs: 3 GB


@pytest.mark.parametrize("argv,needle", [
    (["usage", "contoso", "--from", "2026-11-05", "--to", "2026-11-01"], "before --from"),
    (["usage", "contoso", "--from", "yesterday", "--to", "2026-11-01"], "not a date"),
    (["usage", "contoso", "--from", "2020-01-01", "--to", "2026-11-01"], "at most 731"),
    (["usage", "--fleet", "contoso", "--from", "2026-11-01", "--to", "2026-11-01"], "not both"),
    (["usage", "--from", "2026-11-01", "--to", "2026-11-01"], "not neither"),
    (["usage", "mssp", "--from", "2026-11-01", "--to", "2026-11-01"], "platform stack"),
])
def test_bad_input_exits_2_before_any_query(run_cli, argv, needle):
    code, out, err = run_cli(argv)
    assert code == 2 and needle in err and "Traceback" not in err + out


def test_the_coverage_page_shows_each_customers_billable_gb(run_cli, tmp_path):
    with FakeLogAnalytics(estate()) as fake:
        fake.faults[2] = PARTIAL  # the second workspace queried (Northwind's own) answers only in part
        r = report(fake)
    (tmp_path / "usage.json").write_text(json.dumps(r))
    code, _out, err = run_cli(["report", "--out", str(tmp_path / "site"), "--usage", str(tmp_path / "usage.json")])
    assert code == 0, err
    data = json.loads((tmp_path / "site" / "coverage.json").read_text())
    by_stack = {c["stack"]: c["usage"] for c in data["customers"]}
    assert by_stack["contoso"]["totalGB"] == pytest.approx(sum(expected(estate(), "contoso").values()) / 1e9, abs=1e-6)
    assert by_stack["northwind"]["status"] == "partial"
    md = (tmp_path / "site" / "coverage.md").read_text()
    from mssp import escape

    contoso_gb = escape.md(f"{by_stack['contoso']['totalGB']:.3f} GB, 2026-11-02 to 2026-11-04") + " |"
    assert contoso_gb in md and "(partial: incomplete)" in md
    assert 'data-usage="partial"' in (tmp_path / "site" / "index.html").read_text()
    (tmp_path / "bad.json").write_text('{"customers": [{"stack": "contoso"}]}')
    code, _out, err = run_cli(["report", "--out", str(tmp_path / "x"), "--usage", str(tmp_path / "bad.json")])
    assert code == 2 and "not a usage report" in err
