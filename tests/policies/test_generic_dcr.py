"""The guardrails know the Splunk DCR although it is a generic `resources:Resource` (created at an API version
whose spec documents kind Direct's endpoint, components/splunk/ingestion.py).

Bug this catches: moving the DCR to the generic resource silently dropped it from `tables-and-dcrs-protected`,
the region rule and the replace advisory, which match the typed DataCollectionRule token.
"""

from __future__ import annotations

from policies import rules

GENERIC = "azure-native:resources:Resource"


def dcr_inputs(location: str = "westeurope") -> dict[str, object]:
    return {"resourceProviderNamespace": "Microsoft.Insights", "resourceType": "dataCollectionRules",
            "resourceName": "dcr-x", "resourceGroupName": "rg", "location": location, "kind": "Direct",
            "apiVersion": "2023-03-11", "properties": {}}


def manifest(inputs: dict[str, object], protect: bool) -> dict[str, object]:
    return {"stack": "mssp", "outputs": {}, "resources": [{
        "urn": "urn:pulumi:mssp::mssp-sentinel::azure-native:resources:Resource::dcr", "type": GENERIC,
        "name": "dcr", "custom": True, "inputs": inputs,
        "options": {"protect": protect, "retainOnDelete": protect, "dependsOn": []}}]}


def policies(m: dict[str, object], **ctx: str) -> set[str]:
    return {f["policy"] for f in rules.evaluate_manifest(m, ctx or None)}


def test_an_unprotected_generic_dcr_breaks_the_protect_rule():
    assert "tables-and-dcrs-protected" in policies(manifest(dcr_inputs(), protect=False))
    assert "tables-and-dcrs-protected" not in policies(manifest(dcr_inputs(), protect=True))


def test_a_generic_dcr_outside_the_workspace_region_breaks_the_region_rule():
    region_rules = {r.name for r in rules.RULES if r.resource_check is rules.check_dcr_region}
    found = policies(manifest(dcr_inputs("northeurope"), protect=True), workspaceLocation="westeurope")
    assert region_rules and region_rules <= found
    assert not region_rules & policies(manifest(dcr_inputs("westeurope"), protect=True), workspaceLocation="westeurope")


def test_other_generic_resources_are_not_dcrs():
    other = {**dcr_inputs(), "resourceProviderNamespace": "Microsoft.Web", "resourceType": "connections"}
    assert rules.resource_kind(GENERIC, other) == GENERIC
    assert "tables-and-dcrs-protected" not in policies(manifest(other, protect=False))
    assert rules.resource_kind(GENERIC, dcr_inputs()) == rules.DATA_COLLECTION_RULE


def test_replacing_a_generic_dcr_raises_the_data_loss_advisory():
    change = {"op": "replace", "urn": "urn:pulumi:mssp::mssp-sentinel::azure-native:resources:Resource::dcr",
              "type": GENERIC, "reasons": ["location"], "kind": rules.resource_kind(GENERIC, dcr_inputs())}
    (found,) = [f for f in rules.evaluate_changes([change]) if "DataCollectionRule" in f["message"]]
    assert "replace" in found["message"]
