"""The two kinds of stack, assembled from components: providers, components, stack outputs.

`__main__.py` calls `build(loaded)` and exports what it returns. Every provider is explicit and
named after what it signs in as, so a reviewer sees in the plan which credentials touch what.

What only one kind of stack (or only the direct access model) uses is imported where it is built:
a Lighthouse customer creates nothing in Entra, so its plan does not import pulumi_azuread nor the
platform's components (docs/benchmarks.md "Measurements behind the code"; tests/mssp/plan/test_plan_fixed_cost.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import pulumi
import pulumi_azure_native as azure_native

from components.config import LoadedStack
from components.config.customer import SQL_AUDIT_POLICY_DEFINITION_ID
from components.facts import roles, trust
from components.forwarding.diagnostics import DiagnosticForwarding, DiagnosticForwardingArgs, plan_settings
from components.lighthouse.delegation import LighthouseDelegation, LighthouseDelegationArgs
from components.splunk.webhook import SplunkWebhook, SplunkWebhookArgs

if TYPE_CHECKING:
    import pulumi_azuread as azuread

    from components.config.platform import IdentityConfig
    from components.identity.multitenant import MultitenantServicePrincipal

# The platform's two identities (component names): the deploy identity for `pulumi up`, the read-only
# one for PR previews and drift. The plan's access table labels grants by them (mssp/plan/review.py).
# The names are reviewed data (components/facts/trust.py): the guardrail federated-credential-trust tells the
# identities' credentials apart by them.
DEPLOY_IDENTITY = trust.DEPLOY_IDENTITY_COMPONENT
READ_ONLY_IDENTITY = trust.READ_ONLY_IDENTITY_COMPONENT

# Platform outputs customer stacks read through their StackReference ("splunk" and "readOnly*" only when
# configured).
PLATFORM_OUTPUTS = ("applicationClientId", "servicePrincipalObjectId", "workspaceResourceId", "splunk",
                    "readOnlyClientId", "readOnlyServicePrincipalObjectId")


def build(loaded: LoadedStack) -> dict[str, Any]:
    return build_platform(loaded) if loaded.customer is None else build_customer(loaded)


def build_platform(loaded: LoadedStack) -> dict[str, Any]:
    import pulumi_azuread as azuread

    from components.identity.multitenant import MultitenantServicePrincipal, MultitenantServicePrincipalArgs
    from components.splunk.ingestion import SplunkAlertIngestion, SplunkAlertIngestionArgs

    p = loaded.platform
    arm = azure_native.Provider("mssp-arm", tenant_id=p.tenant_id, subscription_id=p.subscription_id, location=p.location)
    entra = azuread.Provider("mssp-entra", tenant_id=p.tenant_id)

    def principal(name: str, config: IdentityConfig, purpose: Literal["deploy", "read-only"]) -> MultitenantServicePrincipal:
        return MultitenantServicePrincipal(name, MultitenantServicePrincipalArgs(
            identity=config, tenant_id=p.tenant_id, subscription_id=p.subscription_id, workspace_id=p.workspace_id,
            entra_provider=entra, arm_provider=arm, purpose=purpose, resource_group=p.resource_group))

    identity = principal(DEPLOY_IDENTITY, p.identity, "deploy")
    outputs: dict[str, Any] = {
        "stackKind": "platform",
        "tenantId": p.tenant_id,
        # The deploy identity (`pulumi up`); the read-only one below is for previews and drift.
        "applicationClientId": identity.client_id,
        "servicePrincipalObjectId": identity.object_id,
        "servicePrincipalName": p.identity.display_name,
        "workspaceResourceId": p.workspace_id,
        "workspaceLocation": p.location,
    }
    if identity.client_secret is not None:
        outputs["applicationClientSecret"] = identity.client_secret
    if p.read_only_identity is not None:
        reader = principal(READ_ONLY_IDENTITY, p.read_only_identity, "read-only")
        outputs |= {"readOnlyClientId": reader.client_id, "readOnlyServicePrincipalObjectId": reader.object_id,
                    "readOnlyServicePrincipalName": p.read_only_identity.display_name}
        if reader.client_secret is not None:
            outputs["readOnlyClientSecret"] = reader.client_secret
    ws_sub, ws_rg, ws_name = p.workspace.parts(p.subscription_id)
    # The workspace may live in another MSSP subscription: what goes into it goes through that one.
    ws_provider = None
    if ws_sub != p.subscription_id and (p.itsm is not None or p.splunk is not None):
        ws_provider = azure_native.Provider("mssp-arm-workspace", tenant_id=p.tenant_id, subscription_id=ws_sub,
                                            location=p.location)
    if p.itsm is not None:
        outputs.update(build_itsm_sync(loaded, arm, entra, ws_provider))
    if p.splunk is not None:
        splunk = SplunkAlertIngestion(
            "mssp-splunk",
            SplunkAlertIngestionArgs(
                splunk=p.splunk,
                location=p.location,
                resource_group=p.resource_group,
                workspace_id=p.workspace_id,
                workspace_name=ws_name,
                workspace_resource_group=ws_rg,
                arm_provider=arm,
                workspace_provider=ws_provider or arm,
            ),
        )
        outputs["splunk"] = splunk.outputs()
    return outputs


def build_itsm_sync(loaded: LoadedStack, arm: azure_native.Provider, entra: azuread.Provider,
                    ws_provider: azure_native.Provider | None) -> dict[str, Any]:
    """The ITSM sync for redirected incidents (docs/operations/itsm.md); its credential only ever as a secret."""
    from components.itsm.sync import RedirectedIncidentSync, RedirectedIncidentSyncArgs

    p = loaded.platform
    assert p.itsm is not None
    ws_sub, ws_rg, ws_name = p.workspace.parts(p.subscription_id)
    secret = loaded.secret_values.get("itsmCredential")
    sync = RedirectedIncidentSync(
        "itsm-redirect",
        RedirectedIncidentSyncArgs(
            itsm=p.itsm,
            tenant_id=p.tenant_id,
            subscription_id=p.subscription_id,
            resource_group=p.resource_group,
            location=p.location,
            workspace_id=p.workspace_id,
            workspace_subscription_id=ws_sub,
            workspace_resource_group=ws_rg,
            workspace_name=ws_name,
            arm_provider=arm,
            entra_provider=entra,
            credential=pulumi.Output.secret(secret) if secret is not None else None,
            workspace_provider=ws_provider,
        ),
    )
    # Where the ITSM credential may be sent (the endpoint's host and platform.itsm.allowedHosts): every plan diff
    # shows a change here as an access change (mssp/plan/facts.py access_rows).
    outputs: dict[str, Any] = {"itsmKind": p.itsm.kind, "itsmPlaybookId": sync.playbook_id,
                               "itsmCredentialHosts": p.itsm.credential_hosts()}
    if sync.poller_id is not None:
        outputs["itsmPollerId"] = sync.poller_id
    return outputs


def build_customer(loaded: LoadedStack) -> dict[str, Any]:
    customer = loaded.customer
    assert customer is not None
    platform = loaded.platform
    ref = pulumi.StackReference("platform", stack_name=customer.platform_stack)
    client_id = ref.require_output("applicationClientId")
    sp_object_id = ref.require_output("servicePrincipalObjectId")
    lighthouse = customer.access_model == "lighthouse"
    deploy = not lighthouse or customer.lighthouse.mode == "deploy"
    # The read-only identity (previews, drift): Reader in the customer (roles.READ_ONLY_ROLES).
    reader_id = reader_client_id = None
    if platform.read_only_identity is not None:
        reader_id = ref.require_output("readOnlyServicePrincipalObjectId")
        reader_client_id = ref.require_output("readOnlyClientId")

    # Customer-tenant Owner credentials: only where Pulumi itself creates things in the customer tenant.
    admin: dict[str, azure_native.Provider] = {}
    if deploy:
        admin = {
            s.id: azure_native.Provider(f"customer-admin-{s.id}", tenant_id=customer.tenant_id, subscription_id=s.id)
            for s in customer.subscriptions
        }

    # Planned once here: where SQL servers get auditing decides a role of the MSSP identity: on their resource
    # groups (the default), or subscription-wide only with a person's acknowledgement in the stack file.
    plan = plan_settings(loaded.inventory, customer.forwarding, loaded.adopted_setting_names)
    sql_audit = customer.forwarding.sql_audit
    sql_audit_subs = frozenset(a.subscription_id for a in plan.audits) if sql_audit.scope == "subscription" else frozenset()
    sql_audit_groups = plan.audit_scopes() if sql_audit.scope == "resourceGroups" else {}
    offboarding = platform.offboarding_group
    depends_on: dict[str, list[pulumi.Resource]] = {}
    identity = None
    if lighthouse and deploy:
        delegation = LighthouseDelegation(
            f"{customer.name}-lighthouse",
            LighthouseDelegationArgs(
                customer=customer,
                managing_tenant_id=platform.tenant_id,
                mssp_principal_id=sp_object_id,
                mssp_principal_name=platform.identity.display_name,
                admin_providers=admin,
                read_only_principal_id=reader_id,
                read_only_principal_name=platform.read_only_identity.display_name if platform.read_only_identity else None,
                sql_audit_subscriptions=sql_audit_subs,
                sql_audit_resource_groups=sql_audit_groups,
                offboarding_group=(offboarding.principal_id, offboarding.display_name) if offboarding else None,
            ),
        )
        depends_on = {sub: [a, *delegation.sql_assignments.get(sub, [])] for sub, a in delegation.assignments.items()}
    elif not lighthouse:
        # Only the direct model needs the applications' service principals in the customer tenant (and so
        # the customer's admin consent): Lighthouse projects the MSSP-tenant principals instead.
        import pulumi_azuread as azuread

        from components.identity.customer import CustomerTenantIdentity, CustomerTenantIdentityArgs

        identity = CustomerTenantIdentity(
            f"{customer.name}-identity",
            CustomerTenantIdentityArgs(customer=customer, app_client_id=client_id,
                                       entra_provider=azuread.Provider("customer-entra", tenant_id=customer.tenant_id),
                                       admin_providers=admin, read_only_client_id=reader_client_id,
                                       sql_audit_subscriptions=sql_audit_subs,
                                       sql_audit_resource_groups=sql_audit_groups),
        )
        depends_on = {s.id: [identity] for s in customer.subscriptions}

    # The MSSP identity writes the settings: through the Lighthouse projection (MSSP tenant), or, in
    # the direct model, signed in to the customer tenant with the MSSP tenant as auxiliary tenant so
    # the setting may point at the MSSP workspace. The credential itself comes from the environment
    # (ARM_CLIENT_ID + OIDC in CI: the multitenant app's federated credential), never from config.
    forward = {
        s.id: azure_native.Provider(
            f"forward-{s.id}",
            subscription_id=s.id,
            tenant_id=platform.tenant_id if lighthouse else customer.tenant_id,
            auxiliary_tenant_ids=None if lighthouse else [platform.tenant_id],
        )
        for s in customer.subscriptions
    }
    # Where the logs go: the customer's own workspace (customer mode), or the deployed platform's workspace (its
    # output, not the file's: a platform change reaches customers once it is deployed; the offline plan reads
    # the same value from the platform plan).
    own = build_customer_workspace(loaded, admin, sp_object_id, reader_id) if customer.workspace.customer_mode else None
    forwarding = DiagnosticForwarding(
        f"{customer.name}-forwarding",
        DiagnosticForwardingArgs(
            subscription_ids=[s.id for s in customer.subscriptions],
            inventory=loaded.inventory,
            forwarding=customer.forwarding,
            workspace_id=own.workspace_id if own is not None else ref.require_output("workspaceResourceId"),
            providers=forward,
            depends_on=depends_on,
            adopted_setting_names=loaded.adopted_setting_names,
            plan=plan,
        ),
    )
    outputs: dict[str, Any] = {}
    if customer.splunk is not None and customer.splunk.enabled and platform.splunk is not None:
        # The webhook Logic App runs in the MSSP subscription (see components/splunk/webhook.py): this
        # provider signs in to the MSSP tenant, like the platform stack's.
        mssp_arm = azure_native.Provider("mssp-arm", tenant_id=platform.tenant_id,
                                         subscription_id=platform.subscription_id, location=platform.location)
        splunk_out = ref.require_output("splunk")
        webhook = SplunkWebhook(
            f"{customer.name}-splunk",
            SplunkWebhookArgs(
                customer_name=customer.name,
                customer_tenant_id=customer.tenant_id,
                workflow_name=customer.splunk_workflow_name or f"la-splunk-{customer.name}",
                allowed_caller_ip_ranges=list(customer.splunk.allowed_caller_ip_ranges),
                mssp_subscription_id=platform.subscription_id,
                resource_group=platform.resource_group,
                location=platform.location,
                dcr_id=splunk_out["dcrId"],
                dcr_immutable_id=splunk_out["dcrImmutableId"],
                logs_ingestion_endpoint=splunk_out["logsIngestionEndpoint"],
                stream_name=splunk_out["streamName"],
                mssp_provider=mssp_arm,
            ),
        )
        outputs["splunkWebhookUrl"] = webhook.webhook_url  # a Pulumi secret
        outputs["splunkWorkflowId"] = webhook.workflow_id
    return outputs | {
        "stackKind": "customer",
        "customer": customer.name,
        "accessModel": customer.access_model,
        "lighthouseMode": customer.lighthouse.mode if lighthouse else None,
        "subscriptions": [s.id for s in customer.subscriptions],
        **({"adminConsentUrl": identity.consent_url} if identity is not None else {}),
        # Permanent broad authorizations accepted by name (customer.lighthouse.authorizations[].acknowledgeBroadRole):
        # the guardrail lighthouse-least-privilege reads them here, and every diff shows a change to them. Only
        # text a person wrote in the stack file: SQL Security Manager subscription-wide is acknowledged by
        # customer.forwarding.sqlAudit.acknowledgeSubscriptionScope, never by this code.
        "lighthouseAcknowledgements": {a.display_name: a.acknowledge_broad_role
                                       for a in customer.lighthouse.authorizations if a.acknowledge_broad_role}
        | ({f"{platform.identity.display_name} / {roles.SQL_SECURITY_MANAGER.name}": sql_audit.acknowledge_subscription_scope}
           if sql_audit_subs and lighthouse and sql_audit.acknowledge_subscription_scope else {})
        # Customer mode: the deploy identity's Log Analytics Contributor on the workspace's own resource group.
        | workspace_acknowledgements(loaded),
        **({"sqlAuditAcknowledgement": sql_audit.acknowledge_subscription_scope}
           if sql_audit_subs and sql_audit.acknowledge_subscription_scope else {}),
        # SQL servers whose auditing the customer enables (sqlAudit.enabledBy: customer), and how.
        **({"sqlAuditingByCustomer": {
            "servers": [a.server_id for a in plan.customer_audits],
            "policyDefinitionId": SQL_AUDIT_POLICY_DEFINITION_ID,
            "how": "assign the built-in policy (DeployIfNotExists) with this workspace, or enable server auditing with "
                   "the Azure Monitor (Log Analytics) target yourself; the master database's setting then forwards it"}}
           if plan.customer_audits else {}),
        "diagnosticSettings": len(forwarding.plan.settings),
        # What the plan changes on the customer's own resources (docs/reference/catalog.md, "SQL audit"): each server's
        # auditing is enabled with the Azure Monitor target (and DevOps audit when forwarded).
        "auditedSqlServers": [
            {"serverId": a.server_id, "auditing": "Enabled", "isAzureMonitorTargetEnabled": True,
             "isDevopsAuditEnabled": a.devops}
            for a in forwarding.plan.audits
        ],
        "skippedResources": [{"id": s.resource_id, "reason": s.reason} for s in forwarding.plan.skipped],
    } | log_storage_outputs(loaded, ref)


def build_customer_workspace(loaded: LoadedStack, admin: dict[str, azure_native.Provider], sp_object_id: pulumi.Output[Any],
                             reader_id: pulumi.Output[Any] | None) -> Any:
    """Customer mode: the customer's own workspace with Sentinel, through its own resource-group delegation."""
    from components.workspace.sentinel import CustomerWorkspace, CustomerWorkspaceArgs

    customer, platform = loaded.customer, loaded.platform
    assert customer is not None and customer.workspace.subscription_id is not None
    ws_sub = customer.workspace.subscription_id
    admin_provider = None
    if admin:
        # Lighthouse deploy mode: the customer-tenant Owner creates the group and delegates it, like the subscriptions.
        admin_provider = azure_native.Provider(f"customer-admin-{ws_sub}", tenant_id=customer.tenant_id,
                                               subscription_id=ws_sub)
    reader = platform.read_only_identity
    return CustomerWorkspace(
        f"{customer.name}-workspace",
        CustomerWorkspaceArgs(
            customer=customer,
            managing_tenant_id=platform.tenant_id,
            mssp_principal_id=sp_object_id,
            mssp_principal_name=platform.identity.display_name,
            # The MSSP identity through the workspace group's delegation (MSSP tenant), like the forwarding providers.
            mssp_provider=azure_native.Provider(f"forward-{ws_sub}", subscription_id=ws_sub, tenant_id=platform.tenant_id),
            admin_provider=admin_provider,
            read_only_principal_id=reader_id,
            read_only_principal_name=reader.display_name if reader is not None else None,
            offboarding_group=((platform.offboarding_group.principal_id, platform.offboarding_group.display_name)
                               if platform.offboarding_group else None),
        ),
    )


