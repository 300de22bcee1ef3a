"""`mssp drift STACK --settings` against the local fake ARM server (testing.fake_arm): ARM /batch 20 a call,
single GETs only for what the batch refused, paging, throttling, partial failure, and errors that
never read as clean. Call counts are asserted on the server's own counter."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from mssp.azure.batch import BatchReader, parse_responses
from mssp.discover import command as discover_cmd
from mssp.drift import settings as sd
from testing.fake_arm import FakeArm, Fault, arm_error, make_setting, server_error, throttled
from tests.mssp.discover.discover_support import client_for

WS = "/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg-mssp-sentinel/providers/Microsoft.OperationalInsights/workspaces/law-mssp-sentinel"
OTHER_WS = "/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg-other/providers/Microsoft.OperationalInsights/workspaces/law-other"
SUB = "b0000000-0000-4000-8000-000000000001"


def synthetic_manifest(count: int, dedicated_every: int = 7) -> dict[str, Any]:
    """A plan manifest with `count` resource settings and one Activity-log setting, shaped like mssp plan's."""
    resources: list[dict[str, Any]] = [{
        "urn": "p", "type": "pulumi:providers:azure-native", "name": f"forward-{SUB}", "parent": None, "custom": True,
        "provider": None, "inputs": {"subscriptionId": SUB}, "options": {},
    }, {
        "urn": "a", "type": sd.SUBSCRIPTION_SETTING, "name": "activity", "parent": None, "custom": True,
        "provider": f"forward-{SUB}", "options": {},
        "inputs": {"name": "mssp-sentinel", "workspaceId": WS,
                   "logs": [{"category": "Administrative", "enabled": True}, {"category": "Security", "enabled": True}]},
    }]
    for i in range(count - 1):
        inputs: dict[str, Any] = {
            "name": "mssp-sentinel", "workspaceId": WS,
            "resourceUri": f"/subscriptions/{SUB}/resourceGroups/rg-{i // 50}/providers/Microsoft.KeyVault/vaults/kv-{i:05d}",
            "logs": [{"categoryGroup": "audit" if i % 3 else "allLogs", "enabled": True}],
        }
        if i % 5 == 0:
            inputs["metrics"] = [{"category": "AllMetrics", "enabled": True}]
        if i % dedicated_every == 0:
            inputs["logAnalyticsDestinationType"] = "Dedicated"
        resources.append({"urn": f"s{i}", "type": sd.DIAGNOSTIC_SETTING, "name": f"diag-{i}", "parent": None,
                          "custom": True, "provider": f"forward-{SUB}", "inputs": inputs, "options": {}})
    return {"stack": "big", "resources": resources, "outputs": {}, "policies": []}


def as_planned(e: sd.Expected) -> dict[str, Any]:
    return make_setting(e.target, e.name, workspace_id=e.workspace_id, logs=e.logs, metrics=e.metrics,
                        destination_type=e.destination_type)


def fake_for(manifest: dict[str, Any]) -> tuple[FakeArm, list[sd.Expected]]:
    """A server whose Azure holds exactly what the plan expects."""
    expected = sd.expected_settings(manifest)
    rows = [{"id": e.target, "type": "Microsoft.Test/things", "subscriptionId": SUB} for e in expected]
    settings: dict[str, list[dict[str, Any]]] = {}
    for e in expected:
        settings.setdefault(e.target, []).append(as_planned(e))
    return FakeArm(rows, readable_subscriptions=[SUB], settings=settings), expected


def key(fake: FakeArm, target: str) -> str:
    return target.lower()


def sd_answer(status: int, content: Any) -> Any:
    from mssp.azure.batch import Answer

    return Answer(status, content)


def run_check(fake: FakeArm, manifest: dict[str, Any], **kwargs: Any) -> sd.SettingsDrift:
    return sd.check(manifest["stack"], manifest, client_for(fake, max_retries=3), **kwargs)


def test_a_clean_stack_is_clean_in_ceil_s_over_20_batch_calls_and_nothing_else():
    manifest = synthetic_manifest(95)
    fake, expected = fake_for(manifest)
    with fake:
        result = run_check(fake, manifest)
    assert result.status == "clean" and result.exit_code == 0 and result.findings == []
    assert result.expected == len(expected) == 95
    assert fake.count("batch") == math.ceil(95 / 20) == result.calls["batch"]
    assert fake.count("get") == 0 and fake.count("poll") == 0
    assert max(fake.batch_sizes) == 20


