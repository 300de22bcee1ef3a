"""A local stand-in for Azure Resource Graph, ARM `/batch` and diagnostic-settings reads.

Used only by the tests (tests/mssp/discover/) and by scripts/discovery_calls.py, never by the
CLI. It runs an HTTP server on 127.0.0.1 in a thread and answers with the shapes Microsoft documents,
so the real client code (mssp.azure.rest, mssp.discover.discovery) runs unchanged against it:

- Resource Graph: Azure/azure-rest-api-specs specification/resourcegraph/resource-manager/
  Microsoft.ResourceGraph/stable/2022-10-01/resourcegraph.json (QueryRequest / QueryResponse) and
  examples/ResourcesFirstPageQuery.json, ResourcesNextPageQuery.json ({totalRecords, count,
  resultTruncated: "false", facets: [], $skipToken, data: [{id, type (lower case), ...}]}).
  Throttling: HTTP 429 with Retry-After (MicrosoftDocs/azure-docs articles/governance/resource-graph/
  concepts/guidance-for-throttled-requests.md).
- ARM batch (undocumented): request {requests: [{httpMethod, name, url}]}, answer {responses: [{name,
  httpStatusCode, headers, content, contentLength}]}, as used by AAFC-Cloud/Cloud-Terrastodon
  crates/azure/src/batch_api.rs and Azure/azqr internal/scanners/diagnostics_settings.go.
- Diagnostic settings list: Azure/azure-rest-api-specs specification/monitor/resource-manager/
  Microsoft.Insights/preview/2021-05-01-preview/examples/listDiagnosticSettings.json ({value: [{id, type,
  name, properties {storageAccountId, eventHubAuthorizationRuleId, workspaceId, metrics[], logs[]}}]}).
- ARM errors: {"error": {"code", "message"}}.
- A running batch (`batch_pending`): 202 Accepted with Location and Retry-After, the Location
  answering 202 until the batch is done and then 200 with the responses body
  (maciejporebski.github.io/azure-management-batch-api; the polling follows ARM's asynchronous
  pattern, learn.microsoft.com/azure/azure-resource-manager/management/async-operations).
- Paged settings lists (`settings_page_size`): {value, nextLink}, the nextLink an absolute URL to GET,
  as ARM list operations page (azure-rest-api-specs x-ms-pageable nextLinkName "nextLink").

It does not run KQL: it reads the type list out of the `in~ (...)` clause discovery sends and adds
the readable subscriptions when the query unions ResourceContainers.

Writes (PUT/DELETE of ARM resources, single-resource GETs, Logic Apps' listCallbackUrl) and Microsoft
Graph (/graph/{tenant}/v1.0/...) go to testing/fake_azure.py, which enforces each type's contract
(testing/contracts.py). Diagnostic settings written there land in `settings`, so what the stand-in
providers write is what the settings reads above answer.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from components.facts import catalog
from mssp.azure import arm as arm_api
from testing.fake_azure import ArmStore, GraphStore, graph_route
from testing.local_server import LocalServer, send_json

SETTINGS_MARK = arm_api.DIAGNOSTIC_SETTINGS_PROVIDER.lower()
BATCH_RESULTS = "/batchResults/"  # where a running batch's Location points (the fake's own path)


@dataclass
class Fault:
    """An answer to give instead of the normal one."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # JSON-encoded unless bytes


def throttled(retry_after: str = "1") -> Fault:
    return Fault(429, {"Retry-After": retry_after},
                 {"error": {"code": "RateLimiting", "message": "Please provide below info when asking for support"}})


def server_error() -> Fault:
    return Fault(500, {}, {"error": {"code": "InternalServerError", "message": "Encountered internal server error."}})


def arm_error(status: int, code: str, message: str) -> Fault:
    return Fault(status, {}, {"error": {"code": code, "message": message}})


