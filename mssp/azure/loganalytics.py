"""One Log Analytics query, through the Azure SDK (`azure-monitor-query` LogsQueryClient), with clear outcomes.

Why a wrapper: the SDK answers three ways (a result, a partial result with an error, an exception) and
callers must never mistake a partial or failed query for "no data". `run_query` returns rows only for
a complete answer and raises `LogAnalyticsError` otherwise, naming what failed; a partial answer comes
back as `QueryOutcome.partial_error` together with what rows it had, so the caller can report them as
unverified instead of silent.

Shapes (Azure/azure-rest-api-specs specification/operationalinsights/data-plane/
Microsoft.OperationalInsights/stable/2022-10-27/OperationalInsights.json): `POST /v1/{resourceId}/query`
with `{query, timespan}`; the answer `queryResults {tables [{name, columns [{name, type}], rows}],
error?}`, where `error.code == "PartialError"` marks a partial result; failures answer `errorResponse
{error {code, message, details}}`. Throttling is HTTP 429 with Retry-After, which the SDK's retry policy
(azure-core RetryPolicy) honours a bounded number of times.

The answer is read through `BoundedTransport`: at most limits.LOG_ANALYTICS bytes and limits.MAX_JSON_DEPTH
levels of JSON (mssp.azure.limits); a larger or deeper answer ends the query as a LogAnalyticsError that
names the endpoint and the limit, before the SDK parses anything.

The query runs against the workspace's ARM resource id (a resource-centric query), so no workspace GUID
is needed: the plan already holds the workspace resource id every diagnostic setting points at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mssp.azure import limits
from mssp.azure.rest import AzureRestError, endpoint_of

# Public cloud query endpoint and token audience (azure-monitor-query's default; sovereign clouds differ).
DEFAULT_ENDPOINT = "https://api.loganalytics.io"
# Bounded retries: throttling answers are retried after Retry-After, then the run ends as an error.
DEFAULT_RETRIES = 3


class LogAnalyticsError(AzureRestError):
    """The query failed as a whole: no row of it can be trusted (the REST client's error, for one handler)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__("Log Analytics query failed", message, status=status, code=code)


@dataclass(frozen=True)
class QueryOutcome:
    rows: list[dict[str, Any]]
    partial_error: str | None = None  # set when the service returned only part of the answer
    tables: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # of the first table (a summarize yields one)


def make_client(credential: Any, endpoint: str = DEFAULT_ENDPOINT, *, retries: int = DEFAULT_RETRIES,
                backoff: float = 0.8, limit: limits.AnswerLimit = limits.LOG_ANALYTICS) -> Any:
    """A LogsQueryClient for endpoint with a bounded retry policy and bounded answers (BoundedTransport)."""
    from azure.monitor.query import LogsQueryClient

    return LogsQueryClient(credential, endpoint=endpoint, retry_total=retries, retry_backoff_factor=backoff,
                           retry_backoff_max=30, transport=bounded_transport(limit))


def bounded_transport(limit: limits.AnswerLimit = limits.LOG_ANALYTICS) -> Any:
    """azure-core's requests transport, reading each answer in chunks up to limit.max_bytes.

    azure-core reads a non-streamed answer whole (requests' `Response.content`) before any policy sees it,
    so the cap has to sit in the transport: the request is sent streamed, the body read here through
    limits.read_capped (decompressed bytes: a gzip bomb counts at its inflated size), checked for JSON depth
    and handed back as the already-read body (azure-core 1.41 `_HttpResponseBaseImpl._content`, the
    attribute its own `read()` fills). A refused answer raises LogAnalyticsError, which azure-core's retry
    policy does not retry (it retries AzureError only)."""
    from azure.core.pipeline.transport import RequestsTransport

    class BoundedTransport(RequestsTransport):
        def send(self, request: Any, **kwargs: Any) -> Any:
            streamed = kwargs.pop("stream", False)
            response = super().send(request, stream=True, **kwargs)
            if streamed:
                return response
            endpoint = endpoint_of(str(request.url))
            try:
                chunks = response.iter_bytes()
                raw = limits.read_capped(lambda _n: next(chunks, b""), limit, endpoint,
                                         declared=limits.declared_length(response.headers))
                if raw.strip()[:1] in (b"{", b"["):
                    try:
                        limits.loads_bounded(raw, endpoint, limit.kind)
                    except ValueError:
                        pass  # not JSON: the SDK reports it as it does any malformed answer
            except limits.AnswerRefused as exc:
                response.close()
                raise LogAnalyticsError(str(exc)) from None
            response._content = raw
            response._is_stream_consumed = True
            response.close()
            return response

    return BoundedTransport()


def _error_text(err: Any) -> tuple[str | None, str]:
    code = getattr(err, "code", None)
    message = getattr(err, "message", None) or str(err)
    details = getattr(err, "details", None) or []
    inner = [d.get("message") for d in details if isinstance(d, Mapping) and d.get("message")]
    if inner:
        message = f"{message} ({'; '.join(inner)})"
    return code, message.strip()


def run_query(client: Any, resource_id: str, query: str, start: datetime, end: datetime) -> QueryOutcome:
    """Run query over [start, end] against the workspace resource; rows as dicts keyed by column name."""
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.monitor.query import LogsQueryStatus

    from mssp.azure import signin

    kwargs: dict[str, Any] = {}
    if getattr(client, "_endpoint", "").startswith("http://"):
        # A local test server: azure-core refuses bearer tokens over plain HTTP unless told otherwise.
        kwargs["enforce_https"] = False
    signin.quiet_credential_chain()
    try:
        response = client.query_resource(resource_id, query, timespan=(start, end), **kwargs)
    except AzureError as exc:
        if signin.is_signin_failure(exc):  # azure-monitor-query wraps it in an HttpResponseError without a model
            raise LogAnalyticsError(signin.failure_text(exc, "Log Analytics")) from None
        if not isinstance(exc, HttpResponseError):  # network failures
            raise LogAnalyticsError(f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
        model = getattr(exc, "model", None)
        # The SDK may leave the model's class, not an instance, there: printed, it read "<class '...LogsQueryError'>".
        usable = model is not None and not isinstance(model, type)
        code, message = _error_text(model) if usable else (None, exc.message or str(exc))
        status = exc.status_code
        if status == 429:
            message = f"still throttled after {DEFAULT_RETRIES} retries: {message}"
        raise LogAnalyticsError(message.splitlines()[0], status=status, code=code) from None
    if response.status == LogsQueryStatus.PARTIAL:
        code, message = _error_text(response.partial_error)
        tables = response.partial_data
        return QueryOutcome(_rows(tables), partial_error=f"{code or 'PartialError'}: {message}",
                            tables=[t.name for t in tables], columns=list(tables[0].columns) if tables else [])
    tables = response.tables
    return QueryOutcome(_rows(tables), tables=[t.name for t in tables],
                        columns=list(tables[0].columns) if tables else [])


def _rows(tables: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for table in tables:
        for row in table.rows:
            out.append(dict(zip(table.columns, list(row), strict=False)))
    return out
