"""The ARM REST client against a local server: throttling, retries, malformed answers, clear errors."""

from __future__ import annotations

import email.utils
import socket
import time
from types import SimpleNamespace

import pytest
from discover_support import client_for

from mssp.azure.rest import (
    AzureRestClient,
    AzureRestError,
    CredentialTokenProvider,
    backoff_delay,
    parse_retry_after,
)
from testing.fake_arm import FakeArm, Fault, arm_error, server_error, throttled

GRAPH = "/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01"
QUERY = {"subscriptions": [], "query": "resources | project id, type, subscriptionId"}


def test_retry_after_in_seconds_date_and_quota_header() -> None:
    assert parse_retry_after({"retry-after": "7"}, now=0) == 7.0
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= parse_retry_after({"retry-after": date}, now=now) <= 31
    assert parse_retry_after({"x-ms-user-quota-resets-after": "00:01:05"}, now=0) == 65.0
    assert parse_retry_after({}, now=0) is None
    assert parse_retry_after({"retry-after": "soon"}, now=0) is None


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(a, 1.0, 5.0) for a in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_429_waits_as_asked_then_succeeds() -> None:
    with FakeArm() as fake:
        fake.graph_faults[1] = throttled("7")
        sleeps: list[float] = []
        resp = client_for(fake, sleeps).post(GRAPH, QUERY, what="query")
    assert resp.status == 200 and resp.body["data"] == []
    assert sleeps == [7.0]
    assert fake.count("graph") == 2


def test_5xx_is_retried_with_backoff() -> None:
    with FakeArm() as fake:
        fake.graph_faults.update({1: server_error(), 2: Fault(503, {}, {"error": {"code": "Busy", "message": "x"}})})
        sleeps: list[float] = []
        client = client_for(fake, sleeps, backoff_base=0.5)
        assert client.post(GRAPH, QUERY, what="query").status == 200
    assert sleeps == [0.5, 1.0]
    assert client.calls == 3


def test_retries_are_bounded_and_the_error_names_what_failed() -> None:
    with FakeArm() as fake:
        fake.graph_faults.update({n: server_error() for n in range(1, 10)})
        sleeps: list[float] = []
        with pytest.raises(AzureRestError) as err:
            client_for(fake, sleeps, max_retries=2).post(GRAPH, QUERY, what="Resource Graph query (page 1)")
    assert fake.count("graph") == 3
    assert len(sleeps) == 2
    text = str(err.value)
    assert text.startswith("Resource Graph query (page 1): HTTP 500 InternalServerError")
    assert "after 3 attempts" in text


def test_client_error_is_not_retried_and_carries_arm_code() -> None:
    with FakeArm() as fake:
        fake.graph_faults[1] = arm_error(400, "InvalidQuery", "Query is invalid")
        with pytest.raises(AzureRestError) as err:
            client_for(fake).post(GRAPH, QUERY, what="query")
    assert fake.count("graph") == 1
    assert (err.value.status, err.value.code, err.value.message) == (400, "InvalidQuery", "Query is invalid")


def test_wrong_token_is_an_authentication_error() -> None:
    with FakeArm() as fake:
        client = AzureRestClient(lambda: "not-the-token", fake.base_url, sleep=lambda _s: None)
        with pytest.raises(AzureRestError) as err:
            client.get("/subscriptions", what="listing")
    assert err.value.status == 401 and err.value.code == "AuthenticationFailed"


def test_malformed_json_answer_is_reported() -> None:
    with FakeArm() as fake:
        fake.graph_faults[1] = Fault(200, {}, b"<html>gateway</html>")
        with pytest.raises(AzureRestError, match="malformed answer: not JSON"):
            client_for(fake).post(GRAPH, QUERY, what="query")


def test_a_retry_after_beyond_the_limit_ends_the_run_without_sleeping() -> None:
    with FakeArm() as fake:
        fake.graph_faults[1] = throttled("3600")
        sleeps: list[float] = []
        with pytest.raises(AzureRestError, match="asks to wait 3600 s"):
            client_for(fake, sleeps, max_wait=300).post(GRAPH, QUERY, what="query")
    assert sleeps == []


def test_network_errors_are_retried_then_reported() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: list[float] = []
    client = AzureRestClient(lambda: "t", f"http://127.0.0.1:{port}", sleep=sleeps.append, max_retries=2, timeout=2)
    with pytest.raises(AzureRestError, match="network error after 3 attempts"):
        client.get("/x", what="probe")
    assert len(sleeps) == 2


def test_credential_tokens_are_cached_and_failures_are_clear() -> None:
    calls: list[tuple[str, dict[str, str]]] = []

    class Cred:
        def get_token(self, scope: str, **kw: str) -> SimpleNamespace:
            calls.append((scope, kw))
            return SimpleNamespace(token=f"tok{len(calls)}", expires_on=time.time() + 3600)

    provider = CredentialTokenProvider(Cred(), tenant_id="11111111-1111-1111-1111-111111111111")
    assert provider() == "tok1" and provider() == "tok1"
    assert calls == [("https://management.azure.com/.default", {"tenant_id": "11111111-1111-1111-1111-111111111111"})]

    class Broken:
        def get_token(self, scope: str, **kw: str) -> SimpleNamespace:
            raise RuntimeError("DefaultAzureCredential failed to retrieve a token\nmore lines")

    # One paragraph naming the sources tried (issue #23), still an AzureRestError for every caller.
    with pytest.raises(AzureRestError, match=r"^signing in to Azure failed: no credential source gave a token"):
        CredentialTokenProvider(Broken())()

    class Unreachable:
        def get_token(self, scope: str, **kw: str) -> SimpleNamespace:
            raise RuntimeError("connection refused by login.microsoftonline.com\nmore lines")

    with pytest.raises(AzureRestError, match=r"^signing in to Azure: connection refused by login\.microsoftonline\.com$"):
        CredentialTokenProvider(Unreachable())()


def test_a_redirect_never_carries_the_bearer_token_to_another_host() -> None:
    # Bug: urllib's default redirect handler re-sends every header, Authorization included, to the host a
    # 3xx names; an answer redirecting elsewhere would hand the ARM token to that host.
    from http.server import BaseHTTPRequestHandler

    from mssp.azure.rest import AzureRestError
    from testing.local_server import LocalServer, send_json

    seen: list[str | None] = []

    def elsewhere(req: BaseHTTPRequestHandler, _method: str) -> None:
        seen.append(req.headers.get("Authorization"))
        send_json(req, 200, {}, {"value": []})

    with LocalServer(elsewhere) as other:
        def arm(req: BaseHTTPRequestHandler, _method: str) -> None:
            send_json(req, 302, {"Location": f"{other.url}/steal"}, {})

        with LocalServer(arm) as server:
            client = AzureRestClient(lambda: "SECRET-TOKEN", server.url, sleep=lambda _s: None, max_retries=0)
            with pytest.raises(AzureRestError) as exc:
                client.get("/subscriptions?api-version=2022-12-01", what="list subscriptions")
    assert seen == [] and exc.value.status == 302
    assert "SECRET-TOKEN" not in str(exc.value)
