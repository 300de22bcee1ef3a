"""Configuration of a customer stack: tenant, subscriptions, access model, Lighthouse, forwarding."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from components.config.base import DisplayName, Guid, Model, ObjectId, ProjectPath, Slug
from components.config.splunk import CustomerSplunkConfig
from components.config.topology import DataResidency, WorkspaceTopology
from components.facts import catalog, roles

LogsSelection = Literal["allLogs", "audit"] | list[str]

# Lighthouse just-in-time activation bounds. Source: MicrosoftDocs azure-docs
# articles/lighthouse/how-to/create-eligible-authorizations.md (PT30M to PT8H, at most 10 approvers).
_JIT_MIN_MINUTES, _JIT_MAX_MINUTES = 30, 480
_ISO_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")


class Subscription(Model):
    id: Guid
    """Subscription id (GUID); no other customer stack may list it."""
    display_name: DisplayName
    """Display name, shown in plans and reports."""


class Approver(Model):
    principal_id: ObjectId
    """Object id (GUID) of the MSSP-tenant principal who may approve an activation."""
    display_name: DisplayName
    """Display name of that principal, shown in plans."""


class JustInTime(Model):
    maximum_activation_duration: str = "PT8H"
    """Longest activation, an ISO 8601 duration from `PT30M` to `PT8H`."""
    multi_factor_auth: Literal["Azure", "None"] = "Azure"
    """Whether activating needs multi-factor authentication: `Azure` (required by the guardrails) or `None`."""
    approvers: Annotated[list[Approver], Field(max_length=10)] = []
    """Principals who approve an activation (at most 10, each once; at least one is required)."""

    @field_validator("approvers")
    @classmethod
    def _approvers_once(cls, values: list[Approver]) -> list[Approver]:
        seen: dict[str, int] = {}
        for i, approver in enumerate(values):
            if approver.principal_id in seen:
                raise ValueError(f"approver {approver.principal_id} is listed twice (entries {seen[approver.principal_id]} "
                                 f"and {i}); allowed: each approver once")
            seen[approver.principal_id] = i
        return values

    @field_validator("maximum_activation_duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        m = _ISO_DURATION.match(value)
        minutes = (int(m[1] or 0) * 60 + int(m[2] or 0)) if m and (m[1] or m[2]) else -1
        if not (_JIT_MIN_MINUTES <= minutes <= _JIT_MAX_MINUTES):
            raise ValueError(f"'{value}' must be an ISO 8601 duration from PT30M to PT8H; allowed: PT30M to PT8H (e.g. PT4H)")
        return value


class Authorization(Model):
    """An extra Lighthouse authorization for an MSSP principal (usually a SOC security group)."""

    principal_id: ObjectId
    """Object id (GUID) of the MSSP-tenant group, user or service principal."""
    display_name: DisplayName
    """Display name of the principal, shown to the customer and in plans."""
    role: str  # built-in role name or GUID
    """Built-in role name or GUID, e.g. `Microsoft Sentinel Reader`; it must be delegable through Lighthouse."""
    principal_type: Literal["group", "user", "servicePrincipal"] = "group"
    """Kind of principal: `group` (recommended), `user` or `servicePrincipal`."""
    delegated_roles: list[str] = []  # only with User Access Administrator
    """Roles the principal may assign to managed identities; only with User Access Administrator."""
    just_in_time: JustInTime | None = None
    """Makes the authorization eligible (activated on demand, with MFA and approvers) instead of permanent."""
    # A permanent authorization with a broad role (roles.is_broad) is refused unless this names why it is
    # accepted (who decided, which ticket); it is exported and shown in every plan and diff.
    acknowledge_broad_role: Annotated[str, Field(min_length=10, max_length=300)] | None = None
    """Who accepted a permanent role that writes outside monitoring and Sentinel, and why (10 to 300 characters);
    exported and shown in every plan and diff.
    """

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        role = roles.resolve(value)
        if role is None:
            raise ValueError(f"unknown role '{value}'; allowed: a built-in role name or GUID: {', '.join(roles.known_role_names())}")
        return role.guid

    @field_validator("delegated_roles")
    @classmethod
    def _known_delegated(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            role = roles.resolve(value)
            if role is None:
                raise ValueError(f"unknown role '{value}'; allowed: a built-in role name or GUID: "
                                 f"{', '.join(roles.known_role_names())}")
            if role in (roles.OWNER, roles.USER_ACCESS_ADMINISTRATOR):
                raise ValueError(f"'{role.name}' cannot be assigned through delegatedRoleDefinitionIds; allowed: "
                                 "delegable roles other than Owner and User Access Administrator")
            out.append(role.guid)
        return out

    @model_validator(mode="after")
    def _lighthouse_rules(self) -> Authorization:
        role = roles.BY_GUID[self.role]
        if role.delegable is roles.Delegable.ONLY_WITH_DELEGATED_ROLES:
            if not self.delegated_roles:
                raise ValueError(f"role: {role.delegable.value}; allowed: add delegatedRoles (the roles it may assign)")
            if self.just_in_time:
                raise ValueError("justInTime: eligible authorizations cannot use delegatedRoleDefinitionIds; allowed: "
                                 "a permanent authorization (no justInTime) for User Access Administrator")
        elif role.delegable is not roles.Delegable.YES:
            raise ValueError(f"role: '{role.name}' is not allowed: {role.delegable.value}; allowed: a delegable "
                             "built-in role (e.g. Reader, Microsoft Sentinel Contributor)")
        elif self.delegated_roles:
            raise ValueError("delegatedRoles: only allowed with User Access Administrator; allowed: remove "
                             "delegatedRoles, or use role User Access Administrator")
        if self.just_in_time and self.principal_type == "servicePrincipal":
            raise ValueError(
                "justInTime: eligible (just-in-time) authorizations cannot name a service principal; "
                "allowed: principalType user or group"
            )
        return self

    def least_privilege_issues(self, path: str) -> list[tuple[str, str]]:
        """Microsoft's Lighthouse security practices as config rules (roles.MONITORING_SCOPED)."""
        role = roles.BY_GUID[self.role]
        who = f"authorization '{self.display_name}' ({role.name})"
        issues: list[tuple[str, str]] = []
        if self.just_in_time is None and roles.is_broad(self.role) and not self.acknowledge_broad_role:
            issues.append((f"{path}.role", f"{who}: a permanent authorization with a role that can write outside "
                           "monitoring and Sentinel is refused. Instead: a monitoring/Sentinel role "
                           f"({', '.join(sorted(roles.BY_GUID[g].name for g in roles.MONITORING_SCOPED))}), or make "
                           "it justInTime (eligible, with MFA and approvers), or set acknowledgeBroadRole: "
                           "'<who decided and why>'"))
        if self.just_in_time is not None:
            if self.just_in_time.multi_factor_auth != "Azure":
                issues.append((f"{path}.justInTime.multiFactorAuth", f"{who}: just-in-time activation must require "
                               "multi-factor authentication; set multiFactorAuth: Azure"))
            if not self.just_in_time.approvers:
                issues.append((f"{path}.justInTime.approvers", f"{who}: just-in-time activation needs at least one "
                               "approver (a group of the MSSP tenant); add justInTime.approvers"))
        return issues

    @property
    def role_name(self) -> str:
        return roles.BY_GUID[self.role].name


