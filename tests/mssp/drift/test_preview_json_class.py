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


# --- both sides of every drift column --------------------------------------------------------------------

WF = "urn:pulumi:contoso::mssp-sentinel::mssp:x:Y$azure-native:logic:Workflow::wf"
ENDPOINT = "https://prod-01.westeurope.logic.azure.com/workflows/x?sig=abc123"


def update(old_state: dict[str, Any] | None, new_state: dict[str, Any] | None, diff: dict[str, Any]) -> pj.Step:
    raw = {"op": "update", "urn": WF, "oldState": old_state, "newState": new_state, "detailedDiff": diff}
    (step,) = pj.parse({"steps": [raw], "changeSummary": {"update": 1}}).steps
    return step


@pytest.mark.parametrize("declared_on", ["oldState", "newState"])
def test_a_secret_output_declared_on_either_side_is_blinded_on_both(declared_on):
    # Bug caught: additionalSecretOutputs read from one state only, so the refreshed value (or the desired
    # one) of a secret output, a Logic App URL with its SAS signature, shows in the drift report.
    old = {"inputs": {}, "outputs": {"accessEndpoint": ENDPOINT}}
    new = {"inputs": {"accessEndpoint": ENDPOINT + "&new=1"}}
    states = {"oldState": old, "newState": new}
    states[declared_on] = {**states[declared_on], "additionalSecretOutputs": ["accessEndpoint"]}
    (change,) = pj.property_changes(update(states["oldState"], states["newState"],
                                           {"accessEndpoint": {"kind": "update", "inputDiff": False}}))
    assert (change.current, change.desired) == (pj.SECRET, pj.SECRET)


def test_current_comes_from_the_old_state_and_desired_from_the_new_inputs():
    old = {"inputs": {"sku": "in-old"}, "outputs": {"sku": "out-old"}}
    new = {"inputs": {"sku": "in-new"}, "outputs": {"sku": "out-new"}}
    (output_diff,) = pj.property_changes(update(old, new, {"sku": {"kind": "update", "inputDiff": False}}))
    assert (output_diff.current, output_diff.desired) == ("out-old", "in-new")
    (input_diff,) = pj.property_changes(update(old, new, {"sku": {"kind": "update", "inputDiff": True}}))
    assert (input_diff.current, input_diff.desired) == ("in-old", "in-new")
    # Only on the other side of the old state: the fallback finds it.
    (fallback,) = pj.property_changes(update({"inputs": {"sku": "in-old"}, "outputs": {}}, new,
                                             {"sku": {"kind": "update", "inputDiff": False}}))
    assert fallback.current == "in-old"


def test_a_side_without_a_state_is_absent_not_empty():
    (created,) = pj.property_changes(update(None, {"inputs": {"sku": "s"}}, {"sku": {"kind": "add", "inputDiff": True}}))
    assert created.current is pj._MISSING and created.desired == "s"
    assert created.as_dict() == {"path": "sku", "kind": "add", "desired": "s"}
    (deleted,) = pj.property_changes(update({"outputs": {"sku": "s"}}, None, {"sku": {"kind": "delete", "inputDiff": False}}))
    assert deleted.current == "s" and deleted.desired is pj._MISSING
    assert deleted.as_dict() == {"path": "sku", "kind": "delete", "current": "s"}
    (empty,) = pj.property_changes(update({"outputs": {"sku": "s"}}, {}, {"sku": {"kind": "delete", "inputDiff": False}}))
    assert empty.desired is pj._MISSING


def test_a_resource_drift_reports_every_field_under_its_documented_key():
    doc = {"steps": [{"op": "refresh", "urn": WF}, {"op": "update", "urn": WF, "oldState": {"custom": True, "outputs": {}},
                                                    "newState": {"custom": True, "inputs": {}}, "diffReasons": ["sku"]}],
           "changeSummary": {"update": 1}}
    (r,) = pj.classify(pj.parse(doc)).resources
    assert r.as_dict() == {
        "category": "changed", "operation": "update", "ops": ["refresh", "update"], "urn": WF,
        "type": "azure-native:logic:Workflow", "name": "wf", "custom": True, "delegation": False, "refreshed": True,
        "properties": [{"path": "sku", "kind": None}], "replaceReasons": [],
    }


