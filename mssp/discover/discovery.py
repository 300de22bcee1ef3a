"""Discovery: which of a customer's resources should forward logs, read from Azure in few calls.

1. One Resource Graph query across all the customer's subscriptions for the in-scope catalog types,
   paged by `$skipToken` (1,000 rows a page), instead of one list call per type per subscription.
   The same query returns the subscriptions the identity can read (a `union` with ResourceContainers),
   so a subscription Lighthouse does not delegate is reported by name instead of looking empty.
2. The existing diagnostic settings of every resource (and of the four services of a storage
   account) through ARM `/batch`, 20 reads a call (mssp.azure.batch, shared with settings drift:
   a 202 answer is polled, refused items are read again alone), with bounded-concurrency single GETs
   when `/batch` refuses or answers something malformed.
3. Each existing setting is classified (ours, policy-made, foreign) and each resource gets a verdict:
   keep, adopt a foreign setting that would collide with ours (409), or skip it with the reason.
4. The new inventory is computed against the old one (new, gone) and written atomically by the caller.

Everything here takes its inputs as parameters (client, subscriptions, types, workspace, setting
name), so it is tested against a local server without any stack configuration.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from components.facts import catalog
from components.forwarding.inventory import GUID_RE, InventoryItem, parse_resource_id
from mssp.azure import arm as arm_api
from mssp.azure import limits
from mssp.azure.batch import Answer, BatchReader, BatchStats, pages
from mssp.azure.rest import AzureRestClient, AzureRestError, status_text

Progress = Callable[[str], None]
OnConflict = Literal["adopt", "skip"]
Kind = Literal["ours", "policy", "foreign"]

# Resource Graph pages a discovery may read before it assumes the service is looping (10M rows).
MAX_PAGES = 10_000


def _quiet(_: str) -> None:
    return None


class DiscoveryError(Exception):
    """Discovery cannot produce a trustworthy inventory; nothing may be written."""


class SubscriptionAccessError(DiscoveryError):
    """Some of the customer's subscriptions are not readable by the signed-in identity."""

    def __init__(self, subscriptions: Sequence[str], detail: str = ""):
        self.subscriptions = list(subscriptions)
        hint = ("check the Lighthouse delegation (or, in the direct model, the role assignment) of each, "
                "and that the identity signs in to the right tenant")
        super().__init__(
            f"the identity cannot read subscription(s) {', '.join(self.subscriptions)}: {hint}"
            + (f" (Azure said: {detail})" if detail else "")
        )


# ---------------------------------------------------------------------------------------------
# Resource Graph
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundResource:
    id: str
    type: str  # the catalog's spelling
    subscription_id: str  # lower case
    kind: str | None = None  # storage accounts: the account kind (catalog spelling), from Resource Graph


@dataclass(frozen=True)
class GraphResult:
    resources: tuple[FoundResource, ...]
    readable_subscriptions: frozenset[str]
    ignored: tuple[tuple[str, str], ...]  # (id, why) rows that were not usable
    pages: int
    flagged: tuple[tuple[str, str], ...] = ()  # (id, why) rows whose columns disagree with their id


def build_query(types: Sequence[str]) -> str:
    """KQL: the in-scope resources plus the readable subscriptions, projecting id, type, subscriptionId, kind.

    `kind` is the resources table's column (storage accounts: StorageV2, FileStorage, ...); the inventory
    records it for types whose services depend on it (catalog.STORAGE_KIND_SERVICES).

    Resource Graph stores types in lower case, so they are listed lower-cased and compared with `in~`.
    """
    if not types:
        raise ValueError("no resource types in scope")
    listed = ", ".join(f"'{t.lower()}'" for t in sorted(types, key=str.lower))
    return (
        f"resources | where type in~ ({listed}) | project id, type, subscriptionId, kind"
        f" | union (resourcecontainers | where type =~ '{arm_api.SUBSCRIPTION_TYPE}'"
        " | project id, type, subscriptionId, kind)"
    )


def canonical_id(raw: str) -> str | None:
    """An ARM id with its fixed segments spelled as ARM documents them, or None if it is not one.

    Resource Graph sometimes returns `resourcegroups`; the inventory parser expects `resourceGroups`.
    Names keep their spelling: only the keywords ARM treats case-insensitively are rewritten.
    """
    parts = raw.strip().rstrip("/").split("/")
    if len(parts) < 7 or parts[0] != "":
        return None
    for i, word in ((1, "subscriptions"), (3, "resourceGroups"), (5, "providers")):
        if parts[i].lower() != word.lower():
            return None
        parts[i] = word
    parsed = parse_resource_id("/".join(parts))
    return parsed.id if parsed else None


