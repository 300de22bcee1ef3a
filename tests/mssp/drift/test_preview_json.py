"""Parsing and classifying `pulumi preview --json` documents (mssp.drift.preview_json).

Fixtures live in tests/fixtures/preview/ (see its README: the shape is pulumi/pulumi
sdk/go/common/display/json.go's PreviewDigest); small documents built here follow the same shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mssp.drift import preview_json as pj

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "preview"
ROOT_URN = "urn:pulumi:contoso::mssp-sentinel::pulumi:pulumi:Stack::mssp-sentinel-contoso"
DIAG_TYPE = "azure-native:monitor:DiagnosticSetting"


def load(name: str) -> pj.PreviewDigest:
    return pj.loads((FIXTURES / name).read_text(encoding="utf-8"))


def urn(rtype: str, name: str, parent: str = "mssp:forwarding:ResourceForwarding") -> str:
    return f"urn:pulumi:contoso::mssp-sentinel::{parent}${rtype}::{name}"


def step(op: str, u: str, **extra: Any) -> dict[str, Any]:
    # PreviewStep (sdk/go/common/display/json.go): detailedDiff is always present, null when absent.
    return {"op": op, "urn": u, "detailedDiff": None, **extra}


def digest(*steps: dict[str, Any], summary: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
    root = step("same", ROOT_URN)
    return {"steps": [*steps, root], "changeSummary": summary if summary is not None else {"same": 1}, **extra}


# --- facts pinned to Pulumi's sources -------------------------------------------------------------


def test_step_operations_match_pulumi_step_go() -> None:
    # pulumi/pulumi pkg/resource/deploy/step.go StepOps, in order.
    assert pj.KNOWN_OPS == {
        "same", "create", "update", "delete", "replace", "create-replacement", "delete-replaced", "read",
        "read-replacement", "refresh", "discard", "discard-replaced", "remove-pending-replace", "import",
        "import-replacement",
    }  # fmt: skip
    # engine.HasChanges ignores same, read, discard and read-replacement (pkg/engine/update.go).
    assert {"same", "read", "discard", "read-replacement"} < pj.NO_CHANGE_OPS
    assert pj.DIFF_KINDS == {"add", "add-replace", "delete", "delete-replace", "update", "update-replace"}
    assert pj.SEVERITIES == {"debug", "info", "info#err", "warning", "error"}


def test_delegation_types_are_azure_native_tokens() -> None:
    from pulumi_azure_native.managedservices import registration_assignment, registration_definition

    for module in (registration_assignment, registration_definition):
        source = Path(module.__file__).read_text(encoding="utf-8")
        assert any(token in source for token in pj.DELEGATION_TYPES)
    assert pj.DELEGATION_TYPES == {
        "azure-native:managedservices:RegistrationAssignment",
        "azure-native:managedservices:RegistrationDefinition",
    }


# --- fixtures -------------------------------------------------------------------------------------


def test_clean_preview_has_no_drift() -> None:
    parsed = load("clean.json")
    assert {s.op for s in parsed.steps} == {"refresh", "same"}
    result = pj.classify(parsed)
    assert result.resources == ()
    assert result.errors == ()
    assert not result.has_changes


def test_update_and_out_of_band_delete() -> None:
    result = pj.classify(load("update_and_delete.json"))
    by_name = {r.name: r for r in result.resources}
    assert set(by_name) == {"diag-kv-kv-contoso-prod-07afbe9d", "diag-nsg-nsg-web-1cc89a6a"}

    deleted = by_name["diag-nsg-nsg-web-1cc89a6a"]
    assert deleted.category == "deleted"
    assert deleted.refreshed is True
    assert deleted.ops == ("refresh", "create")
    assert deleted.type == DIAG_TYPE

    changed = by_name["diag-kv-kv-contoso-prod-07afbe9d"]
    assert changed.category == "changed"
    props = {p.path: p for p in changed.properties}
    assert set(props) == {"logs[0].categoryGroup", "metrics"}
    # current: the refreshed state (what Azure holds); desired: the program's input.
    assert props["logs[0].categoryGroup"].current == "allLogs"
    assert props["logs[0].categoryGroup"].desired == "audit"
    assert props["metrics"].kind == "add"
    assert "current" not in props["metrics"].as_dict()
    assert props["metrics"].desired == [{"category": "AllMetrics", "enabled": True}]
    # The most severe category comes first.
    assert [r.category for r in result.resources] == ["deleted", "changed"]


def test_removed_delegation_is_its_own_category() -> None:
    result = pj.classify(load("delegation_removed.json"))
    assert len(result.resources) == 1
    removed = result.resources[0]
    assert removed.category == "delegation-removed"
    assert removed.delegation is True
    assert removed.type == "azure-native:managedservices:RegistrationAssignment"
    assert removed.refreshed is True


def test_replace_with_replacement_steps_is_one_resource() -> None:
    result = pj.classify(load("replace.json"))
    assert len(result.resources) == 1
    replaced = result.resources[0]
    assert replaced.category == "replaced"
    assert replaced.ops == ("refresh", "create-replacement", "replace", "delete-replaced")
    assert replaced.as_dict()["operation"] == "replace"
    assert replaced.replace_reasons == ("resourceUri",)
    (prop,) = replaced.properties
    assert (prop.path, prop.kind) == ("resourceUri", "update-replace")
    assert "rg-prod-keyvaults" in prop.desired
    assert "rg-prod-keyvaults" not in prop.current


def test_secret_values_stay_blinded() -> None:
    result = pj.classify(load("secrets.json"))
    (workflow,) = result.resources
    props = {p.path: p for p in workflow.properties}
    assert props["state"].current == "Disabled"
    assert props["state"].desired == "Enabled"
    # "parameters" is a secret as a whole: any path below it reads "[secret]".
    assert props["parameters.splunkToken.value"].current == pj.SECRET
    assert props["parameters.splunkToken.value"].desired == pj.SECRET


def test_failed_preview_reports_its_errors() -> None:
    parsed = load("failed.json")  # no changeSummary: the error diagnostics stand in for it
    result = pj.classify(parsed)
    assert len(result.errors) == 1
    assert "AuthorizationFailed" in result.errors[0]
    assert result.errors[0].startswith(
        "diag-kv-kv-contoso-prod-07afbe9d (azure-native:monitor:DiagnosticSetting): Status=403"
    )
    assert result.warnings == ("the azure-native provider default version will change",)


def test_terraform_plan_is_not_a_pulumi_preview() -> None:
    with pytest.raises(pj.PreviewFormatError, match=r"missing 'steps' and 'changeSummary'.*format_version"):
        load("not_pulumi.json")


# --- classification rules -------------------------------------------------------------------------


def test_create_without_refresh_step_is_missing_not_deleted() -> None:
    u = urn(DIAG_TYPE, "kv-new")
    result = pj.classify(pj.parse(digest(step("create", u), summary={"create": 1, "same": 1})))
    assert [r.category for r in result.resources] == ["missing"]
    assert result.resources[0].refreshed is False


def test_delegation_create_without_refresh_is_still_reported_as_removed() -> None:
    u = urn("azure-native:managedservices:RegistrationDefinition", "def", parent="mssp:lighthouse:Delegation")
    result = pj.classify(pj.parse(digest(step("create", u), summary={"create": 1})))
    (r,) = result.resources
    assert (r.category, r.delegation, r.refreshed) == ("delegation-removed", True, False)


def test_delete_step_is_removed_from_program() -> None:
    u = urn(DIAG_TYPE, "kv-gone-from-inventory")
    old = {"urn": u, "custom": True, "type": DIAG_TYPE, "inputs": {"resourceUri": "/subscriptions/x"}}
    result = pj.classify(pj.parse(digest(step("delete", u, oldState=old), summary={"delete": 1})))
    (r,) = result.resources
    assert r.category == "removed-from-program"
    assert r.custom is True


def test_replace_without_replacement_steps() -> None:
    u = urn(DIAG_TYPE, "kv")
    doc = digest(
        step("replace", u, replaceReasons=["resourceUri"], diffReasons=["resourceUri"]),
        summary={"replace": 1},
    )
    (r,) = pj.classify(pj.parse(doc)).resources
    assert r.category == "replaced"
    assert [p.path for p in r.properties] == ["resourceUri"]
    assert r.properties[0].kind is None  # only diffReasons named it


def test_update_without_detailed_diff_uses_diff_reasons() -> None:
    u = urn(DIAG_TYPE, "kv")
    (r,) = pj.classify(pj.parse(digest(step("update", u, diffReasons=["logs", "metrics"])))).resources
    assert [p.path for p in r.properties] == ["logs", "metrics"]


def test_unknown_operation_counts_as_a_change() -> None:
    u = urn(DIAG_TYPE, "kv")
    result = pj.classify(pj.parse(digest(step("teleport", u))))
    assert [r.category for r in result.resources] == ["other"]
    assert any("teleport" in w for w in result.warnings)


def test_summary_changes_without_steps_are_unattributed_drift() -> None:
    result = pj.classify(pj.parse(digest(summary={"same": 4, "update": 2, "refresh": 5})))
    assert result.resources == ()
    assert result.summary_changes == {"update": 2}
    assert result.has_changes and result.unattributed


def test_refresh_and_read_counts_are_not_changes() -> None:
    result = pj.classify(pj.parse(digest(summary={"same": 4, "refresh": 5, "read": 1, "discard": 1})))
    assert not result.has_changes


def test_same_step_with_protect_change_is_not_drift() -> None:
    # json.go shows a `same` step when only `protect` changed; nothing changes in Azure.
    u = urn(DIAG_TYPE, "kv")
    doc = digest(step("same", u, oldState={"urn": u, "type": DIAG_TYPE, "custom": True, "protect": False}))
    assert pj.classify(pj.parse(doc)).resources == ()


def test_maybe_corrupt_is_a_warning() -> None:
    result = pj.classify(pj.parse(digest(maybeCorrupt=True)))
    assert any("corrupt" in w for w in result.warnings)


def test_plaintext_secret_in_signature_form_never_shows() -> None:
    # A serialized Pulumi secret (SigKey/SecretSig + plaintext), as a state file holds it.
    secret = {pj.SECRET_SIG_KEY: pj.SECRET_SIG, "plaintext": '"hunter2-s3cr3t"'}
    u = urn("azure-native:logic:Workflow", "wf")
    old = {
        "urn": u,
        "type": "azure-native:logic:Workflow",
        "custom": True,
        "inputs": {"token": secret, "nested": {"a": secret}},
    }
    new = {
        "urn": u,
        "type": "azure-native:logic:Workflow",
        "custom": True,
        "inputs": {"token": "[secret]", "nested": {"a": "x"}},
    }
    detailed = {"token": {"kind": "update", "inputDiff": True}, "nested": {"kind": "update", "inputDiff": True}}
    (r,) = pj.classify(pj.parse(digest(step("update", u, oldState=old, newState=new, detailedDiff=detailed)))).resources
    dumped = json.dumps(r.as_dict())
    assert "hunter2" not in dumped
    props = {p.path: p for p in r.properties}
    assert props["token"].current == pj.SECRET
    assert props["nested"].current == {"a": pj.SECRET}


def test_additional_secret_outputs_are_blinded() -> None:
    u = urn("azure-native:logic:Workflow", "wf")
    state = {
        "urn": u,
        "type": "azure-native:logic:Workflow",
        "custom": True,
        "outputs": {"accessEndpoint": "https://prod-01.westeurope.logic.azure.com/workflows/x?sig=abc123"},
        "additionalSecretOutputs": ["accessEndpoint"],
    }
    detailed = {"accessEndpoint": {"kind": "update", "inputDiff": False}}
    doc = digest(step("update", u, oldState=state, newState={**state, "inputs": {}}, detailedDiff=detailed))
    (r,) = pj.classify(pj.parse(doc)).resources
    assert r.properties[0].current == pj.SECRET
    assert "sig=abc123" not in json.dumps(r.as_dict())


# --- malformed documents --------------------------------------------------------------------------

GOOD_URN = urn(DIAG_TYPE, "kv")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], r"JSON list, not an object"),
        ("steps", r"JSON string"),
        ({}, r"missing 'steps' and 'changeSummary' \(keys found: none\)"),
        ({"steps": []}, r"missing 'changeSummary'"),
        ({"steps": {}, "changeSummary": {}}, r"steps: must be a list \(got object\)"),
        ({"steps": [], "changeSummary": []}, r"changeSummary: must be an object"),
        ({"steps": [], "changeSummary": {"update": -1}}, r"changeSummary\['update'\]"),
        ({"steps": [], "changeSummary": {"update": True}}, r"changeSummary\['update'\]"),
        ({"steps": ["x"], "changeSummary": {}}, r"steps\[0\]: must be an object"),
        ({"steps": [{"op": 1, "urn": GOOD_URN}], "changeSummary": {}}, r"steps\[0\]\.op: must be a non-empty string"),
        ({"steps": [{"op": "update"}], "changeSummary": {}}, r"steps\[0\]\.urn"),
        ({"steps": [{"op": "update", "urn": "kv"}], "changeSummary": {}}, r"'kv' is not a Pulumi URN"),
        (
            {"steps": [{"op": "update", "urn": GOOD_URN, "detailedDiff": {"logs": {"kind": 4}}}], "changeSummary": {}},
            r"steps\[0\]\.detailedDiff\['logs'\]\.kind: must be a string",
        ),
        (
            {"steps": [{"op": "update", "urn": GOOD_URN, "diffReasons": "logs"}], "changeSummary": {}},
            r"steps\[0\]\.diffReasons",
        ),
        (
            {"steps": [{"op": "update", "urn": GOOD_URN, "oldState": {"inputs": []}}], "changeSummary": {}},
            r"steps\[0\]\.oldState\.inputs: must be an object",
        ),
        ({"steps": [], "changeSummary": {}, "diagnostics": {}}, r"diagnostics: must be a list"),
        ({"steps": [], "changeSummary": {}, "maybeCorrupt": "no"}, r"maybeCorrupt"),
        ({"steps": [], "changeSummary": {}, "config": {"a": 1}}, r"config: must be an object of strings"),
    ],
)
def test_malformed_documents_are_rejected_with_the_bad_path(doc: Any, message: str) -> None:
    with pytest.raises(pj.PreviewFormatError, match=message):
        pj.parse(doc)


@pytest.mark.parametrize(("text", "message"), [("", r"empty"), ("  \n", r"empty"), ("{steps: 1}", r"not JSON")])
def test_text_that_is_not_json(text: str, message: str) -> None:
    with pytest.raises(pj.PreviewFormatError, match=message):
        pj.loads(text)


def test_json_after_a_stray_line_is_accepted() -> None:
    text = "Downloading plugin azure-native... done\n" + json.dumps(digest())
    assert len(pj.loads(text).steps) == 1


def test_failed_preview_without_summary_is_accepted_only_with_an_error() -> None:
    errored = {"diagnostics": [{"message": "error: program failed\n", "severity": "error"}]}
    assert pj.classify(pj.parse(errored)).errors == ("program failed",)
    warned = {"diagnostics": [{"message": "warning: deprecated\n", "severity": "warning"}]}
    with pytest.raises(pj.PreviewFormatError, match="missing 'steps' and 'changeSummary'"):
        pj.parse(warned)


# --- helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "elements"),
    [
        ("root", ["root"]),
        ("logs[0].categoryGroup", ["logs", 0, "categoryGroup"]),
        ('tags["hidden-link:/x.y"]', ["tags", "hidden-link:/x.y"]),
        ('["key with \\"q\\""].n', ['key with "q"', "n"]),
        ("$connections.value", ["$connections", "value"]),
        ("a[", None),
        ('a["open', None),
        ("a[x]", None),
    ],
)
def test_property_paths_follow_pulumi_grammar(path: str, elements: list[str | int] | None) -> None:
    assert pj.parse_property_path(path) == elements


def test_urn_type_is_the_last_link_of_the_qualified_type() -> None:
    assert pj.parse_urn(urn(DIAG_TYPE, "kv::odd")) == (DIAG_TYPE, "kv::odd")
    assert pj.parse_urn(ROOT_URN) == ("pulumi:pulumi:Stack", "mssp-sentinel-contoso")
    assert pj.parse_urn("urn:pulumi:contoso::mssp-sentinel") is None
    assert pj.parse_urn("arn:aws:x") is None
