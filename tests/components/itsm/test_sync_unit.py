"""RedirectedIncidentSync built alone under Pulumi's mocks: the playbook and poller Logic Apps, the grants
each identity holds (scoped to the workspace, the resource group, the one Key Vault secret), and that the
ITSM credential reaches a workflow only as a SecureString parameter, never in its definition."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pulumi_azuread as azuread

from components.config.itsm import ItsmConfig
from components.facts import roles
from components.itsm.sync import RedirectedIncidentSync, RedirectedIncidentSyncArgs
from testing.component_mocks import Built, build

TENANT, SUB = "11111111-2222-4333-8444-555555555555", "3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f"
WORKSPACE = f"/subscriptions/{SUB}/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/law-soc"
VAULT = f"/subscriptions/{SUB}/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-itsm"
PASSWORD = "correct-horse-battery-staple"
WORKFLOW, ASSIGNMENT = "azure-native:logic:Workflow", "azure-native:authorization:RoleAssignment"
GRAPH_GRANT = "azuread:index/appRoleAssignment:AppRoleAssignment"
SERVICENOW = {"kind": "servicenow", "servicenow": {"instanceUrl": "https://acme.service-now.com", "userName": "mssp-sync"}}


def built(itsm: dict[str, Any], secret: str | None = None) -> Built[RedirectedIncidentSync]:
    config = ItsmConfig.model_validate(itsm)

    def make() -> RedirectedIncidentSync:
        arm = azure_native.Provider("mssp-arm", subscription_id=SUB)
        entra = azuread.Provider("mssp-entra", tenant_id=TENANT)
        return RedirectedIncidentSync("itsm-sync", RedirectedIncidentSyncArgs(
            config, TENANT, SUB, "rg-mssp", "westeurope", WORKSPACE, SUB, "rg-soc", "law-soc", arm, entra,
            credential=pulumi.Output.secret(secret) if secret else None))
    return build(make)


def grants(b: Built[RedirectedIncidentSync]) -> dict[str, tuple[str, str]]:
    return {n.name: (n.inputs["scope"], n.inputs["roleDefinitionId"].rsplit("/", 1)[-1])
            for n in b.graph.of_type(ASSIGNMENT)}


def test_the_secret_credential_is_a_securestring_parameter_and_never_in_a_definition() -> None:
    b = built(SERVICENOW, secret=PASSWORD)
    workflows = b.graph.of_type(WORKFLOW)
    assert sorted(w.name for w in workflows) == ["itsm-sync-playbook", "itsm-sync-poller"]
    for w in workflows:
        assert PASSWORD not in json.dumps(w.inputs["definition"])  # bug caught: a credential in the definition
        assert w.inputs["parameters"]["itsmCredential"]["type"] == "SecureString"
        assert "parameters" in w.secret_inputs and "definition" not in w.secret_inputs
        assert w.provider == "mssp-arm" and w.inputs["identity"]["type"] == "SystemAssigned"


def test_each_identity_is_granted_on_the_narrowest_scope() -> None:
    found = grants(built(SERVICENOW, secret=PASSWORD))
    assert found["itsm-sync-playbook-sentinel-responder"] == (WORKSPACE, roles.SENTINEL_RESPONDER.guid)
    assert found["itsm-sync-sentinel-automation-contributor"] == (
        f"/subscriptions/{SUB}/resourceGroups/rg-mssp", roles.SENTINEL_AUTOMATION_CONTRIBUTOR.guid)
    assert not any(k.endswith("keyvault-secrets-user") for k in found)  # no vault, no vault grant


def test_a_key_vault_credential_is_granted_on_the_one_secret_for_each_workflow() -> None:
    b = built({**SERVICENOW, "credential": {"keyVaultSecretUri": "https://kv-itsm.vault.azure.net/secrets/servicenow",
                                            "keyVaultId": VAULT}})
    vault_grants = {k: v for k, v in grants(b).items() if k.endswith("keyvault-secrets-user")}
    # Bug caught: Key Vault Secrets User on the vault (every secret in it) instead of the one secret.
    assert set(vault_grants.values()) == {(f"{VAULT}/secrets/servicenow", roles.BY_NAME["key vault secrets user"].guid)}
    assert len(vault_grants) == 2  # the playbook's and the poller's identity
    for w in b.graph.of_type(WORKFLOW):
        assert "itsmCredential" not in w.inputs.get("parameters", {})


def test_without_the_poller_there_is_one_workflow_and_one_graph_grant() -> None:
    b = built({**SERVICENOW, "poller": {"enabled": False}}, secret=PASSWORD)
    assert [w.name for w in b.graph.of_type(WORKFLOW)] == ["itsm-sync-playbook"]
    assert [g.name for g in b.graph.of_type(GRAPH_GRANT)] == ["itsm-sync-playbook-graph-incident-read"]
    assert b.component.poller_id is None