def _graph_rows(body: Any, page: int) -> tuple[list[dict[str, Any]], str | None]:
    what = f"Resource Graph query (page {page})"
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise AzureRestError(what, "malformed answer: expected an object with a 'data' array "
                             "(resultFormat objectArray)")
    rows = body["data"]
    for row in rows:
        if not (isinstance(row, dict) and isinstance(row.get("id"), str) and isinstance(row.get("type"), str)
                and isinstance(row.get("subscriptionId"), str)):
            raise AzureRestError(what, f"malformed answer: a row lacks id, type or subscriptionId: {str(row)[:200]}")
    token = body.get("$skipToken")
    if token is not None and not isinstance(token, str):
        raise AzureRestError(what, "malformed answer: $skipToken is not a string")
    if not token and str(body.get("resultTruncated", "false")).lower() == "true":
        raise AzureRestError(what, "Resource Graph truncated the result and gave no $skipToken to page on")
    return rows, token or None


def query_resources(
    client: AzureRestClient,
    subscriptions: Sequence[str],
    types: Sequence[str],
    *,
    page_size: int = arm_api.RESOURCE_GRAPH_MAX_PAGE,
    progress: Progress = _quiet,
) -> GraphResult:
    """Run the discovery query across the subscriptions, following $skipToken until there is none."""
    path = f"{arm_api.RESOURCE_GRAPH_PATH}?api-version={arm_api.RESOURCE_GRAPH_API_VERSION}"
    wanted = {s.lower() for s in subscriptions}
    base: dict[str, Any] = {"subscriptions": sorted(wanted), "query": build_query(types)}
    options: dict[str, Any] = {"$top": min(page_size, arm_api.RESOURCE_GRAPH_MAX_PAGE), "resultFormat": "objectArray"}
    found: dict[str, FoundResource] = {}
    readable: set[str] = set()
    ignored: list[tuple[str, str]] = []
    flagged: list[tuple[str, str]] = []
    seen_tokens: set[str] = set()
    page = 0
    rows_total = 0
    token: str | None = None
    while True:
        page += 1
        if page > MAX_PAGES:
            raise AzureRestError("Resource Graph query", f"more than {MAX_PAGES} pages; giving up")
        body = {**base, "options": {**options, **({"$skipToken": token} if token else {})}}
        try:
            resp = client.post(path, body, what=f"Resource Graph query (page {page})",
                               limit=limits.RESOURCE_GRAPH_PAGE)
        except AzureRestError as exc:
            if exc.status in (401, 403):
                raise SubscriptionAccessError(sorted(wanted), exc.message) from None
            raise
        rows, token = _graph_rows(resp.body, page)
        rows_total += len(rows)
        for row in rows:
            _take_row(row, wanted, found, readable, ignored, flagged)
        progress(f"Resource Graph: page {page}, {rows_total} rows")
        if token is None:
            break
        if token in seen_tokens:
            raise AzureRestError("Resource Graph query", f"page {page} repeated an earlier $skipToken; giving up")
        seen_tokens.add(token)
    resources = tuple(sorted(found.values(), key=lambda r: r.id.lower()))
    return GraphResult(resources, frozenset(readable), tuple(ignored), page, tuple(flagged))


