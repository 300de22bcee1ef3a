"""`python -m mssp splunk-ping` against a local HTTP server on 127.0.0.1 (and a fake `pulumi` on PATH)."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components.splunk import schema
from mssp.cli import main
from mssp.splunk.ping import redact, sample_alert

SIG = "s3cretSignatureValue"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib honours proxy variables; the local server must be reached directly.
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


class Webhook(BaseHTTPRequestHandler):
    """/ok answers like the workflow's Accepted action, /fail like Ingestion_failed."""

    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        self.server.received.append({"path": self.path, "body": body,  # type: ignore[attr-defined]
                                     "contentType": self.headers.get("Content-Type")})
        if self.path.startswith("/ok"):
            status, answer = 200, {"status": "ingested", "sid": body.get("sid"), "ingestionStatus": 204}
        else:
            # The workflow's Ingestion_failed answer (components/splunk_webhook.py): status + correlation id.
            status, answer = 502, {"status": "ingestion failed", "ingestionStatus": 403,
                                   "correlationId": "08585000000000000000000000000CU00"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    httpd.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def url(httpd: ThreadingHTTPServer, path: str) -> str:
    host, port = httpd.server_address[:2]
    return f"http://{host}:{port}{path}?api-version=2016-10-01&sp=%2Ftriggers%2Fsplunk_alert%2Frun&sv=1.0&sig={SIG}"


def test_success(server: ThreadingHTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["splunk-ping", "contoso", "--url", url(server, "/ok"), "--timeout", "10"])
    out, err = capsys.readouterr()
    assert rc == 0, out + err
    assert "HTTP 200" in out and "OK:" in out
    assert SIG not in out + err and "sig=[redacted]" in out
    (request,) = server.received  # type: ignore[attr-defined]
    assert request["contentType"] == "application/json"
    # What it sends is a Splunk webhook body the workflow's trigger schema accepts.
    assert list(jsonschema.Draft4Validator(schema.trigger_schema()).iter_errors(request["body"])) == []
    assert request["body"]["search_name"] == "mssp-sentinel splunk-ping"


def test_ingestion_failure(server: ThreadingHTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["splunk-ping", "contoso", "--url", url(server, "/fail"), "--timeout", "10"])
    out, _ = capsys.readouterr()
    assert rc == 1
    assert "HTTP 502" in out and "ingestionStatus" in out and "FAILED" in out
    assert SIG not in out


def test_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The port is closed again: nothing listens there.
    rc = main(["splunk-ping", "contoso", "--url", f"http://127.0.0.1:{port}/x?sig={SIG}", "--timeout", "5"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "could not reach" in out and SIG not in out + err


def fake_pulumi(tmp_path: Path, outputs: dict[str, Any] | None, exit_code: int = 0) -> Path:
    """A `pulumi` on PATH that records its arguments and prints the given stack outputs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(tmp_path / 'args.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        f"sys.stdout.write({json.dumps(json.dumps(outputs))})\n"
        f"sys.stderr.write('error: no stack named x (sig={SIG})' if {exit_code} else '')\n"
        f"sys.exit({exit_code})\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def test_url_from_stack_output(tmp_path: Path, server: ThreadingHTTPServer, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = fake_pulumi(tmp_path, {"stackKind": "customer", "splunkWebhookUrl": url(server, "/ok")})
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    rc = main(["splunk-ping", "contoso", "--timeout", "10"])
    out, err = capsys.readouterr()
    assert rc == 0, out + err
    assert json.loads((tmp_path / "args.json").read_text()) == ["stack", "output", "--show-secrets", "--json",
                                                                "-s", "contoso"]
    assert len(server.received) == 1  # type: ignore[attr-defined]
    assert SIG not in out + err


def test_stack_without_webhook_output(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{fake_pulumi(tmp_path, {'stackKind': 'customer'})}{os.pathsep}{os.environ['PATH']}")
    rc = main(["splunk-ping", "fabrikam"])
    err = capsys.readouterr().err
    assert rc == 2 and "no splunkWebhookUrl output" in err and "Traceback" not in err


def test_pulumi_failure_is_reported_redacted(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{fake_pulumi(tmp_path, None, exit_code=255)}{os.pathsep}{os.environ['PATH']}")
    rc = main(["splunk-ping", "x"])
    err = capsys.readouterr().err
    assert rc == 2 and "exit 255" in err and "no stack named x" in err and SIG not in err


def test_no_pulumi_on_path(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    rc = main(["splunk-ping", "contoso"])
    assert rc == 2 and "--url" in capsys.readouterr().err


def test_redact_and_sample() -> None:
    assert redact("https://h/x?api-version=1&sig=abc&sv=1") == "https://h/x?api-version=1&sig=[redacted]&sv=1"
    alert = sample_alert(now=1700000000.5)
    assert alert["result"]["_time"] == "1700000000.500" and alert["sid"].endswith("1700000000")


def test_url_from_the_environment(server: ThreadingHTTPServer, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The signed URL stays out of argv (process lists, shell history).
    monkeypatch.setenv("MSSP_SPLUNK_WEBHOOK_URL", url(server, "/ok"))
    rc = main(["splunk-ping", "contoso", "--timeout", "10"])
    out, err = capsys.readouterr()
    assert rc == 0, out + err
    assert SIG not in out + err


def test_redact_url_encoded_signature() -> None:
    assert redact("next=https%3A%2F%2Fh%2Fx%3Fsig%3Dabc123%26sv%3D1") == "next=https%3A%2F%2Fh%2Fx%3Fsig%3D[redacted]"


# Hostile URLs (issue 10): each is refused with exit 2, or sent, and never prints the signature.
HOSTILE = [
    f"http://prod-01.westeurope.logic.azure.com/workflows/x/triggers/t/paths/invoke?sig={SIG}",  # plain http
    f"HTTP://prod-01.westeurope.logic.azure.com/x?sig={SIG}",
    f"https://prod-01.westeurope.logic.azure.com/x y?sig={SIG}",  # a space (http.client's InvalidURL quoted it)
    f"https://prod-01.westeurope.logic.azure.com/x?sig={SIG} trailing",
    f"https://prod-01.westeurope.logic.azure.com/x?sig={SIG}\n",
    f"https://prod-01.westeurope.logic.azure.com/x\t?SIG={SIG}",
    f"https://user:{SIG}@prod-01.westeurope.logic.azure.com/x?sig={SIG}",  # user info
    f"https://{SIG}@prod-01.westeurope.logic.azure.com/x",
    f"https://prod-01.westeurope.logic.azure.com:99999/x?sig={SIG}",  # bad port
    f"ftp://prod-01.westeurope.logic.azure.com/x?sig={SIG}",
    f"https:///x?si%67={SIG}",  # no host
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_urls_are_refused_without_leaking_the_signature(hostile: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["splunk-ping", "contoso", "--url", hostile, "--timeout", "2"])
    out, err = capsys.readouterr()
    assert rc == 2, out + err
    assert SIG not in out + err
    assert "Traceback" not in err and "internal error" not in err


@pytest.mark.parametrize("spelling", ["sig=", "SIG=", "Sig=", "si%67=", "SI%47=", "%73%69%67=", "sig%3D", "si%2567=",
                                      "sig%3d", "si%67%3D"])
def test_redact_every_spelling_of_sig(spelling: str) -> None:
    for text in (f"https://h/x?a=1&{spelling}{SIG}&sv=1", f"https://h/x?{spelling}{SIG}#frag",
                 f"error at '{spelling}{SIG}'", f"(url {spelling}{SIG})"):
        shown = redact(text)
        assert SIG not in shown and "[redacted]" in shown, shown


def test_encoded_and_fragment_signatures_are_not_printed(server: ThreadingHTTPServer,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    host, port = server.server_address[:2]
    rc = main(["splunk-ping", "contoso", "--url", f"http://{host}:{port}/ok?si%67={SIG}&x=1#sig={SIG}",
               "--timeout", "10"])
    out, err = capsys.readouterr()
    assert rc == 0, out + err
    assert SIG not in out + err


def test_unexpected_send_errors_are_redacted(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import mssp.splunk.ping as ping

    def broken(url: str, *_: Any) -> Any:
        raise RuntimeError(f"boom while sending to {url}")

    monkeypatch.setattr(ping, "post", broken)
    rc = main(["splunk-ping", "contoso", "--url", f"https://h.example/x?sig={SIG}"])
    out, err = capsys.readouterr()
    assert rc == 1 and "boom" in err
    assert SIG not in out + err and "Traceback" not in err
