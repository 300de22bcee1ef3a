"""The Lighthouse delegation as an ARM template, for customers who deploy it themselves (template mode).

Carries exactly what `LighthouseDelegation` would create: the same authorizations
(`lighthouse.definition_properties`) and the same deterministic ids (`components.facts.naming`), so a
delegation deployed from the template and one deployed by Pulumi are the same objects.

One subscription-scope template, one parameters file per subscription (the definition and assignment
ids differ per subscription). Shapes: ARM subscriptionDeploymentTemplate schema 2018-05-01;
Microsoft.ManagedServices 2022-10-01 (ARM schema `registrationDefinitions`/`registrationAssignments`);
createUiDefinition 0.1.2-preview as in Azure/Azure-Lighthouse-samples.
"""

from __future__ import annotations

from typing import Any

from components.config.customer import CustomerConfig
from components.facts import naming
from components.lighthouse.delegation import definition_properties

TEMPLATE_SCHEMA = "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
PARAMETERS_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
UI_SCHEMA = "https://schema.management.azure.com/schemas/0.1.2-preview/CreateUIDefinition.MultiVm.json#"
MANAGED_SERVICES_API = "2022-10-01"
PRINCIPAL_PARAMETER = "msspServicePrincipalObjectId"
# The read-only identity (previews, drift): Reader (roles.READ_ONLY_ROLES), when the platform has one.
READ_ONLY_PARAMETER = "msspReadOnlyServicePrincipalObjectId"
LOCATION_PARAMETER = "location"
# What each parameter is, for the template's metadata and the portal form's tooltips alike.
PARAMETER_HELP = {
    "registrationDefinitionId": "Id of the registration definition: the value in this subscription's "
                                "parameters.<subscription id>.json (fixed for your tenant and subscription)",
    "registrationAssignmentId": "Id of the registration assignment: the value in this subscription's "
                                "parameters.<subscription id>.json (fixed for your tenant and subscription)",
    PRINCIPAL_PARAMETER: "Object id of the MSSP's service principal in the MSSP tenant (in every parameters file)",
    READ_ONLY_PARAMETER: "Object id of the MSSP's read-only service principal (previews, drift; in every parameters file)",
}
# The portal form's labels, one per parameter without a default.
PARAMETER_LABEL = {
    "registrationDefinitionId": "Registration definition id",
    "registrationAssignmentId": "Registration assignment id",
    PRINCIPAL_PARAMETER: "MSSP service principal object id",
    READ_ONLY_PARAMETER: "MSSP read-only service principal object id",
}
# A GUID, the only value the four parameters take; arm-ttk Textboxes-Are-Well-Formed wants a regex with a
# length constraint and a validation message.
GUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def exported_template(loaded: Any) -> dict[str, Any]:
    """The template `mssp template` writes for a loaded customer stack: the one source of the exported
    delegation. The plan's review (mssp/plan/review.py), its guardrails and the diff read this very
    dict, so what a reviewer approves and what the customer deploys cannot differ."""
    from components.forwarding.diagnostics import plan_settings

    customer, platform = loaded.customer, loaded.platform
    reader = platform.read_only_identity
    # As the program plans it (components/stacks.py): subscription-wide SQL Security Manager only with
    # sqlAudit.scope: subscription (acknowledged); resource-group delegations are not exported (the config refuses
    # that combination in template mode).
    sql_audit = customer.forwarding.sql_audit.scope == "subscription" and bool(
        plan_settings(loaded.inventory, customer.forwarding, loaded.adopted_setting_names).audits)
    group = platform.offboarding_group
    return arm_template(customer, platform.tenant_id, platform.identity.display_name,
                        reader.display_name if reader else None, sql_audit,
                        (group.principal_id, group.display_name) if group else None)


def placeholder(output: str) -> str:
    """What a parameters file holds for a principal id nobody gave: not a GUID, so ARM and the portal form
    refuse it until it is replaced (a nil GUID would deploy a delegation to nobody)."""
    return f"REPLACE-WITH-platform-output-{output}"


