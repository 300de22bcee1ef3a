"""ARM `/batch`: many GETs in one call, with single GETs for what the batch refused.

The contract, from what public code and write-ups show (the endpoint is the Azure portal's and is not
formally documented; mssp/azure/arm.py names the sources of the 20-request chunks):
- request: `POST {ARM}/batch?api-version=2020-06-01` with
  `{"requests": [{"httpMethod": "GET", "name": "<unique>", "url": "<absolute ARM url>"}]}`
  (Azure/azqr internal/scanners/diagnostics_settings.go, AAFC-Cloud/Cloud-Terrastodon
  crates/azure/src/batch_api.rs);
- answer 200: `{"responses": [{"name", "httpStatusCode", "headers", "content", "contentLength"}]}`, one
  per request, matched by `name` (same sources);
- answer 202 Accepted with `Location` (and `Retry-After`): the batch is still running; GET the
  Location until it answers 200 with the `responses` body (maciejporebski.github.io/
  azure-management-batch-api: "the endpoint will respond with 202 Accepted status and a Retry-After
  and Location headers to allow you to poll for the results"; the polling follows ARM's asynchronous
  pattern, learn.microsoft.com/azure/azure-resource-manager/management/async-operations: GET the
  Location URL, 202 while running, then the final answer).

Throttling and transient failures of the batch call itself are retried by mssp.azure.rest (429 after
Retry-After, 5xx with backoff). Items the batch answered 429 or 5xx, or left out, or whose answer the
caller cannot read (`readable`), are read again with single GETs, at most `concurrency` at a time; so
are all remaining items once `/batch` itself is refused (a 4xx other than 401) or answers something that
is not a batch answer. Every other item status (200, 404, 403, 401, ...) is final and returned as it is,
whether the batch or a single GET gave it.

A list answer with `nextLink` is continued by `pages`: ARM list operations page that way
(azure-rest-api-specs `x-ms-pageable` with `nextLinkName: nextLink`; the link is an absolute URL to GET).

Used by discovery (mssp.discover.discovery) and settings drift (mssp.drift.settings).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mssp.azure import arm as arm_api
from mssp.azure import limits
from mssp.azure.rest import AzureRestClient, AzureRestError, parse_retry_after, same_origin

BATCH_URL = f"{arm_api.BATCH_PATH}?api-version={arm_api.BATCH_API_VERSION}"
MAX_POLLS = 30  # 202 polls of one batch before giving up (bounded: no endless loop)
MAX_PAGES = 50  # nextLink pages of one list before giving up (diagnostic settings: at most five exist)


@dataclass(frozen=True)
class Answer:
    """One GET's final answer: HTTP status and parsed JSON content (None when it had none)."""

    status: int
    content: Any


@dataclass
class BatchStats:
    batch_calls: int = 0  # POST /batch calls made (the client's retries of one call count once here)
    poll_calls: int = 0  # GETs of a 202's Location
    single_calls: int = 0  # fallback GETs (refused items, or everything once /batch is refused)
    refused_items: int = 0  # items /batch answered 429/5xx, left out or garbled
    batch_disabled: str = ""  # why /batch stopped being used, if it did


