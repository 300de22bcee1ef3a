"""Every function that turns Pulumi secret envelopes into "[secret]" does so at every depth and in every
container type a value can arrive in: the class of bug where a secret inside a list (or a list in a map in
a list) reaches a report, a manifest or a PR comment in plain text.

Envelope: {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": ...}, the
signature pulumi/pulumi sdk/python/lib/pulumi/runtime/rpc.py (_special_sig_key, _special_secret_sig)
and the engine's JSON use.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mssp.diff.command import _mask
from mssp.drift.preview_json import redact
from mssp.plan.offline import scrub

SIG_KEY, SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
PLAIN = "sv=2016&sig=TOP-SECRET-SIGNATURE"

REDACTORS: dict[str, Callable[[Any], Any]] = {
    "drift preview_json.redact": redact,
    "plan offline.scrub": scrub,
    "diff command._mask": _mask,
}


def envelope(value: Any = PLAIN) -> dict[str, Any]:
    return {SIG_KEY: SIG, "value": value}


def wrappers() -> dict[str, Callable[[Any], Any]]:
    return {
        "dict": lambda v: {"k": v},
        "dict among siblings": lambda v: {"a": 1, "k": v, "z": [2]},
        "list": lambda v: [v],
        "list after plain items": lambda v: ["x", 3, None, v],
        "list of lists": lambda v: [[v]],
    }


def nestings(max_depth: int = 4) -> Iterator[tuple[str, Any]]:
    """Every sequence of up to max_depth containers around one envelope (5 kinds: 5 + 25 + 125 + 625)."""
    kinds = wrappers()
    for depth in range(1, max_depth + 1):
        for path in itertools.product(kinds, repeat=depth):
            value: Any = envelope()
            for kind in reversed(path):
                value = kinds[kind](value)
            yield " > ".join(path), value


@pytest.mark.parametrize("name", REDACTORS)
def test_no_secret_survives_at_any_depth_or_in_any_container(name):
    fn = REDACTORS[name]
    leaked = [where for where, value in nestings() if PLAIN in json.dumps(fn(value))]
    assert leaked == [], f"{name} left the secret in plain text inside: {leaked[:5]}"


@pytest.mark.parametrize("name", REDACTORS)
def test_the_secret_is_replaced_by_the_marker_not_dropped(name):
    # Bug caught: a redactor that drops the key or item makes a change invisible to the reviewer.
    fn = REDACTORS[name]
    out = fn({"a": [1, envelope(), {"b": envelope({"nested": PLAIN})}]})
    assert out == {"a": [1, "[secret]", {"b": "[secret]"}]}


@pytest.mark.parametrize("name", REDACTORS)
def test_a_secret_whose_value_is_itself_a_container_is_hidden_whole(name):
    fn = REDACTORS[name]
    for inner in ({"url": PLAIN}, [PLAIN], [{"x": [PLAIN]}]):
        assert fn(envelope(inner)) == "[secret]"


@pytest.mark.parametrize("name", REDACTORS)
def test_values_that_are_not_secrets_are_kept(name):
    # Bug caught: an over-eager redactor hides the signature key of a non-secret map or a plain value,
    # and the reviewer no longer sees what changes.
    fn = REDACTORS[name]
    value = {"a": [1, "two", {"b": None}], "sig": "not a secret", SIG_KEY: "another value"}
    assert fn(value) == value


def test_scrub_also_hides_secrets_inside_tuples():
    # The SDK hands the mocks tuples as well as lists.
    assert scrub((1, (envelope(),))) == [1, ["[secret]"]]