class LighthouseConfig(Model):
    # deploy: Pulumi creates the delegation with customer-tenant Owner credentials;
    # template: Pulumi creates nothing in the customer tenant, `mssp template` exports it instead.
    mode: Literal["deploy", "template"] = "deploy"
    """`deploy`: Pulumi creates the delegation (needs customer-tenant Owner); `template`: `mssp template` exports it
    for the customer to deploy.
    """
    offer_name: Annotated[str, Field(min_length=1, max_length=200)] = "MSSP Sentinel log forwarding"
    """Offer name the customer sees under "Service providers"."""
    offer_description: str = "Lets the MSSP configure diagnostic settings that forward logs to its Microsoft Sentinel."
    """Offer description the customer sees under "Service providers"."""
    authorizations: list[Authorization] = []
    """Extra authorizations for MSSP principals (usually SOC groups), beside the MSSP identity's own."""

    @field_validator("authorizations")
    @classmethod
    def _authorizations_once(cls, values: list[Authorization]) -> list[Authorization]:
        # One principal may hold several roles; the same principal and role twice is one authorization
        # written twice (GUIDs compare case-insensitively: they are lower-cased on load).
        seen: dict[tuple[str, str], int] = {}
        for i, auth in enumerate(values):
            key = (auth.principal_id, auth.role)
            if key in seen:
                raise ValueError(f"[{i}]: principal {auth.principal_id} with role '{auth.role_name}' is listed twice "
                                 f"(entries {seen[key]} and {i}); allowed: each principal and role once")
            seen[key] = i
        return values


