"""Exact facts, pinned: role GUIDs against Microsoft's list, golden values of every id Azure sees, and the
config spellings that must never reach Azure.

Why golden values: a deployed platform keeps its role assignments, rules and delegations under these
names. A change in how one is derived passes every structural test, yet on the next `pulumi up` it
replaces role assignments and recreates analytics and automation rules. Changing one of these values
must be a deliberate act that edits this file.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT_DIR, example_manifest, read_stack

from components.config.customer import ForwardingConfig
from components.facts import catalog, naming, roles
from components.forwarding.diagnostics import plan_settings
from components.forwarding.inventory import InventoryItem

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


# --- role GUIDs -------------------------------------------------------------------------------------
def _microsoft_roles() -> tuple[dict[str, str], dict[str, str]]:
    data = json.loads((FIXTURES / "builtin-role-definitions.json").read_text(encoding="utf-8"))
    return {name: r["id"] for name, r in data["roles"].items()}, data["aliases"]


@pytest.mark.parametrize("role", roles._ROLES, ids=lambda r: r.name)
def test_every_role_guid_is_microsofts(role: roles.Role) -> None:
    published, _ = _microsoft_roles()
    assert role.name in published, f"{role.name} is not a built-in role name on Microsoft's list"
    assert role.guid == published[role.name]


def test_every_role_is_pinned_and_the_old_sentinel_names_resolve_to_microsofts_guids() -> None:
    published, aliases = _microsoft_roles()
    assert len(roles._ROLES) == 23 and len(roles.BY_GUID) == 23  # no two roles share a GUID
    for old, new in aliases.items():
        resolved = roles.resolve(old)
        assert resolved is not None and resolved.guid == published[new]


# --- golden ids ---------------------------------------------------------------------------------------
# Input keys that carry an id Azure keeps: role assignment names, rule ids, Lighthouse ids.
ID_KEYS = ("roleAssignmentName", "automationRuleId", "ruleId", "registrationDefinitionId", "registrationAssignmentId")

GOLDEN: dict[str, dict[str, str]] = {
    "mssp": {
        # The deploy identity's narrow workspace role (issue 10 replaced Log Analytics Contributor), the
        # read-only identity's Reader assignments, the ITSM identities' Key Vault Secrets User assignments.
        "mssp-identity-workspace-diagnostic-destination.roleAssignmentName": "f6575225-5ddc-58be-a2dc-4e2e17eb76b9",
        "mssp-readonly-identity-platform-rg-reader.roleAssignmentName": "7ae12ba1-70ae-5083-aef3-aee92d45a743",
        "mssp-readonly-identity-workspace-config-reader.roleAssignmentName": "b9870cc6-fc09-5855-ab5a-4456aa1de84d",
        "itsm-redirect-playbook-keyvault-secrets-user.roleAssignmentName": "556b73f3-e6f7-5f01-8191-cfea0fcea3f5",
        "itsm-redirect-poller-keyvault-secrets-user.roleAssignmentName": "af611850-1173-5994-9cb3-ae709be453ab",
        "itsm-redirect-playbook-sentinel-responder.roleAssignmentName": "0ef2b0e3-0244-5e9e-9f8e-7ccc50eaddce",
        "itsm-redirect-sentinel-automation-contributor.roleAssignmentName": "ef680d04-a166-5943-9869-e3e260418c4d",
        "itsm-redirect-automation-rule.automationRuleId": "b717b338-22f5-5ac5-b1a8-fa92041fc996",
        "mssp-splunk-rule.ruleId": "723cc7a8-0f19-5554-9d94-e91628a5a43a",
    },
    "contoso": {
        "contoso-lighthouse-definition-3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f.registrationDefinitionId":
            "0a87cac7-36f1-561b-8b62-88e6260c9fe1",
        "contoso-lighthouse-definition-4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80.registrationDefinitionId":
            "c3e9da9b-2052-5bf3-85f9-bdc4463031f1",
        "contoso-lighthouse-assignment-3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f.registrationAssignmentId":
            "8097e3c6-3343-59a7-88a8-70a81bba74f0",
        "contoso-lighthouse-assignment-4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80.registrationAssignmentId":
            "38717d48-2560-569b-8b2e-5d2f5c52103a",
        "contoso-splunk-dcr-publisher.roleAssignmentName": "8dce5add-bfa6-56c0-bac7-8a52af8beb4e",
        # Issue 20: SQL Security Manager on the resource group of the inventoried SQL server only (its own delegation).
        "contoso-lighthouse-sql-audit-definition-3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f-baf1bace.registrationDefinitionId":
            "cf2e7362-1be0-520b-9572-0f242ffd213d",
        "contoso-lighthouse-sql-audit-assignment-3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f-baf1bace.registrationAssignmentId":
            "73dd8a33-3fea-5deb-880d-a7f67050c724",
    },
    "fabrikam": {},
}

# Diagnostic settings: logical name (its hash part comes from the resource id) -> Azure setting name.
GOLDEN_SETTINGS: dict[str, set[str]] = {
    "contoso": {
        "diag-afd-afd-classic-web-6332e5f1", "diag-afw-afw-hub-e938fc17", "diag-agw-agw-web-1f1a1eda",
        "diag-aks-aks-prod-a5603d36", "diag-cdn-afd-premium-web-2fa6641f", "diag-kv-kv-contoso-prod-07afbe9d",
        "diag-kv-kv-contoso-shared-8c06f138", "diag-nsg-nsg-shared-4a6e850b", "diag-nsg-nsg-web-1cc89a6a",
        "diag-pip-pip-appgw-1e80e351", "diag-sqldb-sqldb-orders-a39b9798",
        "diag-sqlsrvmaster-sql-contoso-prod-f2a07f31", "diag-st-stcontosoprod-005341cd",
        "diag-stblob-stcontosoprod-b5f44fb5", "diag-stfile-stcontosoprod-9163a942",
        "diag-stqueue-stcontosoprod-4cdcbe9e", "diag-sttable-stcontosoprod-2c9fd3f1",
        "contoso-forwarding-activity-3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f",
        "contoso-forwarding-activity-4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80",
    },
    "fabrikam": {
        "diag-afw-afw-fabrikam-df8b148e", "diag-kv-kv-fabrikam-c99bb1b6",
        "fabrikam-forwarding-activity-9c4d6e1f-2a3b-4c5d-a4f7-809102132435",
    },
    "mssp": set(),
}


def derived_ids(manifest: dict[str, Any]) -> dict[str, str]:
    return {f"{r['name']}.{k}": r["inputs"][k] for r in manifest["resources"] for k in ID_KEYS
            if isinstance(r["inputs"].get(k), str)}


def setting_names(manifest: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["inputs"]["name"] for r in manifest["resources"] if r["type"].endswith("DiagnosticSetting")}


@pytest.mark.parametrize("stack", sorted(GOLDEN))
def test_every_derived_id_keeps_its_golden_value(stack: str) -> None:
    manifest = example_manifest(stack)
    assert derived_ids(manifest) == GOLDEN[stack]
    settings = setting_names(manifest)
    assert set(settings) == GOLDEN_SETTINGS[stack]
    assert set(settings.values()) <= {"mssp-sentinel"}  # the configured forwarding.settingName, on every resource


def _variant(tmp_path: Path, stack: str, edit: Any) -> dict[str, Any]:
    from mssp.plan.command import build_manifest

    doc = copy.deepcopy(read_stack(stack))
    edit(doc["config"])
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return build_manifest(stack, PROJECT_DIR, path)


def _direct(config: dict[str, Any]) -> None:
    customer = config["mssp-sentinel:customer"]
    customer["accessModel"], customer["lighthouse"]["authorizations"] = "direct", []


def _key_vault_credential(config: dict[str, Any]) -> None:
    # Another vault than the example's: the assignment names follow the vault (their scope).
    config.pop("mssp-sentinel:itsmCredential", None)
    config["mssp-sentinel:platform"]["itsm"]["credential"] = {
        "keyVaultSecretUri": "https://kv-mssp-itsm.vault.azure.net/secrets/servicenow",
        "keyVaultId": "/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/resourceGroups/rg-mssp-sentinel-platform/"
                      "providers/Microsoft.KeyVault/vaults/kv-mssp-itsm",
    }


def test_role_assignments_of_the_other_configurations_keep_their_golden_names(tmp_path: Path) -> None:
    # The direct access model's Monitoring Contributor assignments, and the ITSM identities' Key Vault
    # Secrets User assignments on another vault: planned from variants of the example stacks.
    direct = derived_ids(_variant(tmp_path, "contoso", _direct))
    assert {k: v for k, v in direct.items() if "monitoring-contributor" in k} == {
        "contoso-identity-monitoring-contributor-3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f.roleAssignmentName":
            "a0e36714-b1c6-5fc7-a224-74baa9480eb8",
        "contoso-identity-monitoring-contributor-4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80.roleAssignmentName":
            "7809963b-43f7-5076-9051-08973fa26dff",
    }
    vault = derived_ids(_variant(tmp_path, "mssp", _key_vault_credential))
    assert {k: v for k, v in vault.items() if "keyvault" in k} == {
        # Scoped to the one secret, not the vault (issue 10), so named from the secret's scope.
        "itsm-redirect-playbook-keyvault-secrets-user.roleAssignmentName": "b24f85ce-148c-5662-9c3a-0dce7ee963ba",
        "itsm-redirect-poller-keyvault-secrets-user.roleAssignmentName": "0e5d0080-cff3-59b2-9cfb-9157249ce96d",
    }


def test_naming_functions_keep_their_golden_values() -> None:
    assert naming.stable_guid("a", "b") == "05fe9ad1-6759-5d1e-a403-7ce457ec8850"
    assert naming.registration_definition_guid("t1", "t2", "s") == naming.stable_guid("lighthouse-definition", "t1", "t2", "s")
    assert naming.registration_assignment_guid("t1", "t2", "s") == naming.stable_guid("lighthouse-assignment", "t1", "t2", "s")
    assert naming.short_hash("/subscriptions/X") == "8126a7eb"
    assert naming.resource_logical_name("diag-kv", "/subscriptions/X", "My_Vault") == "diag-kv-my-vault-8126a7eb"


def test_stable_guid_lower_cases_every_part() -> None:
    lower = naming.stable_guid("/subscriptions/abc/resourcegroups/rg", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "x")
    mixed = naming.stable_guid("/subscriptions/ABC/resourceGroups/RG", "ACDD72A7-3385-48EF-BD42-F606FBA81AE7", "X")
    assert lower == mixed
    # The parts are joined with "/" before hashing, so ("a", "b") and ("a/b",) name the same thing; changing
    # the join would rename every deployed id.
    assert naming.stable_guid("a", "b") == naming.stable_guid("A/B")


def _shout(project: Path) -> None:
    """Rewrite a copied project's stacks with GUIDs, resource groups and resource ids in upper case."""
    guid = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
    for path in (project / "stacks").rglob("*.yaml"):
        text = guid.sub(lambda m: m[0].upper(), path.read_text(encoding="utf-8"))
        text = text.replace("rg-mssp-sentinel", "RG-MSSP-Sentinel").replace("/resourceGroups/rg-", "/resourceGroups/RG-")
        text = re.sub(r"(/providers/[^\n]*/)([a-z0-9-]+)$", lambda m: m[1] + m[2].upper(), text, flags=re.M)
        path.write_text(text, encoding="utf-8")


