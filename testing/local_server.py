"""A local HTTP server on 127.0.0.1 and an ephemeral port, run in a thread: what each fake server shares."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalServer:
    """Serves `handle(request, method)` while in the `with` block; `url` is its base URL ("" outside)."""

    def __init__(self, handle: Callable[[BaseHTTPRequestHandler, str], None],
                 methods: tuple[str, ...] = ("GET", "POST")) -> None:
        self._handle = handle
        self._methods = methods
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> LocalServer:
        handle = self._handle

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

        # Only the methods the fake answers; others get the standard library's 501.
        for method in self._methods:
            setattr(Handler, f"do_{method}", lambda req, m=method: handle(req, m))

        # Loopback only, never another address (the workplace's network rule).
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class Streamed:
    """A hostile body, generated while it is sent so the server never holds it: `prefix`, then `chunk`
    `count` times, then `suffix`. `content_length` is the Content-Length to declare: None declares none (the
    body then ends when the connection closes: HTTP/1.0, which BaseHTTPRequestHandler speaks), and it may
    lie. Not an Azure behaviour: it stands for a broken proxy or an impersonated endpoint."""

    chunk: bytes
    count: int
    prefix: bytes = b""
    suffix: bytes = b""
    content_length: int | None = None

    @property
    def size(self) -> int:
        return len(self.prefix) + len(self.chunk) * self.count + len(self.suffix)


def send_json(req: BaseHTTPRequestHandler, status: int, headers: Mapping[str, str], body: Any) -> None:
    """Answer `req` with `body` as JSON (bytes go as they are, a Streamed body chunk by chunk), the status
    and the extra headers."""
    streamed = body if isinstance(body, Streamed) else None
    data = b"" if streamed else body if isinstance(body, bytes) else json.dumps(body).encode()
    length = streamed.content_length if streamed else len(data)
    req.send_response(status)
    req.send_header("Content-Type", "application/json; charset=utf-8")
    if length is not None:
        req.send_header("Content-Length", str(length))
    for k, v in headers.items():
        req.send_header(k, v)
    req.end_headers()
    try:
        if streamed is None:
            req.wfile.write(data)
            return
        req.wfile.write(streamed.prefix)
        for _ in range(streamed.count):
            req.wfile.write(streamed.chunk)
        req.wfile.write(streamed.suffix)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client stopped reading: what a bounded reader does with a hostile answer
