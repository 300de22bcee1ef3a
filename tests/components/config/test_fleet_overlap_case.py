"""Two customer stacks must not manage the same Azure objects, and "the same" is ARM's sameness: tenant
and subscription GUIDs, resource ids and Logic App names compare case-insensitively in Azure Resource
Manager (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules: "resource and
resource group names are case-insensitive"; GUIDs are case-insensitive hex). The overlap check must see
every spelling of one object as one object."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config.fleet import conflicts, member_from_raw

TENANT = "4f6a7b8c-1d2e-4f3a-9b8c-7d6e5f4a3b2c"
SUB = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
KV = f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv-prod"


def variants(text: str) -> list[str]:
    return [text.upper(), text.swapcase(), f"  {text.upper()} ", text.title()]


def raw(tenant: str = "11111111-1111-4111-8111-111111111111", sub: str = "22222222-2222-4222-8222-222222222222",
        workflow: str = "la-splunk-a", inventory: str = "inv.yaml") -> dict:
    return {"name": "x", "tenantId": tenant, "subscriptions": [{"id": sub}],
            "splunk": {"enabled": True, "workflowName": workflow}, "forwarding": {"inventory": inventory}}


def member(stack: str, data: dict, resources: list[str]):
    found = member_from_raw(stack, f"stacks/Pulumi.{stack}.yaml", data, Path("."), lambda path: resources)
    assert found is not None
    return found


def keys(a, b) -> list[str]:
    return [key for key, _ in conflicts(a, [b])]


@pytest.mark.parametrize("spelled", variants(TENANT))
def test_the_same_tenant_in_another_spelling_is_an_overlap(spelled):
    # Bug caught: a case-sensitive comparison lets two stacks onboard one tenant twice.
    a = member("a", raw(tenant=TENANT), [])
    b = member("b", raw(tenant=spelled, sub="33333333-3333-4333-8333-333333333333", workflow="la-b"), [])
    assert keys(a, b) == ["customer.tenantId"]


@pytest.mark.parametrize("spelled", variants(SUB))
def test_the_same_subscription_in_another_spelling_is_an_overlap(spelled):
    a = member("a", raw(sub=SUB), [])
    b = member("b", raw(tenant="44444444-4444-4444-8444-444444444444", sub=spelled, workflow="la-b"), [])
    assert keys(a, b) == ["customer.subscriptions"]


@pytest.mark.parametrize("spelled", [KV.upper(), KV.replace("resourceGroups", "resourcegroups"),
                                     KV.replace("Microsoft.KeyVault", "microsoft.keyvault"), KV.swapcase()])
def test_the_same_resource_in_another_spelling_is_an_overlap(spelled):
    a = member("a", raw(), [KV])
    b = member("b", raw(tenant="44444444-4444-4444-8444-444444444444", sub="55555555-5555-4555-8555-555555555555",
                        workflow="la-b"), [spelled])
    assert keys(a, b) == ["customer.forwarding.inventory"]


@pytest.mark.parametrize("spelled", variants("la-splunk-shared"))
def test_the_same_workflow_name_in_another_spelling_is_an_overlap(spelled):
    a = member("a", raw(workflow="la-splunk-shared"), [])
    b = member("b", raw(tenant="44444444-4444-4444-8444-444444444444", sub="55555555-5555-4555-8555-555555555555",
                        workflow=spelled), [])
    assert keys(a, b) == ["customer.splunk.workflowName"]


def test_different_objects_are_not_an_overlap():
    # Bug caught: an over-eager comparison (prefix, or an empty value) that blocks unrelated customers.
    a = member("a", raw(), [KV])
    b = member("b", raw(tenant="44444444-4444-4444-8444-444444444444", sub="55555555-5555-4555-8555-555555555555",
                        workflow="la-splunk-a2"), [KV + "2"])
    assert keys(a, b) == []
    empty_a = member("a", raw(tenant=""), [])
    empty_b = member("b", raw(tenant="", sub="55555555-5555-4555-8555-555555555555", workflow="la-b"), [])
    assert "customer.tenantId" not in keys(empty_a, empty_b)


def test_a_stack_is_never_its_own_overlap():
    a = member("a", raw(), [KV])
    assert conflicts(a, [a]) == []
