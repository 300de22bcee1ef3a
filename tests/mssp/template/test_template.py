"""`mssp template`: the customer self-deploy Lighthouse template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, by_type, example_manifest
from schema_util import errors

from components.config import load_stack
from components.facts import naming, roles

PRINCIPAL = "6a256914-6252-544b-99f2-98195e83b59f"
READ_ONLY = "8bf04397-1c1e-5b8e-9a55-2d6f0f6b1c3a"
BOTH = ("--mssp-principal-id", PRINCIPAL, "--read-only-principal-id", READ_ONLY)


def write_template(run_cli, tmp_path: Path, stack: str = "fabrikam", *extra: str) -> tuple[int, str, str, Path]:
    out = tmp_path / "tpl"
    code, stdout, err = run_cli(["template", stack, "--out", str(out), *extra])
    return code, stdout, err, out


def test_template_files_and_shape(run_cli, tmp_path):
    code, _, err, out = write_template(run_cli, tmp_path, "fabrikam", *BOTH)
    assert code == 0, err
    loaded = load_stack("fabrikam", PROJECT_DIR)
    customer, platform = loaded.customer, loaded.platform
    sub = customer.subscriptions[0].id
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["template.json", f"parameters.{sub}.json", "createUiDefinition.json", "INSTRUCTIONS.md"])
    template = json.loads((out / "template.json").read_text())
    assert template["$schema"] == "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
    definition, assignment = template["resources"]
    for resource, name in ((definition, "registrationDefinitions"), (assignment, "registrationAssignments")):
        assert errors("arm-schema_2022-10-01_Microsoft.ManagedServices.json", f"#/unknown_resourceDefinitions/{name}", resource) == []
    props = definition["properties"]
    assert props["managedByTenantId"] == platform.tenant_id
    role_ids = [a["roleDefinitionId"] for a in props["authorizations"]]
    # The deploy identity's three roles, the read-only identity's Reader, then the SOC's (fabrikam's SOC
    # Analysts hold Reader too, so they see Fabrikam in "My customers").
    assert role_ids == [roles.MONITORING_CONTRIBUTOR.guid, roles.READER.guid, roles.REGISTRATION_DELETE.guid,
                        roles.READER.guid,
                        roles.READER.guid, roles.resolve("Microsoft Sentinel Reader").guid]
    assert props["authorizations"][3]["principalId"] == "[parameters('msspReadOnlyServicePrincipalObjectId')]"
    params = json.loads((out / f"parameters.{sub}.json").read_text())["parameters"]
    assert params["registrationDefinitionId"]["value"] == naming.registration_definition_guid(platform.tenant_id, customer.tenant_id, sub)
    assert params["registrationAssignmentId"]["value"] == naming.registration_assignment_guid(platform.tenant_id, customer.tenant_id, sub)
    assert params["msspServicePrincipalObjectId"]["value"] == PRINCIPAL
    ui = json.loads((out / "createUiDefinition.json").read_text())
    assert ui["handler"] == "Microsoft.Azure.CreateUIDef" and ui["version"] == "0.1.2-preview"
    instructions = (out / "INSTRUCTIONS.md").read_text()
    assert f"parameters.{sub}.json" in instructions and "Before sending" not in instructions


def test_template_is_deterministic(run_cli, tmp_path):
    _, _, _, a = write_template(run_cli, tmp_path / "a", "fabrikam", *BOTH)
    _, _, _, b = write_template(run_cli, tmp_path / "b", "fabrikam", *BOTH)
    for f in a.iterdir():
        assert f.read_bytes() == (b / f.name).read_bytes()


def test_template_ids_equal_what_deploy_mode_creates(run_cli, tmp_path):
    # contoso is a deploy-mode stack: the template for it must name the very objects Pulumi creates.
    code, _, err, out = write_template(run_cli, tmp_path, "contoso", *BOTH)
    assert code == 0, err
    m = example_manifest("contoso")
    # The subscriptions' delegations (a resource group's SQL-auditing delegation is deploy mode's alone).
    planned = {d["inputs"]["scope"].split("/")[2]: d for d in by_type(m, "azure-native:managedservices:RegistrationDefinition")
               if "/resourceGroups/" not in d["inputs"]["scope"]}
    template = json.loads((out / "template.json").read_text())
    for sub, definition in planned.items():
        params = json.loads((out / f"parameters.{sub}.json").read_text())["parameters"]
        assert params["registrationDefinitionId"]["value"] == definition["inputs"]["registrationDefinitionId"]
        planned_roles = [a["roleDefinitionId"] for a in definition["inputs"]["properties"]["authorizations"]]
        template_roles = [a["roleDefinitionId"] for a in template["resources"][0]["properties"]["authorizations"]]
        # SQL Security Manager is in neither: deploy mode grants it on the SQL servers' resource groups through
        # their own delegations (issue 20), which a subscription template does not carry.
        assert template_roles == planned_roles
        assert roles.SQL_SECURITY_MANAGER.guid not in template_roles
        assert (definition["inputs"]["properties"]["eligibleAuthorizations"]
                == template["resources"][0]["properties"]["eligibleAuthorizations"])


@pytest.mark.parametrize("given, missing", [
    ((), ("--mssp-principal-id", "--read-only-principal-id")),
    (("--mssp-principal-id", PRINCIPAL), ("--read-only-principal-id",)),
    (("--read-only-principal-id", READ_ONLY), ("--mssp-principal-id",)),
])
def test_an_unknown_principal_is_refused_unless_placeholders_are_allowed(run_cli, tmp_path, monkeypatch, given, missing):
    # Bug: an unknown read-only principal was written as the nil GUID without a word, exit 0; the customer
    # deployed a delegation to nobody.
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi CLI to ask
    code, _, err, out = write_template(run_cli, tmp_path, "fabrikam", *given)
    assert code == 2
    for flag in missing:
        assert flag in err
    assert "--allow-placeholders" in err and not out.exists()

    code, _, err, out = write_template(run_cli, tmp_path / "allowed", "fabrikam", *given, "--allow-placeholders")
    assert code == 0
    params = next(out.glob("parameters.*.json")).read_text()
    instructions = (out / "INSTRUCTIONS.md").read_text()
    assert "00000000-0000-0000-0000-000000000000" not in params
    for flag in missing:
        assert f"warning: {flag}" in err
        assert f"`{flag}`" in instructions
    assert params.count("REPLACE-WITH-") == len(missing)  # what ARM refuses until replaced: not a GUID
    assert "Before sending this to the customer" in instructions


@pytest.mark.parametrize("argv, message", [
    (("--mssp-principal-id", "00000000-0000-0000-0000-000000000000", "--read-only-principal-id", READ_ONLY), "nil GUID"),
    (("--mssp-principal-id", PRINCIPAL, "--read-only-principal-id", "00000000-0000-0000-0000-000000000000"), "nil GUID"),
    (("--mssp-principal-id", PRINCIPAL, "--read-only-principal-id", PRINCIPAL.upper()), "two identities"),
    # fabrikam's SOC Analysts group: an MSSP identity given the id of a principal the config authorizes
    (("--mssp-principal-id", "5e0f2a7b-8c9d-4e1f-a0b3-4c5d6e7f8091", "--read-only-principal-id", READ_ONLY),
     "SOC Analysts"),
])
def test_a_nil_or_shared_principal_id_is_refused(run_cli, tmp_path, argv, message):
    code, _, err, out = write_template(run_cli, tmp_path, "fabrikam", *argv, "--allow-placeholders")
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_template_refuses_a_bad_principal_and_a_platform_stack(run_cli, tmp_path):
    code, _, err, _ = write_template(run_cli, tmp_path, "fabrikam", "--mssp-principal-id", "nope")
    assert code == 2 and "not a GUID" in err
    code, _, err, _ = write_template(run_cli, tmp_path, "mssp")
    assert code == 2 and "customer stacks" in err


def test_template_refuses_a_definition_lighthouse_would_reject(run_cli, tmp_path, monkeypatch):
    from components.lighthouse import delegation as lighthouse

    monkeypatch.setattr(lighthouse, "SERVICE_PRINCIPAL_ROLES", (roles.OWNER, roles.READER))
    code, _, err, out = write_template(run_cli, tmp_path, "fabrikam", *BOTH)
    assert code == 1 and "Owner" in err
    assert not out.exists()  # nothing handed to the customer


def test_an_unwritable_out_folder_is_an_error_not_a_traceback(run_cli, tmp_path):
    # Bug: the folder was created and the files written unguarded, so --out under a file ended in a
    # traceback ("internal error", exit 70) instead of saying which path cannot be written.
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    code, _, err = run_cli(["template", "fabrikam", "--out", str(blocker / "template"), *BOTH])
    assert code == 2
    assert "cannot write" in err and str(blocker) in err
    assert "Traceback" not in err and "internal error" not in err
