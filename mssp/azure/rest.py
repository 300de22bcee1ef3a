"""A small Azure Resource Manager REST client for the operator CLI (discovery and drift).

Why not the Azure SDK clients: discovery needs ARM's undocumented `/batch` endpoint, which no SDK
client exposes, and one client with one retry policy for Resource Graph, batch and plain GETs is
simpler to reason about and to test against a local server.

What it does: JSON in and out over HTTPS with a bearer token from a token provider (azure-identity's
`DefaultAzureCredential` in real use, any callable returning a token in tests); retries 429 answers
after the server's `Retry-After` (seconds or an HTTP date; for Resource Graph also
`x-ms-user-quota-resets-after`), and 5xx answers and network errors with exponential backoff, a
bounded number of times; raises `AzureRestError` naming what failed (the caller's description, the
HTTP status and ARM's error code and message). The sleep function is injected so tests do not wait.
Every answer is read in chunks up to the cap of its kind and parsed with a nesting cap (mssp.azure.limits);
an answer over a cap ends the call at once (no retry: a hostile or broken answer does not improve) with an
AzureRestError naming the endpoint and the limit.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mssp.azure import arm as arm_api
from mssp.azure import limits
from mssp.azure.limits import AnswerLimit, AnswerRefused
from mssp.escape import clean

TokenProvider = Callable[[], str]
SleepFn = Callable[[float], None]

MAX_ERROR_TEXT = 2000  # characters of an error answer's message kept (the rest is cut with a marker)

# Statuses worth another try: throttling and the server-side failures ARM documents as transient.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class AzureRestError(Exception):
    """An Azure call that failed for good: says what was being done and what Azure answered."""

    def __init__(
        self,
        what: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        url: str | None = None,
    ):
        self.what = what
        # Azure's text, or an impersonator's: one line, no control or bidi characters, bounded (mssp.escape).
        self.message = message = clean(message, MAX_ERROR_TEXT)
        self.status = status
        self.code = code
        self.url = url
        detail = " ".join(p for p in (f"HTTP {status}" if status else "", code or "") if p)
        super().__init__(f"{what}: {detail + ': ' if detail else ''}{message}")


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-cased names
    body: Any  # parsed JSON (None when the answer had no body)


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait as the server asked: Retry-After (seconds or HTTP date), else Resource Graph's
    quota reset (hh:mm:ss). None when the answer says nothing."""
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, when.timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = headers.get(arm_api.QUOTA_RESETS_AFTER_HEADER)
    if reset:
        parts = reset.strip().split(":")
        try:
            if len(parts) == 3:
                return max(0.0, int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2]))
        except ValueError:
            return None
    return None


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff for attempt 0, 1, 2, ...: base, 2*base, 4*base, ... capped."""
    return min(cap, base * (2**attempt))


def arm_error(body: Any, fallback: str) -> tuple[str | None, str]:
    """(code, message) from an ARM error answer {"error": {"code", "message"}}; fallback otherwise."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            code = err.get("code") if isinstance(err.get("code"), str) else None
            message = err.get("message") if isinstance(err.get("message"), str) else fallback
            return code, message
    return None, fallback


def status_text(status: int, body: Any) -> str:
    """An ARM answer's status for a report: "HTTP 404 ResourceNotFound: <message>" (code and message when
    the body is an ARM error answer, see arm_error)."""
    code, message = arm_error(body, "")
    return f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")