def test_ids_do_not_depend_on_how_the_config_spells_case(tmp_path: Path) -> None:
    from mssp.plan.command import build_manifest

    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(PROJECT_DIR / "stacks", project / "stacks")
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(PROJECT_DIR / name, project / name)
    _shout(project)
    doc = yaml.safe_load((project / "stacks" / "Pulumi.contoso.yaml").read_text())
    assert doc["config"]["mssp-sentinel:customer"]["tenantId"] == "2B7C9D4E-5F6A-4B8C-9D0E-1F2A3B4C5D6E"
    inventory = (project / "stacks" / "inventories" / "contoso.yaml").read_text()
    assert "/resourceGroups/RG-prod/" in inventory and "KV-CONTOSO-PROD" in inventory  # the rewrite did happen
    for stack in ("mssp", "contoso"):
        manifest = build_manifest(stack, project)
        assert derived_ids(manifest) == GOLDEN[stack], stack
        assert set(setting_names(manifest)) == GOLDEN_SETTINGS[stack], stack


# --- config spelling ----------------------------------------------------------------------------------
KV = "/subscriptions/3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv1"


def _forwarding(**over: Any) -> ForwardingConfig:
    return ForwardingConfig.model_validate({"inventory": "x.yaml", **over})


def test_exclude_matches_resource_ids_case_insensitively() -> None:
    plan = plan_settings([InventoryItem(KV, "Microsoft.KeyVault/vaults")], _forwarding(exclude=[KV.upper()]))
    assert plan.settings == ()
    assert [s.resource_id for s in plan.skipped] == [KV]