def principal_parameters(template: dict[str, Any]) -> tuple[str, ...]:
    """The template's principal-id parameters (the MSSP identities), in template order."""
    return tuple(p for p in (PRINCIPAL_PARAMETER, READ_ONLY_PARAMETER) if p in template.get("parameters", {}))


def arm_template(customer: CustomerConfig, managing_tenant_id: str, mssp_principal_name: str,
                 read_only_principal_name: str | None = None, sql_audit: bool = False,
                 offboarding_group: tuple[str, str] | None = None) -> dict[str, Any]:
    # The authorizations do not depend on the subscription; only the ids do (parameters).
    props = definition_properties(
        customer, managing_tenant_id, "", f"[parameters('{PRINCIPAL_PARAMETER}')]", mssp_principal_name,
        f"[parameters('{READ_ONLY_PARAMETER}')]" if read_only_principal_name else None, read_only_principal_name,
        sql_audit, offboarding_group,
    )
    read_only_parameter = {READ_ONLY_PARAMETER: {
        "type": "string",
        "metadata": {"description": PARAMETER_HELP[READ_ONLY_PARAMETER]},
    }} if read_only_principal_name else {}
    return {
        "$schema": TEMPLATE_SCHEMA,
        "contentVersion": "1.0.0.0",
        "metadata": {"description": f"Azure Lighthouse delegation of {customer.display_name} to the MSSP (mssp-sentinel)"},
        "parameters": {
            **{name: {"type": "string", "metadata": {"description": PARAMETER_HELP[name]}}
               for name in ("registrationDefinitionId", "registrationAssignmentId", PRINCIPAL_PARAMETER)},
            **read_only_parameter,
            # Where ARM keeps the deployment's record (a subscription deployment needs a region; the
            # delegation itself has none). arm-ttk: the portal form's `location` output must be a template
            # parameter (Outputs-Must-Be-Present-In-Template-Parameters, Location-Should-Be-In-Outputs),
            # defaulting to [deployment().location] (Location-Should-Not-Be-Hardcoded).
            LOCATION_PARAMETER: {
                "type": "string",
                "defaultValue": "[deployment().location]",
                "metadata": {"description": "Region where Azure keeps this deployment's record"},
            },
        },
        "resources": [
            {
                "type": "Microsoft.ManagedServices/registrationDefinitions",
                "apiVersion": MANAGED_SERVICES_API,
                "name": "[parameters('registrationDefinitionId')]",
                "properties": props,
            },
            {
                "type": "Microsoft.ManagedServices/registrationAssignments",
                "apiVersion": MANAGED_SERVICES_API,
                "name": "[parameters('registrationAssignmentId')]",
                "dependsOn": [
                    "[resourceId('Microsoft.ManagedServices/registrationDefinitions', parameters('registrationDefinitionId'))]"
                ],
                "properties": {
                    "registrationDefinitionId": "[resourceId('Microsoft.ManagedServices/registrationDefinitions', parameters('registrationDefinitionId'))]"
                },
            },
        ],
        "outputs": {
            "mspOfferName": {"type": "string", "value": customer.lighthouse.offer_name},
            "authorizations": {"type": "array", "value": props["authorizations"]},
            "deploymentLocation": {"type": "string", "value": f"[parameters('{LOCATION_PARAMETER}')]"},
        },
    }


def parameters_file(customer: CustomerConfig, managing_tenant_id: str, subscription_id: str, principal_id: str,
                    read_only_principal_id: str | None = None) -> dict[str, Any]:
    extra = {READ_ONLY_PARAMETER: {"value": read_only_principal_id}} if read_only_principal_id else {}
    return {
        "$schema": PARAMETERS_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {
            "registrationDefinitionId": {
                "value": naming.registration_definition_guid(managing_tenant_id, customer.tenant_id, subscription_id)
            },
            "registrationAssignmentId": {
                "value": naming.registration_assignment_guid(managing_tenant_id, customer.tenant_id, subscription_id)
            },
            PRINCIPAL_PARAMETER: {"value": principal_id},
            **extra,
        },
    }