def plant_drift(fake: FakeArm, expected: list[sd.Expected], seed: int = 13) -> dict[str, set[str]]:
    """Change, remove and add settings on the server at random; what a correct check must find."""
    rnd = random.Random(seed)
    resources = [e for e in expected if "/providers/" in e.target]
    picks = rnd.sample(resources, 40)
    truth: dict[str, set[str]] = {"changed": set(), "missing": set(), "foreign": set(), "gone": set()}
    for n, e in enumerate(picks):
        k = key(fake, e.target)
        if n < 8:  # destination workspace
            fake.settings[k] = [make_setting(e.target, e.name, workspace_id=OTHER_WS, logs=e.logs, metrics=e.metrics,
                                             destination_type=e.destination_type)]
            truth["changed"].add(e.target)
        elif n < 14:  # categories
            fake.settings[k] = [make_setting(e.target, e.name, workspace_id=e.workspace_id, logs=("Audit-only",),
                                             metrics=e.metrics, destination_type=e.destination_type)]
            truth["changed"].add(e.target)
        elif n < 20:  # destination type
            flipped = None if e.destination_type else "Dedicated"
            fake.settings[k] = [make_setting(e.target, e.name, workspace_id=e.workspace_id, logs=e.logs,
                                             metrics=e.metrics, destination_type=flipped)]
            truth["changed"].add(e.target)
        elif n < 28:  # deleted by hand
            fake.settings[k] = []
            truth["missing"].add(e.target)
        elif n < 34:  # someone else's setting sends the same logs to the MSSP workspace
            fake.settings[k].append(make_setting(e.target, "team-x-logs", workspace_id=WS, logs=("AuditEvent",)))
            truth["foreign"].add(e.target)
        else:  # the resource was deleted
            fake.gone.add(k)
            truth["gone"].add(e.target)
    # Noise that is no drift: a foreign setting to another workspace.
    quiet = next(e for e in resources if e not in picks)
    fake.settings[key(fake, quiet.target)].append(make_setting(quiet.target, "other", workspace_id=OTHER_WS, logs=("allLogs",)))
    return truth


def found(result: sd.SettingsDrift) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"changed": set(), "missing": set(), "foreign": set(), "gone": set()}
    for f in result.findings:
        out[f.kind].add(f.target)
    return out


def test_ten_thousand_settings_in_500_calls_find_every_planted_drift():
    manifest = synthetic_manifest(10_000)
    fake, expected = fake_for(manifest)
    truth = plant_drift(fake, expected)
    with fake:
        result = run_check(fake, manifest, concurrency=8)
    assert found(result) == truth
    assert result.status == "drift" and result.exit_code == 3
    # ceil(S/20) batch calls and no single reads: nothing was refused.
    assert fake.count("batch") == 500 and len(fake.calls) == 500
    changed = {f.target: f.changes for f in result.findings if f.kind == "changed"}
    assert any("workspaceId" in c for c in changed.values())
    assert any("logs" in c for c in changed.values())
    assert any("logAnalyticsDestinationType" in c for c in changed.values())


def test_throttled_batches_are_retried_after_retry_after():
    manifest = synthetic_manifest(60)
    fake, expected = fake_for(manifest)
    truth = plant_drift_small(fake, expected)
    fake.batch_faults = {1: throttled("2"), 2: throttled("1")}
    sleeps: list[float] = []
    with fake:
        result = sd.check("big", manifest, client_for(fake, sleeps, max_retries=3))
    assert found(result) == truth
    assert sorted(sleeps)[-2:] == [1.0, 2.0]  # waited as the server asked
    # ceil(60/20) = 3 batch calls, plus the two throttled attempts the client repeated.
    assert fake.count("batch") == 3 + 2 and fake.count("get") == 0


def plant_drift_small(fake: FakeArm, expected: list[sd.Expected]) -> dict[str, set[str]]:
    e1, e2, e3 = [e for e in expected if "/providers/" in e.target][:3]
    fake.settings[key(fake, e1.target)] = []
    fake.settings[key(fake, e2.target)][0]["properties"]["workspaceId"] = OTHER_WS
    fake.settings[key(fake, e3.target)].append(make_setting(e3.target, "setbypolicy", workspace_id=WS, logs=("allLogs",)))
    return {"missing": {e1.target}, "changed": {e2.target}, "foreign": {e3.target}, "gone": set()}


