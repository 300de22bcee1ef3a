"""Reading existing diagnostic settings (ARM batch, fallback), classifying them, and the verdicts
and inventory changes that follow."""

from __future__ import annotations

import pytest
from discover_support import OTHER_WORKSPACE, SUB_A, SUB_B, WORKSPACE, client_for, rid, row

from components.forwarding.inventory import InventoryItem
from mssp.azure.batch import PagingError, item_name
from mssp.azure.rest import AzureRestError
from mssp.discover.discovery import (
    ExistingSetting,
    FoundResource,
    TargetRead,
    Verdict,
    adopted_setting_names,
    classify,
    decide,
    import_document,
    parse_settings,
    plan_inventory,
    read_settings,
    setting_targets,
)
from testing.fake_arm import FakeArm, Fault, arm_error, make_setting, throttled

KV = "Microsoft.KeyVault/vaults"
ST = "Microsoft.Storage/storageAccounts"
NAME = "mssp-sentinel"


def kv(i: int, sub: str = SUB_A) -> str:
    return rid(sub, KV, f"kv{i:02d}")


def vaults(n: int) -> list[dict[str, str]]:
    return [row(kv(i), KV) for i in range(n)]


# -- reading -------------------------------------------------------------------------------------


def test_settings_are_read_in_batches_of_at_most_twenty() -> None:
    rows = vaults(45)
    settings = {kv(3): [make_setting(kv(3), NAME, workspace_id=WORKSPACE)]}
    with FakeArm(rows, readable_subscriptions=[SUB_A], settings=settings) as fake:
        reads, stats = read_settings(client_for(fake), [r["id"] for r in rows], concurrency=3)
    assert sorted(fake.batch_sizes) == [5, 20, 20]
    assert (stats.batch_calls, stats.single_calls, stats.batch_disabled) == (3, 0, "")
    assert all(r.status == "ok" for r in reads.values()) and len(reads) == 45
    assert [s.name for s in reads[kv(3).lower()].settings] == [NAME]
    assert reads[kv(3).lower()].settings[0].logs == ("allLogs",)


def test_partial_failure_403_is_recorded_and_500_is_read_again_alone() -> None:
    rows = vaults(5)
    with FakeArm(rows, readable_subscriptions=[SUB_A]) as fake:
        fake.item_faults = {kv(1).lower(): [403], kv(2).lower(): [500]}
        reads, stats = read_settings(client_for(fake), [r["id"] for r in rows])
    assert reads[kv(1).lower()].status == "denied"
    assert "AuthorizationFailed" in reads[kv(1).lower()].detail
    assert reads[kv(2).lower()].status == "ok"
    assert (stats.batch_calls, stats.single_calls) == (1, 1)
    assert fake.count("get") == 1


def test_an_item_failing_for_good_fails_the_run() -> None:
    rows = vaults(3)
    with FakeArm(rows, readable_subscriptions=[SUB_A]) as fake:
        fake.item_faults = {kv(0).lower(): [500] * 10}
        with pytest.raises(AzureRestError, match=f"reading the diagnostic settings of {kv(0)}"):
            read_settings(client_for(fake, max_retries=2), [r["id"] for r in rows])


@pytest.mark.parametrize(
    ("refusal", "why"),
    [
        (arm_error(404, "NotFound", "no batch here"), "HTTP 404 NotFound"),
        (arm_error(405, "MethodNotAllowed", "no"), "HTTP 405"),
        (Fault(200, {}, b"<html>not json</html>"), "malformed answer: not JSON"),
        (Fault(200, {}, {"value": []}), "malformed answer"),
        (Fault(200, {}, {"responses": [{"name": "someone-else", "httpStatusCode": 200}]}), "malformed answer"),
    ],
)
def test_a_refused_or_malformed_batch_falls_back_to_single_reads(refusal: Fault, why: str) -> None:
    rows = vaults(25)
    settings = {kv(7).lower(): [make_setting(kv(7), "foreign", workspace_id=OTHER_WORKSPACE)]}
    with FakeArm(rows, readable_subscriptions=[SUB_A], settings=settings) as fake:
        fake.batch_refusal = refusal
        reads, stats = read_settings(client_for(fake), [r["id"] for r in rows], concurrency=1)
    assert why in stats.batch_disabled
    assert stats.batch_calls == 1  # refused once, then single reads only
    assert stats.single_calls == 25 and fake.count("get") == 25
    assert all(r.status == "ok" for r in reads.values())
    assert [s.name for s in reads[kv(7).lower()].settings] == ["foreign"]