class AzureRestClient:
    """JSON requests to ARM with throttling, retries and clear errors. Thread-safe."""

    def __init__(
        self,
        token_provider: TokenProvider,
        base_url: str = arm_api.ARM_ENDPOINT,
        *,
        max_retries: int = 6,
        sleep: SleepFn = time.sleep,
        timeout: float = 60.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        max_wait: float = 300.0,
        user_agent: str = "mssp-sentinel-discovery",
        read_deadline: float = limits.READ_DEADLINE,
    ):
        self._token = token_provider
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self._sleep = sleep
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_wait = max_wait  # a Retry-After longer than this ends the run instead of hanging it
        self.user_agent = user_agent
        self.read_deadline = read_deadline  # seconds one answer's body may take in all (mssp.azure.limits)
        self._lock = threading.Lock()
        self._calls = 0

    @property
    def calls(self) -> int:
        """HTTP requests sent so far (every attempt counts, retries included)."""
        with self._lock:
            return self._calls

    def sleep(self, seconds: float) -> None:
        """Wait with the injected sleep function (tests do not wait), e.g. between polls of a 202."""
        self._sleep(seconds)

    def url(self, path: str) -> str:
        """The absolute URL of an ARM path. An absolute URL is taken only on this client's endpoint (same
        scheme, host and port, no user info): every request carries the bearer token."""
        if path.startswith("/") and not path.startswith("//"):
            return self.base_url + path
        if same_origin(self.base_url, path):
            return path
        raise AzureRestError("a request", f"refusing to send the Azure token off the endpoint {self.base_url}: "
                             f"{endpoint_of(path)}", url=path)

    def get(self, path: str, *, what: str, limit: AnswerLimit = limits.ARM_READ) -> Response:
        return self.request("GET", path, what=what, limit=limit)

    def post(self, path: str, body: Any, *, what: str, limit: AnswerLimit = limits.ARM_READ) -> Response:
        return self.request("POST", path, body=body, what=what, limit=limit)

    def request(self, method: str, path: str, *, what: str, body: Any = None,
                limit: AnswerLimit = limits.ARM_READ) -> Response:
        """Send one request, retrying throttling and transient failures; raise AzureRestError otherwise.
        The answer is read up to limit.max_bytes (mssp.azure.limits): a larger one is refused, not retried."""
        url = self.url(path)
        try:
            return self._request(method, url, what=what, body=body, limit=limit)
        except AnswerRefused as exc:
            raise AzureRestError(what, str(exc), url=url) from None

    def _request(self, method: str, url: str, *, what: str, body: Any, limit: AnswerLimit) -> Response:
        endpoint = endpoint_of(url)
        data = None if body is None else json.dumps(body).encode("utf-8")
        attempt = 0
        while True:
            try:
                status, headers, raw = self._send(method, url, data, limit)
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                if attempt >= self.max_retries:
                    raise AzureRestError(what, f"network error after {attempt + 1} attempts: {reason}",
                                         url=url) from None
                self._sleep(backoff_delay(attempt, self.backoff_base, self.backoff_cap))
                attempt += 1
                continue
            if status in RETRY_STATUSES:
                if attempt >= self.max_retries:
                    code, message = arm_error(_loads(raw, endpoint), raw[:200].decode("utf-8", "replace") or "no body")
                    kind = "throttled" if status == 429 else "failing"
                    raise AzureRestError(what, f"still {kind} after {attempt + 1} attempts: {message}",
                                         status=status, code=code, url=url)
                asked = parse_retry_after(headers, time.time())
                delay = asked if asked is not None else backoff_delay(attempt, self.backoff_base, self.backoff_cap)
                if delay > self.max_wait:
                    raise AzureRestError(what, f"throttled; Azure asks to wait {delay:.0f} s, more than the "
                                         f"{self.max_wait:.0f} s this run accepts: try again later",
                                         status=status, url=url)
                self._sleep(delay)
                attempt += 1
                continue
            parsed = _loads(raw, endpoint)
            if not 200 <= status < 300:
                code, message = arm_error(parsed, raw[:200].decode("utf-8", "replace") or "no body")
                raise AzureRestError(what, message, status=status, code=code, url=url)
            if raw.strip() and parsed is _MALFORMED:
                raise AzureRestError(what, "malformed answer: not JSON", status=status, url=url)
            return Response(status=status, headers=headers, body=None if parsed is _MALFORMED else parsed)

    def _send(self, method: str, url: str, data: bytes | None,
              limit: AnswerLimit) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self._calls += 1
        token = self._token()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token}")
        req.add_header("Accept", "application/json")
        req.add_header("User-Agent", self.user_agent)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        endpoint = endpoint_of(url)
        try:
            with _NO_REDIRECTS.open(req, timeout=self.timeout) as resp:
                raw = limits.read_capped(resp.read, limit, endpoint, declared=limits.declared_length(resp.headers),
                                         deadline=self.read_deadline)
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, raw
        except urllib.error.HTTPError as err:
            with err:
                raw = limits.read_capped(err.read, limit, endpoint, declared=limits.declared_length(err.headers),
                                         deadline=self.read_deadline)
            return err.code, {k.lower(): v for k, v in (err.headers or {}).items()}, raw


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: urllib would re-send every header, the bearer token included, to whatever
    host the 3xx names. ARM answers long operations with Location/Azure-AsyncOperation, which the callers
    poll themselves on the ARM endpoint (mssp/azure/batch.py); a 3xx reaches them as an error status."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)

