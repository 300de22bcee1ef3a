"""arm-ttk's rules over what `mssp template` writes: createUiDefinition.json, template.json, the parameters files.

Microsoft's ARM template test toolkit (Azure/arm-ttk) is PowerShell; PowerShell is not on this machine, so
each rule that applies is re-implemented here from its source file in Azure/arm-ttk (commit
0ec9a41a4503e970a0ec8efb0cd08415cc172175, arm-ttk/testcases/...), named in the check's docstring. Rules
that cannot apply to these files are listed in NOT_APPLICABLE with the reason (and the last test checks the
reason still holds).

Bug this catches: createUiDefinition.json had outputs only for `location`, which was no template parameter,
and no control for the template's four parameters, so the "Deploy to Azure" link could not deploy it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARM_TTK = "Azure/arm-ttk@0ec9a41a4503e970a0ec8efb0cd08415cc172175 arm-ttk/testcases/"
UI_SCHEMA = "https://schema.management.azure.com/schemas/0.1.2-preview/CreateUIDefinition.MultiVm.json#"
PRINCIPALS = ("--mssp-principal-id", "6a256914-6252-544b-99f2-98195e83b59f",
              "--read-only-principal-id", "8bf04397-1c1e-5b8e-9a55-2d6f0f6b1c3a")

NOT_APPLICABLE = {
    # No control of these kinds in the form, and no such parameter in the template.
    "CreateUIDefinition/Credential-Confirmation-Should-Not-Be-Hidden": "no Microsoft.Compute.CredentialsCombo",
    "CreateUIDefinition/HideExisting-Must-Be-Correctly-Handled": "no resource selector with hideExisting",
    "CreateUIDefinition/Password-Textboxes-Must-Be-Used-For-Password-Parameters": "no password parameter",
    "CreateUIDefinition/PasswordBoxes-Must-Have-Min-Length": "no PasswordBox",
    "CreateUIDefinition/Usernames-Should-Not-Have-A-Default": "no user name control",
    "CreateUIDefinition/VMSizes-Must-Match-Template": "no virtual machine",
    "deploymentTemplate/CommandToExecute-Must-Use-ProtectedSettings-For-Secrets": "no VM extension",
    "deploymentTemplate/ManagedIdentityExtension-must-not-be-used": "no VM extension",
    "deploymentTemplate/VM-Images-Should-Use-Latest-Version": "no virtual machine",
    "deploymentTemplate/VM-Size-Should-Be-A-Parameter": "no virtual machine",
    "deploymentTemplate/Virtual-Machines-Should-Not-Be-Preview": "no virtual machine",
    "deploymentTemplate/adminPassword-Should-Not-Be-A-Literal": "no adminPassword",
    "deploymentTemplate/adminUsername-Should-Not-Be-A-Literal": "no adminUsername",
    "deploymentTemplate/Secure-Params-In-Nested-Deployments": "no nested deployment",
    "deploymentTemplate/Parameter-Types-Should-Be-Consistent": "no inner template",
    "deploymentTemplate/artifacts-parameter": "no _artifactsLocation parameter",
    "deploymentTemplate/Deployment-Resources-Must-Not-Be-Debug": "no Microsoft.Resources/deployments",
    "deploymentTemplate/Dynamic-Variable-References-Should-Not-Use-Concat": "no variables",
    "deploymentTemplate/apiVersions-Should-Be-Recent-In-Reference-Functions": "no reference() call",
    # The rule always accepts a type's latest stable version; Azure/azure-rest-api-specs
    # specification/managedservices/resource-manager/Microsoft.ManagedServices/stable/ holds 2019-06-01,
    # 2019-09-01 and 2022-10-01 (the template's). Checking it here would need arm-ttk's AllAzureResources cache.
    "deploymentTemplate/apiVersions-Should-Be-Recent": "2022-10-01 is the latest stable version",
}


@pytest.fixture(scope="module", params=["fabrikam", "contoso"])
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files `mssp template` writes, for each example customer (contoso: the template of a deploy-mode
    stack, with SQL auditing and eligible authorizations)."""
    from mssp.cli import main

    out = tmp_path_factory.mktemp(f"template-{request.param}")
    assert main(["template", request.param, "--out", str(out), *PRINCIPALS]) == 0
    return out