def create_ui_definition(customer: CustomerConfig, template: dict[str, Any]) -> dict[str, Any]:
    """The portal form for "Deploy to Azure": one GUID text box per template parameter without a default
    (the values are in the subscription's parameters file), each output a template parameter.

    The form follows arm-ttk's createUiDefinition rules (tests/components/lighthouse/test_arm_ttk.py)."""
    needed = [name for name, p in template["parameters"].items() if "defaultValue" not in p]
    elements = [
        {
            "name": name,
            "type": "Microsoft.Common.TextBox",
            "label": PARAMETER_LABEL.get(name, name),
            "toolTip": PARAMETER_HELP.get(name, name),
            "constraints": {
                "required": True,
                "regex": GUID_PATTERN,
                "validationMessage": "A GUID (8-4-4-4-12 hexadecimal digits), as in the parameters file.",
            },
            "visible": True,
        }
        for name in needed
    ]
    return {
        "$schema": UI_SCHEMA,
        "handler": "Microsoft.Azure.CreateUIDef",
        "version": "0.1.2-preview",
        "parameters": {
            "config": {
                "isWizard": False,
                "basics": {
                    "description": f"Delegates this subscription to the MSSP for {customer.display_name}: "
                    "read access and diagnostic settings that forward logs to the MSSP's Microsoft Sentinel. "
                    "Copy each value below from this subscription's parameters.<subscription id>.json.",
                    "location": {"label": "Deployment location", "visible": True},
                },
            },
            "basics": elements,
            "steps": [],
            "outputs": {
                **{name: f"[basics('{name}')]" for name in needed},
                LOCATION_PARAMETER: "[location()]",
            },
        },
    }


def instructions(customer: CustomerConfig, managing_tenant_id: str, template: dict[str, Any],
                 unknown: list[tuple[str, str]] | None = None) -> str:
    """The customer's INSTRUCTIONS.md. `unknown`: (flag, platform output) of each principal id left as a placeholder."""
    subs = "\n".join(
        f"- {s.display_name} (`{s.id}`):\n\n"
        f"  ```\n  az account set --subscription {s.id}\n"
        f"  az provider register --namespace Microsoft.ManagedServices\n"
        f"  az deployment sub create --name mssp-sentinel-lighthouse --location westeurope \\\n"
        f"    --template-file template.json --parameters @parameters.{s.id}.json\n  ```"
        for s in customer.subscriptions
    )
    warning = "".join(
        "\n> **Before sending this to the customer:** the object id behind "
        f"`{flag}` was not known when these files were written; replace `{placeholder(output)}` in every "
        f"parameters file with the platform stack's `{output}` output, or run `python -m mssp template` again with "
        f"`{flag}`.\n"
        for flag, output in unknown or ()
    )
    fields = "\n".join(
        f"- **{PARAMETER_LABEL.get(name, name)}** (`{name}`): {PARAMETER_HELP.get(name, name)}"
        for name, p in template["parameters"].items() if "defaultValue" not in p
    )
    return f"""# Azure Lighthouse onboarding for {customer.display_name}
{warning}
Your MSSP asks you to delegate the subscriptions below to its tenant (`{managing_tenant_id}`) with Azure
Lighthouse. The delegation grants only the roles listed in `template.json` (authorizations); you can
see and remove it at any time under **Service providers** in the Azure portal.

Who: a user who is **Owner** of each subscription (creating a delegation needs
`Microsoft.Authorization/roleAssignments/write`).

## Deploy (Azure CLI), once per subscription
{subs}

## Or deploy in the Azure portal, once per subscription
Host `template.json` and `createUiDefinition.json` where the portal can read them, then open
`https://portal.azure.com/#create/Microsoft.Template/uri/<url-encoded template URL>/createUIDefinitionUri/<url-encoded UI definition URL>`,
choose the subscription and a deployment location, and copy each field from that subscription's
`parameters.<subscription id>.json`:

{fields}

No admin consent is needed: Lighthouse lets the MSSP's own principals in, nothing is added to your
Entra tenant.

Deploying again changes nothing: the ids are fixed for your tenant and subscription.
"""
