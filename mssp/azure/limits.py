"""How much of an answer the operator CLI reads: a size cap per kind of answer, a JSON nesting cap, a read deadline.

Every HTTP answer the CLI reads (ARM, Resource Graph, ARM `/batch`, Log Analytics, the Splunk webhook)
is read in chunks through `read_capped`, and every JSON answer is parsed through `loads_bounded`. An
answer over its cap is refused as soon as its declared length (Content-Length) or the bytes read so far
exceed the cap, so memory stays bounded whatever a server (or something impersonating it) sends; the
message names the endpoint, the kind of answer and the limit. Each command reports it as the failed Azure
call it is (exit 1 for discover, drift, health and offboard; splunk-ping exit 1).

The caps are data: one `AnswerLimit` per kind, with why the cap is far above any honest answer. They are
documented in docs/reference/azure-answers.md (kept in step by tests/mssp/azure/test_answer_limits.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KIB = 1024
MIB = 1024 * KIB
CHUNK = 64 * KIB  # bytes read per call: the most a read holds beyond the cap


@dataclass(frozen=True)
class AnswerLimit:
    kind: str  # what the answer is, as the error message names it
    max_bytes: int
    why: str  # why honest answers stay far below it


# One ARM read: a resource, one page of a list (diagnostic settings: at most five per resource, a few KiB).
ARM_READ = AnswerLimit("ARM answer", 8 * MIB,
                       "one resource or one page of a list; a diagnostic settings list holds at most five settings")
# One Resource Graph page: at most 1000 rows ($top, resourcegraph.json 2022-10-01) of the four columns
# discovery projects (id, type, subscriptionId, kind): well under 1 MiB.
RESOURCE_GRAPH_PAGE = AnswerLimit("Resource Graph page", 16 * MIB,
                                  "at most 1000 rows of id, type, subscriptionId and kind")
# One ARM /batch answer: at most 20 item answers (mssp/azure/arm.py BATCH_MAX_REQUESTS), each an ARM read.
ARM_BATCH = AnswerLimit("ARM batch answer", 16 * MIB, "at most 20 diagnostic settings lists")
# The health query: one summarised row per forwarded resource and subscription plus one for Splunk.
# (The service itself stops near 100 MiB: learn.microsoft.com/azure/azure-monitor/service-limits#log-queries-and-language.)
LOG_ANALYTICS = AnswerLimit("Log Analytics query answer", 32 * MIB,
                            "one summarised row per forwarded resource and subscription")
# The customer's Splunk webhook Logic App answers with a short JSON status (components/splunk).
SPLUNK_WEBHOOK = AnswerLimit("Splunk webhook answer", 64 * KIB, "the Logic App answers with a short JSON status")

ALL: tuple[AnswerLimit, ...] = (ARM_READ, RESOURCE_GRAPH_PAGE, ARM_BATCH, LOG_ANALYTICS, SPLUNK_WEBHOOK)

# JSON nesting: the deepest honest answer (a batch item holding a settings list) is about 8 levels.
MAX_JSON_DEPTH = 64
# Seconds one answer's body may take to arrive in all (each socket read has its own timeout besides):
# a server that drips a byte at a time cannot hold a run for longer.
READ_DEADLINE = 300.0


class AnswerRefused(Exception):
    """An answer the CLI will not read or parse (too large, too slow or nested too deep). The message names
    the endpoint, the kind of answer and the limit."""


def _size(n: int) -> str:
    return f"{n // MIB} MiB" if n >= MIB and n % MIB == 0 else f"{n // KIB} KiB" if n % KIB == 0 else f"{n} bytes"


def too_large(limit: AnswerLimit, endpoint: str, seen: str) -> AnswerRefused:
    return AnswerRefused(f"the {limit.kind} from {endpoint} is larger than the {_size(limit.max_bytes)} limit "
                         f"({seen}); honest answers stay far below it ({limit.why}): refused without reading further")


def declared_length(headers: Any) -> int | None:
    """The Content-Length a server declared, or None when it declared none (or nonsense)."""
    value = headers.get("Content-Length") if headers is not None else None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def read_capped(read: Callable[[int], bytes], limit: AnswerLimit, endpoint: str, *,
                declared: int | None = None, deadline: float = READ_DEADLINE,
                clock: Callable[[], float] = time.monotonic) -> bytes:
    """The whole body from `read(n)` (a file-like object's read), in chunks of CHUNK bytes, refusing it as
    soon as it is larger than limit.max_bytes or takes longer than `deadline` seconds in all."""
    if declared is not None and declared > limit.max_bytes:
        raise too_large(limit, endpoint, f"it declares {declared} bytes")
    started = clock()
    body = bytearray()
    while True:
        chunk = read(CHUNK)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > limit.max_bytes:
            raise too_large(limit, endpoint, f"{len(body)} bytes read and more coming")
        if clock() - started > deadline:
            raise AnswerRefused(f"the {limit.kind} from {endpoint} took longer than {deadline:.0f} s to arrive "
                                f"({len(body)} bytes so far): refused")


def depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (a scalar is 0, [] and {} are 1), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_depth(value: Any, endpoint: str, what: str = "answer") -> Any:
    if depth(value) > MAX_JSON_DEPTH:
        raise AnswerRefused(f"the {what} from {endpoint} nests JSON deeper than {MAX_JSON_DEPTH} levels: refused")
    return value


def loads_bounded(raw: bytes | str, endpoint: str, what: str = "answer") -> Any:
    """JSON from raw, refusing nesting deeper than MAX_JSON_DEPTH (Python's parser would otherwise recurse
    until RecursionError on a deep enough document). Raises ValueError when raw is not JSON."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise AnswerRefused(f"the {what} from {endpoint} nests JSON deeper than {MAX_JSON_DEPTH} levels: "
                            "refused") from None
    return check_depth(value, endpoint, what)
