"""`python -m mssp splunk-ping STACK [--url URL]`: after a deployment, send a Splunk-shaped test alert to a
customer's webhook Logic App and report what happened.

The URL comes from `--url` or from the deployed customer stack's secret output `splunkWebhookUrl`
(`pulumi stack output --show-secrets --json -s STACK`). The body is Splunk's webhook payload shape
(Splunk docs "Use a webhook alert action"), marked as a test: search name "mssp-sentinel splunk-ping",
a `_time` of now, so it lands in the Splunk table and raises a clearly named Sentinel alert, which is the
end-to-end check. The URL's `sig` (the credential) is never printed: it is shown as `sig=[redacted]`.

The URL must be https (plain http only to a loopback test server), without user info or whitespace;
`sig` is redacted in every message, error messages included, in any spelling (`SIG=`, `si%67=`,
`sig%3D`).

Exit 0 when the Logic App answered 2xx (the alert was ingested); 1 when it answered otherwise or could
not be reached; 2 for usage problems (no URL, no such output, no pulumi CLI, a URL refused as above).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mssp import PROJECT_DIR
from mssp.errors import UserError
from mssp.escape import clean

OUTPUT_NAME = "splunkWebhookUrl"

def _letter(ch: str) -> str:
    """A regex for one ASCII character written plainly or percent-encoded, any number of times over
    (`g`, `%67`, `%2567`): a server decodes `si%67=` to `sig=`, so it is the same credential."""
    codes = "|".join(sorted({f"{ord(c):02x}" for c in (ch.lower(), ch.upper())}))
    return f"(?:{re.escape(ch)}|%(?:25)*(?:{codes}))"


# `sig` and `=` in every spelling (any case, percent-encoded letters, `sig%3D` as it appears when the URL
# is itself a query value); the value runs to the next literal `&`, `#`, whitespace, quote or bracket.
_SIG = re.compile("(" + "".join(_letter(c) for c in "sig") + _letter("=") + r")[^&#\s\"'<>()\[\]]*",
                  re.IGNORECASE)
# Hosts a plain-http test URL may name: the signature then never leaves this machine.
_LOOPBACK = re.compile(r"^(?:127(?:\.\d{1,3}){3}|localhost|::1)$", re.IGNORECASE)
URL_ENV = "MSSP_SPLUNK_WEBHOOK_URL"
MAX_BODY_SHOWN = 1000
MAX_TIMEOUT = 600.0
# Where the Azure portal is served (public, US Government, China clouds): a link there is a page, not a trigger.
_PORTAL = re.compile(r"(^|\.)(portal\.azure\.(com|us|cn)|portal\.azure\.com\.[a-z]+)$", re.IGNORECASE)
# How to get the URL a Logic App's Request trigger listens on ("Call, trigger, or nest logic apps by using HTTPS
# endpoints", https://learn.microsoft.com/azure/logic-apps/logic-apps-http-endpoint: the callback URL is
# https://<host>/workflows/<id>/triggers/<name>/paths/invoke?api-version=...&sp=...&sv=...&sig=...).
_URL_HINT = ("allowed: the workflow's callback URL, https://...logic.azure.com/workflows/.../triggers/.../paths/"
             "invoke?...&sig=..., from `pulumi stack output --show-secrets splunkWebhookUrl -s STACK` (or, in the "
             "portal, the Logic App's Request trigger: 'HTTP URL')")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("splunk-ping", help="send a test Splunk alert to a customer's webhook and report the result")
    p.add_argument("stack", help="customer stack whose splunkWebhookUrl output to use")
    p.add_argument("--url", help=f"the webhook URL (prefer the environment variable {URL_ENV}, which stays out of "
                                 "shell history and process lists; default: the stack's secret output splunkWebhookUrl)")
    p.add_argument("--timeout", type=float, default=150.0,
                   help="seconds to wait for the answer (the Logic App answers within about two minutes)")
    p.set_defaults(func=run)


def redact(text: str) -> str:
    """The text with every `sig=...` value replaced, so a webhook URL can be shown."""
    return _SIG.sub(r"\1[redacted]", text)


def check_url(url: str) -> None:
    """Refuse a URL that would send the signature in clear text, hide credentials, or is malformed.

    Logic Apps callback URLs are always https; plain http is accepted only for a loopback host (a test
    server on this machine). Every message shows the URL redacted.
    """
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UserError(f"the webhook URL contains whitespace or control characters: {redact(url)!r}")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise UserError(f"not a valid URL ({redact(str(exc))}): {redact(url)}") from None
    if parts.scheme.lower() not in ("https", "http") or not host:
        raise UserError(f"not an https URL: {redact(url)}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UserError(f"the webhook URL must not carry user info (user:password@): {redact(url.split('@')[-1])}")
    if parts.scheme.lower() == "http" and not _LOOPBACK.match(host):
        raise UserError(f"refusing plain http: the signature would cross the network unencrypted; use the https "
                        f"URL of the splunkWebhookUrl output: {redact(url)}")
    if _PORTAL.search(host):
        raise UserError(f"{redact(url)} is an Azure portal link (a page in the portal), not the workflow's trigger "
                        f"URL; {_URL_HINT}")
    signature = [v for k, vs in parse_qs(parts.query, keep_blank_values=True).items() if k.lower() == "sig" for v in vs]
    if not any(signature):
        raise UserError(f"the webhook URL {redact(url)} has no `sig` parameter: the Request trigger refuses a call "
                        f"without its signature (it would answer 401); {_URL_HINT}")


def check_timeout(seconds: float) -> None:
    """A timeout is a positive, finite number of seconds, at most MAX_TIMEOUT."""
    import math

    if not math.isfinite(seconds) or not 0 < seconds <= MAX_TIMEOUT:
        raise UserError(f"--timeout {seconds:g}: allowed: more than 0 and at most {MAX_TIMEOUT:g} seconds (the Logic "
                        "App answers within about two minutes; the default is 150)")


def sample_alert(now: float | None = None) -> dict[str, Any]:
    """A Splunk webhook body (documented shape) for a test alert."""
    now = time.time() if now is None else now
    return {
        "result": {
            "_time": f"{now:.3f}",
            "source": "mssp-sentinel",
            "message": "Test alert sent by `python -m mssp splunk-ping`; no action needed.",
        },
        "sid": f"mssp_sentinel_splunk_ping_{int(now)}",
        "results_link": None,
        "search_name": "mssp-sentinel splunk-ping",
        "owner": "mssp-sentinel",
        "app": "mssp-sentinel",
    }


def url_from_stack(stack: str, project_dir: Path = PROJECT_DIR) -> str:
    """The stack's webhook URL, read from its deployed outputs with the Pulumi CLI."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise UserError("the pulumi CLI is not on PATH; install it, or pass the webhook URL with --url")
    try:
        proc = subprocess.run(
            [pulumi, "stack", "output", "--show-secrets", "--json", "-s", stack],
            cwd=project_dir, capture_output=True, text=True, timeout=120, check=False,
        )
    except subprocess.TimeoutExpired:
        raise UserError(f"`pulumi stack output -s {stack}` did not answer within 120 seconds") from None
    if proc.returncode != 0:
        raise UserError(f"`pulumi stack output -s {stack}` failed (exit {proc.returncode}): "
                        f"{redact(proc.stderr.strip()) or 'no message'}")
    try:
        outputs = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        raise UserError(f"`pulumi stack output -s {stack}` did not print JSON") from None
    url = outputs.get(OUTPUT_NAME) if isinstance(outputs, dict) else None
    if not isinstance(url, str) or not url:
        raise UserError(f"stack {stack} has no {OUTPUT_NAME} output: is Splunk enabled for this customer "
                        "(customer.splunk.enabled) and the stack deployed?")
    return url