def test_items_the_batch_answers_500_or_429_are_read_again_one_by_one():
    manifest = synthetic_manifest(100)
    fake, expected = fake_for(manifest)
    truth = plant_drift_small(fake, expected)
    refused = [e.target for e in expected[10:17]]
    for n, target in enumerate(refused):
        fake.item_faults[key(fake, target)] = [500 if n % 2 else 429]
    with fake:
        result = run_check(fake, manifest)
    assert found(result) == truth
    (policy,) = [f for f in result.findings if f.kind == "foreign"]
    assert policy.setting == "setbypolicy" and "Azure Policy" in policy.detail
    assert result.calls["refusedItems"] == len(refused) == fake.count("get")
    # At most ceil(S/20) batch calls plus one fallback read per refused answer.
    assert len(fake.calls) == math.ceil(100 / 20) + len(refused)


def test_a_refused_batch_endpoint_falls_back_to_single_reads():
    manifest = synthetic_manifest(30)
    fake, expected = fake_for(manifest)
    truth = plant_drift_small(fake, expected)
    fake.batch_refusal = arm_error(400, "BatchNotSupported", "no batch here")
    with fake:
        result = run_check(fake, manifest)
    assert found(result) == truth
    # Chunks already in flight when the refusal came each tried once; then 30 single GETs, no more batches.
    assert 1 <= fake.count("batch") <= math.ceil(30 / 20) and fake.count("get") == 30


def test_a_running_batch_is_polled_at_its_location():
    manifest = synthetic_manifest(41)
    fake, expected = fake_for(manifest)
    truth = plant_drift_small(fake, expected)
    fake.batch_pending = 2  # 202 from /batch, one more 202 from the Location, then the answer
    with fake:
        result = run_check(fake, manifest)
    assert found(result) == truth
    # Two polls per batch: the first Location answer is still 202, the second the responses.
    assert fake.count("batch") == 3 and fake.count("poll") == 6 == result.calls["batchPolls"]


def test_paged_settings_lists_are_followed_by_next_link():
    manifest = synthetic_manifest(21)
    fake, expected = fake_for(manifest)
    target = [e for e in expected if "/providers/" in e.target][4]
    k = key(fake, target.target)
    # Ours comes last, on the third page: a check that stops at page one would call it missing.
    fake.settings[k] = [make_setting(target.target, "a-foreign", workspace_id=WS, logs=("AuditEvent",)),
                        make_setting(target.target, "b-elsewhere", workspace_id=OTHER_WS, logs=("allLogs",)),
                        fake.settings[k][0]]
    fake.settings_page_size = 1
    with fake:
        result = run_check(fake, manifest)
    assert [(f.kind, f.target, f.setting) for f in result.findings] == [("foreign", target.target, "a-foreign")]
    assert result.calls["pages"] == 2 == fake.count("get")
    assert fake.count("batch") == 2


def test_an_unreadable_answer_is_an_error_never_clean():
    manifest = synthetic_manifest(25)
    fake, expected = fake_for(manifest)
    fake.item_faults[key(fake, expected[3].target)] = [403]
    with fake:
        result = run_check(fake, manifest)
    assert result.status == "error" and result.exit_code == 1
    (err,) = [f for f in result.findings if f.kind == "error"]
    assert err.target == expected[3].target and "403" in err.detail


def test_a_failure_that_outlasts_the_retries_is_an_error_never_clean():
    manifest = synthetic_manifest(25)
    fake, expected = fake_for(manifest)
    fake.item_faults[key(fake, expected[0].target)] = [500] * 20  # the batch item and every single retry
    with fake:
        result = run_check(fake, manifest)
    assert (result.status == "error" and result.exit_code == 1 and result.findings == []) or result.errors
    assert result.errors and "500" in result.errors[0]
    assert sd.render_markdown(result.to_json()).count("**Status: error** (exit 1)") == 1


def test_a_batch_call_failing_beyond_the_retries_is_an_error_not_clean():
    manifest = synthetic_manifest(10)
    fake, _ = fake_for(manifest)
    fake.batch_faults = {n: server_error() for n in range(1, 5)}
    with fake:
        result = sd.check("big", manifest, client_for(fake, max_retries=1))
    assert result.status == "error" and result.exit_code == 1 and result.findings == []
    assert fake.count("batch") == 2  # the call and its one retry, then no guessing


