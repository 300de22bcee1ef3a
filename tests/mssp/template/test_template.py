"""`mssp template`: the customer self-deploy Lighthouse template."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import PROJECT_DIR, by_type, example_manifest
from schema_util import errors

from components.config import load_stack
from components.facts import naming, roles

PRINCIPAL = "6a256914-6252-544b-99f2-98195e83b59f"


def write_template(run_cli, tmp_path: Path, stack: str = "fabrikam", *extra: str) -> tuple[int, str, str, Path]:
    out = tmp_path / "tpl"
    code, stdout, err = run_cli(["template", stack, "--out", str(out), *extra])
    return code, stdout, err, out


def test_template_files_and_shape(run_cli, tmp_path):
    code, _, err, out = write_template(run_cli, tmp_path, "fabrikam", "--mssp-principal-id", PRINCIPAL)
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
    _, _, _, a = write_template(run_cli, tmp_path / "a", "fabrikam", "--mssp-principal-id", PRINCIPAL)
    _, _, _, b = write_template(run_cli, tmp_path / "b", "fabrikam", "--mssp-principal-id", PRINCIPAL)
    for f in a.iterdir():
        assert f.read_bytes() == (b / f.name).read_bytes()


def test_template_ids_equal_what_deploy_mode_creates(run_cli, tmp_path):
    # contoso is a deploy-mode stack: the template for it must name the very objects Pulumi creates.
    code, _, err, out = write_template(run_cli, tmp_path, "contoso", "--mssp-principal-id", PRINCIPAL)
    assert code == 0, err
    m = example_manifest("contoso")
    planned = {d["inputs"]["scope"].split("/")[2]: d for d in by_type(m, "azure-native:managedservices:RegistrationDefinition")}
    template = json.loads((out / "template.json").read_text())
    for sub, definition in planned.items():
        params = json.loads((out / f"parameters.{sub}.json").read_text())["parameters"]
        assert params["registrationDefinitionId"]["value"] == definition["inputs"]["registrationDefinitionId"]
        planned_roles = [a["roleDefinitionId"] for a in definition["inputs"]["properties"]["authorizations"]]
        template_roles = [a["roleDefinitionId"] for a in template["resources"][0]["properties"]["authorizations"]]
        # One template serves every subscription: it carries SQL Security Manager (SQL auditing) when any of
        # them audits SQL servers, where deploy mode grants it only in those subscriptions.
        assert [r for r in template_roles if r != roles.SQL_SECURITY_MANAGER.guid] == [
            r for r in planned_roles if r != roles.SQL_SECURITY_MANAGER.guid]
        assert roles.SQL_SECURITY_MANAGER.guid in template_roles
        assert (definition["inputs"]["properties"]["eligibleAuthorizations"]
                == template["resources"][0]["properties"]["eligibleAuthorizations"])


def test_unknown_principal_is_a_visible_placeholder(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi CLI to ask
    code, stdout, _, out = write_template(run_cli, tmp_path, "fabrikam")
    assert code == 0
    assert "warning" in stdout and "--mssp-principal-id" in stdout
    assert "Before sending this to the customer" in (out / "INSTRUCTIONS.md").read_text()


def test_template_refuses_a_bad_principal_and_a_platform_stack(run_cli, tmp_path):
    code, _, err, _ = write_template(run_cli, tmp_path, "fabrikam", "--mssp-principal-id", "nope")
    assert code == 2 and "not a GUID" in err
    code, _, err, _ = write_template(run_cli, tmp_path, "mssp")
    assert code == 2 and "customer stacks" in err


def test_template_refuses_a_definition_lighthouse_would_reject(run_cli, tmp_path, monkeypatch):
    from components.lighthouse import delegation as lighthouse

    monkeypatch.setattr(lighthouse, "SERVICE_PRINCIPAL_ROLES", (roles.OWNER, roles.READER))
    code, _, err, out = write_template(run_cli, tmp_path, "fabrikam", "--mssp-principal-id", PRINCIPAL)
    assert code == 1 and "Owner" in err
    assert not out.exists()  # nothing handed to the customer


def test_an_unwritable_out_folder_is_an_error_not_a_traceback(run_cli, tmp_path):
    # Bug: the folder was created and the files written unguarded, so --out under a file ended in a
    # traceback ("internal error", exit 70) instead of saying which path cannot be written.
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    code, _, err = run_cli(["template", "fabrikam", "--out", str(blocker / "template"), "--mssp-principal-id", PRINCIPAL])
    assert code == 2
    assert "cannot write" in err and str(blocker) in err
    assert "Traceback" not in err and "internal error" not in err