def make_setting(
    resource_uri: str,
    name: str,
    *,
    workspace_id: str | None = None,
    logs: Sequence[str] = ("allLogs",),
    metrics: Sequence[str] = (),
    storage_account_id: str | None = None,
    destination_type: str | None = None,
) -> dict[str, Any]:
    """A setting as the list API returns it (listDiagnosticSettings.json); logs entries are category
    groups when they start with a lower-case letter (allLogs, audit), categories otherwise."""
    def log_entry(c: str) -> dict[str, Any]:
        key = "categoryGroup" if c[:1].islower() else "category"
        return {key: c, "enabled": True, "retentionPolicy": {"enabled": False, "days": 0}}

    return {
        "id": f"{resource_uri}/providers/microsoft.insights/diagnosticSettings/{name}",
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": name,
        "properties": {
            "storageAccountId": storage_account_id,
            "eventHubAuthorizationRuleId": None,
            "workspaceId": workspace_id or "",
            "metrics": [{"category": m, "enabled": True, "retentionPolicy": {"enabled": False, "days": 0}}
                        for m in metrics],
            "logs": [log_entry(c) for c in logs],
            "logAnalyticsDestinationType": destination_type,
        },
    }


def resource_id(subscription: str, group: str, resource_type: str, name: str) -> str:
    """A synthetic ARM id for a catalog type: nested types get a parent named after the child."""
    namespace, *segments = resource_type.split("/")
    path = "/".join(f"{seg}/{name}" if i == len(segments) - 1 else f"{seg}/{name}-parent"
                    for i, seg in enumerate(segments))
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{namespace}/{path}"


def _kind(resource_type: str) -> dict[str, str]:
    """Resource Graph's `kind` column for a synthetic row: general-purpose v2 for storage accounts."""
    entry = catalog.entry_for(resource_type)
    return {"kind": "StorageV2"} if entry is not None and entry.kind_services else {}


