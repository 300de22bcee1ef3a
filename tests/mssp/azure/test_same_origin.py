"""The bearer token goes only to the ARM endpoint: every host, scheme, port and path check on a URL that
carries it, with the look-alikes a hostile answer (a nextLink, a 202's Location) could name."""

from __future__ import annotations

import pytest

from mssp.azure.batch import on_endpoint
from mssp.azure.rest import AzureRestClient, AzureRestError, same_origin

ARM = "https://management.azure.com"

ON = [
    f"{ARM}/subscriptions/x",
    "https://MANAGEMENT.AZURE.COM/subscriptions/x",      # hosts compare case-insensitively (RFC 3986 3.2.2)
    "HTTPS://management.azure.com/subscriptions/x",       # so do schemes (RFC 3986 3.1)
    "https://management.azure.com:443/subscriptions/x",   # the default port, written out
    f"{ARM}/subscriptions/x?api-version=2021-05-01&$skiptoken=abc",
    f"{ARM}/",
]

OFF = [
    "https://management.azure.com.evil.example/subscriptions/x",   # a suffix on the host
    "https://evil-management.azure.com/subscriptions/x",
    "https://management.azure.co/subscriptions/x",
    "https://management.azure.com@evil.example/subscriptions/x",   # user info: the host is evil.example
    "https://user:pw@management.azure.com/subscriptions/x",         # user info on the right host
    "https://management.azure.com:8443/subscriptions/x",           # another port
    "http://management.azure.com/subscriptions/x",                 # plain http
    "//evil.example/subscriptions/x",                                # scheme-relative
    "https://evil.example/https://management.azure.com/",
    "https://evil.example/?u=https://management.azure.com/",
    "https://management.azure.com\\@evil.example/x",                # a backslash some parsers read as /
    "https://management.azure.com/x\r\nHost: evil.example",         # header injection
    "https://management.azure.com /x",
    "ftp://management.azure.com/x",
    "https:///subscriptions/x",                                      # no host
    "https://management.azure.com:notaport/x",
    "",
]


@pytest.mark.parametrize("url", ON)
def test_urls_on_the_arm_endpoint_are_followed(url):
    # Bug caught: a case-sensitive host or scheme comparison refuses ARM's own nextLink (paging stops early).
    assert same_origin(ARM, url)


@pytest.mark.parametrize("url", OFF)
def test_look_alikes_of_the_arm_endpoint_are_refused(url):
    # Bug caught: a prefix match (startswith without the '/' boundary), or a host check that ignores user
    # info, port or scheme, sends the bearer token to another host.
    assert not same_origin(ARM, url)


@pytest.mark.parametrize("url", OFF)
def test_paging_and_polling_refuse_the_look_alikes(url):
    client = AzureRestClient(lambda: "token", base_url=ARM)
    assert not on_endpoint(client, url)


def test_a_base_with_a_path_is_not_left_through_a_sibling_path():
    base = "https://example.test/arm"
    assert same_origin(base, "https://example.test/arm/subscriptions")
    assert same_origin(base, "https://example.test/arm")
    assert not same_origin(base, "https://example.test/armory/x")
    assert not same_origin(base, "https://example.test/other")


def test_the_client_never_builds_a_request_off_its_endpoint():
    """The client itself refuses, so a new caller that forgets on_endpoint still cannot leak the token."""
    sent = []
    client = AzureRestClient(lambda: sent.append("token asked") or "token", base_url=ARM)
    for url in OFF:
        if url.startswith("/") and not url.startswith("//"):
            continue
        with pytest.raises(AzureRestError, match="refusing to send the Azure token"):
            client.get(url, what="a hostile nextLink")
    assert sent == []  # no token was even requested
    assert client.url("/subscriptions/x") == f"{ARM}/subscriptions/x"
    assert client.url(f"{ARM}/subscriptions/x") == f"{ARM}/subscriptions/x"