def _take_row(row: Mapping[str, Any], wanted: set[str], found: dict[str, FoundResource], readable: set[str],
              ignored: list[tuple[str, str]], flagged: list[tuple[str, str]]) -> None:
    """One Resource Graph row into `found` (or `readable` for a subscription row), `ignored` or `flagged`.

    The subscription and the type are the resource id's, never the row's `subscriptionId` or `type`
    columns: the id is what the inventory records and the program configures, and a column that disagrees
    (a broken or hostile answer) must not place a resource of one subscription among another's. ARM
    compares ids case-insensitively, so the comparison is too. A row whose columns disagree with its id is
    flagged (and used by its id, when that id is the customer's)."""
    raw_id, column_sub, column_type = row["id"], row.get("subscriptionId"), row["type"]
    if column_type.lower() == arm_api.SUBSCRIPTION_TYPE:
        sub = subscription_of(raw_id)
        if sub is None:
            ignored.append((raw_id, "a subscription row whose id is not /subscriptions/<GUID>"))
            return
        _flag_disagreement(raw_id, sub, column_sub, flagged)
        readable.add(sub)
        return
    rid = canonical_id(raw_id)
    parsed = parse_resource_id(rid) if rid is not None else None
    if rid is None or parsed is None:
        ignored.append((raw_id, "not an ARM resource id"))
        return
    sub = parsed.subscription_id
    _flag_disagreement(raw_id, sub, column_sub, flagged)
    entry = catalog.entry_for(parsed.type)
    if parsed.type.lower() != column_type.lower():
        flagged.append((raw_id, f"the row's type column says {column_type}, its id says {parsed.type}: the id's "
                                "type was used"))
    if entry is None:
        ignored.append((raw_id, f"type {parsed.type} is not in the catalog"))
    elif sub not in wanted:
        ignored.append((raw_id, f"subscription {sub} is not one of the customer's"))
    else:
        kind = _kind_of(entry, row.get("kind"))
        if entry.kind_services is not None and kind not in entry.kind_services:
            flagged.append((raw_id, f"the row's kind {row.get('kind')!r} is not one of {', '.join(entry.kind_services)}: "
                                    "the inventory loader will ask for it by name"))
        found.setdefault(rid.lower(), FoundResource(id=rid, type=entry.type, subscription_id=sub, kind=kind))


def subscription_of(raw_id: str) -> str | None:
    """The lower-case subscription GUID of `/subscriptions/<GUID>`, or None."""
    parts = raw_id.strip().rstrip("/").split("/")
    if len(parts) == 3 and parts[0] == "" and parts[1].lower() == "subscriptions" and GUID_RE.match(parts[2]):
        return parts[2].lower()
    return None


def _flag_disagreement(raw_id: str, sub: str, column: Any, flagged: list[tuple[str, str]]) -> None:
    if isinstance(column, str) and column.strip().lower() != sub:
        flagged.append((raw_id, f"the row's subscriptionId column says {column}, its id says {sub}: the id's "
                                "subscription was used"))


def _kind_of(entry: catalog.CatalogEntry, raw: Any) -> str | None:
    """The catalog's spelling of a row's kind, for types that record one (None otherwise, or if unknown:
    the inventory loader then asks for it by name)."""
    if entry.kind_services is None or not isinstance(raw, str):
        return None
    return {k.lower(): k for k in entry.kind_services}.get(raw.lower(), raw)


def unreadable_subscriptions(subscriptions: Iterable[str], result: GraphResult) -> list[str]:
    """Subscriptions neither listed as readable nor holding any found resource."""
    seen = set(result.readable_subscriptions) | {r.subscription_id for r in result.resources}
    return sorted(s.lower() for s in subscriptions if s.lower() not in seen)


# ---------------------------------------------------------------------------------------------
# Diagnostic settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExistingSetting:
    id: str
    name: str
    workspace_id: str | None
    logs: tuple[str, ...]  # enabled categories and category groups
    metrics: tuple[str, ...]  # enabled metric categories
    other_destinations: tuple[str, ...]  # non-workspace destination properties in use
    # logAnalyticsDestinationType: "Dedicated" (resource-specific tables) or None (AzureDiagnostics).
    destination_type: str | None = None


ReadStatus = Literal["ok", "missing", "denied", "failed"]


@dataclass(frozen=True)
class TargetRead:
    uri: str
    status: ReadStatus
    settings: tuple[ExistingSetting, ...] = ()
    detail: str = ""


def setting_targets(resource: FoundResource) -> list[str]:
    """Where settings live: the resource, and for storage accounts also its four services."""
    entry = catalog.entry_for(resource.type)
    subs = entry.services_for(resource.kind) if entry else ()
    return [resource.id, *(f"{resource.id}/{s.path}" for s in subs)]


def settings_path(uri: str) -> str:
    return f"{uri}{arm_api.DIAGNOSTIC_SETTINGS_PROVIDER}?api-version={arm_api.DIAGNOSTIC_SETTINGS_API_VERSION}"