def item_name(url: str) -> str:
    """A stable unique request name per URL (the portal uses GUIDs; names only need to be unique)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, url.lower()))


def parse_responses(body: Any, names: Mapping[str, str]) -> dict[str, Answer] | None:
    """{url: Answer} from a batch answer body; None when it is not a batch answer at all."""
    if not isinstance(body, dict) or not isinstance(body.get("responses"), list):
        return None
    out: dict[str, Answer] = {}
    for item in body["responses"]:
        if not isinstance(item, dict):
            return None
        name, status = item.get("name"), item.get("httpStatusCode")
        if not isinstance(name, str) or name not in names or not isinstance(status, int) or isinstance(status, bool):
            return None
        out[names[name]] = Answer(status, item.get("content"))
    return out


def on_endpoint(client: AzureRestClient, url: str) -> bool:
    """Whether a URL Azure handed back (Location, nextLink) is on the client's ARM endpoint: the bearer
    token goes with every request, so it must never be sent anywhere else."""
    return (url.startswith("/") and not url.startswith("//")) or same_origin(client.base_url, url)


class PagingError(AzureRestError):
    """A list whose nextLink chain is not followed: off the ARM endpoint, or longer than allowed."""


def pages(reader: BatchReader, first: Answer, *, what: str, max_pages: int = MAX_PAGES) -> Iterator[Answer]:
    """`first`, then every page its `nextLink` chain leads to, read with single GETs.

    A page that is not a 200 object ends the chain (the caller judges it). The reader is only used when
    there is a next page. Raises PagingError for a link off the client's endpoint (the bearer token
    would go with it) or a chain longer than max_pages.
    """
    answer, followed = first, 0
    while True:
        yield answer
        link = answer.content.get("nextLink") if answer.status == 200 and isinstance(answer.content, dict) else None
        if not link:
            return
        if not isinstance(link, str) or not on_endpoint(reader.client, link):
            raise PagingError(what, f"nextLink off the ARM endpoint, not followed: {link}")
        if followed >= max_pages:
            raise PagingError(what, f"more than {max_pages} pages")
        followed += 1
        answer = reader.get_one(link, what=f"{what} (page {followed + 1})")


def _refused(answer: Answer | None) -> bool:
    return answer is None or answer.status == 429 or answer.status >= 500


class BatchReader:
    """GETs through /batch, 20 a call, with bounded-concurrency single GETs as the fallback."""

    def __init__(self, client: AzureRestClient, *, concurrency: int = 8, use_batch: bool = True,
                 progress: Callable[[str], None] = lambda _: None):
        self.client = client
        self.concurrency = max(1, concurrency)
        self.stats = BatchStats()
        self._batch_on = use_batch
        self._lock = threading.Lock()
        self._progress = progress

    def get_all(self, urls: Sequence[str], *, what: str,
                readable: Callable[[Answer], bool] = lambda _: True,
                describe: Callable[[str], str] | None = None,
                done: Callable[[int], None] = lambda _: None) -> dict[str, Answer]:
        """The final answer of every URL (ARM paths or absolute URLs), keyed as given.

        `what` names the items for messages ("ARM batch read of 20 diagnostic settings"); `describe`
        names one URL's single GET (default "<what>: <url>"). `readable` tells a usable item answer
        from a garbled one (read again on its own, like a 5xx). `done(n)` is called, from the worker
        threads, each time n more URLs have their final answer (for progress lines).
        """
        name_one = describe or (lambda url: f"{what}: {url}")
        chunks = [list(urls[i:i + arm_api.BATCH_MAX_REQUESTS]) for i in range(0, len(urls), arm_api.BATCH_MAX_REQUESTS)]
        results: dict[str, Answer] = {}
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(self._chunk, c, what, readable, name_one, done) for c in chunks]
            try:
                for f in futures:
                    results.update(f.result())
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return results

    def get_one(self, url: str, *, what: str) -> Answer:
        """A single GET; statuses the client does not retry come back as answers, not errors.

        401 too: a 401 on one URL is about that URL (ARM answers InvalidAuthenticationTokenTenant for a
        subscription of a tenant the token is not for) and is final when a batch item answers it, so a
        single GET gives the same answer; a token refused outright already failed the run elsewhere.
        """
        with self._lock:
            self.stats.single_calls += 1
        try:
            resp = self.client.get(url, what=what)
        except AzureRestError as exc:
            if exc.status is None or exc.status == 429 or exc.status >= 500:
                raise  # transport failure, or throttling/5xx that outlasted the retries: no answer
            return Answer(exc.status, {"error": {"code": exc.code, "message": exc.message}})
        return Answer(resp.status, resp.body)

    # -- internals -------------------------------------------------------------------------------

    def _disable(self, reason: str) -> None:
        with self._lock:
            if self._batch_on:
                self._batch_on = False
                self.stats.batch_disabled = reason
                self._progress(f"ARM /batch not usable ({reason}); reading one at a time")

    def _chunk(self, chunk: list[str], what: str, readable: Callable[[Answer], bool],
               name_one: Callable[[str], str], done: Callable[[int], None]) -> dict[str, Answer]:
        answered = self._batch(chunk, what) if self._batch_on else None
        out: dict[str, Answer] = {}
        for url in chunk:
            got = answered.get(url) if answered is not None else None
            if got is not None and not readable(got):
                got = None
            if answered is not None and _refused(got):
                with self._lock:
                    self.stats.refused_items += 1
            out[url] = got if got is not None and not _refused(got) else self.get_one(url, what=name_one(url))
        done(len(chunk))
        return out

    def _batch(self, chunk: list[str], what: str) -> dict[str, Answer] | None:
        names = {item_name(u): u for u in chunk}
        body = {"requests": [{"httpMethod": "GET", "name": item_name(u), "url": self.client.url(u)} for u in chunk]}
        with self._lock:
            self.stats.batch_calls += 1
        try:
            resp = self.client.post(BATCH_URL, body, what=f"ARM batch read of {len(chunk)} {what}",
                                    limit=limits.ARM_BATCH)
            polls = 0
            while resp.status == 202:
                location = resp.headers.get("location")
                if not location or polls >= MAX_POLLS or not on_endpoint(self.client, location):
                    self._disable("202 without Location" if not location else "batch accepted but never finished"
                                  if polls >= MAX_POLLS else "202 Location off the ARM endpoint")
                    return None
                delay = parse_retry_after(resp.headers, 0.0)
                self.client.sleep(min(delay if delay is not None else 1.0, self.client.max_wait))
                with self._lock:
                    self.stats.poll_calls += 1
                polls += 1
                resp = self.client.get(location, what=f"polling an ARM batch ({what})", limit=limits.ARM_BATCH)
        except AzureRestError as exc:
            if exc.status is None or exc.status in (401, 429) or exc.status >= 500:
                raise
            # A 2xx the client could not read (not JSON) is a malformed answer, like any other shape.
            self._disable(exc.message if 200 <= exc.status < 300 else
                          f"HTTP {exc.status}{' ' + exc.code if exc.code else ''}")
            return None
        answered = parse_responses(resp.body, names) if resp.status == 200 else None
        if answered is None:
            self._disable(f"malformed answer (HTTP {resp.status})")
        return answered