def log_storage_outputs(loaded: LoadedStack, ref: pulumi.StackReference) -> dict[str, Any]:
    """Where this customer's logs are stored, and where they may be (only when the config says either: a central
    customer without dataResidency plans exactly as before the topologies existed)."""
    customer = loaded.customer
    assert customer is not None
    ws = customer.workspace
    allowed = list(customer.data_residency.allowed_regions) if customer.data_residency is not None else None
    if ws.customer_mode:
        storage: dict[str, Any] = {"topology": "customer", "workspaceResourceId": ws.resource_id, "region": ws.location,
                                   "tenantId": customer.tenant_id, "retentionInDays": ws.retention,
                                   "dailyQuotaGb": ws.daily_quota_gb, "onOffboard": ws.on_offboard}
        if ws.delete_decision is not None:
            storage["deleteDecision"] = ws.delete_decision
    elif allowed is not None:
        storage = {"topology": "central", "workspaceResourceId": ref.require_output("workspaceResourceId"),
                   "region": ref.get_output("workspaceLocation"), "tenantId": loaded.platform.tenant_id}
    else:
        return {}
    return {"logStorage": storage | {"allowedRegions": allowed}, "workspaceTopology": ws.mode}


def workspace_acknowledgements(loaded: LoadedStack) -> dict[str, str]:
    """The project's own broad grant in customer mode, named so the guardrail lighthouse-least-privilege and every
    diff show it (components.workspace.sentinel.WORKSPACE_DEPLOY_ROLES)."""
    customer = loaded.customer
    if customer is None or not customer.workspace.customer_mode:
        return {}
    from components.workspace.sentinel import deploy_role_acknowledgement

    return {f"{loaded.platform.identity.display_name} / {roles.LOG_ANALYTICS_CONTRIBUTOR.name}":
            deploy_role_acknowledgement(customer)}
