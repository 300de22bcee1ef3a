"""The manifest's `review` section: facts a reviewer needs that are not any resource's inputs.

The Markdown plan and the PR diff render only from manifests (the diff's base side may be planned by
older code), so what they show about a stack must be in its manifest: the customer's display name and
tenant, the subscriptions' names, the destination workspace, who each principal id is, and in
Lighthouse template mode the delegation the customer deploys (no resource of the graph holds it).

Principals are named from the graph, not from a fixed list of identities: every service principal and
managed identity the program registers (this stack's and, for a customer, its platform's) is an
entry, labelled with the component that creates it and, for an application's service principal, the
federated credential subjects it signs in from. A second platform identity (for example a read-only
one) therefore shows up under its own label without any change here. Config principals (SOC groups,
approvers) come with the type the config declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from components.facts.pulumi_tokens import APP_FEDERATED_CREDENTIAL as FEDERATED_CREDENTIAL
from components.facts.pulumi_tokens import APPLICATION, SERVICE_PRINCIPAL
from components.facts.pulumi_tokens import APPLICATION_PASSWORD as CLIENT_SECRET

_CONFIG_TYPE = {"group": "Group", "user": "User", "servicePrincipal": "ServicePrincipal"}


def _last(urn: str | None) -> str:
    return (urn or "").rsplit("::", 1)[-1]


def graph_principals(registrations: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Principal id -> who it is, for every registration that is or carries an Entra principal."""
    regs = list(registrations)
    by_parent: dict[str | None, list[Any]] = {}
    for r in regs:
        by_parent.setdefault(r.parent, []).append(r)
    found: dict[str, dict[str, Any]] = {}
    apps = {}  # client id -> (application, its service principal), for service principals of the same app
    for r in regs:
        if r.type == SERVICE_PRINCIPAL:
            app = next((s for s in by_parent.get(r.parent, []) if s.type == APPLICATION), None)
            if app is not None and r.inputs.get("clientId"):
                apps[r.inputs["clientId"]] = (app, r)
    for r in regs:
        if not r.principal_id:
            continue
        if r.type == SERVICE_PRINCIPAL:
            own = next((s for s in by_parent.get(r.parent, []) if s.type == APPLICATION), None)
            app, home = (own, r) if own is not None else apps.get(r.inputs.get("clientId"), (None, None))
            siblings = by_parent.get(home.parent, []) if home is not None else []
            if app is None:
                found[r.principal_id] = {
                    "displayName": f"service principal of application {r.inputs.get('clientId')}",
                    "type": "ServicePrincipal", "identity": identity_label(_last(r.parent) or r.name)}
                continue
            # The application's own service principal, or its service principal in another tenant (the
            # direct model's customer-tenant one): it signs in as the same application.
            elsewhere = "" if own is not None else " (its service principal in this tenant)"
            found[r.principal_id] = {
                "displayName": str(app.inputs.get("displayName") or r.name) + elsewhere,
                "type": "ServicePrincipal",
                "identity": identity_label(_last(r.parent) or r.name),
                "signsInFrom": sorted(str(s.inputs.get("subject")) for s in siblings if s.type == FEDERATED_CREDENTIAL),
                "clientSecret": any(s.type == CLIENT_SECRET for s in siblings),
            }
        else:
            label = r.inputs.get("workflowName") or r.inputs.get("name") or r.name
            found[r.principal_id] = {
                "displayName": f"managed identity of {label}",
                "type": "ServicePrincipal",
                "identity": f"managed identity of {r.name}",
            }
    return found


def identity_label(component: str) -> str:
    """Which identity a grant belongs to: the platform's deploy or read-only identity, else the component."""
    from components.stacks import DEPLOY_IDENTITY, READ_ONLY_IDENTITY

    purpose = {DEPLOY_IDENTITY: "deploy identity", READ_ONLY_IDENTITY: "read-only identity"}.get(component)
    return f"{purpose} ({component})" if purpose else component


def config_principals(customer: Any) -> dict[str, dict[str, Any]]:
    """The customer config's Lighthouse principals and approvers, with their declared type."""
    found: dict[str, dict[str, Any]] = {}
    for auth in customer.lighthouse.authorizations:
        found[auth.principal_id] = {"displayName": auth.display_name, "type": _CONFIG_TYPE[auth.principal_type]}
        for approver in (auth.just_in_time.approvers if auth.just_in_time else []):
            # Approvers are MSSP-tenant users or groups; Lighthouse does not say which.
            found.setdefault(approver.principal_id, {"displayName": approver.display_name, "type": "User or Group"})
    # Customer topology: the SOC principals holding Sentinel roles on the customer's workspace.
    for ws_auth in customer.workspace.authorizations:
        found.setdefault(ws_auth.principal_id, {"displayName": ws_auth.display_name,
                                                "type": _CONFIG_TYPE[ws_auth.principal_type]})
    return found




