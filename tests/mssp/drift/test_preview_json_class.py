"""`pulumi preview --json` parsing, by class (survivors of `./dev mutate mssp/drift/preview_json.py`): the
stray-line fallback keeps every limit the direct path keeps, every diagnostic field is read from its own
key and named by its own path when bad, property lookups hold at both ends of a list, and an error says
which JSON type it got."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.facts import documents
from mssp.drift import preview_json as pj

CLEAN = {"steps": [], "changeSummary": {}}


def nested(depth: int) -> Any:
    """A value `depth` levels of lists deep."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


# --- the stray-line fallback -----------------------------------------------------------------------------

def test_a_stray_line_before_the_json_keeps_the_nesting_limit():
    # Bug caught: the fallback parse (used when a program's print precedes the JSON) skipped the depth
    # check the direct parse makes, so hostile nesting got through by adding one line in front.
    deep = {**CLEAN, "config": None, "x": nested(documents.MAX_DEPTH + 5)}
    with pytest.raises(pj.PreviewFormatError, match=f"nested more than {documents.MAX_DEPTH} levels") as caught:
        pj.loads("a plugin notice\n" + json.dumps(deep))
    assert str(caught.value).startswith("the preview")
    within = {**CLEAN, "x": nested(documents.MAX_DEPTH - 2)}
    assert pj.loads("a plugin notice\n" + json.dumps(within)).steps == ()


def test_a_brace_line_that_is_not_json_does_not_hide_the_document_after_it():
    # Bug caught: the search for the JSON object stopped at the first line starting with "{".
    text = "{ this is a program's log line, not JSON\n" + json.dumps(CLEAN)
    assert pj.loads(text).change_summary == {}


def test_an_object_followed_by_more_text_is_not_the_document():
    with pytest.raises(pj.PreviewFormatError, match="not JSON"):
        pj.loads("notice\n" + json.dumps(CLEAN) + "\ntrailing words")


# --- diagnostics: every field from its own key, every bad field named by its path ---------------------------

def digest(*diagnostics: Any) -> pj.PreviewDigest:
    return pj.parse({**CLEAN, "diagnostics": list(diagnostics)})


def test_a_diagnostic_reads_prefix_message_severity_and_urn_from_their_keys():
    urn = "urn:pulumi:dev::mssp::azure-native:keyvault:Vault::kv-one"
    (d,) = digest({"prefix": "error: ", "message": "boom ", "severity": "error", "urn": urn}).diagnostics
    assert (d.severity, d.message, d.urn) == ("error", "error: boom", urn)
    classified = pj.classify(digest({"prefix": "error: ", "message": "boom", "severity": "error", "urn": urn}))
    assert classified.errors == ("kv-one (azure-native:keyvault:Vault): boom",)


def test_a_diagnostic_without_fields_has_empty_ones_and_reads_as_no_message():
    (d,) = digest({}).diagnostics
    assert (d.severity, d.message, d.urn) == ("", "", None)
    assert pj.classify(digest({"severity": "error"})).errors == ("(no message)",)
    assert pj.classify(digest({"severity": "error", "prefix": "error: "})).errors == ("(no message)",)
    assert pj.classify(digest({"severity": "warning", "message": ""})).warnings == ()


@pytest.mark.parametrize("field", ["severity", "prefix", "message", "urn"])
def test_a_diagnostic_field_of_the_wrong_type_is_named_by_its_path(field):
    with pytest.raises(pj.PreviewFormatError, match=rf"^diagnostics\[1\]\.{field}: must be a string \(got number\)$"):
        digest({}, {field: 7})


def test_a_diagnostic_that_is_not_an_object_is_named_with_its_type():
    with pytest.raises(pj.PreviewFormatError, match=r"^diagnostics\[0\]: must be an object \(got list\)$"):
        digest([])


# --- property lookups -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path,expected", [
    ("a[0]", 1), ("a[2]", 3), ("a[3]", pj._MISSING),  # both ends of the list, and one past
    ("m[0]", pj._MISSING),  # an index into an object is no key
    ("m.x", "y"), ("m.z", pj._MISSING), ("a.x", pj._MISSING), ("s[0]", pj._MISSING),
    ("a[", pj._MISSING), ("", pj._MISSING), ('m["x"', pj._MISSING),  # paths that do not parse
])
def test_lookup_holds_at_both_ends_and_never_raises(path, expected):
    properties = {"a": [1, 2, 3], "m": {"x": "y", "0": "not an index"}, "s": "text"}
    assert pj.lookup(properties, path) == expected if expected is not pj._MISSING else pj.lookup(properties, path) is pj._MISSING


def test_lookup_without_properties_is_missing():
    assert pj.lookup(None, "a") is pj._MISSING


def test_a_secret_anywhere_on_the_path_or_below_it_reads_as_secret():
    sig = {pj.SECRET_SIG_KEY: pj.SECRET_SIG, "plaintext": "hunter2"}
    props = {"a": sig, "b": {"c": sig}, "d": [{"e": sig}], "f": "[secret]"}
    for path in ("a", "a.x", "b.c", "d[0].e", "f", "f.x"):
        assert pj.lookup(props, path) == pj.SECRET, path
    assert pj.lookup(props, "b") == {"c": pj.SECRET} and pj.lookup(props, "d") == [{"e": pj.SECRET}]


# --- error messages name the JSON type they got -----------------------------------------------------------

@pytest.mark.parametrize("value,name", [(None, "null"), (True, "boolean"), (3, "number"), (2.5, "number"),
                                        ("s", "string"), ([], "list"), ({}, "object"), ((1,), "tuple")])
def test_each_json_type_is_named(value, name):
    assert pj._json_type(value) == name


@pytest.mark.parametrize("summary,got", [(None, None), (True, "boolean"), (1, "number"), ("x", "string")])
def test_a_bad_maybe_corrupt_says_what_it_got(summary, got):
    doc = {**CLEAN, "maybeCorrupt": summary}
    if got is None:
        assert pj.parse(doc).maybe_corrupt is False
    elif got == "boolean":
        assert pj.parse(doc).maybe_corrupt is True
    else:
        with pytest.raises(pj.PreviewFormatError, match=rf"maybeCorrupt: must be true or false \(got {got}\)"):
            pj.parse(doc)


# --- property paths: every edge of the quoted-key grammar returns None, never raises ------------------------

@pytest.mark.parametrize("path", ['["a', '["a"', '["a\\', '["a\\"', '["a"x]', '["a"x', '[', '[1', '[x]', '["'])
def test_a_path_cut_short_or_malformed_at_a_quoted_key_does_not_parse(path):
    # Bug caught: an index one past the end of the path (a raised IndexError instead of "does not parse",
    # which fails the whole drift report) or a quoted key without its closing bracket accepted.
    assert pj.parse_property_path(path) is None


@pytest.mark.parametrize("path,elements", [('["a\\"b"]', ['a"b']), ('x["a.b"].c', ["x", "a.b", "c"]),
                                           ('["\\""]', ['"']), ("a[10]", ["a", 10])])
def test_a_quoted_key_keeps_escaped_quotes_and_dots(path, elements):
    assert pj.parse_property_path(path) == elements
