"""Resource Graph discovery against a local server: one query, $skipToken paging, throttling,
malformed answers, unreadable subscriptions."""

from __future__ import annotations

import pytest
from discover_support import SUB_A, SUB_B, WORKSPACE, client_for, rid, row

from components.facts import catalog
from mssp.azure.rest import AzureRestError
from mssp.discover.discovery import (
    SubscriptionAccessError,
    build_query,
    canonical_id,
    discover,
    query_resources,
    unreadable_subscriptions,
)
from testing.fake_arm import FakeArm, Fault, arm_error, throttled

ALL = catalog.supported_types()


def estate() -> list[dict[str, str]]:
    rows = [row(rid(SUB_A if i % 2 else SUB_B, t, f"r{i}"), t) for i, t in enumerate(ALL)]
    # An out-of-scope type in the same subscriptions: the query must not return it.
    rows.append(row(rid(SUB_A, "Microsoft.Compute/virtualMachines", "vm1"), "Microsoft.Compute/virtualMachines"))
    return rows


def test_query_lists_every_type_in_lower_case_and_unions_the_subscriptions() -> None:
    q = build_query(["Microsoft.KeyVault/vaults", "Microsoft.Sql/servers/databases"])
    assert "type in~ ('microsoft.keyvault/vaults', 'microsoft.sql/servers/databases')" in q
    assert "project id, type, subscriptionId" in q
    assert "union (resourcecontainers | where type =~ 'microsoft.resources/subscriptions'" in q
    with pytest.raises(ValueError):
        build_query([])


def test_canonical_id_fixes_keyword_case_and_rejects_non_resources() -> None:
    raw = f"/SUBSCRIPTIONS/{SUB_A}/resourcegroups/RG1/PROVIDERS/Microsoft.KeyVault/vaults/kv1"
    assert canonical_id(raw) == f"/subscriptions/{SUB_A}/resourceGroups/RG1/providers/Microsoft.KeyVault/vaults/kv1"
    assert canonical_id(f"/subscriptions/{SUB_A}/resourceGroups/RG1") is None
    assert canonical_id("not an id") is None


def test_one_query_paged_by_skip_token_with_a_429_in_the_way() -> None:
    with FakeArm(estate(), readable_subscriptions=[SUB_A, SUB_B]) as fake:
        fake.page_cap = 3  # 11 resources + 2 subscription rows -> 5 pages
        fake.graph_faults[2] = throttled("2")
        sleeps: list[float] = []
        result = query_resources(client_for(fake, sleeps), [SUB_A, SUB_B], ALL)
    assert sleeps == [2.0]
    assert result.pages == 5
    assert fake.count("graph") == 6  # five pages, one of them asked twice
    assert {r.type for r in result.resources} == set(ALL)  # catalog spelling, not Resource Graph's lower case
    assert len(result.resources) == len(ALL)
    assert result.readable_subscriptions == {SUB_A, SUB_B}
    first, *later = fake.graph_bodies
    assert first["subscriptions"] == sorted([SUB_A, SUB_B])
    assert first["options"] == {"$top": 1000, "resultFormat": "objectArray"}
    assert all("$skipToken" in b["options"] for b in later)
    assert all(b["query"] == first["query"] for b in later)


def test_rows_that_cannot_be_used_are_ignored_with_a_reason() -> None:
    foreign_sub = "99999999-9999-4999-8999-999999999999"
    rows = [
        row(rid(SUB_A, "Microsoft.KeyVault/vaults", "kv1"), "Microsoft.KeyVault/vaults"),
        {"id": "/subscriptions/x/oops", "type": "microsoft.keyvault/vaults", "subscriptionId": SUB_A},
    ]
    with FakeArm(rows, readable_subscriptions=[SUB_A]) as fake:
        result = query_resources(client_for(fake), [SUB_A], ALL)
    assert [r.id for r in result.resources] == [rows[0]["id"]]
    assert result.ignored == (("/subscriptions/x/oops", "not an ARM resource id"),)
    assert foreign_sub not in result.readable_subscriptions


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"totalRecords": 1, "count": 1, "resultTruncated": "false"}, "expected an object with a 'data' array"),
        ({"data": [{"type": "microsoft.keyvault/vaults"}]}, "a row lacks id, type or subscriptionId"),
        ({"data": [], "resultTruncated": "true"}, "truncated"),
        ({"data": [], "$skipToken": 5}, "$skipToken is not a string"),
    ],
)
def test_malformed_graph_answers_are_errors(answer: dict, message: str) -> None:
    with FakeArm() as fake:
        fake.graph_faults[1] = Fault(200, {}, answer)
        with pytest.raises(AzureRestError, match="Resource Graph query \\(page 1\\)") as err:
            query_resources(client_for(fake), [SUB_A], ALL)
    assert message in str(err.value)


def test_a_skip_token_that_repeats_is_an_error_not_a_loop() -> None:
    with FakeArm() as fake:
        loop = {"data": [], "$skipToken": "same"}
        fake.graph_faults.update({1: Fault(200, {}, loop), 2: Fault(200, {}, loop)})
        with pytest.raises(AzureRestError, match="repeated an earlier \\$skipToken"):
            query_resources(client_for(fake), [SUB_A], ALL)


def test_unreadable_subscriptions_are_named() -> None:
    rows = [row(rid(SUB_A, "Microsoft.KeyVault/vaults", "kv1"), "Microsoft.KeyVault/vaults")]
    with FakeArm(rows, readable_subscriptions=[SUB_A]) as fake:
        client = client_for(fake)
        assert unreadable_subscriptions([SUB_A, SUB_B], query_resources(client, [SUB_A, SUB_B], ALL)) == [SUB_B]
        with pytest.raises(SubscriptionAccessError) as err:
            discover(client, subscriptions=[SUB_A, SUB_B], types=ALL, workspace_id=WORKSPACE, setting_name="x")
    assert err.value.subscriptions == [SUB_B]
    assert SUB_B in str(err.value) and SUB_A not in str(err.value)
    assert fake.count("batch") == 0  # nothing read after the access check failed


def test_a_forbidden_query_names_the_subscriptions() -> None:
    with FakeArm() as fake:
        fake.graph_faults[1] = arm_error(403, "AuthorizationFailed", "no access")
        with pytest.raises(SubscriptionAccessError, match="no access") as err:
            query_resources(client_for(fake), [SUB_B, SUB_A], ALL)
    assert err.value.subscriptions == sorted([SUB_A, SUB_B])