def test_categories_from_config_reach_azure_in_the_catalogs_spelling_and_order() -> None:
    fwd = _forwarding(perType={"microsoft.keyvault/VAULTS": {"logs": ["azurepolicyevaluationdetails", "AUDITEVENT"]}})
    (setting,) = plan_settings([InventoryItem(KV, "Microsoft.KeyVault/vaults")], fwd).settings
    assert [e["category"] for e in setting.logs] == ["AuditEvent", "AzurePolicyEvaluationDetails"]
    assert list(catalog.entry_for("Microsoft.KeyVault/vaults").categories) == ["AuditEvent", "AzurePolicyEvaluationDetails"]


def test_the_manifest_sorts_every_input_key() -> None:
    def sorted_everywhere(value: Any) -> bool:
        if isinstance(value, dict):
            return list(value) == sorted(value) and all(sorted_everywhere(v) for v in value.values())
        if isinstance(value, list):
            return all(sorted_everywhere(v) for v in value)
        return True

    for stack in ("mssp", "contoso"):
        for resource in example_manifest(stack)["resources"]:
            assert sorted_everywhere(resource["inputs"]), resource["name"]


@pytest.mark.parametrize("logs", [["AuditEvent", "auditevent"], ["AuditEvent", "AuditEvent"]])
def test_the_same_category_twice_is_refused(logs: list[str]) -> None:
    with pytest.raises(ValueError, match="listed twice"):
        _forwarding(perType={"Microsoft.KeyVault/vaults": {"logs": logs}})