def synthetic_estate(count: int, subscriptions: Sequence[str], types: Sequence[str] | None = None) -> list[dict[str, str]]:
    """count resources spread round-robin over the types and subscriptions, as Resource Graph rows."""
    types = list(types or catalog.supported_types())
    rows = []
    for i in range(count):
        t = types[i % len(types)]
        sub = subscriptions[(i // len(types)) % len(subscriptions)]
        rid = resource_id(sub, f"rg-{i % 40:02d}", t, f"r{i:05d}")
        rows.append({"id": rid, "type": t.lower(), "subscriptionId": sub, **_kind(t)})
    return rows


class FakeArm:
    """The server's state and scripted misbehaviour. Use as a context manager; base_url is set inside."""

    def __init__(
        self,
        resources: Iterable[dict[str, str]] = (),
        *,
        readable_subscriptions: Iterable[str] = (),
        settings: dict[str, list[dict[str, Any]]] | None = None,
        token: str = "test-token",
    ):
        self.resources = sorted(resources, key=lambda r: r["id"].lower())
        self.readable = {s.lower() for s in readable_subscriptions}
        self.settings = {k.lower(): v for k, v in (settings or {}).items()}
        self.token = token
        self.page_cap: int | None = None  # the server's own page size limit
        self.graph_faults: dict[int, Fault] = {}  # by Resource Graph call number, 1-based
        self.batch_faults: dict[int, Fault] = {}  # by /batch call number, 1-based
        self.batch_refusal: Fault | None = None  # answer every /batch with this
        # uri -> statuses for its next reads (batch item or GET); None answers that read normally
        self.item_faults: dict[str, list[int | None]] = {}
        self.gone: set[str] = set()  # resources deleted since Resource Graph indexed them
        self.garbled_items: set[str] = set()  # uris whose next batch item content is not a settings list
        # uri -> what its settings reads answer with 200 (bytes as they are: single GETs only)
        self.bodies: dict[str, Any] = {}
        self.calls: list[tuple[str, str]] = []  # (kind, path) of every request
        self.graph_bodies: list[Any] = []  # the JSON body of every Resource Graph request
        self.batch_sizes: list[int] = []
        self.batch_pending = 0  # answer each /batch 202 + Location, and each poll 202 this many times first
        self.settings_page_size: int | None = None  # page settings lists, with nextLink
        self.link_base: str | None = None  # where nextLinks point (default: this server)
        self._running: dict[str, list[Any]] = {}  # batch result id -> [polls left, responses body]
        self._lock = threading.Lock()
        self._target_cache: set[str] | None = None  # resources do not change while the server runs
        self._local: LocalServer
        self.base_url = ""
        # The writable local Azure (testing/fake_azure.py): ARM resources and Microsoft Graph.
        self.graph = GraphStore()
        # Subscription -> its tenant (lower case). Requests from another tenant need a Lighthouse delegation;
        # a token without a tenant counts as default_tenant's (None: access is not checked).
        self.home_tenants: dict[str, str] = {}
        self.default_tenant: str | None = None
        self.store = ArmStore(settings=self.settings, seeded=self._targets, graph=self.graph)

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FakeArm:
        self._local = LocalServer(lambda req, method: self._handle(req, method),
                                  methods=("GET", "POST", "PUT", "DELETE", "PATCH")).__enter__()
        self.base_url = self._local.url
        return self

    def __exit__(self, *exc: object) -> None:
        self._local.__exit__(*exc)

    # -- who may call what -------------------------------------------------------------------

    def _caller(self, authorization: str) -> str | None:
        """The tenant a bearer token was issued for: "" for the plain token, T for "<token>;tid=T" (the
        `tid` claim of a real Entra token); None for a wrong token."""
        if authorization == f"Bearer {self.token}":
            return ""
        prefix = f"Bearer {self.token};tid="
        return authorization[len(prefix):].lower() if authorization.startswith(prefix) else None

    def _denied(self, tenant: str | None, path: str) -> Fault | None:
        """403 AuthorizationFailed when `tenant` may not touch the subscription of `path`: a subscription is
        open to its own tenant and, through Azure Lighthouse, to the managing tenant of each registration
        assignment on it (learn.microsoft.com/azure/lighthouse/overview: the delegated resources are managed
        from the managing tenant; without the delegation the managing tenant has no access)."""
        m = re.match(r"/subscriptions/([^/?]+)(/resourcegroups/[^/?]+)?", path, re.I)
        if m is None or tenant is None:
            return None
        sub = m.group(1).lower()
        home = self.home_tenants.get(sub)
        if home is None or home == tenant.lower() or tenant.lower() in self.store.managing_tenants(f"/subscriptions/{sub}"):
            return None
        # A resource group delegated on its own (Lighthouse resource-group delegation) opens only itself.
        if m.group(2) and tenant.lower() in self.store.managing_tenants(f"/subscriptions/{sub}{m.group(2).lower()}"):
            return None
        return arm_error(403, "AuthorizationFailed",
                         f"The client of tenant '{tenant}' does not have authorization to perform this action over scope "
                         f"'/subscriptions/{sub}' or the scope is invalid (no Azure Lighthouse delegation to it).")

    def reset_targets(self) -> None:
        """Forget the cached target set after `resources` changed (seeding the local Azure)."""
        with self._lock:
            self._target_cache = None

    def count(self, kind: str) -> int:
        with self._lock:
            return sum(1 for k, _ in self.calls if k == kind)

    # -- routing -----------------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        path = urlsplit(req.path).path
        kind = ("graph" if path.lower() == arm_api.RESOURCE_GRAPH_PATH.lower() else
                "batch" if path.lower() == arm_api.BATCH_PATH else
                "poll" if path.startswith(BATCH_RESULTS) else
                "get" if method == "GET" and SETTINGS_MARK in path.lower() else "other")
        with self._lock:
            self.calls.append((kind, req.path))
            number = sum(1 for k, _ in self.calls if k == kind)
        caller = self._caller(req.headers.get("Authorization") or "")
        if caller is None:
            return self._send(req, arm_error(401, "AuthenticationFailed", "missing or wrong bearer token"))
        tenant = caller or self.default_tenant
        denied = self._denied(tenant, path) if not path.startswith("/graph/") else None
        if denied is not None:
            return self._send(req, denied)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._send(req, arm_error(400, "InvalidRequestContent", "body is not JSON"))
        if kind == "graph" and method == "POST":
            with self._lock:
                self.graph_bodies.append(body)
            fault = self.graph_faults.pop(number, None)
            return self._send(req, fault or self._graph(body))
        if kind == "batch" and method == "POST":
            fault = self.batch_faults.pop(number, None) or self.batch_refusal
            answer = fault or self._batch(body, tenant)
            if answer.status == 200 and self.batch_pending:
                return self._send(req, self._accept(answer.body))
            return self._send(req, answer)
        if kind == "poll" and method == "GET":
            return self._send(req, self._poll(path))
        if kind == "get" and path.lower().endswith(SETTINGS_MARK):
            status, content = self._settings_of(req.path)
            return self._send(req, Fault(status, {}, content))
        query = urlsplit(req.path).query
        route = graph_route(req.path)
        if route is not None:
            answer = self.graph.handle(method, route[0], route[1], query, body)
            return self._send(req, Fault(answer.status, {}, answer.body))
        if "api-version=" in query and method in ("GET", "PUT", "DELETE", "POST"):
            answer = self.store.handle(method, path, query, body, tenant or "")
            return self._send(req, Fault(answer.status, {}, answer.body))
        return self._send(req, arm_error(404, "NotFound", f"no route for {method} {path}"))

    def _send(self, req: BaseHTTPRequestHandler, answer: Fault) -> None:
        send_json(req, answer.status, answer.headers, b"" if answer.status == 204 else answer.body)

    # -- Resource Graph ----------------------------------------------------------------------

    def _graph(self, body: Any) -> Fault:
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return arm_error(400, "BadRequest", "query is required")
        query = body["query"]
        subs = {s.lower() for s in body.get("subscriptions") or []}
        m = re.search(r"type in~ \(([^)]*)\)", query)
        types = {t.strip().strip("'").lower() for t in m.group(1).split(",")} if m else set()
        rows = [dict(r) for r in self.resources
                if r["type"].lower() in types and r["subscriptionId"].lower() in subs & self.readable]
        if "resourcecontainers" in query.lower():
            rows += [{"id": f"/subscriptions/{s}", "type": arm_api.SUBSCRIPTION_TYPE, "subscriptionId": s}
                     for s in sorted(subs & self.readable)]
        rows.sort(key=lambda r: r["id"].lower())
        options = body.get("options") or {}
        top = int(options.get("$top") or 100)
        if self.page_cap:
            top = min(top, self.page_cap)
        offset = 0
        if options.get("$skipToken"):
            offset = json.loads(base64.b64decode(options["$skipToken"]))["offset"]
        page = rows[offset:offset + top]
        answer: dict[str, Any] = {"totalRecords": len(rows), "count": len(page), "resultTruncated": "false",
                                  "facets": []}
        if offset + top < len(rows):
            answer["$skipToken"] = base64.b64encode(json.dumps({"offset": offset + top}).encode()).decode()
        answer["data"] = page
        return Fault(200, {"x-ms-user-quota-remaining": "14", arm_api.QUOTA_RESETS_AFTER_HEADER: "00:00:05"}, answer)

    # -- batch and settings ------------------------------------------------------------------

    def _batch(self, body: Any, tenant: str | None = None) -> Fault:
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            return arm_error(400, "InvalidBatchRequest", "requests is required")
        requests = body["requests"]
        with self._lock:
            self.batch_sizes.append(len(requests))
        if len(requests) > arm_api.BATCH_MAX_REQUESTS:
            return arm_error(400, "BatchRequestTooLarge", f"at most {arm_api.BATCH_MAX_REQUESTS} requests")
        responses = []
        for r in requests:
            url = urlsplit(r.get("url", ""))
            refused = self._denied(tenant, url.path)
            if r.get("httpMethod") != "GET" or SETTINGS_MARK not in url.path.lower():
                status, content = 400, {"error": {"code": "BadRequest", "message": "unsupported request"}}
            elif refused is not None:
                status, content = refused.status, refused.body
            else:
                status, content = self._settings_of(url.path + (f"?{url.query}" if url.query else ""))
                uri = url.path[: url.path.lower().index(SETTINGS_MARK)].lower()
                with self._lock:
                    if uri in self.garbled_items:
                        self.garbled_items.discard(uri)
                        content = {"unexpected": True}
            encoded = json.dumps(content)
            responses.append({"name": r.get("name"), "httpStatusCode": status, "headers": {},
                              "content": content, "contentLength": len(encoded)})
        return Fault(200, {}, {"responses": responses})

    def _targets(self) -> set[str]:
        with self._lock:
            if self._target_cache is not None:
                return self._target_cache
        out = set()
        for r in self.resources:
            out.add(r["id"].lower())
            entry = catalog.entry_for(r["type"])
            for svc in entry.sub_services if entry else ():
                out.add(f"{r['id']}/{svc.path}".lower())
        with self._lock:
            self._target_cache = out
        return out

    def _accept(self, responses: Any) -> Fault:
        with self._lock:
            rid = f"r{len(self._running) + 1}"
            self._running[rid] = [self.batch_pending - 1, responses]
        return Fault(202, {"Location": f"{self.base_url}{BATCH_RESULTS}{rid}", "Retry-After": "0"}, None)

    def _poll(self, path: str) -> Fault:
        rid = path[len(BATCH_RESULTS):]
        with self._lock:
            running = self._running.get(rid)
            if running is None:
                return arm_error(404, "NotFound", f"no batch {rid}")
            if running[0] > 0:
                running[0] -= 1
                return Fault(202, {"Location": f"{self.base_url}{path}", "Retry-After": "0"}, None)
        return Fault(200, {}, running[1])

    def _settings_of(self, path_and_query: str) -> tuple[int, Any]:
        split = urlsplit(path_and_query)
        path = split.path
        uri = path[: path.lower().index(SETTINGS_MARK)].lower()
        with self._lock:
            queued = self.item_faults.get(uri)
            status = queued.pop(0) if queued else None
        if status is not None:
            code = {401: "InvalidAuthenticationTokenTenant", 403: "AuthorizationFailed", 429: "TooManyRequests",
                    500: "InternalServerError"}.get(status, "Error")
            return status, {"error": {"code": code, "message": f"scripted {status} for {uri}"}}
        if uri in self.bodies:
            return 200, self.bodies[uri]
        base = next((g for g in self.gone if uri == g.lower() or uri.startswith(g.lower() + "/")), None)
        # Subscription-scope settings (the Activity log) live on /subscriptions/{id} of a readable subscription.
        subscription_scope = uri.count("/") == 2 and uri.rsplit("/", 1)[-1] in self.readable
        if base is not None or (uri not in self._targets() and not subscription_scope):
            return 404, {"error": {"code": "ResourceNotFound", "message": f"The Resource '{uri}' was not found."}}
        value = self.settings.get(uri, [])
        if not self.settings_page_size:
            return 200, {"value": value}
        query = dict(p.split("=", 1) for p in split.query.split("&") if "=" in p)
        offset = int(query.get("$skipToken", "0"))
        page = value[offset:offset + self.settings_page_size]
        answer: dict[str, Any] = {"value": page}
        if offset + self.settings_page_size < len(value):
            answer["nextLink"] = (f"{self.link_base or self.base_url}{path}?api-version={arm_api.DIAGNOSTIC_SETTINGS_API_VERSION}"
                                  f"&$skipToken={offset + self.settings_page_size}")
        return 200, answer