def test_a_throttled_batch_is_retried_not_abandoned() -> None:
    rows = vaults(4)
    with FakeArm(rows, readable_subscriptions=[SUB_A]) as fake:
        fake.batch_faults[1] = throttled("3")
        sleeps: list[float] = []
        reads, stats = read_settings(client_for(fake, sleeps), [r["id"] for r in rows])
    assert sleeps == [3.0] and stats.batch_disabled == "" and stats.single_calls == 0
    assert len(reads) == 4


def test_batch_requests_carry_stable_names_and_full_urls() -> None:
    assert item_name(kv(1)) == item_name(kv(1).upper())
    assert item_name(kv(1)) != item_name(kv(2))


def test_storage_accounts_fan_out_to_their_four_services() -> None:
    acct = FoundResource(rid(SUB_A, ST, "st1"), ST, SUB_A)
    assert setting_targets(acct) == [acct.id] + [f"{acct.id}/{s}Services/default" for s in ("blob", "file", "queue", "table")]


def test_settings_list_shape_is_checked() -> None:
    with pytest.raises(ValueError):
        parse_settings({"values": []})
    with pytest.raises(ValueError):
        parse_settings({"value": [{"properties": {}}]})
    s = parse_settings({"value": [make_setting(kv(1), "x", workspace_id=WORKSPACE, logs=["AuditEvent"],
                                               metrics=["AllMetrics"], storage_account_id="/sa")]})[0]
    assert (s.logs, s.metrics, s.other_destinations) == (("AuditEvent",), ("AllMetrics",), ("storageAccountId",))


# -- classifying and deciding --------------------------------------------------------------------


def setting(name: str, ws: str | None = WORKSPACE, logs: tuple[str, ...] = ("allLogs",), metrics: tuple[str, ...] = (),
            other: tuple[str, ...] = ()) -> ExistingSetting:
    return ExistingSetting(f"{kv(1)}/providers/microsoft.insights/diagnosticSettings/{name}", name, ws, logs, metrics, other)


def test_classify() -> None:
    assert classify(setting(NAME), NAME, WORKSPACE.upper()) == "ours"
    assert classify(setting("MSSP-Sentinel"), NAME, WORKSPACE) == "ours"
    assert classify(setting(NAME, ws=OTHER_WORKSPACE), NAME, WORKSPACE) == "foreign"
    assert classify(setting("setByPolicy-LogAnalytics"), NAME, WORKSPACE) == "policy"
    assert classify(setting("SetByPolicy"), NAME, WORKSPACE) == "policy"
    assert classify(setting("soc"), NAME, WORKSPACE) == "foreign"


RES = FoundResource(kv(1), KV, SUB_A)


def verdict(*settings: ExistingSetting, on_conflict: str = "skip", metrics: bool = False) -> Verdict:
    read = TargetRead(RES.id, "ok", tuple(settings))
    return decide(RES, [read], setting_name=NAME, workspace_id=WORKSPACE, on_conflict=on_conflict,
                  sends_metrics=metrics)


def test_no_settings_or_only_ours_or_unrelated_ones_keep_the_resource() -> None:
    assert verdict().action == "keep"
    assert verdict(setting(NAME), setting("a"), setting("b"), setting("c"), setting("d")).action == "keep"
    assert verdict(setting("archive", ws=OTHER_WORKSPACE)).action == "keep"
    assert verdict(setting("metrics-only", logs=(), metrics=("AllMetrics",))).action == "keep"


def test_a_foreign_setting_to_the_mssp_workspace_is_skipped_or_adopted() -> None:
    foreign = setting("soc-export", logs=("AuditEvent",))
    skipped = verdict(foreign)
    assert skipped.action == "skip"
    assert "foreign setting 'soc-export'" in skipped.reasons[0] and "409" in skipped.reasons[0]
    assert "--on-conflict adopt" in skipped.reasons[0]
    adopted = verdict(foreign, on_conflict="adopt")
    assert adopted.action == "adopt"
    assert [a.setting.name for a in adopted.adoptions] == ["soc-export"]


def test_metrics_conflict_only_when_ours_sends_metrics() -> None:
    m = setting("metrics", logs=(), metrics=("AllMetrics",))
    assert verdict(m).action == "keep"
    assert verdict(m, metrics=True).action == "skip"