def test_without_values_a_change_names_its_path_and_kind_only():
    step = update({"outputs": {"sku": "a"}}, {"inputs": {"sku": "b"}}, {"sku": {"kind": "update", "inputDiff": False}})
    (change,) = pj.property_changes(step, with_values=False)
    assert change.current is pj._MISSING and change.desired is pj._MISSING
    assert change.as_dict() == {"path": "sku", "kind": "update"}


# --- documented bounds and defaults --------------------------------------------------------------------------

@pytest.mark.parametrize("count,ok", [(-1, False), (0, True), (1, True)])
def test_a_change_count_is_a_non_negative_integer_zero_included(count, ok):
    doc = {"steps": [], "changeSummary": {"update": count}}
    if ok:
        assert pj.parse(doc).change_summary == {"update": count}
    else:
        with pytest.raises(pj.PreviewFormatError, match=r"changeSummary\['update'\]: must be a non-negative integer \(got -1\)"):
            pj.parse(doc)


@pytest.mark.parametrize("count,changes", [(0, {}), (1, {"update": 1}), (2, {"update": 2})])
def test_a_zero_count_is_no_change_and_one_is(count, changes):
    cls = pj.classify(pj.parse({"steps": [], "changeSummary": {"update": count, "same": 4, "refresh": 3}}))
    assert dict(cls.summary_changes) == changes
    assert cls.has_changes is bool(changes) and cls.unattributed is bool(changes)


def test_an_input_diff_flag_defaults_to_false():
    raw = {"op": "update", "urn": WF, "oldState": {"inputs": {"sku": "in"}, "outputs": {"sku": "out"}},
           "newState": {"inputs": {"sku": "new"}}, "detailedDiff": {"sku": {"kind": "update"}}}
    (step,) = pj.parse({"steps": [raw], "changeSummary": {}}).steps
    assert step.detailed_diff == {"sku": {"kind": "update", "inputDiff": False}}
    (change,) = pj.property_changes(step)
    assert change.input_diff is False and change.current == "out"


@pytest.mark.parametrize("bad_urn", ["urn:pulumi:s::p::t::", "urn:pulumi:s::p::::name", "urn:pulumi:s::p::t",
                                     "urn:other:s::p::t::n", "s::p::t::n"])
def test_a_urn_without_its_type_or_name_is_refused(bad_urn):
    assert pj.parse_urn(bad_urn) is None
    assert pj.parse_urn("urn:pulumi:s::p::a$b::n::x") == ("b", "n::x")  # the name may hold "::"


@pytest.mark.parametrize("step,message", [
    ({"op": "update", "urn": WF, "oldState": []}, r"steps\[0\]\.oldState: must be a resource state object \(got list\)"),
    ({"op": "update", "urn": WF, "newState": {"outputs": "x"}}, r"steps\[0\]\.newState\.outputs: must be an object \(got string\)"),
    ({"op": "update", "urn": WF, "oldState": {"inputs": 1}}, r"steps\[0\]\.oldState\.inputs: must be an object \(got number\)"),
    ({"op": "update", "urn": WF, "provider": 5}, r"steps\[0\]\.provider: must be a string \(got number\)"),
    ({"op": "update", "urn": WF, "detailedDiff": []}, r"steps\[0\]\.detailedDiff: must be an object \(got list\)"),
    ({"op": "update", "urn": WF, "detailedDiff": {"a": 1}},
     r"steps\[0\]\.detailedDiff\['a'\]: must be an object with 'kind' and 'inputDiff' \(got number\)"),
    ({"op": "update", "urn": WF, "detailedDiff": {"a": {"kind": None}}}, r"detailedDiff\['a'\]\.kind: must be a string \(got null\)"),
    ({"op": "update", "urn": WF, "detailedDiff": {"a": {"kind": "add", "inputDiff": "yes"}}},
     r"detailedDiff\['a'\]\.inputDiff: must be true or false \(got string\)"),
])
def test_a_bad_step_field_is_named_with_the_type_it_got(step, message):
    with pytest.raises(pj.PreviewFormatError, match=message):
        pj.parse({"steps": [step], "changeSummary": {}})


def test_a_bad_change_summary_says_what_it_got():
    with pytest.raises(pj.PreviewFormatError, match=r"changeSummary: must be an object of counts per operation \(got list\)"):
        pj.parse({"steps": [], "changeSummary": []})


# --- which operation names a resource, and merged properties ------------------------------------------------