def test_a_garbled_batch_item_is_read_again_and_a_garbled_list_is_an_error():
    manifest = synthetic_manifest(10)
    fake, expected = fake_for(manifest)
    fake.garbled_items.add(key(fake, expected[2].target))
    with fake:
        result = run_check(fake, manifest)
    assert result.status == "clean" and fake.count("get") == 1  # re-read on its own, and fine then
    reader = BatchReader(client_for(fake))  # makes no call: the first answer is judged as it is
    assert sd.read_target(reader, "/x", sd_answer(200, {"value": "nope"}))[1].startswith("malformed")


def test_the_reading_functions_name_their_types_not_any():
    import typing
    from collections.abc import Callable, Mapping

    from mssp.azure.batch import Answer

    hints = {name: typing.get_type_hints(getattr(sd, name)) for name in ("read_target", "_readable", "check", "run")}
    assert hints["read_target"]["reader"] is BatchReader and hints["read_target"]["first"] is Answer
    assert hints["_readable"]["answer"] is Answer
    assert hints["check"]["progress"] == Callable[[str], None]
    assert typing.get_type_hints(sd.Finding)["changes"] == Mapping[str, Mapping[str, sd.Value]]
    for name, h in hints.items():
        assert typing.Any not in h.values(), name


def test_parse_responses_matches_names_and_rejects_other_shapes():
    names = {"n1": "/a", "n2": "/b"}
    body = {"responses": [{"name": "n1", "httpStatusCode": 200, "content": {"value": []}, "headers": {}},
                          {"name": "n2", "httpStatusCode": 404, "content": {}, "headers": {}}]}
    got = parse_responses(body, names)
    assert got is not None and got["/a"].status == 200 and got["/b"].status == 404
    assert parse_responses({"value": []}, names) is None
    assert parse_responses({"responses": [{"name": "x", "httpStatusCode": 200}]}, names) is None
    assert parse_responses({"responses": [{"name": "n1", "httpStatusCode": True}]}, names) is None


def test_batch_reader_chunks_of_twenty():
    fake = FakeArm([{"id": f"/subscriptions/{SUB}/x/{i}", "type": "t", "subscriptionId": SUB} for i in range(45)])
    with fake:
        reader = BatchReader(client_for(fake))
        answers = reader.get_all([f"/subscriptions/{SUB}/x/{i}/providers/Microsoft.Insights/diagnosticSettings"
                                  "?api-version=2021-05-01-preview" for i in range(45)], what="t")
    assert len(answers) == 45 and all(a.status == 200 for a in answers.values())
    assert sorted(fake.batch_sizes) == [5, 20, 20]


def test_a_batch_answer_that_is_not_json_disables_batch_and_says_why():
    urls = [f"/subscriptions/{SUB}/x/{i}/providers/Microsoft.Insights/diagnosticSettings"
            "?api-version=2021-05-01-preview" for i in range(3)]
    fake = FakeArm([{"id": f"/subscriptions/{SUB}/x/{i}", "type": "t", "subscriptionId": SUB} for i in range(3)])
    fake.batch_refusal = Fault(200, {}, b"<html>portal sign-in page</html>")
    with fake:
        reader = BatchReader(client_for(fake), concurrency=1)
        answers = reader.get_all(urls, what="t")
    assert reader.stats.batch_disabled == "malformed answer: not JSON"
    assert all(a.status == 200 for a in answers.values()) and fake.count("get") == 3


def test_a_401_on_one_item_is_its_answer_whether_batched_or_single():
    """ARM answers 401 InvalidAuthenticationTokenTenant for a subscription of another tenant: that item's
    answer, not the end of the run, and the same from a batch item and from a single GET."""
    uri = f"/subscriptions/{SUB}/x/1"
    url = f"{uri}/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview"
    for use_batch in (True, False):
        fake = FakeArm([{"id": uri, "type": "t", "subscriptionId": SUB}])
        fake.item_faults = {uri.lower(): [401]}
        with fake:
            answer = BatchReader(client_for(fake), use_batch=use_batch).get_all([url], what="t")[url]
        assert answer.status == 401 and answer.content["error"]["code"] == "InvalidAuthenticationTokenTenant"
        assert fake.count("get") == (0 if use_batch else 1)


def test_expected_settings_of_the_example_plan(manifest):
    plan = manifest("contoso")
    expected = sd.expected_settings(plan)
    diag = [r for r in plan["resources"] if r["type"] in (sd.DIAGNOSTIC_SETTING, sd.SUBSCRIPTION_SETTING)]
    assert len(expected) == len(diag) > 0
    activity = [e for e in expected if e.target.count("/") == 2]
    assert {e.target for e in activity} == {f"/subscriptions/{s}" for s in ("3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f",
                                                                              "4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80")}
    assert all(e.workspace_id.endswith("/workspaces/law-mssp-sentinel") for e in expected)
    assert any(e.destination_type == "Dedicated" for e in expected)