def test_adoption_is_refused_when_it_would_cut_another_destination() -> None:
    v = verdict(setting("soc", other=("storageAccountId",)), on_conflict="adopt")
    assert v.action == "skip" and "storageAccountId" in v.reasons[0]


def test_two_foreign_settings_cannot_both_be_adopted() -> None:
    v = verdict(setting("a"), setting("b"), on_conflict="adopt")
    assert v.action == "skip" and "2 foreign settings" in v.reasons[0]


def test_policy_made_settings_are_never_adopted() -> None:
    v = verdict(setting("setbypolicy"), on_conflict="adopt")
    assert v.action == "skip" and "policy-made" in v.reasons[0]


def test_five_settings_is_azures_limit() -> None:
    five = [setting(f"s{i}", ws=OTHER_WORKSPACE) for i in range(5)]
    v = verdict(*five)
    assert v.action == "skip" and "5 diagnostic settings, Azure's limit" in v.reasons[0]
    assert verdict(*five[:4]).action == "keep"


def test_our_name_on_another_workspace_is_not_overwritten() -> None:
    v = verdict(setting(NAME, ws=OTHER_WORKSPACE), on_conflict="adopt")
    assert v.action == "skip" and "already exists" in v.reasons[0]


def test_read_failures() -> None:
    assert decide(RES, [TargetRead(RES.id, "missing")], setting_name=NAME, workspace_id=WORKSPACE,
                  on_conflict="skip").action == "vanished"
    v = decide(RES, [TargetRead(RES.id, "denied", detail="HTTP 403 AuthorizationFailed")], setting_name=NAME,
               workspace_id=WORKSPACE, on_conflict="skip")
    assert v.action == "unreadable" and "HTTP 403" in v.reasons[0]


def test_storage_service_conflict_and_missing_service() -> None:
    acct = FoundResource(rid(SUB_A, ST, "st1"), ST, SUB_A)
    targets = setting_targets(acct)
    reads = [TargetRead(targets[0], "ok"), TargetRead(targets[1], "ok", (setting("soc"),)),
             TargetRead(targets[2], "missing"), TargetRead(targets[3], "failed", detail="HTTP 400"),
             TargetRead(targets[4], "ok")]
    v = decide(acct, reads, setting_name=NAME, workspace_id=WORKSPACE, on_conflict="skip")
    assert v.action == "skip" and "on its blobServices" in v.reasons[0]
    v = decide(acct, reads, setting_name=NAME, workspace_id=WORKSPACE, on_conflict="adopt")
    assert v.action == "adopt" and v.adoptions[0].target_uri == targets[1]


# -- inventory and import file -------------------------------------------------------------------