@pytest.mark.parametrize("ops,main", [
    (("same", "weird-op"), "weird-op"),  # an unknown operation still outranks a no-change step
    (("refresh", "weird-op"), "weird-op"),
    (("update", "weird-op"), "update"),  # a known operation outranks an unknown one
    (("weird-op", "delete"), "delete"),
    (("refresh", "update"), "update"),
    (("create-replacement", "replace", "delete-replaced"), "replace"),
])
def test_the_main_operation_is_the_highest_ranked_change(ops, main):
    assert pj._main_op(ops) == main


def test_unknown_operations_are_each_named_in_the_warning():
    steps = [{"op": "zeta", "urn": WF}, {"op": "alpha", "urn": WF.replace("::wf", "::wf2")}]
    cls = pj.classify(pj.parse({"steps": steps, "changeSummary": {}, "maybeCorrupt": True}))
    assert cls.warnings == ("Pulumi reports that one or more resources may be corrupt (maybeCorrupt: true)",
                            "operations this tool does not know were counted as changes: alpha, zeta")


def test_merged_properties_keep_the_first_detailed_entry_per_path():
    # A replacement lists the same path on several steps: the first entry with a diff kind wins, one
    # named only by diffReasons is replaced by a detailed one, and every path is kept once.
    old = {"outputs": {"sku": "azure", "tier": "t"}}
    steps = [
        {"op": "replace", "urn": WF, "oldState": old, "newState": {"inputs": {"sku": "program"}},
         "diffReasons": ["tier"], "detailedDiff": None},
        {"op": "create-replacement", "urn": WF, "oldState": old, "newState": {"inputs": {"sku": "program"}},
         "detailedDiff": {"sku": {"kind": "update-replace", "inputDiff": False}, "tier": {"kind": "update"}}},
        {"op": "delete-replaced", "urn": WF, "oldState": old, "newState": {"inputs": {"sku": "later"}},
         "detailedDiff": {"sku": {"kind": "update", "inputDiff": False}}},
    ]
    (r,) = pj.classify(pj.parse({"steps": steps, "changeSummary": {"replace": 1}})).resources
    by_path = {p.path: p for p in r.properties}
    assert list(by_path) == ["sku", "tier"]
    assert (by_path["sku"].kind, by_path["sku"].desired) == ("update-replace", "program")
    assert by_path["tier"].kind == "update"


# --- second round of survivors ------------------------------------------------------------------------------

def test_another_kind_of_document_is_refused_by_its_name_never_read_as_clean():
    from mssp import documents as kinds

    manifest = {"stack": "contoso", "resources": [], "outputs": {}, "policies": []}
    assert kinds.kind_of(manifest) is not None
    with pytest.raises(pj.PreviewFormatError, match=r"^plan\.json: this is "):
        pj.loads(json.dumps(manifest), "plan.json")


@pytest.mark.parametrize("duration,ok", [(None, True), (0, True), (1.5e9, True), ("1s", False), (True, False)])
def test_a_duration_is_a_number_of_nanoseconds(duration, ok):
    doc = {**CLEAN, "duration": duration}
    if ok:
        assert pj.parse(doc).steps == ()
    else:
        with pytest.raises(pj.PreviewFormatError, match=r"duration: must be a number of nanoseconds \(got (string|boolean)\)"):
            pj.parse(doc)


def test_bad_replace_reasons_are_named_by_their_path():
    with pytest.raises(pj.PreviewFormatError, match=r"^steps\[0\]\.replaceReasons: must be a list of property names$"):
        pj.parse({"steps": [{"op": "replace", "urn": WF, "replaceReasons": "name"}], "changeSummary": {}})


@pytest.mark.parametrize("path,elements", [('["a"][0]', ["a", 0]), ('["a"]b', ["a", "b"]), ("a[0][1]", ["a", 0, 1]),
                                           ("a[0]b", ["a", 0, "b"]), ("a[12", None)])
def test_elements_after_a_bracket_start_right_after_it(path, elements):
    assert pj.parse_property_path(path) == elements


def test_a_hidden_secret_output_absent_on_one_side_stays_absent():
    step = update({"outputs": {"key": "v"}, "additionalSecretOutputs": ["key"]}, None,
                  {"key": {"kind": "delete", "inputDiff": False}})
    (change,) = pj.property_changes(step)
    assert change.current == pj.SECRET and change.desired is pj._MISSING


def test_the_main_operation_of_no_change_steps_is_the_first():
    assert pj._main_op(("refresh", "same")) == "refresh"
