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
PRINCIPAL_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
# The read-only identity (previews, drift): Reader (roles.READ_ONLY_ROLES), when the platform has one.
READ_ONLY_PARAMETER = "msspReadOnlyServicePrincipalObjectId"


def arm_template(customer: CustomerConfig, managing_tenant_id: str, mssp_principal_name: str,
                 read_only_principal_name: str | None = None, sql_audit: bool = False) -> dict[str, Any]:
    # The authorizations do not depend on the subscription; only the ids do (parameters).
    props = definition_properties(
        customer, managing_tenant_id, "", f"[parameters('{PRINCIPAL_PARAMETER}')]", mssp_principal_name,
        f"[parameters('{READ_ONLY_PARAMETER}')]" if read_only_principal_name else None, read_only_principal_name,
        sql_audit,
    )
    read_only_parameter = {READ_ONLY_PARAMETER: {
        "type": "string",
        "metadata": {"description": "Object id of the MSSP's read-only service principal (previews, drift)"},
    }} if read_only_principal_name else {}
    return {
        "$schema": TEMPLATE_SCHEMA,
        "contentVersion": "1.0.0.0",
        "metadata": {"description": f"Azure Lighthouse delegation of {customer.display_name} to the MSSP (mssp-sentinel)"},
        "parameters": {
            "registrationDefinitionId": {
                "type": "string",
                "metadata": {"description": "Deterministic id of the registration definition (from mssp-sentinel)"},
            },
            "registrationAssignmentId": {
                "type": "string",
                "metadata": {"description": "Deterministic id of the registration assignment (from mssp-sentinel)"},
            },
            PRINCIPAL_PARAMETER: {
                "type": "string",
                "metadata": {"description": "Object id of the MSSP's service principal in the MSSP tenant"},
            },
            **read_only_parameter,
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


def create_ui_definition(customer: CustomerConfig) -> dict[str, Any]:
    """The portal form for "Deploy to Azure": nothing to choose but the subscription and region."""
    return {
        "$schema": UI_SCHEMA,
        "handler": "Microsoft.Azure.CreateUIDef",
        "version": "0.1.2-preview",
        "parameters": {
            "config": {
                "isWizard": False,
                "basics": {
                    "description": f"Delegates this subscription to the MSSP for {customer.display_name}: "
                    "read access and diagnostic settings that forward logs to the MSSP's Microsoft Sentinel.",
                    "location": {"label": "Deployment location", "visible": True},
                },
            },
            "basics": [],
            "steps": [],
            "outputs": {"location": "[location()]"},
        },
    }


def instructions(customer: CustomerConfig, managing_tenant_id: str, principal_known: bool) -> str:
    subs = "\n".join(
        f"- {s.display_name} (`{s.id}`):\n\n"
        f"  ```\n  az account set --subscription {s.id}\n"
        f"  az provider register --namespace Microsoft.ManagedServices\n"
        f"  az deployment sub create --name mssp-sentinel-lighthouse --location westeurope \\\n"
        f"    --template-file template.json --parameters @parameters.{s.id}.json\n  ```"
        for s in customer.subscriptions
    )
    warning = "" if principal_known else (
        "\n> **Before sending this to the customer:** the MSSP service principal's object id was not known when "
        f"these files were written; replace `{PRINCIPAL_PLACEHOLDER}` in every parameters file with the platform "
        "stack's `servicePrincipalObjectId` output, or run `python -m mssp template` again with "
        "`--mssp-principal-id`.\n"
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

## Or deploy in the Azure portal
Host `template.json` and `createUiDefinition.json` where the portal can read them, then open
`https://portal.azure.com/#create/Microsoft.Template/uri/<url-encoded template URL>/createUIDefinitionUri/<url-encoded UI definition URL>`
and fill the parameters from the subscription's `parameters.<subscription id>.json`.

No admin consent is needed: Lighthouse lets the MSSP's own principals in, nothing is added to your
Entra tenant.

Deploying again changes nothing: the ids are fixed for your tenant and subscription.
"""