def test_plan_inventory() -> None:
    a, b, c, d = (FoundResource(kv(i), KV, SUB_A) for i in range(4))
    old = [InventoryItem(a.id.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/"), KV),  # old spelling kept
           InventoryItem(kv(8), KV),  # deleted in Azure
           InventoryItem(rid(SUB_B, "Microsoft.Network/azureFirewalls", "afw"), "Microsoft.Network/azureFirewalls"),
           InventoryItem(d.id, KV), InventoryItem(kv(9), KV)]
    verdicts = {
        a.id.lower(): Verdict(a, "keep"),
        b.id.lower(): Verdict(b, "skip", ("conflict",)),
        c.id.lower(): Verdict(c, "adopt"),
        d.id.lower(): Verdict(d, "unreadable", ("HTTP 403",)),
    }
    change = plan_inventory(old, [a, b, c, d], verdicts, exclude=[kv(9)], in_scope=[KV])
    assert [it.id for it in change.items] == sorted([old[0].id, c.id, d.id, kv(9)], key=str.lower)
    assert change.added == (c.id,)
    assert dict(change.removed) == {
        kv(8): "not found in Azure (deleted, moved, or not visible to the identity)",
        old[2].id: "type Microsoft.Network/azureFirewalls is no longer in forwarding.resourceTypes",
    }
    assert change.kept[0][0] == d.id and "kept from the old inventory" in change.kept[0][1]
    assert "forwarding.exclude names it" in change.warnings[0]


def test_import_document_shape_and_adopted_names() -> None:
    v = verdict(setting("soc-export"), on_conflict="adopt")
    doc = import_document(v.adoptions, logical_name=lambda a: "diag-kv-x", parent=("p", "urn:pulumi:s::proj::t::p"),
                          provider=lambda a: ("prov", "urn:pulumi:s::proj::pulumi:providers:azure-native::prov"))
    assert doc == {
        "nameTable": {"p": "urn:pulumi:s::proj::t::p", "prov": "urn:pulumi:s::proj::pulumi:providers:azure-native::prov"},
        "resources": [{"type": "azure-native:monitor:DiagnosticSetting", "name": "diag-kv-x",
                       "id": v.adoptions[0].setting.id, "parent": "p", "provider": "prov"}],
    }
    assert adopted_setting_names(doc) == {"diag-kv-x": "soc-export"}


def test_a_garbled_batch_item_is_read_again_alone() -> None:
    rows = vaults(3)
    with FakeArm(rows, readable_subscriptions=[SUB_A]) as fake:
        fake.garbled_items = {kv(1).lower()}
        reads, stats = read_settings(client_for(fake), [r["id"] for r in rows])
    assert reads[kv(1).lower()].status == "ok"
    assert (stats.batch_calls, stats.single_calls, stats.batch_disabled) == (1, 1, "")


def test_a_paged_settings_list_is_followed_to_its_last_page() -> None:
    rows = vaults(3)
    clash = make_setting(kv(1), "soc-export", workspace_id=WORKSPACE)  # sends to the MSSP workspace: a 409
    settings = {kv(1): [make_setting(kv(1), "a", workspace_id=OTHER_WORKSPACE), clash]}
    with FakeArm(rows, readable_subscriptions=[SUB_A], settings=settings) as fake:
        fake.settings_page_size = 1  # {value: [a], nextLink} then {value: [soc-export]}
        reads, stats = read_settings(client_for(fake), [r["id"] for r in rows])
    # A reader that stops at page one would see no clash and keep the vault.
    assert [s.name for s in reads[kv(1).lower()].settings] == ["a", "soc-export"]
    assert (stats.batch_calls, stats.single_calls) == (1, 1) and fake.count("get") == 1


def test_a_next_link_off_the_arm_endpoint_ends_the_run() -> None:
    rows = vaults(1)
    with FakeArm(rows, readable_subscriptions=[SUB_A], settings={kv(0): [make_setting(kv(0), "a")] * 2}) as fake:
        fake.settings_page_size = 1
        fake.link_base = "https://evil.example"  # the bearer token must never go there
        with pytest.raises(PagingError, match=f"diagnostic settings of {kv(0)}: nextLink off the ARM endpoint"):
            read_settings(client_for(fake), [kv(0)])
    assert fake.count("get") == 0


def test_a_later_page_that_cannot_be_read_ends_the_run() -> None:
    rows = vaults(1)
    with FakeArm(rows, readable_subscriptions=[SUB_A], settings={kv(0): [make_setting(kv(0), "a")] * 2}) as fake:
        fake.settings_page_size = 1
        fake.item_faults = {kv(0).lower(): [None, 403]}  # page one reads fine, page two is refused
        with pytest.raises(AzureRestError, match=r"\(page 2\): could not read the page: HTTP 403 AuthorizationFailed"):
            read_settings(client_for(fake), [kv(0)])


def test_a_single_read_answering_200_with_no_json_ends_the_run_cleanly() -> None:
    # Was an AssertionError (an internal error, exit 70): now the Azure error the command reports.
    rows = vaults(2)
    with FakeArm(rows, readable_subscriptions=[SUB_A]) as fake:
        fake.bodies = {kv(1).lower(): b"<html>sign in</html>"}
        with pytest.raises(AzureRestError, match=f"diagnostic settings of {kv(1)}: HTTP 200: malformed answer"):
            read_settings(client_for(fake), [r["id"] for r in rows], use_batch=False)


def test_a_resource_deleted_after_indexing_is_not_inventoried() -> None:
    from mssp.discover.discovery import discover

    rows = vaults(2)
    with FakeArm(rows, readable_subscriptions=[SUB_A]) as fake:
        fake.gone = {kv(1).lower()}
        report = discover(client_for(fake), subscriptions=[SUB_A], types=[KV], workspace_id=WORKSPACE,
                          setting_name=NAME, old_inventory=[InventoryItem(kv(1), KV)])
    assert [it.id for it in report.change.items] == [kv(0)]
    assert report.change.removed[0][0] == kv(1) and "no longer exists" in report.change.removed[0][1]
    assert [v.action for v in report.verdicts] == ["keep", "vanished"]