def _enabled(entries: Any, keys: tuple[str, ...]) -> tuple[str, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ValueError("logs/metrics is not a list")
    out = []
    for e in entries:
        if not isinstance(e, dict):
            raise ValueError("a logs/metrics entry is not an object")
        if e.get("enabled") is True:
            name = next((e[k] for k in keys if isinstance(e.get(k), str) and e[k]), None)
            if name:
                out.append(name)
    return tuple(out)


def parse_settings(content: Any) -> tuple[ExistingSetting, ...]:
    """The settings of a list answer {value: [...]}; ValueError when its shape is not that."""
    if not isinstance(content, dict) or not isinstance(content.get("value"), list):
        raise ValueError("expected an object with a 'value' array")
    out = []
    for raw in content["value"]:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ValueError("a setting lacks its name")
        props = raw.get("properties") or {}
        if not isinstance(props, dict):
            raise ValueError(f"setting {raw['name']}: properties is not an object")
        ws = props.get("workspaceId")
        out.append(ExistingSetting(
            id=str(raw.get("id") or ""),
            name=raw["name"],
            workspace_id=ws if isinstance(ws, str) and ws else None,
            logs=_enabled(props.get("logs"), ("category", "categoryGroup")),
            metrics=_enabled(props.get("metrics"), ("category",)),
            other_destinations=tuple(k for k in arm_api.OTHER_DESTINATION_PROPERTIES if props.get(k)),
            destination_type=props.get("logAnalyticsDestinationType") or None
            if isinstance(props.get("logAnalyticsDestinationType"), str) else None,
        ))
    return tuple(out)


def _read_from_status(uri: str, status: int, content: Any) -> TargetRead | None:
    """A TargetRead for a final item status, or None when the item should be read again on its own."""
    if status == 200:
        try:
            return TargetRead(uri, "ok", parse_settings(content))
        except ValueError:
            return None
    detail = status_text(status, content)
    if status == 404:
        return TargetRead(uri, "missing", detail=detail)
    if status in (401, 403):
        return TargetRead(uri, "denied", detail=detail)
    if status == 429 or status >= 500:
        return None
    return TargetRead(uri, "failed", detail=detail)


def _what(uri: str) -> str:
    return f"reading the diagnostic settings of {uri}"


def _settings_answer(answer: Answer) -> bool:
    """A batch item answer worth keeping: anything but a 200 whose body is not a settings list (that
    one, like a 429/5xx, is read again on its own)."""
    return answer.status != 200 or _read_from_status("", 200, answer.content) is not None


def _target_read(reader: BatchReader, uri: str, first: Answer) -> TargetRead:
    """One target's settings from its final answer, following nextLink pages (mssp.azure.batch.pages).

    Only the first page decides missing/denied/failed; a 200 that is not a settings list, or a later
    page that does not answer one, ends the run (it cannot be judged, and guessing could drop a setting
    the stack owns).
    """
    settings: list[ExistingSetting] = []
    for n, answer in enumerate(pages(reader, first, what=_what(uri))):
        got = _read_from_status(uri, answer.status, answer.content)
        if got is not None and got.status != "ok" and n == 0:
            return got
        what = _what(uri) + (f" (page {n + 1})" if n else "")
        if got is None:
            raise AzureRestError(what, "malformed answer: expected {value: [settings]}", status=answer.status)
        if got.status != "ok":
            raise AzureRestError(what, f"could not read the page: {got.detail}")
        settings.extend(got.settings)
    return TargetRead(uri, "ok", tuple(settings))


def read_settings(
    client: AzureRestClient,
    uris: Sequence[str],
    *,
    concurrency: int = 8,
    progress: Progress = _quiet,
    use_batch: bool = True,
) -> tuple[dict[str, TargetRead], BatchStats]:
    """The settings of every target, keyed by lower-cased uri, read through ARM /batch (mssp.azure.batch).

    Batches of 20, a 202 answer polled at its Location; items answered 429/5xx or unparseable are read
    again on their own; if /batch refuses (a 4xx other than 401) or answers something that is not a
    batch answer, the rest goes through single GETs. A transport failure or a 5xx that outlasts the
    retries ends the run.
    """
    reader = BatchReader(client, concurrency=concurrency, use_batch=use_batch, progress=progress)
    lock = threading.Lock()
    total = len(uris)
    step = max(arm_api.BATCH_MAX_REQUESTS * 10, total // 10)  # about ten progress lines on large estates
    read = [0]

    def done(n: int) -> None:
        with lock:
            for _ in range(n):
                read[0] += 1
                if read[0] % step == 0 or read[0] == total:
                    progress(f"diagnostic settings: {read[0]}/{total} read")

    paths = {settings_path(u): u for u in uris}
    answers = reader.get_all(list(paths), what="diagnostic settings", readable=_settings_answer,
                             describe=lambda path: _what(paths[path]), done=done)
    results = {uri.lower(): _target_read(reader, uri, answers[path]) for path, uri in paths.items()}
    return results, reader.stats


# ---------------------------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------------------------


def _same_workspace(a: str | None, b: str) -> bool:
    return a is not None and a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def classify(setting: ExistingSetting, setting_name: str, workspace_id: str) -> Kind:
    """ours: our name and the MSSP workspace; policy: made by Azure Policy (setbypolicy*); foreign: anything else."""
    if setting.name.lower() == setting_name.lower() and _same_workspace(setting.workspace_id, workspace_id):
        return "ours"
    if setting.name.lower().startswith(arm_api.POLICY_SETTING_PREFIX):
        return "policy"
    return "foreign"


@dataclass(frozen=True)
class Adoption:
    resource_id: str
    target_uri: str
    setting: ExistingSetting


Action = Literal["keep", "adopt", "skip", "unreadable", "vanished"]


@dataclass(frozen=True)
class Verdict:
    resource: FoundResource
    action: Action
    reasons: tuple[str, ...] = ()
    adoptions: tuple[Adoption, ...] = ()


def _label(resource: FoundResource, uri: str) -> str:
    rest = uri[len(resource.id):].strip("/")
    return f"its {rest.split('/')[0]}" if rest else "the resource"


def _sends(s: ExistingSetting, metrics_too: bool) -> str:
    sent = list(s.logs) + (list(s.metrics) if metrics_too else [])
    return ", ".join(sent)


def decide(
    resource: FoundResource,
    reads: Sequence[TargetRead],
    *,
    setting_name: str,
    workspace_id: str,
    on_conflict: OnConflict,
    sends_metrics: bool = False,
) -> Verdict:
    """What to do with one resource given the settings on it (and on its storage services)."""
    skips: list[str] = []
    unreadable: list[str] = []
    adoptions: list[Adoption] = []
    for read in reads:
        label = _label(resource, read.uri)
        is_resource = read.uri.lower() == resource.id.lower()
        if read.status == "missing":
            if is_resource:
                return Verdict(resource, "vanished", ("no longer exists (diagnostic settings read answered 404; "
                                                      "Resource Graph lags behind ARM)",))
            continue  # a storage account without that service (e.g. FileStorage has no blob service)
        if read.status == "failed" and not is_resource:
            continue  # the service does not take settings on this kind of account
        if read.status in ("denied", "failed"):
            unreadable.append(f"cannot read the diagnostic settings of {label} ({read.detail})")
            continue
        settings = read.settings
        kinds = [(s, classify(s, setting_name, workspace_id)) for s in settings]
        if any(k == "ours" for _, k in kinds):
            continue
        clash = [s for s, _ in kinds if s.name.lower() == setting_name.lower()]
        if clash:
            skips.append(f"a setting named '{clash[0].name}' already exists on {label} and sends elsewhere; "
                         "ours would overwrite it (choose another forwarding.settingName or remove theirs)")
            continue
        to_mssp = [(s, k) for s, k in kinds
                   if _same_workspace(s.workspace_id, workspace_id) and (s.logs or (sends_metrics and s.metrics))]
        policy = [s for s, k in to_mssp if k == "policy"]
        foreign = [s for s, k in to_mssp if k == "foreign"]
        if policy:
            skips.append(f"policy-made setting '{policy[0].name}' on {label} already sends "
                         f"{_sends(policy[0], sends_metrics)} to the MSSP workspace; ours would fail with 409 "
                         "(the policy owns that setting, so it is not adopted)")
        elif foreign:
            f0 = foreign[0]
            if on_conflict == "adopt" and len(foreign) == 1 and not f0.other_destinations:
                adoptions.append(Adoption(resource.id, read.uri, f0))
            elif on_conflict == "adopt" and f0.other_destinations:
                skips.append(f"foreign setting '{f0.name}' on {label} already sends {_sends(f0, sends_metrics)} to the "
                             f"MSSP workspace and also to {', '.join(f0.other_destinations)}; adopting it would cut "
                             "that flow, so it is skipped")
            elif len(foreign) > 1:
                skips.append(f"{len(foreign)} foreign settings on {label} ({', '.join(s.name for s in foreign)}) "
                             "already send to the MSSP workspace; ours would fail with 409")
            else:
                skips.append(f"foreign setting '{f0.name}' on {label} already sends {_sends(f0, sends_metrics)} to "
                             "the MSSP workspace; ours would fail with 409 (--on-conflict adopt imports it instead)")
        elif len(settings) >= arm_api.MAX_DIAGNOSTIC_SETTINGS:
            skips.append(f"{label} already holds {len(settings)} diagnostic settings, Azure's limit "
                         f"({', '.join(s.name for s in settings)})")
    if unreadable:
        return Verdict(resource, "unreadable", tuple(unreadable))
    if skips:
        return Verdict(resource, "skip", tuple(skips))
    if adoptions:
        reasons = tuple(f"adopts foreign setting '{a.setting.name}' on {_label(resource, a.target_uri)}"
                        for a in adoptions)
        return Verdict(resource, "adopt", reasons, tuple(adoptions))
    return Verdict(resource, "keep")


# ---------------------------------------------------------------------------------------------
# Inventory change
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InventoryChange:
    items: tuple[InventoryItem, ...]
    added: tuple[str, ...]
    removed: tuple[tuple[str, str], ...]  # (id, why)
    kept: tuple[tuple[str, str], ...] = ()  # (id, why): stays although not verified this run
    warnings: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def plan_inventory(
    old: Sequence[InventoryItem],
    found: Sequence[FoundResource],
    verdicts: Mapping[str, Verdict],
    *,
    exclude: Sequence[str] = (),
    in_scope: Sequence[str],
) -> InventoryChange:
    """The new inventory: found resources whose verdict is keep or adopt, plus excluded ones (the config
    names them), plus old entries that could not be read this run (dropping them would make the next
    `pulumi up` delete a setting it may own). Ids keep the old file's spelling."""
    old_by_key = {it.id.lower(): it for it in old}
    excluded = {e.lower() for e in exclude}
    scope = {t.lower() for t in in_scope}
    items: dict[str, InventoryItem] = {}
    kept: list[tuple[str, str]] = []
    warnings: list[str] = []
    removed: list[tuple[str, str]] = []
    found_keys = set()
    for res in found:
        key = res.id.lower()
        found_keys.add(key)
        spelled = old_by_key[key].id if key in old_by_key else res.id
        verdict = verdicts.get(key)
        if key in excluded:
            items[key] = InventoryItem(spelled, res.type, res.kind)
        elif verdict is None or verdict.action in ("keep", "adopt"):
            items[key] = InventoryItem(spelled, res.type, res.kind)
        elif verdict.action == "unreadable" and key in old_by_key:
            items[key] = InventoryItem(spelled, res.type, res.kind)
            kept.append((spelled, "; ".join(verdict.reasons) + "; kept from the old inventory"))
        elif key in old_by_key:
            removed.append((spelled, "; ".join(verdict.reasons)))
    for key, it in old_by_key.items():
        if key in found_keys:
            continue
        if key in excluded:
            items[key] = it
            warnings.append(f"{it.id} is no longer in Azure but forwarding.exclude names it: kept in the inventory "
                            "so the configuration stays valid; remove it from exclude and run discover again")
        elif it.type.lower() not in scope:
            removed.append((it.id, f"type {it.type} is no longer in forwarding.resourceTypes"))
        else:
            removed.append((it.id, "not found in Azure (deleted, moved, or not visible to the identity)"))
    new_items = tuple(sorted(items.values(), key=lambda it: it.id.lower()))
    added = tuple(sorted((it.id for k, it in items.items() if k not in old_by_key), key=str.lower))
    return InventoryChange(
        items=new_items,
        added=added,
        removed=tuple(sorted(removed, key=lambda r: r[0].lower())),
        kept=tuple(sorted(kept, key=lambda r: r[0].lower())),
        warnings=tuple(warnings),
    )


# ---------------------------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscoveryReport:
    found: tuple[FoundResource, ...]
    verdicts: tuple[Verdict, ...]
    change: InventoryChange
    graph_pages: int
    read_stats: BatchStats
    ignored: tuple[tuple[str, str], ...] = ()
    excluded: tuple[str, ...] = field(default=())
    flagged: tuple[tuple[str, str], ...] = ()  # Resource Graph rows whose columns disagree with their id

    @property
    def adoptions(self) -> tuple[Adoption, ...]:
        return tuple(a for v in self.verdicts for a in v.adoptions)


def discover(
    client: AzureRestClient,
    *,
    subscriptions: Sequence[str],
    types: Sequence[str],
    workspace_id: str,
    setting_name: str,
    old_inventory: Sequence[InventoryItem] = (),
    exclude: Sequence[str] = (),
    on_conflict: OnConflict = "skip",
    sends_metrics: Callable[[str], bool] = lambda _t: False,
    concurrency: int = 8,
    page_size: int = arm_api.RESOURCE_GRAPH_MAX_PAGE,
    use_batch: bool = True,
    progress: Progress = _quiet,
) -> DiscoveryReport:
    """Everything discovery learns from Azure, and the inventory it implies. Writes nothing."""
    graph = query_resources(client, subscriptions, types, page_size=page_size, progress=progress)
    missing = unreadable_subscriptions(subscriptions, graph)
    if missing:
        raise SubscriptionAccessError(missing, "Resource Graph returned nothing for them")
    by_type: dict[str, int] = {}
    for r in graph.resources:
        by_type[r.type] = by_type.get(r.type, 0) + 1
    for t in sorted(by_type):
        progress(f"found {by_type[t]:>6} {t}")
    excluded = {e.lower() for e in exclude}
    to_check = [r for r in graph.resources if r.id.lower() not in excluded]
    targets = [u for r in to_check for u in setting_targets(r)]
    reads, stats = read_settings(client, targets, concurrency=concurrency, progress=progress, use_batch=use_batch)
    verdicts = {
        r.id.lower(): decide(
            r,
            [reads[u.lower()] for u in setting_targets(r)],
            setting_name=setting_name,
            workspace_id=workspace_id,
            on_conflict=on_conflict,
            sends_metrics=sends_metrics(r.type),
        )
        for r in to_check
    }
    change = plan_inventory(old_inventory, graph.resources, verdicts, exclude=exclude, in_scope=types)
    return DiscoveryReport(
        found=graph.resources,
        verdicts=tuple(verdicts[k] for k in sorted(verdicts)),
        change=change,
        graph_pages=graph.pages,
        read_stats=stats,
        ignored=graph.ignored,
        flagged=graph.flagged,
        excluded=tuple(r.id for r in graph.resources if r.id.lower() in excluded),
    )


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def import_document(
    adoptions: Sequence[Adoption],
    *,
    logical_name: Callable[[Adoption], str],
    parent: tuple[str, str] | None = None,
    provider: Callable[[Adoption], tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """A `pulumi import --file` document adopting the settings.

    Format: pulumi/pulumi pkg/cmd/pulumi/operations/import.go (importFile {nameTable: {name: URN},
    resources: [importSpec {type, name, id, parent, provider, ...}]}); parent and provider name
    entries of nameTable. The id of an azure-native DiagnosticSetting is the setting's ARM id.
    """
    name_table: dict[str, str] = {}
    resources = []
    for a in sorted(adoptions, key=lambda a: a.setting.id.lower()):
        spec: dict[str, Any] = {
            "type": arm_api.PULUMI_DIAGNOSTIC_SETTING_TYPE,
            "name": logical_name(a),
            "id": a.setting.id,
        }
        if parent is not None:
            name_table[parent[0]] = parent[1]
            spec["parent"] = parent[0]
        if provider is not None:
            pname, purn = provider(a)
            name_table[pname] = purn
            spec["provider"] = pname
        resources.append(spec)
    doc: dict[str, Any] = {}
    if name_table:
        doc["nameTable"] = dict(sorted(name_table.items()))
    doc["resources"] = resources
    return doc


def dump_import_document(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2) + "\n"


def adopted_setting_names(doc: Mapping[str, Any]) -> dict[str, str]:
    """{logical name: Azure setting name} of an import document, for the program to keep adopted
    settings under their existing names (a diagnostic setting's name is part of its id: renaming
    it would replace it). The name is the last segment of the setting's ARM id."""
    out = {}
    for spec in doc.get("resources") or []:
        if spec.get("type") == arm_api.PULUMI_DIAGNOSTIC_SETTING_TYPE and spec.get("name") and spec.get("id"):
            out[spec["name"]] = str(spec["id"]).rstrip("/").rsplit("/", 1)[-1]
    return out


def write_atomic(path: Path, text: str) -> None:
    """Replace path with text so that readers see the old file or the new one, never a part of it.

    Temp file in the same folder (same file system, so os.replace is atomic), fsync, replace, then
    fsync the folder so the rename itself survives a crash. The temp file is removed on any failure.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open folders; the file itself is already durable
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