class ActivityLogConfig(Model):
    enabled: bool = True
    """Forward each subscription's Activity log."""
    # categories: the eight Activity log categories listed one by one (works with every API version);
    # allLogs: the category group.
    logs: Literal["categories", "allLogs"] = "categories"
    """`categories`: the eight Activity log categories one by one; `allLogs`: the category group."""


class TypeSettings(Model):
    logs: LogsSelection | None = None
    """Log selection for this type: `allLogs`, `audit` or a list of categories; default: `forwarding.logs`."""
    metrics: bool | None = None
    """Send metrics for this type; default: `forwarding.metrics`."""


# Microsoft's built-in Azure Policy "Configure SQL servers to have auditing enabled to Log Analytics workspace"
# (DeployIfNotExists; definition id as Azure Landing Zones assign it: Azure/ALZ-Bicep
# infra-as-code/bicep/modules/policy/assignments/alzDefaults, policy_assignment_es_deploy_azsql_db_auditing;
# listed in MicrosoftDocs azure-sql articles/azure-sql/database/policy-reference.md).
SQL_AUDIT_POLICY_DEFINITION_ID = "/providers/Microsoft.Authorization/policyDefinitions/25da7dfb-0666-4a15-a8f5-402127efd8bb"


class SqlAuditConfig(Model):
    """Who enables auditing (Azure Monitor target) on the inventoried SQL servers, and with which grant.

    SQL Security Manager, the role that writes a server's auditing settings, also holds `firewallRules/*`,
    `azureADOnlyAuthentications/*` and `auditingSettings/*` (built-in-roles.md, Databases): whoever holds it can
    open the firewall and turn the audit off again. So the narrow paths come first.
    """

    enabled_by: Literal["mssp", "customer"] | None = None
    """`customer`: the customer enables auditing (with the built-in Azure Policy SQL_AUDIT_POLICY_DEFINITION_ID or
    their own template) and the MSSP gets no SQL role; `mssp`: the deploy identity enables it and holds SQL Security
    Manager where `scope` says. Default: `customer` in lighthouse.mode template (the customer deploys the MSSP's
    access themselves), else `mssp`."""
    scope: Literal["resourceGroups", "subscription"] = "resourceGroups"
    """With `enabledBy: mssp`: SQL Security Manager on the resource groups that hold inventoried SQL servers (a
    Lighthouse delegation per resource group, or a role assignment there), or on whole subscriptions (needs
    acknowledgeSubscriptionScope)."""
    acknowledge_subscription_scope: Annotated[str, Field(min_length=10, max_length=300)] | None = None
    """Required for `scope: subscription`: who decided and why (a ticket), written by a person; shown in every plan
    and diff, and what the guardrails accept as the acknowledgement."""

    @model_validator(mode="after")
    def _consistent(self) -> SqlAuditConfig:
        if self.enabled_by == "customer" and ("scope" in self.model_fields_set or self.acknowledge_subscription_scope):
            raise ValueError("scope and acknowledgeSubscriptionScope apply only with enabledBy: mssp; allowed: remove "
                             "them, or enabledBy: mssp")
        if self.scope == "subscription" and not self.acknowledge_subscription_scope:
            raise ValueError("scope: subscription grants SQL Security Manager (which can change firewall rules and turn "
                             "auditing off) on whole subscriptions; allowed: scope: resourceGroups (the default), "
                             "enabledBy: customer, or acknowledgeSubscriptionScope: '<who decided and why>'")
        if self.scope != "subscription" and self.acknowledge_subscription_scope:
            raise ValueError("acknowledgeSubscriptionScope applies only with scope: subscription; allowed: remove it")
        return self


