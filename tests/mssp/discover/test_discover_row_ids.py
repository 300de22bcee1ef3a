"""Discovery takes a Resource Graph row's subscription and type from its resource id, never from columns
that can disagree with it, and flags a row whose columns do.

Bugs these catch: a row whose `subscriptionId` column names a customer subscription while its id is in
another tenant's subscription, written into the customer's inventory (the program would then configure a
foreign resource); a subscription row that makes a subscription look readable by its column; ids compared
case-sensitively although ARM treats them case-insensitively (a resource counted twice, or flagged for
nothing); a disagreement used silently.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from discover_support import SUB_A, SUB_B, client_for, make_project, rid, row

from mssp.azure import arm as arm_api
from mssp.cli import main
from mssp.discover import command as discover_cmd
from mssp.discover.discovery import query_resources
from testing.fake_arm import FakeArm, Fault

KV = "Microsoft.KeyVault/vaults"
SA = "Microsoft.Storage/storageAccounts"
FOREIGN = "9f9f9f9f-0000-4000-8000-000000000001"  # a subscription that is not the customer's


def page(rows: list[dict[str, Any]]) -> Fault:
    """One Resource Graph page (resourcegraph.json 2022-10-01 QueryResponse) with exactly these rows."""
    return Fault(200, {}, {"totalRecords": len(rows), "count": len(rows), "resultTruncated": "false",
                           "facets": [], "data": rows})


def subscription_row(sub: str, column: str | None = None) -> dict[str, str]:
    return {"id": f"/subscriptions/{sub}", "type": arm_api.SUBSCRIPTION_TYPE, "subscriptionId": column or sub}


def graph(rows: list[dict[str, Any]]) -> Any:
    with FakeArm() as fake:
        fake.graph_faults[1] = page(rows)
        return query_resources(client_for(fake), [SUB_A, SUB_B], [KV, SA])


def lying(rid_: str, rtype: str, column_sub: str) -> dict[str, str]:
    return {**row(rid_, rtype), "subscriptionId": column_sub}


@pytest.mark.parametrize("column", [SUB_A, SUB_B, SUB_A.upper()])
def test_a_foreign_resource_claiming_a_customer_subscription_is_ignored_and_flagged(column):
    foreign = rid(FOREIGN, KV, "kv-elsewhere")
    result = graph([subscription_row(SUB_A), subscription_row(SUB_B), lying(foreign, KV, column)])
    assert result.resources == ()
    assert [i for i, _ in result.ignored] == [foreign]
    assert "is not one of the customer's" in result.ignored[0][1]
    assert [i for i, _ in result.flagged] == [foreign] and FOREIGN in result.flagged[0][1]


def test_a_customer_resource_with_a_wrong_column_is_kept_under_its_ids_subscription_and_flagged():
    kv = rid(SUB_A, KV, "kv-a")
    result = graph([subscription_row(SUB_A), subscription_row(SUB_B), lying(kv, KV, SUB_B)])
    assert [(r.id, r.subscription_id) for r in result.resources] == [(kv, SUB_A)]
    assert [i for i, _ in result.flagged] == [kv]


@pytest.mark.parametrize("spell", [str.upper, str.lower, lambda s: s.replace("/subscriptions/", "/SUBSCRIPTIONS/")])
def test_case_differences_are_not_disagreements(spell):
    kv = rid(SUB_A, KV, "kv-a")
    shown = spell(kv) if spell is not str.lower else kv.replace(SUB_A, SUB_A.upper())
    result = graph([subscription_row(SUB_A), subscription_row(SUB_B.upper(), SUB_B),
                    {**row(kv, KV), "id": shown, "subscriptionId": SUB_A.upper()}])
    assert result.flagged == ()
    assert [r.subscription_id for r in result.resources] == [SUB_A]
    assert result.readable_subscriptions == {SUB_A, SUB_B}


def test_a_subscription_row_counts_as_readable_by_its_id_not_its_column():
    result = graph([subscription_row(FOREIGN, SUB_A), subscription_row(SUB_B)])
    assert SUB_A not in result.readable_subscriptions and FOREIGN in result.readable_subscriptions
    assert [i for i, _ in result.flagged] == [f"/subscriptions/{FOREIGN}"]


def test_the_type_comes_from_the_id_too():
    account = rid(SUB_A, SA, "stacct")
    result = graph([subscription_row(SUB_A), subscription_row(SUB_B), {**row(account, SA), "type": KV.lower()}])
    assert [r.type for r in result.resources] == [SA]
    assert [i for i, _ in result.flagged] == [account] and "type column" in result.flagged[0][1]


def test_discover_never_writes_a_foreign_resource_and_names_the_row(tmp_path, monkeypatch, capsys):
    """End to end: the fake Resource Graph serves the customer's estate plus one foreign key vault whose
    subscriptionId column names a customer subscription. Its settings read fine (an empty list), so a
    discovery trusting the column would write it into the inventory."""
    project = make_project(tmp_path)
    inventory = project / "stacks" / "inventories" / "contoso.yaml"
    estate = [row(r["id"], r["type"]) for r in yaml.safe_load(inventory.read_text())["resources"]]
    foreign = rid(FOREIGN, KV, "kv-elsewhere")
    with FakeArm([*estate, lying(foreign, KV, SUB_A)], readable_subscriptions=[SUB_A, SUB_B]) as fake:
        monkeypatch.setattr(discover_cmd, "make_client", lambda ctx: client_for(fake))
        code = main(["discover", "contoso", "--project-dir", str(project)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert foreign.lower() not in inventory.read_text().lower()
    assert "columns disagree with their id" in out and foreign in out


@pytest.mark.parametrize("kind", [None, "", "StorageV9", "StorageV2\nmalicious: true", 42])
def test_a_storage_account_kind_that_is_not_one_is_flagged(kind):
    account = rid(SUB_A, SA, "stacct")
    result = graph([subscription_row(SUB_A), subscription_row(SUB_B), {**row(account, SA), "kind": kind}])
    assert [r.id for r in result.resources] == [account]
    assert [i for i, _ in result.flagged] == [account] and "kind" in result.flagged[0][1]


def test_a_known_kind_in_any_case_is_not_flagged():
    account = rid(SUB_A, SA, "stacct")
    result = graph([subscription_row(SUB_A), subscription_row(SUB_B), {**row(account, SA), "kind": "storagev2"}])
    assert result.flagged == () and [r.kind for r in result.resources] == ["StorageV2"]