def load(out: Path, name: str) -> tuple[dict[str, Any], str]:
    text = (out / name).read_text(encoding="utf-8")
    return json.loads(text), text


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every object in a JSON value (arm-ttk's Find-JsonContent walks the same way)."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def blanks(text: str, allowed: set[str]) -> list[str]:
    """Empty objects, arrays, strings and nulls after a colon, by property name, except `allowed` ones."""
    colon = r"(?<=:)\s*"
    patterns = [colon + r"\{\s*\}", colon + r"\[\s*\]", colon + r'"\s*"', colon + r"\[\s*\{\s*\}\s*\]",
                colon + r'\[\s*"\s*"\s*\]', colon + "null"]
    found = []
    for pattern in patterns:
        for m in re.finditer(pattern, text):
            name = re.findall(r'"([^"]+)"\s*:', text[:m.start()])
            if name and name[-1] not in allowed:
                found.append(name[-1])
    return found


# ------------------------------------------------------------------------------------------------------
# createUiDefinition.json
# ------------------------------------------------------------------------------------------------------
def test_ui_schema_and_version(written):
    """CreateUIDefinition/CreateUIDefinition-Should-Have-Schema.test.ps1: the 0.1.2-preview schema, a
    version equal to the schema's."""
    ui, _ = load(written, "createUiDefinition.json")
    assert ui["$schema"] == UI_SCHEMA
    assert ui["version"] == "0.1.2-preview"


def test_ui_handler(written):
    """CreateUIDefinition/Handler-Must-Be-Correct.test.ps1."""
    ui, _ = load(written, "createUiDefinition.json")
    assert ui["handler"] in ("Microsoft.Compute.MultiVm", "Microsoft.Azure.CreateUIDef")


def test_location_is_in_outputs(written):
    """CreateUIDefinition/Location-Should-Be-In-Outputs.test.ps1: outputs.location is `[location()]`."""
    ui, _ = load(written, "createUiDefinition.json")
    assert ui["parameters"]["outputs"]["location"].strip() == "[location()]"


def test_every_output_is_a_template_parameter(written):
    """CreateUIDefinition/Outputs-Must-Be-Present-In-Template-Parameters.test.ps1."""
    ui, _ = load(written, "createUiDefinition.json")
    template, _ = load(written, "template.json")
    assert ui["parameters"]["outputs"]
    assert set(ui["parameters"]["outputs"]) <= set(template["parameters"])


def test_every_parameter_without_default_is_an_output(written):
    """CreateUIDefinition/Parameters-Without-Default-Must-Exist-In-CreateUIDefinition.test.ps1."""
    ui, _ = load(written, "createUiDefinition.json")
    template, _ = load(written, "template.json")
    needed = {n for n, p in template["parameters"].items() if p.get("defaultValue") is None}
    assert needed and needed <= set(ui["parameters"]["outputs"])


def test_controls_in_outputs_exist(written):
    """CreateUIDefinition/Controls-In-Outputs-Must-Exist.test.ps1: each basics('x') / steps('s').x names a control."""
    ui, _ = load(written, "createUiDefinition.json")
    params = ui["parameters"]
    basics = {c["name"] for c in params["basics"]}
    steps = {s["name"]: {e["name"] for e in s.get("elements", [])} for s in params["steps"]}
    for expression in params["outputs"].values():
        for control in re.findall(r"\[\s*basics\(\s*'([^']+)'", expression, re.I):
            assert control in basics
        for step, element in re.findall(r"\[\s*steps\(\s*'([^']+)'\s*\)(?:\.(\w+))?", expression, re.I):
            assert step in steps and (not element or element in steps[step])


def test_textboxes_are_well_formed(written):
    """CreateUIDefinition/Textboxes-Are-Well-Formed.test.ps1: constraints with a regex (and its
    validationMessage) that compiles and has a length constraint."""
    ui, _ = load(written, "createUiDefinition.json")
    boxes = [c for c in walk(ui) if c.get("type") == "Microsoft.Common.TextBox"]
    assert boxes
    for box in boxes:
        constraints = box.get("constraints")
        assert constraints, box["name"]
        regex = next((v["regex"] for v in constraints.get("validations", []) if v.get("regex")), None) \
            or constraints.get("regex")
        assert regex, box["name"]
        if "regex" in constraints:
            assert constraints.get("validationMessage"), box["name"]
        re.compile(regex)
        assert re.search(r"\{(\d+)(?:,(\d+)|,)?\}", regex), f"{box['name']}: no length constraint"


def test_tooltips_are_present(written):
    """CreateUIDefinition/Tooltips-Should-Be-Present.test.ps1 (PowerShell property names ignore case)."""
    ui, _ = load(written, "createUiDefinition.json")
    exempt = {"Microsoft.Common.InfoBox", "Microsoft.Common.Section", "Microsoft.Common.TextBlock",
              "Microsoft.Solutions.ArmApiControl", "Microsoft.Solutions.GraphApiControl",
              "Microsoft.Common.EditableGrid", "Microsoft.Solutions.JitConfigurator"}
    for control in walk(ui):
        if re.fullmatch(r"Microsoft\..*\..*", str(control.get("type", ""))) and control["type"] not in exempt:
            tooltip = next((v for k, v in control.items() if k.lower() == "tooltip"), "")
            assert str(tooltip).strip(), control.get("name")


def test_validations_have_messages(written):
    """CreateUIDefinition/Validations-Must-Have-Message.test.ps1."""
    ui, _ = load(written, "createUiDefinition.json")
    for obj in walk(ui):
        for validation in obj.get("validations", []) if isinstance(obj.get("validations"), list) else []:
            assert "message" in validation


def test_allowed_values_are_allowed(written):
    """CreateUIDefinition/Allowed-Values-Should-Actually-Be-Allowed.test.ps1: a control's allowedValues are
    allowed by the template parameter it feeds."""
    ui, _ = load(written, "createUiDefinition.json")
    template, _ = load(written, "template.json")
    outputs = ui["parameters"]["outputs"]
    for control in walk(ui):
        if "allowedValues" in control and control.get("name"):
            fed = [p for p, e in outputs.items() if f"'{control['name']}'" in e]
            for p in fed:
                allowed = template["parameters"][p].get("allowedValues")
                values = [v.get("value") if isinstance(v, dict) else v for v in control["allowedValues"]]
                assert allowed is None or set(values) <= set(allowed)


def test_ui_has_no_blanks(written):
    """CreateUIDefinition/CreateUIDefinition-Must-Not-Have-Blanks.test.ps1 (except basics, defaultValue, steps)."""
    _, text = load(written, "createUiDefinition.json")
    assert blanks(text, {"basics", "defaultValue", "steps"}) == []


# ------------------------------------------------------------------------------------------------------
# template.json
# ------------------------------------------------------------------------------------------------------
def test_template_schema(written):
    """deploymentTemplate/DeploymentTemplate-Schema-Is-Correct.test.ps1."""
    template, _ = load(written, "template.json")
    assert template["$schema"] in (
        "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "https://schema.management.azure.com/schemas/2019-08-01/tenantDeploymentTemplate.json#",
        "https://schema.management.azure.com/schemas/2019-08-01/managementGroupDeploymentTemplate.json#",
    )


def test_parameters_are_referenced_in_expressions(written):
    """deploymentTemplate/Parameters-Must-Be-Referenced.test.ps1: every parameter is referenced, inside an
    expression (the nearest `[`, `"` or `@` before the reference is `[`)."""
    template, text = load(written, "template.json")
    for name in template["parameters"]:
        refs = list(re.finditer(rf"parameters\s*\(\s*'{re.escape(name)}'\s*\)", text))
        assert refs, f"unreferenced parameter {name}"
        for ref in refs:
            before = re.findall(r'(?<!\\)[\["@]', text[:ref.start() + 1])
            assert before and before[-1] == "[", f"{name}: reference outside an expression"


def test_template_has_no_blanks(written):
    """deploymentTemplate/Template-Should-Not-Contain-Blanks.test.ps1 (with its list of properties that may be empty)."""
    _, text = load(written, "template.json")
    allowed = {"resources", "outputs", "variables", "parameters", "functions", "properties", "template",
               "defaultValue", "accessPolicies", "value", "promotionCode", "inputs", "notEquals", "clientId",
               "allowedCallerIpAddresses", "workerPools", "AzureMonitor", "requiredDataConnectors", "UserTokenPrepend"}
    assert blanks(text, allowed) == []


def test_location_is_not_hardcoded(written):
    """deploymentTemplate/Location-Should-Not-Be-Hardcoded.test.ps1: the location parameter is a string
    defaulting to [deployment().location] (or resourceGroup()/global); deployment().location appears
    nowhere else; a resource's location is an expression or 'global'."""
    template, _ = load(written, "template.json")
    location = template["parameters"]["location"]
    assert location["type"] == "string"
    assert location["defaultValue"].strip() in ("[resourceGroup().location]", "global", "[deployment().location]")
    outside = json.dumps({k: v for k, v in template.items() if k != "parameters"})
    assert not re.search(r"(?:resourceGroup|deployment)\(\)\.location", outside, re.I)
    for resource in template["resources"]:
        if "location" in resource:
            assert resource["location"] == "global" or re.fullmatch(r"\[.*\]", resource["location"])


def test_resources_have_expression_locations(written):
    """deploymentTemplate/Resources-Should-Have-Location.test.ps1."""
    template, _ = load(written, "template.json")
    for resource in template["resources"]:
        location = str(resource.get("location", "")).strip()
        assert not location or location == "global" or re.fullmatch(r"\[.*\]", location)


def test_outputs_hold_no_secrets(written):
    """deploymentTemplate/Outputs-Must-Not-Contain-Secrets.test.ps1: no list*() call, no secure parameter,
    no output named like a password."""
    template, _ = load(written, "template.json")
    secure = {n for n, p in template["parameters"].items() if p["type"].lower() in ("securestring", "secureobject")}
    for name, output in template["outputs"].items():
        text = json.dumps(output)
        assert not re.search(r"[\[(,]\s*list\w*\s*\(", text, re.I)
        assert "password" not in name.lower()
        for p in secure:
            assert f"parameters('{p}')" not in text


def test_secure_parameters_have_no_default_and_passwords_are_secure(written):
    """deploymentTemplate/Secure-String-Parameters-Cannot-Have-Default.test.ps1,
    deploymentTemplate/Password-params-must-be-secure.test.ps1, deploymentTemplate/Min-And-Max-Value-Are-Numbers.test.ps1."""
    template, _ = load(written, "template.json")
    for name, p in template["parameters"].items():
        if p["type"].lower() in ("securestring", "secureobject"):
            assert "defaultValue" not in p
        if "password" in name.lower():
            assert p["type"].lower() == "securestring"
        for bound in ("minValue", "maxValue"):
            assert bound not in p or isinstance(p[bound], int)


def test_ids_are_derived_from_resource_ids(written):
    """deploymentTemplate/IDs-Should-Be-Derived-From-ResourceIDs.test.ps1: a resource property named *id that
    is not on arm-ttk's exception list (principalId, roleDefinitionId, tenantId, ... match the path's end)
    is an expression of resourceId(), parameters(), variables(), ..."""
    template, _ = load(written, "template.json")
    exceptions = ("principalId", "roleDefinitionId", "tenantId", "objectId", "subscriptionId", "clientId")
    allowed = r"\s*\[\s*(extensionResourceId|resourceId|subscriptionResourceId|tenantResourceId|if|parameters|" \
              r"reference|variables|subscription|guid)\s*\(\s*"

    def ids(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
        if isinstance(value, dict):
            for k, v in value.items():
                p = f"{path}.{k}"
                if k.lower().endswith("id"):
                    yield p, v
                yield from ids(v, p)
        elif isinstance(value, list):
            for v in value:
                yield from ids(v, path)

    checked = 0
    for path, value in ids(template["resources"]):
        if re.search(rf"(?:{'|'.join(exceptions)})$", path, re.I) or ".metadata." in path:
            continue
        if isinstance(value, str):
            assert value, f"blank id {path}"
            assert re.match(allowed, value), f"{path}: {value}"
            checked += 1
    assert checked  # the assignment's registrationDefinitionId at least


def test_depends_on_is_plain(written):
    """deploymentTemplate/DependsOn-Best-Practices.test.ps1: no dependsOn starting with if( or concat(."""
    template, _ = load(written, "template.json")
    for resource in template["resources"]:
        for dep in resource.get("dependsOn", []):
            assert not re.match(r"^\s*\[\s*(if|concat)\s*\(", dep)


def test_no_hardcoded_environment_urls(written):
    """deploymentTemplate/DeploymentTemplate-Must-Not-Contain-Hardcoded-Uri.test.ps1 (outside parameters and
    the $schema reference); deploymentTemplate/providers_apiVersions-Is-Not-Permitted.test.ps1."""
    template, text = load(written, "template.json")
    hosts = ["management.core.windows.net", "gallery.azure.com", "management.azure.com", "database.windows.net",
             "core.windows.net", "login.microsoftonline.com", "graph.windows.net", "vault.azure.net",
             "datalake.azure.net", "azuredatalakestore.net", "azuredatalakeanalytics.net", "api.loganalytics.io",
             "asazure.windows.net", "batch.core.windows.net"]
    body = json.dumps({k: v for k, v in template.items() if k not in ("parameters", "$schema")})
    for host in hosts:
        assert host not in body.lower()
    assert "providers(" not in text.replace(" ", "")


# ------------------------------------------------------------------------------------------------------
# parameters.<subscription>.json, and every file
# ------------------------------------------------------------------------------------------------------
def test_parameters_files(written):
    """deploymentParameters/DeploymentParameters-Should-Have-Schema, -ContentVersion, -Parameters, -Value
    .test.ps1; AllFiles/JSONFiles-Should-Be-Valid.test.ps1 (every file parses)."""
    files = sorted(written.glob("parameters.*.json"))
    assert files
    template, _ = load(written, "template.json")
    for path in files:
        params, _ = load(written, path.name)
        assert params["$schema"] in ("https://schema.management.azure.com/schemas/2015-01-01/deploymentParameters.json#",
                                     "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#")
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", params["contentVersion"])
        assert params["parameters"]
        for name, p in params["parameters"].items():
            assert "value" in p and name in template["parameters"]
    for path in written.glob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))