def post(url: str, payload: dict[str, Any], timeout: float) -> tuple[int | None, str, str]:
    """POST the payload: (HTTP status or None when unreachable, reason, response body). The body is read up
    to limits.SPLUNK_WEBHOOK (a larger one raises limits.AnswerRefused, naming the endpoint without its query)."""
    import urllib.error  # here, not at the top: every `python -m mssp` command imports this module
    import urllib.request

    from mssp.azure import limits

    request = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "mssp-sentinel splunk-ping"},
    )
    parts = urlsplit(url)
    endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}"  # never the query: it holds the signature
    deadline = max(timeout, 1.0)

    def body_of(response: Any) -> str:
        raw = limits.read_capped(response.read, limits.SPLUNK_WEBHOOK, endpoint,
                                 declared=limits.declared_length(response.headers), deadline=deadline)
        return raw.decode("utf-8", "replace")

    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.reason, body_of(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, str(exc.reason), body_of(exc)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        # http.client puts the URL into some of its messages (InvalidURL): redacted by the caller.
        reason = getattr(exc, "reason", exc)
        return None, str(reason), ""


def run(args: argparse.Namespace) -> int:
    check_timeout(args.timeout)
    url = args.url or os.environ.get(URL_ENV) or url_from_stack(args.stack)
    check_url(url)
    shown = redact(url)
    print(f"POST {shown}")
    started = time.monotonic()
    from mssp.azure.limits import AnswerRefused

    try:
        status, reason, body = post(url, sample_alert(), args.timeout)
    except AnswerRefused as exc:
        print(f"FAILED: {redact(str(exc))}")
        return 1
    except Exception as exc:  # anything unforeseen: its text may quote the URL, so never re-raise it raw
        raise UserError(f"could not send the test alert: {type(exc).__name__}: {redact(str(exc))}", exit_code=1) from None
    elapsed = time.monotonic() - started
    text = clean(redact(body), MAX_BODY_SHOWN)  # one line, no control or bidi characters, cut with a marker
    if status is None:
        print(f"FAILED: could not reach the webhook: {redact(reason)} (after {elapsed:.1f} s)")
        return 1
    print(f"HTTP {status} {reason} (after {elapsed:.1f} s)")
    if text:
        print(f"response: {text}")
    if 200 <= status < 300:
        print("OK: the test alert was accepted; it appears in the Splunk table and as a Sentinel alert "
              "named after 'mssp-sentinel splunk-ping' within the analytics rule's query frequency.")
        return 0
    hints = {
        401: "the URL's signature was rejected: take the current splunkWebhookUrl output",
        403: "the caller's IP address is not in customer.splunk.allowedCallerIpRanges, or the signature is wrong",
        404: "no such workflow or trigger: is the stack deployed and the workflow enabled?",
        502: "the Logic App could not ingest the alert: see ingestionStatus above, and the workflow's run "
             "history under the correlationId (Monitoring Metrics Publisher on the DCR? role assignments can "
             "take minutes)",
    }
    print(f"FAILED: {hints.get(status, 'the webhook did not accept the alert')}")
    return 1
