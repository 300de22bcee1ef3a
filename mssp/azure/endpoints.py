"""The endpoints a command sends a bearer token to: https only.

`health --endpoint http://...` made azure-core skip its https check (enforce_https=False) and would have sent
the Log Analytics token in clear; an ARM endpoint from MSSP_ARM_ENDPOINT likewise. Any endpoint that is not
https is refused as a usage error (exit 2) before a credential is asked for a token. The one exception is for
the local fakes in testing/ (plain HTTP on 127.0.0.1): a loopback address, and only when the environment says
so with PLAIN_HTTP_LOOPBACK_ENV=1 (the token never leaves the machine).
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from mssp.errors import UserError

PLAIN_HTTP_LOOPBACK_ENV = "MSSP_TEST_PLAIN_HTTP_LOOPBACK"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_endpoint(url: str, source: str, example: str) -> str:
    """`url` when it is an https endpoint (without a trailing slash); else a UserError naming `source`
    (the option or environment variable it came from) and what is allowed."""
    from components.facts.strict_yaml import shown

    allowed = f"allowed: an https:// endpoint, e.g. {example}"
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError for a port that is no number
    except ValueError:
        raise UserError(f"{source} {shown(url)}: not a URL; {allowed}") from None
    if parts.scheme == "http" and _loopback(host) and os.environ.get(PLAIN_HTTP_LOOPBACK_ENV) == "1":
        return url.strip().rstrip("/")
    if parts.scheme != "https":
        why = ("the access token would be sent in clear" if parts.scheme == "http"
               else f"'{shown(parts.scheme, 20)}' is no https URL" if parts.scheme else "no scheme")
        raise UserError(f"{source} {shown(url)}: refused, {why}; {allowed}")
    if not host:
        raise UserError(f"{source} {shown(url)}: no host name; {allowed}")
    if parts.username or parts.password:
        raise UserError(f"{source} {shown(url)}: a user name or password in the URL is never sent; {allowed}")
    if parts.query or parts.fragment:
        raise UserError(f"{source} {shown(url)}: an endpoint takes no ?query or #fragment; {allowed}")
    return url.strip().rstrip("/")