class ForwardingConfig(Model):
    activity_log: ActivityLogConfig = ActivityLogConfig()
    """Forwarding of the subscriptions' Activity logs."""
    resource_types: list[str] | None = None  # default: every catalog type
    """Resource types in scope (default: every catalog type); inventoried resources of other types are skipped and
    listed in the `skippedResources` output.
    """
    logs: LogsSelection = "allLogs"
    """Default log selection: `allLogs`, `audit`, or a list of categories."""
    metrics: bool = False
    """Send metrics too (`AllMetrics`)."""
    per_type: dict[str, TypeSettings] = {}
    """Per resource type (e.g. `Microsoft.KeyVault/vaults`): `logs` and `metrics` overriding the defaults."""
    inventory: ProjectPath  # path relative to the project directory
    """Path of the inventory file, relative to the project, e.g. `stacks/inventories/<customer>.yaml`."""
    exclude: list[str] = []  # resource ids never forwarded, even when inventoried
    """Ids of inventoried resources that are never forwarded."""
    # Azure Firewall: which family a group selection sends (catalog: never both, Azure/ALZ-Bicep#960).
    azure_firewall_logs: Literal["resourceSpecific", "legacy"] = "resourceSpecific"
    """Azure Firewall: `resourceSpecific` (the `AZFW*` categories, dedicated tables) or `legacy` (AzureDiagnostics); a
    group selection sends one family, never both.
    """
    setting_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,259}$")] = "mssp-sentinel"
    """Name of the diagnostic setting on every resource."""
    # `pulumi import` file written by `mssp discover --on-conflict adopt`; default
    # stacks/imports/<stack>.json when it exists. Adopted settings keep their existing Azure names.
    import_file: ProjectPath | None = None
    """`pulumi import` file written by `mssp discover --on-conflict adopt`; default `stacks/imports/<stack>.json` when
    it exists.
    """
    # Auditing of inventoried SQL servers (their audit reaches the master database's setting only when enabled).
    sql_audit: SqlAuditConfig = SqlAuditConfig()
    """Who enables auditing on the inventoried SQL servers (the MSSP on their resource groups by default, or the
    customer), and where SQL Security Manager is granted."""

    @field_validator("resource_types")
    @classmethod
    def _known_types(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        out = []
        for value in values:
            entry = catalog.entry_for(value)
            if entry is None:
                raise ValueError(f"resource type '{value}' is not supported; supported: "
                                 f"{', '.join(catalog.supported_types())} (allowed: one of these)")
            out.append(entry.type)
        if len(set(out)) != len(out):
            raise ValueError("resource types must be listed once; allowed: each type once (types compare "
                             "case-insensitively)")
        return out

    @field_validator("per_type")
    @classmethod
    def _known_per_type(cls, values: dict[str, TypeSettings]) -> dict[str, TypeSettings]:
        out = {}
        for key, settings in values.items():
            entry = catalog.entry_for(key)
            if entry is None:
                raise ValueError(f"perType: '{key}' is not a supported type; supported: "
                                 f"{', '.join(catalog.supported_types())} (allowed: one of these)")
            out[entry.type] = settings
        return out

    @model_validator(mode="after")
    def _selections_exist(self) -> ForwardingConfig:
        for entry in catalog.CATALOG:
            problem = selection_problem(entry, self.logs_for(entry.type))
            if problem and (entry.type in self.per_type or entry.type in self.in_scope):
                where = f"perType.{entry.type}.logs" if entry.type in self.per_type else "logs"
                raise ValueError(f"{where}: {problem}")
        return self

    @model_validator(mode="after")
    def _firewall_family(self) -> ForwardingConfig:
        entry = catalog.entry_for("Microsoft.Network/azureFirewalls")
        assert entry is not None
        selection = self.logs_for(entry.type)
        if isinstance(selection, list):
            legacy = {c.lower() for c in entry.legacy_categories}
            family = {"legacy" if c.lower() in legacy else "resourceSpecific" for c in selection}
            where = f"perType.{entry.type}.logs" if entry.type in self.per_type else "logs"
            if len(family) > 1:
                raise ValueError(f"{where}: mixes legacy ({', '.join(entry.legacy_categories)}) and resource-specific "
                                 "AZFW* categories, which carry the same events twice (Azure/ALZ-Bicep#960); "
                                 "allowed: one family")
            if family and family != {self.azure_firewall_logs} and "azure_firewall_logs" in self.model_fields_set:
                raise ValueError(f"{where}: lists {family.pop()} categories but azureFirewallLogs is "
                                 f"{self.azure_firewall_logs}; allowed: categories of the chosen family")
        return self

    @property
    def in_scope(self) -> list[str]:
        return self.resource_types if self.resource_types is not None else catalog.supported_types()

    def logs_for(self, resource_type: str) -> str | list[str]:
        override = self.per_type.get(resource_type)
        return override.logs if override and override.logs is not None else self.logs

    def metrics_for(self, resource_type: str) -> bool:
        override = self.per_type.get(resource_type)
        return override.metrics if override and override.metrics is not None else self.metrics


def selection_problem(entry: catalog.CatalogEntry, selection: str | list[str]) -> str | None:
    """Why a logs selection cannot apply to a type (None when it can)."""
    # Storage accounts carry logs on their services; the account-level selection applies to them.
    targets = entry.sub_services or (entry,)
    for target in targets:
        if isinstance(selection, str):
            if selection not in target.groups and (target.categories or target.groups):
                return (f"category group '{selection}' is not offered by {entry.type}; offered (allowed): "
                        f"{', '.join(target.groups)}, or a list of categories: {', '.join(target.categories)}")
        else:
            known = {c.lower(): c for c in target.categories}
            bad = [c for c in selection if c.lower() not in known]
            if bad:
                return (f"{', '.join(bad)} not a log category of {entry.type}; allowed categories: "
                        f"{', '.join(target.categories)}")
            if not selection:
                return ("an explicit category list must not be empty; allowed: at least one of "
                        f"{', '.join(target.categories)}, or a group: {', '.join(target.groups)}")
            twice = sorted({known[c.lower()] for c in selection if [x.lower() for x in selection].count(c.lower()) > 1})
            if twice:
                return f"{', '.join(twice)} listed twice (categories compare case-insensitively); allowed: each category once"
            audit = [known[c.lower()] for c in selection if known[c.lower()] in catalog.SQL_AUDIT_CATEGORIES]
            if entry.type == "Microsoft.Sql/servers/databases" and audit:
                return (f"{', '.join(audit)} arrive from a user database only with database auditing, which this "
                        "project does not enable; allowed: the other categories here, and for audit inventory the "
                        "server (Microsoft.Sql/servers): its auditing is enabled with the Azure Monitor target "
                        "and its master database forwards the audit categories")
    return None


class CustomerConfig(Model):
    name: Slug
    """Short name: lower-case letters, digits and dashes; must equal the stack name (`stacks/Pulumi.<name>.yaml`)."""
    display_name: DisplayName
    """The customer's display name, shown in plans, reports and to the customer."""
    tenant_id: Guid
    """The customer's Entra tenant (GUID); must differ from the MSSP tenant."""
    # The platform stack this customer belongs to: "mssp" or a full reference "org/mssp-sentinel/mssp";
    # its last segment names the platform stack file stacks/Pulumi.<name>.yaml.
    # Each segment as the Pulumi CLI allows stack names: at most 100 alphanumerics, hyphens, underscores or
    # periods ("stack names are limited to 100 characters ...", pulumi/pulumi pkg/backend/diy/store.go).
    platform_stack: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,100}(/[A-Za-z0-9_.-]{1,100}){0,2}$")]
    """The platform stack: `mssp` or `<org>/mssp-sentinel/mssp`; its last segment names `stacks/Pulumi.<name>.yaml`."""
    access_model: Literal["lighthouse", "direct"] = "lighthouse"
    """How the MSSP identity reaches the subscriptions: `lighthouse` (delegation) or `direct` (a service principal in
    the customer tenant).
    """
    subscriptions: Annotated[list[Subscription], Field(min_length=1)]
    """The customer's subscriptions to onboard; at least one, each once."""
    lighthouse: LighthouseConfig = LighthouseConfig()
    """The Lighthouse delegation: mode, offer and authorizations."""
    forwarding: ForwardingConfig
    """What the diagnostic settings send to the MSSP workspace."""
    splunk: CustomerSplunkConfig | None = None  # Splunk alerts via a webhook Logic App
    """The customer's Splunk webhook Logic App; off when left out."""
    workspace: WorkspaceTopology = WorkspaceTopology()
    """Where the logs are stored: the MSSP's central workspace (`central`, default) or a workspace with Sentinel in the
    customer's tenant (`customer`; [topologies](../topologies.md))."""
    data_residency: DataResidency | None = None
    """Where the customer's logs may be stored; the mandatory guardrail `data-residency` refuses any other region."""

    @field_validator("platform_stack")
    @classmethod
    def _no_dot_segments(cls, value: str) -> str:
        # Its last segment names the stack file stacks/Pulumi.<name>.yaml: '.' or '..' would not be a stack.
        if any(seg in (".", "..") for seg in value.split("/")):
            raise ValueError(f"'{value}': a stack reference has no '.' or '..' segments (e.g. mssp or org/project/mssp)")
        return value

    @field_validator("subscriptions")
    @classmethod
    def _unique(cls, values: list[Subscription]) -> list[Subscription]:
        seen: set[str] = set()
        for i, sub in enumerate(values):
            if sub.id in seen:
                raise ValueError(f"subscription {sub.id} is listed twice (entry {i}); allowed: each subscription once")
            seen.add(sub.id)
        return values

    @model_validator(mode="after")
    def _sql_audit_default(self) -> CustomerConfig:
        audit = self.forwarding.sql_audit
        if audit.enabled_by is not None:
            return self
        template = self.access_model == "lighthouse" and self.lighthouse.mode == "template"
        resolved = audit.model_copy(update={"enabled_by": "customer" if template and "scope" not in
                                            audit.model_fields_set else "mssp"})
        return self.model_copy(update={"forwarding": self.forwarding.model_copy(update={"sql_audit": resolved})})

    @model_validator(mode="after")
    def _model_fits(self) -> CustomerConfig:
        if self.access_model == "direct" and self.lighthouse.authorizations:
            raise ValueError("lighthouse.authorizations apply only when accessModel is lighthouse; allowed: "
                             "remove lighthouse.authorizations, or accessModel: lighthouse")
        return self

    @model_validator(mode="after")
    def _workspace_fits(self) -> CustomerConfig:
        ws = self.workspace
        if not ws.customer_mode:
            return self
        if self.access_model != "lighthouse":
            raise ValueError("workspace.mode customer: the MSSP manages the customer's workspace through Azure "
                             "Lighthouse (its SOC roles are delegated on the workspace's resource group); allowed: "
                             "accessModel: lighthouse, or workspace.mode: central")
        if ws.subscription_id in self.subscription_ids:
            # Lighthouse: once a subscription is delegated, no resource group inside it can be delegated as well
            # (MultipleRegistrationAssignmentsNotAllowed; MicrosoftDocs/azure-docs#36763, answered by the
            # Lighthouse docs' author). The workspace's resource group is delegated on its own, with the SOC's
            # Sentinel roles on it alone.
            raise ValueError(f"workspace.subscriptionId {ws.subscription_id} is one of customer.subscriptions, which "
                             "are delegated whole; Lighthouse cannot also delegate the workspace's resource group "
                             "inside a delegated subscription (MultipleRegistrationAssignmentsNotAllowed); allowed: a "
                             "subscription of the customer's tenant that is not in customer.subscriptions (e.g. a "
                             "dedicated security subscription)")
        return self

    @property
    def workspace_subscription_id(self) -> str | None:
        return self.workspace.subscription_id if self.workspace.customer_mode else None

    def authorization_issues(self) -> list[tuple[str, str]]:
        return [issue for i, auth in enumerate(self.lighthouse.authorizations)
                for issue in auth.least_privilege_issues(f"customer.lighthouse.authorizations[{i}]")]

    @property
    def splunk_workflow_name(self) -> str | None:
        """The webhook Logic App's name in the MSSP resource group, when Splunk is on (None otherwise)."""
        if self.splunk is None or not self.splunk.enabled:
            return None
        return self.splunk.workflow_name or f"la-splunk-{self.name}"

    @property
    def platform_stack_name(self) -> str:
        return self.platform_stack.rsplit("/", 1)[-1]

    @property
    def subscription_ids(self) -> set[str]:
        return {s.id for s in self.subscriptions}

    def inventory_path(self, project_dir: Path) -> Path:
        return (project_dir / self.forwarding.inventory).resolve()