def test_cli_settings_mode_reports_markdown_and_json_with_drift_exit_codes(manifest, run_cli, monkeypatch, tmp_path: Path):
    plan = manifest("contoso")
    fake, expected = fake_for(plan)
    e = next(x for x in expected if "/providers/" in x.target)
    fake.settings[key(fake, e.target)] = []
    with fake:
        monkeypatch.setattr(discover_cmd, "arm_client", lambda customer: client_for(fake, max_retries=1))
        out, md = tmp_path / "r.json", tmp_path / "r.md"
        code, stdout, err = run_cli(["drift", "contoso", "--settings", "--json", str(out), "--markdown", str(md)])
        assert code == 3, err
        report = json.loads(out.read_text())
        assert report["status"] == "drift" and report["counts"] == {"missing": 1}
        assert report["findings"][0]["target"] == e.target
        assert "**Status: drift** (exit 3): 1 missing." in md.read_text() and md.read_text() in stdout
        assert fake.count("batch") == math.ceil(len({x.target.lower() for x in expected}) / 20)

        fake.settings[key(fake, e.target)] = [as_planned(e)]
        code, stdout, _ = run_cli(["drift", "contoso", "--settings"])
        assert code == 0 and "**Status: clean** (exit 0)" in stdout

    code, _, err = run_cli(["drift", "contoso", "--settings", "--from-json", "x.json"])
    assert code == 2 and "--settings" in err
    code, _, err = run_cli(["drift", "nosuch", "--settings"])
    assert code == 2 and "no stack file" in err


@pytest.mark.parametrize("ours,theirs,overlap", [
    (("allLogs",), ("AuditEvent",), ["AuditEvent"]),
    (("audit",), ("allLogs",), ["allLogs"]),
    (("audit",), ("AuditEvent",), ["AuditEvent"]),
    (("A",), ("audit",), ["audit"]),
    (("A", "B"), ("b", "C"), ["b"]),
    (("A",), ("C",), []),
    ((), ("C",), []),
])
def test_category_overlap(ours, theirs, overlap):
    assert sd._overlap(ours, theirs) == overlap


def test_links_off_the_arm_endpoint_are_not_followed():
    """The bearer token goes with every request: a nextLink or Location elsewhere is an error, not a read."""
    from mssp.azure.batch import on_endpoint

    manifest = synthetic_manifest(3)
    fake, _ = fake_for(manifest)
    with fake:
        client = client_for(fake)
        reader = BatchReader(client)
        assert on_endpoint(client, f"{fake.base_url}/subscriptions/x") and on_endpoint(client, "/subscriptions/x")
        assert not on_endpoint(client, "https://evil.example/subscriptions/x")
        assert not on_endpoint(client, "//evil.example/x")
        settings, error, _ = sd.read_target(reader, "/t", sd_answer(200, {"value": [], "nextLink": "https://evil.example/p2"}))
    assert settings == [] and "off the ARM endpoint" in error and len(fake.calls) == 0


def test_our_setting_that_also_sends_elsewhere_is_changed_not_clean():
    # Bug: a setting of ours edited to also send the customer's logs to a storage account or event hub
    # read as clean, since only the workspace, categories and metrics were compared.
    from mssp.discover.discovery import ExistingSetting

    ws = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"
    target = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
    expected = sd.Expected(target=target, name="mssp-sentinel", logical_name="diag-kv", workspace_id=ws,
                           logs=("audit",), metrics=(), destination_type=None)

    def actual(other: tuple[str, ...]) -> ExistingSetting:
        fields = {"id": f"{target}/providers/microsoft.insights/diagnosticSettings/mssp-sentinel", "name": "mssp-sentinel",
                  "workspace_id": ws, "logs": ("audit",), "metrics": (), "other_destinations": other}
        if "destination_type" in ExistingSetting.__dataclass_fields__:
            fields["destination_type"] = None
        return ExistingSetting(**fields)

    assert sd.compare_target([expected], [actual(())]) == []
    (finding,) = sd.compare_target([expected], [actual(("storageAccountId",))])
    assert finding.kind == "changed" and "destinations" in finding.changes
