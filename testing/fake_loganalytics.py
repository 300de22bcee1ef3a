"""A local stand-in for the Log Analytics query API, for tests of `mssp health` with the real SDK client.

It runs an HTTP server on 127.0.0.1 in a thread and answers `POST /v1/{resourceId}/query` (and
`/v1/workspaces/{id}/query`) the way the service documents it, so azure-monitor-query's LogsQueryClient
runs unchanged against it. Shapes: Azure/azure-rest-api-specs specification/operationalinsights/
data-plane/Microsoft.OperationalInsights/stable/2022-10-27/OperationalInsights.json (request `queryBody
{query, timespan, workspaces}`; answer `queryResults {tables [{name, columns [{name, type}], rows}],
error?}`; failures `errorResponse {error {code, message, details, innererror}}`) and its example
examples/la-post-resource-centric-example.json (table "PrimaryResult"). A partial result is a 200 with
both `tables` and `error.code == "PartialError"` (the SDK's LogsQueryPartialResult); throttling is
HTTP 429 with Retry-After.

It does not run KQL. It holds ingested records (table, TimeGenerated, _ResourceId, SubscriptionId,
CustomerName, _BilledSize, _IsBillable) and reads the few things `mssp health` puts in its query: the `let subs = dynamic([...])`
list, the tables of each `let resources|activity|splunk = [union isfuzzy=true] T1, T2` and the
`CustomerName =~ "..."` filter; the window comes from the request's timespan (ISO 8601 start/end or
a duration). A union without isfuzzy over a table the workspace lacks fails as the service does.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

from testing.local_server import LocalServer, send_json


@dataclass(frozen=True)
class Record:
    table: str
    time: datetime
    resource_id: str = ""  # _ResourceId
    subscription_id: str = ""  # _SubscriptionId / SubscriptionId
    customer: str = ""  # CustomerName (Splunk custom table)
    billed_size: int = 0  # _BilledSize, bytes (standard column; `mssp usage` sums it)
    billable: bool = True  # _IsBillable
    workspace: str = ""  # the workspace resource id it was ingested into; "" = every workspace the server answers for


@dataclass
class Fault:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


def throttled(retry_after: str = "1") -> Fault:
    return Fault(429, {"Retry-After": retry_after},
                 {"error": {"code": "TooManyRequests", "message": "Too many requests, retry after some time."}})


def query_error(message: str = "Query could not be parsed at 'summarize' on line [3,2]") -> Fault:
    # Error shape: errorResponse/errorInfo of the spec above (code, message, details[], innererror).
    return Fault(400, {}, {"error": {"code": "BadArgumentError", "message": "The request had some invalid properties",
                                     "details": [{"code": "SyntaxError", "message": message}],
                                     "innererror": {"code": "SYN0002", "message": message}}})


def server_error() -> Fault:
    return Fault(500, {}, {"error": {"code": "InternalServerError", "message": "An internal error occurred."}})


PARTIAL = "partial"  # marker fault: answer 200 with part of the rows and a PartialError


def wrong_shape() -> Fault:
    """A 200 whose table lacks the projected columns (a query someone edited, a proxy answering)."""
    return Fault(200, {}, {"tables": [{"name": "PrimaryResult", "columns": [{"name": "Count", "type": "long"}],
                                       "rows": [[0]]}]})


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parse_timespan(timespan: str | None, now: datetime) -> tuple[datetime, datetime]:
    """ISO 8601 interval "start/end" or a duration "PT<seconds>S" ending now."""
    if not timespan:
        return datetime.min.replace(tzinfo=UTC), now
    if "/" in timespan:
        a, b = timespan.split("/", 1)
        start = _parse_time(a)
        end = _parse_time(b) if not b.startswith("P") else start + _duration(b)
        return start, end
    return now - _duration(timespan), now


def _duration(text: str) -> timedelta:
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?", text)
    if not m:
        raise ValueError(f"unsupported duration {text}")
    d, h, mi, s = (float(x or 0) for x in m.groups())
    return timedelta(days=d, hours=h, minutes=mi, seconds=s)


class FakeLogAnalytics:
    """Server state and scripted misbehaviour. Use as a context manager; endpoint is set inside."""

    def __init__(self, records: Iterable[Record] = (), *, token: str = "test-token",
                 known_tables: Iterable[str] = ("AzureDiagnostics", "AzureActivity", "AzureMetrics")):
        self.records = list(records)
        self.token = token
        self.known_tables = {t.lower() for t in known_tables} | {r.table.lower() for r in self.records}
        self.faults: dict[int, Fault | str] = {}  # by query call number, 1-based
        self.always: Fault | str | None = None  # answer every query with this
        self.requests: list[dict[str, Any]] = []  # path, body and headers of every query request
        self.now = datetime.now(UTC)
        self._lock = threading.Lock()
        self._local: LocalServer
        self.endpoint = ""

    def __enter__(self) -> FakeLogAnalytics:
        self._local = LocalServer(lambda req, _method: self._handle(req), methods=("POST",)).__enter__()
        self.endpoint = self._local.url
        return self

    def __exit__(self, *exc: object) -> None:
        self._local.__exit__(*exc)

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.requests)

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        path = req.path.split("?", 1)[0]
        with self._lock:
            self.requests.append({"path": path, "body": raw.decode("utf-8", "replace"),
                                  "headers": {k.lower(): v for k, v in req.headers.items()}})
            number = len(self.requests)
        if not re.fullmatch(r"/v1/+(workspaces/[^/]+|subscriptions/.+)/query", path):
            return self._send(req, Fault(404, {}, {"error": {"code": "PathNotFoundError", "message": f"no route {path}"}}))
        if req.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(req, Fault(403, {}, {"error": {"code": "InvalidTokenError",
                                                             "message": "The provided authentication is not valid"}}))
        try:
            body = json.loads(raw)
            query = body["query"]
            start, end = parse_timespan(body.get("timespan"), self.now)
        except (ValueError, KeyError, TypeError) as exc:
            return self._send(req, Fault(400, {}, {"error": {"code": "BadArgumentError", "message": str(exc)}}))
        fault = self.faults.pop(number, None) or self.always
        if isinstance(fault, Fault):
            return self._send(req, fault)
        if query.lstrip().startswith("find "):
            return self._send(req, Fault(200, {}, self._usage(query, start, end, fault == PARTIAL, path)))
        try:
            rows = self._evaluate(query, start, end)
        except LookupError as exc:
            return self._send(req, Fault(400, {}, {"error": {"code": "BadArgumentError", "message": str(exc),
                                                             "details": [{"code": "SemanticError", "message": str(exc)}]}}))
        answer: dict[str, Any] = {"tables": [{
            "name": "PrimaryResult",
            "columns": [{"name": "Kind", "type": "string"}, {"name": "Key", "type": "string"},
                        {"name": "LastSeen", "type": "datetime"}, {"name": "Rows", "type": "long"}],
            "rows": rows,
        }]}
        if fault == PARTIAL:
            # Only the Activity log part came back; the union over resource tables did not finish.
            answer["tables"][0]["rows"] = [r for r in rows if r[0] != "resource"]
            answer["error"] = {"code": "PartialError", "message": "There were some errors when processing your query.",
                               "details": [{"code": "EngineError", "message": "Something went wrong processing your "
                                            "query on the server.", "innererror": {"code": "-2133196797",
                                                                                    "message": "Partial query failure"}}]}
        return self._send(req, Fault(200, {}, answer))

    def _send(self, req: BaseHTTPRequestHandler, answer: Fault) -> None:
        send_json(req, answer.status, answer.headers, answer.body)

    # -- the one KQL shape mssp usage sends (mssp/usage/command.py build_query) -----------------

    def _usage(self, query: str, start: datetime, end: datetime, partial: bool, path: str) -> dict[str, Any]:
        """Billable bytes by Type, UTC day and lower-cased _SubscriptionId, inside the query's own
        `TimeGenerated >= datetime(a) and TimeGenerated < datetime(b)` bounds and the request's timespan,
        for the subscriptions of `_SubscriptionId in~ (dynamic([...]))` when the query has that filter."""
        bounds = re.search(r"TimeGenerated >= datetime\((.*?)\) and TimeGenerated < datetime\((.*?)\)", query)
        lo, hi = (_parse_time(bounds.group(1)), _parse_time(bounds.group(2))) if bounds else (start, end)
        m = re.search(r"_SubscriptionId in~ \(dynamic\((\[.*?\])\)\)", query)
        subs = {x.lower() for x in json.loads(m.group(1))} if m else None
        groups: dict[tuple[str, str, str], int] = {}
        for r in self.records:
            if r.workspace and r.workspace.lower() not in path.lower():
                continue
            if not (r.billable and r.table != "Usage" and lo <= r.time < hi and start <= r.time <= end):
                continue
            if subs is not None and r.subscription_id.lower() not in subs:
                continue
            day = r.time.astimezone(UTC).strftime("%Y-%m-%dT00:00:00Z")
            key = (r.table, day, r.subscription_id.lower())
            groups[key] = groups.get(key, 0) + r.billed_size
        rows = [[t, d, b, sub] for (t, d, sub), b in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2]))]
        answer: dict[str, Any] = {"tables": [{"name": "PrimaryResult", "columns": [
            {"name": "Type", "type": "string"}, {"name": "Day", "type": "datetime"},
            {"name": "BillableDataBytes", "type": "long"}, {"name": "_SubscriptionId", "type": "string"}],
            "rows": rows[: len(rows) // 2] if partial else rows}]}
        if partial:
            answer["error"] = {"code": "PartialError", "message": "There were some errors when processing your query.",
                               "details": [{"code": "EngineError", "message": "Partial query failure"}]}
        return answer

    # -- the few KQL shapes mssp health sends -------------------------------------------------

    def _evaluate(self, query: str, start: datetime, end: datetime) -> list[list[Any]]:
        m = re.search(r"let subs = dynamic\((\[.*?\])\);", query)
        subs = {s.lower() for s in json.loads(m.group(1))} if m else set()
        out: list[list[Any]] = []
        for name, fuzzy, tables_text in re.findall(r"let (\w+) = (union isfuzzy=true )?([\w, ]+)\n", query):
            tables = [t.strip() for t in tables_text.replace("union", "").split(",") if t.strip()]
            missing = [t for t in tables if t.lower() not in self.known_tables]
            if missing and not fuzzy:
                raise LookupError(f"'{missing[0]}' could not be resolved to a table, function or expression")
            wanted = {t.lower() for t in tables}
            picked = [r for r in self.records if r.table.lower() in wanted and start <= r.time <= end]
            if name == "resources":
                kind, key = "resource", (lambda r: r.resource_id.lower())
                picked = [r for r in picked if r.subscription_id.lower() in subs]
            elif name == "activity":
                kind, key = "subscription", (lambda r: r.subscription_id.lower())
                picked = [r for r in picked if r.subscription_id.lower() in subs]
            elif name == "splunk":
                c = re.search(r'CustomerName =~ "(.*?)"', query)
                customer = c.group(1).lower() if c else ""
                kind, key = "splunk", (lambda r: r.customer.lower())
                picked = [r for r in picked if r.customer.lower() == customer]
            else:
                continue
            groups: dict[str, list[Record]] = {}
            for r in picked:
                groups.setdefault(key(r), []).append(r)
            for k, recs in sorted(groups.items()):
                last = max(r.time for r in recs).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                out.append([kind, k, last, len(recs)])
        return out


def _resource_type(resource_id: str) -> str:
    """Microsoft.Storage/storageAccounts for .../providers/Microsoft.Storage/storageAccounts/name[/...]."""
    parts = resource_id.split("/")
    i = max(j for j, p in enumerate(parts) if p.lower() == "providers")
    return "/".join([parts[i + 1], *parts[i + 2::2]])


def records_from_settings(settings: Mapping[str, list[dict[str, Any]]], workspace_id: str, when: datetime,
                          quiet: Iterable[str] = ()) -> list[Record]:
    """What a workspace receives from the diagnostic settings the local Azure holds: one record in each
    table their log entries land in (the catalog's category -> table facts, components/facts/catalog.py),
    AzureActivity for subscription settings; nothing from the scopes in `quiet` (resources that send nothing)."""
    from components.facts import catalog

    silent = {q.lower() for q in quiet}
    out: list[Record] = []
    for scope, items in settings.items():
        if scope.lower() in silent:
            continue
        for s in items:
            props = s.get("properties") or {}
            if str(props.get("workspaceId") or "").lower() != workspace_id.lower():
                continue
            sub = scope.split("/")[2]
            if scope.count("/") == 2:
                out.append(Record("AzureActivity", when, "", sub))
                continue
            rtype = _resource_type(scope)
            entry = catalog.entry_for(rtype)
            tables: tuple[tuple[str, str], ...] = entry.tables if entry else ()
            if entry is None:  # a sub-service scope: its parent's entry names its tables
                parent = catalog.entry_for(rtype.rsplit("/", 1)[0])
                service = next((v for v in parent.sub_services if scope.lower().endswith("/" + v.path.lower())), None) if parent else None
                tables = service.tables if service else ()
            chosen = {t for c, t in tables for e in props.get("logs") or []
                      if e.get("enabled") and (e.get("categoryGroup") or str(e.get("category", "")).lower() == c.lower())}
            if props.get("metrics"):
                chosen.add("AzureMetrics")
            out += [Record(t, when, scope.lower(), sub) for t in sorted(chosen)]
    return out