def review_section(loaded: Any, registrations: Sequence[Any], platform_registrations: Sequence[Any] = (),
                   platform_outputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The `review` section of a stack's manifest (keys sorted, like everything in a manifest)."""
    platform = loaded.platform
    principals = graph_principals([*platform_registrations, *registrations])
    customer = loaded.customer
    if customer is None:
        section: dict[str, Any] = {
            "kind": "platform",
            "displayName": "MSSP platform",
            "tenantId": platform.tenant_id,
            "workspaceId": platform.workspace_id,
            "subscriptions": {platform.subscription_id: "MSSP platform subscription"},
        }
    else:
        lighthouse = customer.access_model == "lighthouse"
        outputs = platform_outputs or {}
        section = {
            "kind": "customer",
            "displayName": customer.display_name,
            "tenantId": customer.tenant_id,
            "managingTenantId": platform.tenant_id,
            "accessModel": customer.access_model,
            "lighthouseMode": customer.lighthouse.mode if lighthouse else None,
            # What the customer's settings target: the deployed platform's workspace output.
            "workspaceId": outputs.get("workspaceResourceId", platform.workspace_id),
            "subscriptions": {s.id: s.display_name for s in customer.subscriptions},
        }
        if customer.workspace.customer_mode:
            # Customer topology (components.workspace.sentinel): the settings target the customer's own workspace.
            section["workspaceId"] = customer.workspace.resource_id
        principals = config_principals(customer) | principals
        if lighthouse and customer.lighthouse.mode == "template":
            section["delegationTemplate"] = delegation_template(loaded, outputs)
        if lighthouse and customer.lighthouse.mode == "template" and customer.workspace.customer_mode:
            section["workspaceDelegationTemplate"] = workspace_delegation_template(loaded, outputs)
    section["principals"] = principals
    return _sorted(section)


def delegation_template(loaded: Any, platform_outputs: Mapping[str, Any]) -> dict[str, Any]:
    """What the customer deploys in template mode, exactly as `mssp template` writes it (one function builds
    both: components.lighthouse.template.exported_template), with the values the plan knows for the
    template's principal parameters, so the access table names the identities behind them."""
    from components.lighthouse.template import (
        PRINCIPAL_PARAMETER,
        READ_ONLY_PARAMETER,
        create_ui_definition,
        exported_template,
        principal_parameters,
    )

    template = exported_template(loaded)
    outputs = {PRINCIPAL_PARAMETER: "servicePrincipalObjectId", READ_ONLY_PARAMETER: "readOnlyServicePrincipalObjectId"}
    return {
        "scopes": [f"/subscriptions/{s.id}" for s in loaded.customer.subscriptions],
        "template": template,
        "uiDefinition": create_ui_definition(loaded.customer, template),
        "parameterValues": {p: str(platform_outputs.get(outputs[p], f"(platform output {outputs[p]})"))
                            for p in principal_parameters(template)},
    }


def workspace_delegation_template(loaded: Any, platform_outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Customer topology in template mode: the workspace resource group and its delegation, which the customer
    deploys too, exactly as `mssp template` writes it (components.workspace.sentinel.workspace_arm_template), with
    its authorizations' principal ids resolved to what the plan knows, for the access table and the guardrails."""
    from components.lighthouse.template import PRINCIPAL_PARAMETER, READ_ONLY_PARAMETER
    from components.workspace.sentinel import workspace_arm_template

    customer, platform = loaded.customer, loaded.platform
    reader = platform.read_only_identity
    group = platform.offboarding_group
    template = workspace_arm_template(customer, platform.tenant_id, platform.identity.display_name,
                                      reader.display_name if reader is not None else None,
                                      (group.principal_id, group.display_name) if group else None)
    outputs = {PRINCIPAL_PARAMETER: "servicePrincipalObjectId", READ_ONLY_PARAMETER: "readOnlyServicePrincipalObjectId"}
    values = {p: str(platform_outputs.get(o, f"(platform output {o})")) for p, o in outputs.items()}
    props = next(r["properties"] for r in template["resources"]
                 if r["type"] == "Microsoft.ManagedServices/registrationDefinitions")
    resolved = {**props, "authorizations": [
        {**a, "principalId": next((values[p] for p in values if a["principalId"] == f"[parameters('{p}')]"),
                                  a["principalId"])} for a in props["authorizations"]]}
    return {"scopes": [customer.workspace.resource_group_id], "template": template, "properties": resolved}


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value
