"""The pure part of `mssp offboard`: from a customer stack's offline plan, what `pulumi destroy` deletes,
what stays and why, what the customer must do themselves, and the known blockers.

Inputs are plan manifests (mssp.plan.command.build_manifest, the design's manifest contract) of the customer
stack and of its platform stack; nothing here talks to a network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from components.facts import naming, roles
from components.facts.pulumi_tokens import DIAGNOSTIC_SETTING as RESOURCE_SETTING
from components.facts.pulumi_tokens import (
    PROVIDER_PREFIX,
    REGISTRATION_ASSIGNMENT,
    REGISTRATION_DEFINITION,
    ROLE_ASSIGNMENT,
    WORKFLOW,
)
from components.facts.pulumi_tokens import SUBSCRIPTION_DIAGNOSTIC_SETTING as SUBSCRIPTION_SETTING
from mssp import escape
from mssp.azure import arm as arm_api

# Lighthouse REST API version and paths. Source: Azure/azure-rest-api-specs specification/managedservices/
# resource-manager/Microsoft.ManagedServices/stable/2022-10-01/managedservices.json
# (DELETE /{scope}/providers/Microsoft.ManagedServices/registrationAssignments/{registrationAssignmentId},
# and .../registrationDefinitions/{registrationDefinitionId}).
MANAGED_SERVICES_API_VERSION = "2022-10-01"

# Known blockers, worded for the operator and the customer. Sources: Azure Landing Zones assigns
# DenyAction-DiagnosticLogs (Azure/Enterprise-Scale policy assignments); settings outlive their resources
# (MicrosoftDocs/azure-docs#100347).
BLOCKERS: tuple[dict[str, str], ...] = (
    {"id": "alz-deny-diagnostic-delete",
     "text": "Azure Landing Zones assign the policy `DenyAction-DiagnosticLogs` at the root management group: "
             "it denies deleting diagnostic settings, so `pulumi destroy` fails with RequestDisallowedByPolicy on "
             "every setting. Ask the customer for a policy exemption on the listed subscriptions for the "
             "offboarding window (or to delete the settings themselves), then run the destroy again."},
    {"id": "settings-outlive-resources",
     "text": "Diagnostic settings outlive deleted resources (MicrosoftDocs/azure-docs#100347): a setting on a "
             "resource deleted since onboarding is not removed by deleting the resource, and comes back to life "
             "(still sending to the MSSP workspace) when a resource with the same id is created again. The "
             "verification lists such resources as 'resource gone, cannot verify'; leftovers also use up the "
             "limit of five settings per resource (Azure/missionlz#423)."},
    {"id": "order-delegation-last",
     "text": "The MSSP reaches the customer's subscriptions only through the delegation: remove the diagnostic "
             "settings (and verify) before the Lighthouse registration assignment is deleted, or the MSSP can no "
             "longer see what is left."},
)


def _provider_subscriptions(manifest: Mapping[str, Any]) -> dict[str, str]:
    return {r["name"]: r["inputs"].get("subscriptionId", "") for r in manifest["resources"]
            if r["type"].startswith(PROVIDER_PREFIX)}


def expected_setting_ids(manifest: Mapping[str, Any]) -> list[dict[str, str]]:
    """The ARM id of every diagnostic setting the stack owns: {id, scope, name} (resource and subscription scope)."""
    subs = _provider_subscriptions(manifest)
    out = []
    for r in manifest["resources"]:
        if r["type"] == RESOURCE_SETTING:
            scope = r["inputs"]["resourceUri"]
        elif r["type"] == SUBSCRIPTION_SETTING:
            scope = f"/subscriptions/{subs.get(r['provider'] or '', '')}"
        else:
            continue
        name = r["inputs"].get("name") or r["name"]
        out.append({"id": f"{scope}{arm_api.DIAGNOSTIC_SETTINGS_PROVIDER}/{name}", "scope": scope, "name": name})
    return sorted(out, key=lambda s: s["id"].lower())


def _disposition(r: Mapping[str, Any]) -> tuple[str, str]:
    t = r["type"]
    if not r["custom"]:
        return "deleted", "component (a logical group in the Pulumi state; nothing of its own in Azure)"
    if t.startswith(PROVIDER_PREFIX):
        return "deleted", "provider configuration in the Pulumi state; nothing in Azure"
    if t == "pulumi:pulumi:StackReference":
        return "deleted", "reads the platform stack's outputs; the platform stack itself is not touched"
    if r["options"].get("protect"):
        return "retained", "protected: `pulumi destroy` refuses to delete it (unprotect it deliberately first)"
    if r["options"].get("retainOnDelete"):
        if t.startswith("azuread:") and "servicePrincipal" in t:
            return "retained", ("retained on delete: the MSSP app's service principal in the customer tenant stays "
                                "until the customer deletes it (revoking the admin consent)")
        return "retained", "retained on delete: Pulumi forgets it, Azure keeps it"
    if t == RESOURCE_SETTING:
        return "deleted", f"diagnostic setting on {r['inputs'].get('resourceUri')}"
    if t == SUBSCRIPTION_SETTING:
        return "deleted", "the subscription's Activity log setting"
    if t.startswith(REGISTRATION_ASSIGNMENT):
        return "deleted", "Lighthouse assignment: the MSSP loses access to the subscription (needs customer Owner)"
    if t.startswith(REGISTRATION_DEFINITION):
        return "deleted", "Lighthouse definition (the offer), after its assignment"
    if t == WORKFLOW:
        return "deleted", "the customer's Splunk webhook Logic App in the MSSP subscription: its URL stops working"
    if t == ROLE_ASSIGNMENT:
        return "deleted", "role assignment made for this customer"
    return "deleted", "created by this stack"


_DELETE_ROLE = roles.REGISTRATION_DELETE


def delegation_removers(manifest: Mapping[str, Any]) -> list[str]:
    """Who in the MSSP tenant may remove the delegation: the principals the customer's delegation (deployed, or
    exported as a template) gives the Managed Services Registration assignment Delete Role (platform.offboardingGroup),
    as "name (object id)"."""
    found: dict[str, str] = {}
    props = [r["inputs"].get("properties") or {} for r in manifest["resources"]
             if r["type"].startswith("azure-native:managedservices:RegistrationDefinition")]
    template = ((manifest.get("review") or {}).get("delegationTemplate") or {}).get("template") or {}
    props += [res.get("properties") or {} for res in template.get("resources") or []
              if res.get("type") == "Microsoft.ManagedServices/registrationDefinitions"]
    for p in props:
        for auth in p.get("authorizations") or []:
            if str(auth.get("roleDefinitionId", "")).lower().endswith(_DELETE_ROLE.guid):
                pid = str(auth.get("principalId"))
                found[pid] = f"{auth.get('principalIdDisplayName') or pid} ({pid})"
    return sorted(found.values())


def build_runbook(manifest: Mapping[str, Any], platform_manifest: Mapping[str, Any] | None,
                  platform_tenant_id: str) -> dict[str, Any]:
    """The offboarding plan of a customer stack (a dict: the JSON report's plan part)."""
    outputs = manifest["outputs"]
    customer = outputs.get("customer") or manifest["stack"]
    subscriptions = list(outputs.get("subscriptions") or [])
    resources = []
    for r in manifest["resources"]:
        disposition, reason = _disposition(r)
        resources.append({"urn": r["urn"], "name": r["name"], "type": r["type"], "disposition": disposition,
                          "reason": reason})
    stays: list[dict[str, str]] = [
        {"what": f"platform resource `{r['name']}` ({r['type']})",
         "reason": f"shared by every customer: it belongs to platform stack `{platform_manifest['stack']}`, "
                   "which offboarding never touches"
                   + ("; also protected and retained on delete, since losing it loses data"
                      if r["options"].get("protect") else "")}
        for r in (platform_manifest or {"resources": []})["resources"]
        if r["custom"] and not r["type"].startswith((PROVIDER_PREFIX, "pulumi:pulumi:"))
    ]
    storage = outputs.get("logStorage") if isinstance(outputs.get("logStorage"), Mapping) else {}
    if storage.get("topology") == "customer":
        # Customer topology (docs/topologies.md): the customer's own workspace, kept unless deleting it was decided.
        if storage.get("onOffboard", "retain") == "retain":
            # "what" and "reason" are rendered as this module's Markdown: config text goes through mssp.escape.
            stays.append({"what": f"the customer's workspace {escape.md_code(storage.get('workspaceResourceId'))}, its "
                                  "Microsoft Sentinel and its resource group, with every log in them",
                          "reason": "retained on delete (customer.workspace.onOffboard: retain): Pulumi forgets them, "
                                    "the customer keeps them; the MSSP's access ends with the delegation"})
        else:
            stays.append({"what": f"nothing of the customer's workspace {escape.md_code(storage.get('workspaceResourceId'))}",
                          "reason": "deleted with its logs, as decided: " + escape.md(str(storage.get("deleteDecision") or "?"))
                                    + " (Log Analytics keeps a deleted workspace recoverable for 14 days)"})
    else:
        stays.append({"what": "logs already ingested into the MSSP workspace",
                      "reason": "they stay until the workspace's retention removes them (deleting the customer's "
                                "rows early needs a workspace purge, a separate decision)"})
    template = outputs.get("accessModel") == "lighthouse" and outputs.get("lighthouseMode") == "template"
    consent = outputs.get("adminConsentUrl") or ""
    app_id = (parse_qs(urlsplit(consent).query).get("client_id") or [""])[0]
    # The customer's tenant: the plan's review section has it (the admin-consent link exists only in the
    # direct model since the Lighthouse model creates no customer-tenant service principal).
    tenant_id = str((manifest.get("review") or {}).get("tenantId") or "") or (
        urlsplit(consent).path.strip("/").split("/")[0] if consent else "")
    steps: list[dict[str, Any]] = []
    removers = delegation_removers(manifest)
    who = (f"a member of {', '.join(removers)}, the MSSP group holding the Managed Services Registration assignment "
           "Delete Role, or a customer Owner") if removers else "a customer Owner (no MSSP group holds the Delete Role)"
    if template:
        for sub in subscriptions:
            assignment = naming.registration_assignment_guid(platform_tenant_id, tenant_id, sub)
            definition = naming.registration_definition_guid(platform_tenant_id, tenant_id, sub)
            base = f"/subscriptions/{sub}/providers/Microsoft.ManagedServices"
            steps.append({
                "step": f"Remove the Lighthouse delegation of subscription {sub} (after the MSSP confirmed the "
                        f"settings are gone; done by {who})",
                "commands": [
                    f"az managedservices assignment delete --assignment {assignment} --subscription {sub}",
                    f"az managedservices definition delete --definition {definition} --subscription {sub}",
                    f"az rest --method delete --url \"https://management.azure.com{base}/registrationAssignments/"
                    f"{assignment}?api-version={MANAGED_SERVICES_API_VERSION}\"",
                ]})
    # The admin consent exists only where the MSSP application has a service principal in the customer
    # tenant: the direct model (the Lighthouse model creates none; docs/design/identities.md).
    if consent or outputs.get("accessModel") == "direct":
        steps.append({
            "step": "Revoke the admin consent: delete the MSSP application's service principal (Enterprise "
                    "applications in the Entra admin center) in your tenant",
            "commands": [f"az ad sp delete --id {app_id}" if app_id else "az ad sp delete --id <MSSP application id>"],
            # Offline, the application id comes from the platform's offline plan; the deployed one is
            # `pulumi stack output applicationClientId` of the platform stack.
            "note": "application id as planned offline; the deployed value is the platform stack's output "
                    "applicationClientId"})
    if storage.get("topology") == "customer":
        steps.append({"step": "If the workspace is connected to the Microsoft Defender portal, disconnect it there "
                              "(System > Settings > Microsoft Sentinel > Workspaces); no public API does this "
                              "(docs/topologies.md)", "commands": []})
    if any(r["type"] == WORKFLOW for r in manifest["resources"]):
        steps.append({"step": "Remove the MSSP webhook alert action from your Splunk saved searches (its URL stops "
                              "working with the offboarding)", "commands": []})
    return {
        "customer": customer,
        "stack": manifest["stack"],
        "accessModel": outputs.get("accessModel"),
        "lighthouseMode": outputs.get("lighthouseMode"),
        "subscriptions": subscriptions,
        "resources": resources,
        "deleted": sum(1 for r in resources if r["disposition"] == "deleted"),
        "retained": sum(1 for r in resources if r["disposition"] == "retained"),
        "stays": stays,
        "customerSteps": steps,
        "blockers": [dict(b) for b in BLOCKERS],
        # Who can remove the delegation besides `pulumi destroy` (which does it with the customer-Owner provider in
        # deploy mode): the platform's offboarding group. The CI deploy identity cannot.
        "delegationRemovers": removers,
        "expectedSettings": expected_setting_ids(manifest),
    }


def render_markdown(report: Mapping[str, Any]) -> str:
    """The runbook for people. Names from config and the plan, `pulumi destroy`'s output and ARM's answers go
    through mssp.escape; the steps, reasons and blockers are this module's own Markdown."""
    code = escape.md_code
    lines = [f"# Offboarding {escape.md(report['customer'])} (stack {code(report['stack'])})", "",
             f"- status: **{escape.md(report['status'])}** (exit code {report['exitCode']})",
             f"- access model: {escape.md(report['accessModel'])}"
             + (f" ({escape.md(report['lighthouseMode'])} mode)" if report.get("lighthouseMode") else ""),
             f"- subscriptions: {', '.join(code(s) for s in report['subscriptions'])}",
             f"- resources in the plan: {len(report['resources'])}: {report['deleted']} deleted, "
             f"{report['retained']} retained", ""]
    for e in report.get("errors", []):
        lines.append(f"> **error:** {escape.md(e)}")
    lines += ["## What `pulumi destroy` deletes", "", "| resource | type | why |", "|---|---|---|"]
    lines += [f"| {code(r['name'])} | {code(r['type'])} | {r['reason']} |" for r in report["resources"]
              if r["disposition"] == "deleted"]
    lines += ["", "## What stays", "", "| what | why |", "|---|---|"]
    lines += [f"| {code(r['name'])} ({code(r['type'])}) | {r['reason']} |" for r in report["resources"]
              if r["disposition"] == "retained"]
    lines += [f"| {s['what']} | {s['reason']} |" for s in report["stays"]]
    lines += ["", "## What the customer does", ""]
    for i, s in enumerate(report["customerSteps"], 1):
        lines.append(f"{i}. {s['step']}")
        if s["commands"]:
            lines += ["", "   ```sh"] + [f"   {c}" for c in s["commands"]] + ["   ```", ""]
    removers = report.get("delegationRemovers") or []
    lines += ["", "## Who removes the Lighthouse delegation", "",
              "- `pulumi destroy` (deploy mode) deletes the registration assignments and definitions with the "
              "customer-Owner provider; the CI deploy identity holds no role that could.",
              (f"- Otherwise, or if the destroy fails part-way: a member of {', '.join(removers)} (Managed Services "
               "Registration assignment Delete Role), or a customer Owner." if removers else
               "- Otherwise: a customer Owner (no MSSP group holds the Delete Role: set platform.offboardingGroup).")]
    lines += ["", "## Known blockers", ""] + [f"- {b['text']}" for b in report["blockers"]]
    verification = report.get("verification")
    lines += ["", "## Verification: none of our diagnostic settings remain", ""]
    if verification is None:
        lines.append("Not run yet: `--execute --yes` destroys and then verifies; `--verify-only` verifies alone.")
    else:
        lines += [f"- {escape.md(verification['summary'])}", "", "| setting | result |", "|---|---|"]
        lines += [f"| {code(v['id'])} | {escape.md(v['result'])}{': ' + escape.md(v['detail']) if v.get('detail') else ''} |"
                  for v in verification["settings"]]
    return "\n".join(lines) + "\n"