def test_the_instructions_name_every_field_of_the_form(written):
    """INSTRUCTIONS.md matches the form: it names each text box the customer fills, by label and parameter."""
    ui, _ = load(written, "createUiDefinition.json")
    instructions = (written / "INSTRUCTIONS.md").read_text(encoding="utf-8")
    for control in ui["parameters"]["basics"]:
        assert f"**{control['label']}** (`{control['name']}`)" in instructions
    assert "createUIDefinitionUri" in instructions


def test_the_rules_called_not_applicable_do_not_apply(written):
    """What NOT_APPLICABLE claims holds for these files: none of the controls, parameters or resources those
    rules look at is there (a change that adds one must check the rule)."""
    ui, ui_text = load(written, "createUiDefinition.json")
    template, text = load(written, "template.json")
    types = {c.get("type") for c in walk(ui)}
    assert not types & {"Microsoft.Compute.CredentialsCombo", "Microsoft.Common.PasswordBox",
                        "Microsoft.Compute.UserNameTextBox", "Microsoft.Compute.SizeSelector"}
    assert "hideExisting" not in ui_text
    resource_types = {r["type"] for r in template["resources"]}
    assert resource_types == {"Microsoft.ManagedServices/registrationDefinitions",
                              "Microsoft.ManagedServices/registrationAssignments"}
    assert "variables" not in template and "reference(" not in text
    assert not any(n.lower().startswith(("admin", "_artifacts")) for n in template["parameters"])