_MALFORMED = object()


def _loads(raw: bytes, endpoint: str) -> Any:
    """Parsed JSON, _MALFORMED when raw is empty or not JSON; AnswerRefused when it nests too deep."""
    if not raw.strip():
        return _MALFORMED
    try:
        return limits.loads_bounded(raw, endpoint)
    except (ValueError, UnicodeDecodeError):
        return _MALFORMED


def same_origin(base_url: str, url: str) -> bool:
    """Whether `url` is on the endpoint `base_url`: same scheme, host and port, compared as RFC 3986 says
    (scheme and host case-insensitively; the default port written or not), no user info, no control
    characters or whitespace, and a path under the base's path. A look-alike such as
    https://management.azure.com.evil.example/, https://management.azure.com@evil.example/ or
    https://management.azure.com:8443/ is not."""
    if not isinstance(url, str) or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in url):
        return False
    try:
        base, other = urllib.parse.urlsplit(base_url), urllib.parse.urlsplit(url)
        base_port = base.port or _DEFAULT_PORTS.get(base.scheme.lower())
        other_port = other.port or _DEFAULT_PORTS.get(other.scheme.lower())
    except ValueError:
        return False
    if other.username is not None or other.password is not None or "@" in other.netloc:
        return False
    base_path = base.path.rstrip("/")
    return (other.scheme.lower() == base.scheme.lower() and bool(other.hostname)
            and other.hostname == base.hostname and other_port == base_port
            and (other.path == base_path or other.path.startswith(base_path + "/")))


_DEFAULT_PORTS = {"https": 443, "http": 80}


def endpoint_of(url: str) -> str:
    """The URL without its query (where a signature or token could sit), for messages."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class SignInError(AzureRestError):
    """No credential source gave a token (mssp.azure.signin says which were tried): nothing was read."""

    def __init__(self, paragraph: str):
        super().__init__("signing in", paragraph)
        self.args = (paragraph,)

    def __str__(self) -> str:
        return str(self.args[0])


class CredentialTokenProvider:
    """Bearer tokens from an azure-identity credential, cached until five minutes before expiry."""

    def __init__(self, credential: Any, scope: str = arm_api.ARM_SCOPE, tenant_id: str | None = None):
        self._credential = credential
        self._scope = scope
        self._tenant_id = tenant_id
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._expires_on - 300 < time.time():
                kwargs = {"tenant_id": self._tenant_id} if self._tenant_id else {}
                try:
                    access = self._credential.get_token(self._scope, **kwargs)
                except Exception as exc:  # azure-identity raises several types; all mean "cannot sign in"
                    from mssp.azure import signin

                    if signin.is_signin_failure(exc):
                        raise SignInError(signin.failure_text(exc, "Azure", self._tenant_id)) from None
                    where = f" for tenant {self._tenant_id}" if self._tenant_id else ""
                    raise AzureRestError(f"signing in to Azure{where}", str(exc).splitlines()[0]) from None
                self._token, self._expires_on = access.token, float(access.expires_on)
            return self._token


def default_token_provider(tenant_id: str | None = None, scope: str = arm_api.ARM_SCOPE) -> CredentialTokenProvider:
    """DefaultAzureCredential (environment, workload identity/OIDC, managed identity, Azure CLI ...) for ARM.

    With tenant_id, tokens are requested for that tenant (the direct access model signs in to the
    customer tenant); without, the identity's home tenant (the MSSP tenant, through Lighthouse).
    """
    from azure.identity import DefaultAzureCredential

    from mssp.azure import signin

    signin.quiet_credential_chain()
    kwargs: dict[str, Any] = {"additionally_allowed_tenants": [tenant_id]} if tenant_id else {}
    return CredentialTokenProvider(DefaultAzureCredential(**kwargs), scope=scope, tenant_id=tenant_id)
