"""Hostile or broken answers from Azure: every answer the CLI reads is bounded in size, JSON nesting and time.

Bugs these catch: an answer read whole (`resp.read()`: a 96 MiB answer held in memory and parsed), a cap
that only trusts Content-Length (a server that declares none, or lies), a refused answer retried as if it
were transient, a deeply nested answer ending in a RecursionError traceback, and an error message that
does not say which endpoint and which limit. The hostile answers come from the local fakes in testing/
(testing.local_server.Streamed: generated while sent, so the server never holds them either).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from mssp.azure import limits
from mssp.azure.batch import BatchReader
from mssp.azure.rest import AzureRestClient, AzureRestError
from mssp.cli import main
from mssp.discover import command as discover_cmd
from mssp.discover.discovery import query_resources
from mssp.health import command as health
from mssp.offboard.verify import verify_settings_removed
from testing.credentials import StaticTokenCredential
from testing.fake_arm import FakeArm, Fault
from testing.fake_loganalytics import FakeLogAnalytics
from testing.fake_loganalytics import Fault as QueryFault
from testing.local_server import LocalServer, Streamed, send_json

PROJECT_DIR = Path(__file__).resolve().parents[3]
SUB = "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"  # Contoso Production (stacks/Pulumi.contoso.yaml)
KV = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"
SETTINGS = f"{KV}/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview"
MIB = limits.MIB


def client_for(fake: FakeArm, **kwargs: Any) -> AzureRestClient:
    return AzureRestClient(lambda: fake.token, fake.base_url, sleep=lambda _s: None, timeout=10.0, **kwargs)


def over(limit: limits.AnswerLimit, *, declare: bool = False, start: bytes = b'{"value": ["') -> Streamed:
    """A JSON-looking answer 1 MiB over the cap; with `declare`, its true Content-Length."""
    count = limit.max_bytes // MIB + 1
    body = Streamed(b"x" * MIB, count, prefix=start, suffix=b'"]}')
    return Streamed(body.chunk, body.count, body.prefix, body.suffix, body.size if declare else None)


def nested(levels: int) -> bytes:
    return b'{"value": ' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


def assert_names_limit(message: str, limit: limits.AnswerLimit, endpoint_part: str) -> None:
    assert limit.kind in message, message
    assert f"{limit.max_bytes // MIB} MiB" in message or f"{limit.max_bytes // 1024} KiB" in message, message
    assert endpoint_part in message, message


# -- the ARM client: each kind of answer at its own cap -------------------------------------------------


def _arm_read(fake: FakeArm, body: Any) -> Callable[[], Any]:
    fake.bodies[KV.lower()] = body
    return lambda: client_for(fake).get(SETTINGS, what="reading settings")


def _graph_page(fake: FakeArm, body: Any) -> Callable[[], Any]:
    fake.graph_faults[1] = Fault(200, {}, body)
    return lambda: query_resources(client_for(fake), [SUB], ["Microsoft.KeyVault/vaults"])


def _batch(fake: FakeArm, body: Any) -> Callable[[], Any]:
    fake.batch_faults[1] = Fault(200, {}, body)
    return lambda: BatchReader(client_for(fake)).get_all([SETTINGS], what="settings")


KINDS = [(limits.ARM_READ, _arm_read, "/diagnosticSettings"),
         (limits.RESOURCE_GRAPH_PAGE, _graph_page, "/providers/Microsoft.ResourceGraph/resources"),
         (limits.ARM_BATCH, _batch, "/batch")]


@pytest.mark.parametrize("declare", [False, True], ids=["no-content-length", "content-length"])
@pytest.mark.parametrize(("limit", "arrange", "endpoint"), KINDS, ids=[k[0].kind for k in KINDS])
def test_an_arm_answer_over_its_cap_is_refused_once_naming_the_endpoint_and_limit(limit, arrange, endpoint, declare):
    with FakeArm(readable_subscriptions=[SUB]) as fake:
        call = arrange(fake, over(limit, declare=declare))
        with pytest.raises(AzureRestError) as err:
            call()
        total = len(fake.calls)
    assert_names_limit(str(err.value), limit, endpoint)
    assert total == 1  # refused, not retried: a hostile answer does not improve


def test_an_answer_just_under_its_cap_is_still_read():
    """The cap is a cap, not a guess at a usual size: a large honest list page is read."""
    filler = "x" * (limits.ARM_READ.max_bytes - 200)
    with FakeArm(readable_subscriptions=[SUB]) as fake:
        fake.bodies[KV.lower()] = {"value": [], "note": filler}
        resp = client_for(fake).get(SETTINGS, what="reading settings")
    assert resp.body["note"] == filler


def test_a_lying_content_length_does_not_let_more_through():
    """Declared small, sent large: the reader stops at the declared length (http.client) or the cap."""
    limit = limits.ARM_READ
    with FakeArm(readable_subscriptions=[SUB]) as fake:
        fake.bodies[KV.lower()] = Streamed(b"x" * MIB, 20, prefix=b'{"value": []}', content_length=13)
        resp = client_for(fake).get(SETTINGS, what="reading settings")
    assert resp.body == {"value": []}
    assert limit.max_bytes < 20 * MIB


def test_a_96_mib_answer_is_refused_in_bounded_memory():
    """The review's case: a 96 MiB answer was read and parsed whole. Now at most the cap is held."""
    limit = limits.ARM_READ
    with FakeArm(readable_subscriptions=[SUB]) as fake:
        fake.bodies[KV.lower()] = Streamed(b"[" + b"0," * (MIB // 2 - 1) + b"0]", 96)
        tracemalloc.start()
        try:
            with pytest.raises(AzureRestError) as err:
                client_for(fake).get(SETTINGS, what="reading settings")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert_names_limit(str(err.value), limit, "/diagnosticSettings")
    assert peak < limit.max_bytes * 1.5 + 2 * MIB, f"peak {peak / MIB:.1f} MiB for an {limit.max_bytes // MIB} MiB cap"


# -- JSON nesting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [limits.MAX_JSON_DEPTH + 1, 5000, 200_000])
def test_deeply_nested_json_is_refused_by_name_not_a_recursion_traceback(levels):
    with FakeArm(readable_subscriptions=[SUB]) as fake:
        fake.bodies[KV.lower()] = nested(levels)
        with pytest.raises(AzureRestError) as err:
            client_for(fake).get(SETTINGS, what="reading settings")
    assert f"deeper than {limits.MAX_JSON_DEPTH} levels" in str(err.value)
    assert "/diagnosticSettings" in str(err.value)


def test_nesting_at_the_cap_is_read():
    value = limits.loads_bounded(nested(limits.MAX_JSON_DEPTH), "https://x/y")
    assert limits.depth(value) == limits.MAX_JSON_DEPTH


@pytest.mark.parametrize(("value", "expected"), [(1, 0), ([], 1), ({}, 1), ({"a": [1, {"b": []}]}, 4),
                                                 ([[], [[[]]], []], 4)])
def test_depth_counts_the_deepest_branch(value, expected):
    assert limits.depth(value) == expected


def test_an_error_answer_is_bounded_too():
    """A 500 with a huge body is refused by size, not read whole for its error message."""
    with FakeArm(readable_subscriptions=[SUB]) as fake:
        fake.graph_faults[1] = Fault(500, {}, over(limits.RESOURCE_GRAPH_PAGE))
        with pytest.raises(AzureRestError) as err:
            query_resources(client_for(fake), [SUB], ["Microsoft.KeyVault/vaults"])
        assert fake.count("graph") == 1
    assert_names_limit(str(err.value), limits.RESOURCE_GRAPH_PAGE, "ResourceGraph")


# -- time -------------------------------------------------------------------------------------------


def test_a_dripping_answer_is_refused_after_the_read_deadline():
    """Each socket read has its timeout; the deadline bounds the sum (the clock is injected: no waiting)."""
    now = [0.0]

    def read(_n: int) -> bytes:
        now[0] += 10.0  # every byte arrives just inside the socket timeout
        return b"x"

    with pytest.raises(limits.AnswerRefused, match=r"https://arm/x took longer than 300 s"):
        limits.read_capped(read, limits.ARM_READ, "https://arm/x", clock=lambda: now[0])


# -- the commands: the documented exit code and a message, nothing written --------------------------


def test_discover_exits_1_naming_the_limit_and_writes_nothing(tmp_path, monkeypatch, capsys):
    import shutil

    shutil.copytree(PROJECT_DIR / "stacks", tmp_path / "stacks")
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    inventory = tmp_path / "stacks" / "inventories" / "contoso.yaml"
    before = inventory.read_bytes()
    with FakeArm(readable_subscriptions=[SUB]) as fake:
        fake.graph_faults[1] = Fault(200, {}, over(limits.RESOURCE_GRAPH_PAGE))
        monkeypatch.setattr(discover_cmd, "make_client", lambda ctx: client_for(fake))
        code = main(["discover", "contoso", "--project-dir", str(tmp_path)])
    _out, err = capsys.readouterr()
    assert code == 1
    assert_names_limit(err, limits.RESOURCE_GRAPH_PAGE, "ResourceGraph")
    assert "Traceback" not in err and inventory.read_bytes() == before


def test_offboard_verify_reads_an_oversized_answer_as_unreadable_never_removed():
    with FakeArm(readable_subscriptions=[SUB]) as fake:
        fake.bodies[KV.lower()] = over(limits.ARM_READ)
        [result] = verify_settings_removed(client_for(fake), [{"id": f"{KV}/x/s", "scope": KV, "name": "s"}])
    assert result["result"] == "unreadable"
    assert_names_limit(result["detail"], limits.ARM_READ, "/diagnosticSettings")


def _health(fake: FakeLogAnalytics) -> dict[str, Any]:
    from mssp.azure.loganalytics import make_client

    return health.check("contoso", PROJECT_DIR, 24, endpoint=fake.endpoint, credential=StaticTokenCredential(),
                        now=datetime.now(UTC), client_factory=lambda c, e: make_client(c, e, retries=0))


@pytest.mark.parametrize("declare", [False, True], ids=["no-content-length", "content-length"])
def test_health_refuses_an_oversized_log_analytics_answer(declare):
    with FakeLogAnalytics() as fake:
        fake.always = QueryFault(200, {}, over(limits.LOG_ANALYTICS, declare=declare, start=b'{"tables": ["'))
        report = _health(fake)
        assert fake.calls == 1
    assert report["status"] == "error" and report["exitCode"] == health.EXIT_ERROR
    assert_names_limit(report["errors"][0], limits.LOG_ANALYTICS, "/query")
    assert report["silentResources"] == []


def test_health_refuses_a_deeply_nested_log_analytics_answer():
    with FakeLogAnalytics() as fake:
        fake.always = QueryFault(200, {}, b'{"tables": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
        report = _health(fake)
    assert report["status"] == "error"
    assert f"deeper than {limits.MAX_JSON_DEPTH} levels" in report["errors"][0]


SIG = "c2VjcmV0LXNpZ25hdHVyZQ"


@pytest.fixture
def hostile_webhook() -> Iterator[str]:
    def handle(req: BaseHTTPRequestHandler, _method: str) -> None:
        req.rfile.read(int(req.headers.get("Content-Length") or 0))
        send_json(req, 200, {}, Streamed(b"y" * 1024, 1024, prefix=b'{"status": "'))

    with LocalServer(handle, methods=("POST",)) as server:
        yield f"{server.url}/workflows/w/triggers/t/run?api-version=2016-10-01&sig={SIG}"


def test_splunk_ping_refuses_an_oversized_webhook_answer_without_showing_the_signature(hostile_webhook, monkeypatch,
                                                                                      capsys):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    code = main(["splunk-ping", "contoso", "--url", hostile_webhook])
    out, err = capsys.readouterr()
    assert code == 1
    assert_names_limit(out, limits.SPLUNK_WEBHOOK, "/workflows/w/triggers/t/run")
    assert SIG not in out + err


def test_every_cap_is_documented():
    text = (PROJECT_DIR / "docs" / "reference" / "azure-answers.md").read_text(encoding="utf-8")
    for limit in limits.ALL:
        assert limit.kind in text and limits._size(limit.max_bytes) in text, limit
    assert str(limits.MAX_JSON_DEPTH) in text and f"{limits.READ_DEADLINE:.0f}" in text
