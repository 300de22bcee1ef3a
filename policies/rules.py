"""The guardrails of mssp-sentinel: every rule as data plus a pure check function.

One set of rules serves two runners:
- the CrossGuard policy pack (`policies/__main__.py`, run by `pulumi preview --policy-pack policies`),
  through `build_policies()`, which wraps each rule in a `pulumi_policy` policy;
- the offline plan (`python -m mssp plan`) and the plan diff (`python -m mssp diff`), through
  `evaluate_manifest()` and `evaluate_changes()`, which run the same checks over a plan manifest.

A check sees only plain data: the resource type token, its engine (camelCase) input properties, its
options `{protect, retainOnDelete}`, its URN, and a `PolicyContext` (the MSSP workspace). So a test can
drive a rule through `ResourceValidationArgs` and through a manifest and get the same answer.

Three kinds of rule:
- "resource": one resource at a time (CrossGuard `ResourceValidationPolicy`);
- "stack": the whole set of resources and the stack outputs (CrossGuard `StackValidationPolicy`);
- "change": the operations of a plan (delete, replace). CrossGuard gives a policy no operation, so in
  the pack these rules report "not applicable" and `python -m mssp diff` evaluates them instead.

What the pack cannot see, and how each rule handles it (kept honest rather than guessed):
- `retainOnDelete`: the analyzer protocol carries `protect` but not `retainOnDelete`
  (pulumi/pulumi `proto/pulumi/analyzer.proto` AnalyzerResourceOptions; pulumi_policy 1.21
  PolicyResourceOptions). The pack checks `protect`; the offline plan checks both.
- secretness of stack outputs: pulumi_policy 1.21 unwraps secrets before a stack policy sees them
  (`deserialize_properties(..., proxy_secrets=False)` in AnalyzeStack), so the pack cannot tell a secret
  webhook URL from a plain one. The rule runs offline, where secrets are written as "[secret]".
- unknown values during preview are treated as "cannot tell" and never reported.

Importing this module has no side effects and does not import pulumi_policy (build_policies does).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Literal

from components.facts import roles, trust
from components.facts.pulumi_tokens import (
    APP_FEDERATED_CREDENTIAL,
    APP_FLEXIBLE_FEDERATED_CREDENTIAL,
    APP_ROLE_ASSIGNMENT,
    DATA_COLLECTION_RULE,
    DIAGNOSTIC_SETTING,
    GENERIC_RESOURCE,
    MANAGED_IDENTITY_FEDERATED_CREDENTIAL,
    REGISTRATION_DEFINITION,
    ROLE_ASSIGNMENT,
    ROLE_DEFINITION,
    SECRET,
    STACK,
    SUBSCRIPTION_DIAGNOSTIC_SETTING,
    TABLE,
    WORKFLOW,
    WORKSPACE,
)

Level = Literal["mandatory", "advisory"]
Kind = Literal["resource", "stack", "change"]



class _Unknown(Enum):
    """A value the engine does not know yet (preview); every check skips it."""

    UNKNOWN = "<unknown>"


UNKNOWN = _Unknown.UNKNOWN

# Placeholders for unknown values: the engine's sentinels (pulumi_policy/proxy.py, pulumi/runtime/rpc.py)
# and the spelling a manifest may use.
_UNKNOWN_STRINGS = frozenset({
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    "[unknown]",
})


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in _UNKNOWN_STRINGS)


# --------------------------------------------------------------------------------------------------
# Resource type tokens: components/facts/pulumi_tokens.py (with the source); the sets the rules use here.
# Input names are the @pulumi.getter(name=...) engine names of pulumi_azure_native 3.29.
# --------------------------------------------------------------------------------------------------
# azure-native's generic ARM resource; the program creates the Splunk DCR with it at an API version whose
# spec documents kind Direct's endpoints (components/splunk/ingestion.py), so it is known by its ARM type.
_GENERIC_KINDS: Mapping[tuple[str, str], str] = MappingProxyType({
    ("microsoft.insights", "datacollectionrules"): DATA_COLLECTION_RULE,
})
# Everything that grants an Azure role outside Lighthouse: a role assignment, and PIM's assignment and
# eligibility schedule requests (azure-native authorization RoleAssignmentScheduleRequest /
# RoleEligibilityScheduleRequest: roleDefinitionId, principalId, scope, like a role assignment).
ROLE_GRANT_TYPES = frozenset({
    ROLE_ASSIGNMENT,
    "azure-native:authorization:RoleAssignmentScheduleRequest",
    "azure-native:authorization:RoleEligibilityScheduleRequest",
})
# Entra grants the reviewed table has no entry for at all: directory roles (e.g. Global Administrator) and
# delegated permission grants (admin consent to scopes on behalf of every user).
ENTRA_GRANT_TYPES_NEVER = frozenset({
    "azuread:index/directoryRoleAssignment:DirectoryRoleAssignment",
    "azuread:index/directoryRoleEligibilityScheduleRequest:DirectoryRoleEligibilityScheduleRequest",
    "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant",
})
# Workload identity federation: an application's federated credential (pulumi-azuread), its flexible
# (claimsMatchingExpression) variant, and a user-assigned managed identity's (azure-native managedidentity).
FEDERATED_CREDENTIAL_TYPES = frozenset({
    APP_FEDERATED_CREDENTIAL, APP_FLEXIBLE_FEDERATED_CREDENTIAL, MANAGED_IDENTITY_FEDERATED_CREDENTIAL,
})

DIAGNOSTIC_SETTING_TYPES = frozenset({DIAGNOSTIC_SETTING, SUBSCRIPTION_DIAGNOSTIC_SETTING})

_VERSIONED_MODULE = re.compile(r"^(?P<pkg>[^:]+):(?P<mod>[^:/]+)/v[0-9a-z]+:(?P<name>[^:]+)$")


def resource_kind(token: str, props: Mapping[str, Any] | None = None) -> str:
    """The type a rule matches: the typed token (base_type), or for a generic `resources:Resource` the typed
    token of its ARM type (a DCR created generically is still a DCR); other generic resources keep theirs."""
    t = base_type(token)
    if t == GENERIC_RESOURCE and props:
        key = (str(props.get("resourceProviderNamespace", "")).lower(), str(props.get("resourceType", "")).lower())
        return _GENERIC_KINDS.get(key, t)
    return t


def base_type(token: str) -> str:
    """`azure-native:monitor/v20210501preview:DiagnosticSetting` -> `azure-native:monitor:DiagnosticSetting`."""
    m = _VERSIONED_MODULE.match(token)
    return f"{m['pkg']}:{m['mod']}:{m['name']}" if m else token


# --------------------------------------------------------------------------------------------------
# Inputs of a check
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PolicyContext:
    """What the rules need to know about the MSSP side. None means "not configured": the rules then
    check only the shape (e.g. "a Log Analytics workspace id") instead of the exact value."""

    workspace_resource_id: str | None = None
    workspace_location: str | None = None
    # A customer-mode customer (components.config.topology): its own workspace, the destination of every setting.
    customer_workspace_resource_id: str | None = None
    # The customer's data residency (customer.dataResidency.allowedRegions); None: not declared.
    allowed_regions: tuple[str, ...] | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> PolicyContext:
        """From the pack's policy config (`workspaceResourceId`, `workspaceLocation`, `customerWorkspaceResourceId`,
        `allowedRegions`) or a like dict."""
        data = data or {}
        ws = data.get("workspaceResourceId") or data.get("workspace_resource_id")
        loc = data.get("workspaceLocation") or data.get("workspace_location")
        own = data.get("customerWorkspaceResourceId") or data.get("customer_workspace_resource_id")
        return cls(workspace_resource_id=str(ws) if ws else None, workspace_location=str(loc) if loc else None,
                   customer_workspace_resource_id=str(own) if own else None,
                   allowed_regions=_regions(data.get("allowedRegions", data.get("allowed_regions"))))


def _regions(value: Any) -> tuple[str, ...] | None:
    """Allowed regions from a list or a comma-separated string (an environment variable); None when not given."""
    if value is None or value == "":
        return None
    items = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else []
    return tuple(sorted({_norm_location(str(v)) for v in items if str(v).strip()}))


def context_from_config(loaded: Any) -> PolicyContext:
    """The context of a validated stack (components.config.LoadedStack): its platform's workspace.

    Duck-typed so this module stays free of the config layer's imports; `mssp plan` calls it.
    """
    platform = getattr(loaded, "platform", None)
    if platform is None:
        return PolicyContext()
    customer = getattr(loaded, "customer", None)
    workspace = getattr(customer, "workspace", None)
    residency = getattr(customer, "data_residency", None)
    return PolicyContext(
        workspace_resource_id=getattr(platform, "workspace_id", None),
        workspace_location=getattr(platform, "location", None),
        customer_workspace_resource_id=getattr(workspace, "resource_id", None),
        allowed_regions=_regions(getattr(residency, "allowed_regions", None)),
    )


# Environment variables the pack falls back to when its policy config does not name the workspace
# (the PR workflow sets them from repository variables; the pack process inherits the CLI's environment,
# pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go constructEnv).
ENV_WORKSPACE_RESOURCE_ID = "MSSP_WORKSPACE_RESOURCE_ID"
ENV_WORKSPACE_LOCATION = "MSSP_WORKSPACE_LOCATION"
ENV_CUSTOMER_WORKSPACE_RESOURCE_ID = "MSSP_CUSTOMER_WORKSPACE_RESOURCE_ID"
ENV_ALLOWED_REGIONS = "MSSP_ALLOWED_REGIONS"  # comma-separated ARM region names


@dataclass(frozen=True)
class ResourceView:
    """One resource as a check sees it."""

    type: str
    props: Mapping[str, Any]
    urn: str = ""
    name: str = ""
    protect: bool | None = None  # None: not known to the runner
    retain_on_delete: bool | None = None
    parent: str = ""  # the parent's URN ("" for none or not known)


@dataclass(frozen=True)
class Change:
    """One planned operation (from `mssp diff` or a `pulumi preview --json` step)."""

    op: str  # create | update | replace | delete | same
    urn: str
    type: str
    reasons: tuple[str, ...] = ()  # properties that force a replace, when known
    kind: str = ""  # resource_kind when the planner knows the inputs (a generic resource's ARM type)


Finding = tuple[str, str]  # (urn, message); urn "" means the stack as a whole


@dataclass(frozen=True)
class Rule:
    name: str
    level: Level
    kind: Kind
    description: str
    remediation: str
    resource_check: Callable[[ResourceView, PolicyContext], list[str]] | None = None
    stack_check: Callable[[Sequence[ResourceView], Mapping[str, Any] | None, PolicyContext], list[Finding]] | None = None
    change_check: Callable[[Sequence[Change], PolicyContext], list[Finding]] | None = None
    uses_context: bool = False
    not_in_pack: str | None = None  # why the CrossGuard pack cannot evaluate the rule, if it cannot
    types: frozenset[str] = field(default_factory=frozenset)  # resource types a resource rule looks at


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------
def _norm_id(value: str) -> str:
    return value.strip().rstrip("/").lower()


def _norm_location(value: str) -> str:
    return value.replace(" ", "").lower()


def _list(value: Any) -> list[Any]:
    if value is None or is_unknown(value) or isinstance(value, (str, bytes, Mapping)):
        return []
    return list(value) if isinstance(value, Sequence) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and not is_unknown(value) else None


_WORKSPACE_ID_RE = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.operationalinsights/workspaces/[^/]+$", re.I
)
_DCR_ID_RE = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.insights/datacollectionrules/[^/]+$", re.I
)
_GUID_TAIL_RE = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/?$")


def _role_guid(role_definition_id: str) -> str | None:
    """The GUID of a role definition, from a bare GUID or a full role definition id."""
    m = _GUID_TAIL_RE.search(role_definition_id.strip())
    return m.group(1).lower() if m else None


# --------------------------------------------------------------------------------------------------
# Mandatory rules
# --------------------------------------------------------------------------------------------------
def check_lighthouse_roles(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """Lighthouse authorizations: built-in, delegable roles only (roles.py holds delegability).

    Source: MicrosoftDocs azure-management-docs `articles/lighthouse/concepts/tenants-users-roles.md`;
    eligible authorizations cannot use delegatedRoleDefinitionIds (`create-eligible-authorizations.md`).
    """
    props = _map(res.props.get("properties"))
    out: list[str] = []
    for key in ("authorizations", "eligibleAuthorizations"):
        eligible = key == "eligibleAuthorizations"
        for i, auth in enumerate(_list(props.get(key))):
            auth = _map(auth)
            who = _str(auth.get("principalIdDisplayName"))
            # The display name leads back to the stack config's authorization entry.
            path = f"properties.{key}[{i}]"
            where = path + (f" ({who})" if who else "")
            rid = auth.get("roleDefinitionId")
            if is_unknown(rid):
                continue
            if not isinstance(rid, str) or not roles.GUID_RE.match(rid.strip()):
                out.append(f"{path}.roleDefinitionId must be the bare GUID of a built-in role, got {rid!r}")
                continue
            role = roles.resolve(rid)
            if role is None:
                out.append(
                    f"{path}.roleDefinitionId {rid} is not on the project's list of built-in roles "
                    "(components/facts/roles.py); Lighthouse accepts built-in roles only"
                )
                continue
            delegated = _list(auth.get("delegatedRoleDefinitionIds"))
            if role.delegable is roles.Delegable.YES:
                if delegated:
                    out.append(f"{where}: delegatedRoleDefinitionIds are allowed only with User Access Administrator")
                continue
            if role.delegable is roles.Delegable.ONLY_WITH_DELEGATED_ROLES:
                if eligible:
                    out.append(
                        f"{where}: {role.name} cannot be an eligible authorization "
                        "(eligible authorizations cannot use delegatedRoleDefinitionIds)"
                    )
                elif not delegated:
                    out.append(f"{where}: {role.name} needs delegatedRoleDefinitionIds ({role.delegable.value})")
                for j, d in enumerate(delegated):
                    if is_unknown(d):
                        continue
                    drole = roles.resolve(str(d)) if isinstance(d, str) else None
                    if drole is None or drole.delegable is not roles.Delegable.YES:
                        shown = drole.name if drole else repr(d)
                        out.append(
                            f"{path}.delegatedRoleDefinitionIds[{j}]: {shown} is not a delegable built-in role"
                        )
                continue
            out.append(f"{where}: {role.name} ({role.guid}): {role.delegable.value}")
    return out


def check_lighthouse_least_privilege(
    views: Sequence[ResourceView], outputs: Mapping[str, Any] | None, ctx: PolicyContext
) -> list[Finding]:
    """Microsoft's Lighthouse security practices (least privilege; eligible access for anything privileged):
    a permanent authorization with a role that writes outside monitoring and Sentinel (roles.is_broad)
    needs a named acknowledgement (stack output `lighthouseAcknowledgements`, from the config's
    acknowledgeBroadRole); an eligible one needs MFA and at least one approver.
    Source: azure-management-docs articles/lighthouse/concepts/recommended-security-practices.md.
    """
    acknowledged = _map(_map(outputs).get("lighthouseAcknowledgements"))
    found: list[Finding] = []
    for res in views:
        if base_type(res.type) != REGISTRATION_DEFINITION:
            continue
        props = _map(res.props.get("properties"))
        # SQL Security Manager delegated on one resource group (sqlAudit.scope: resourceGroups) is the narrow path
        # this rule asks for: it reaches only the SQL servers there.
        on_group = roles.scope_kind((_str(res.props.get("scope")) or "").strip()) == "resourceGroup"
        for i, auth in enumerate(_list(props.get("authorizations"))):
            auth = _map(auth)
            guid = _role_guid(_str(auth.get("roleDefinitionId")) or "")
            who = _str(auth.get("principalIdDisplayName")) or f"authorizations[{i}]"
            role = roles.resolve(guid) if guid else None
            if on_group and role is roles.SQL_SECURITY_MANAGER:
                continue
            # Acknowledged by principal (config: acknowledgeBroadRole), or for this one role of it
            # ("<principal> / <role>": the project's own SQL audit grant, which must not cover any other).
            if guid and roles.is_broad(guid) and not (
                    _str(acknowledged.get(who)) or (role and _str(acknowledged.get(f"{who} / {role.name}")))):
                found.append((res.urn, f"authorization '{who}' ({role.name if role else guid}) is permanent and can "
                              "write outside monitoring and Sentinel: use a monitoring/Sentinel role, make it "
                              "justInTime with MFA and approvers, or acknowledge it by name (acknowledgeBroadRole)"))
        for i, auth in enumerate(_list(props.get("eligibleAuthorizations"))):
            auth = _map(auth)
            who = _str(auth.get("principalIdDisplayName")) or f"eligibleAuthorizations[{i}]"
            policy = _map(auth.get("justInTimeAccessPolicy"))
            if _str(policy.get("multiFactorAuthProvider")) != "Azure":
                found.append((res.urn, f"eligible authorization '{who}' does not require MFA: set "
                              "justInTimeAccessPolicy.multiFactorAuthProvider to Azure (justInTime.multiFactorAuth)"))
            if not _list(policy.get("managedByTenantApprovers")):
                found.append((res.urn, f"eligible authorization '{who}' has no approver: add at least one "
                              "managedByTenantApprovers entry (justInTime.approvers)"))
    return found


def check_my_customers_reader(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """Principals of a Lighthouse definition that would not see the customer in "My customers".

    Source: MicrosoftDocs azure-management-docs `articles/lighthouse/concepts/tenants-users-roles.md`: a
    principal needs Reader, or a built-in role that includes it, to see the customer there. Only permanent
    authorizations count: an eligible one grants nothing until it is activated.
    """
    # A resource group's extra delegation (SQL auditing) is not where "My customers" visibility comes from: the
    # principal's Reader is in the subscription's delegation, and repeating it here would tie the two delegations
    # together (remove-delegation.md, "Important": removing one removes a principal/role pair granted by both).
    if roles.scope_kind((_str(res.props.get("scope")) or "").strip()) == "resourceGroup":
        return []
    props = _map(res.props.get("properties"))
    names: dict[str, str] = {}
    readers: set[str] = set()
    only_delete: dict[str, bool] = {}
    for auth in (_map(a) for a in _list(props.get("authorizations"))):
        principal, rid = auth.get("principalId"), auth.get("roleDefinitionId")
        if not isinstance(principal, str) or is_unknown(principal) or not isinstance(rid, str) or is_unknown(rid):
            continue
        key = principal.strip().lower()
        names.setdefault(key, _str(auth.get("principalIdDisplayName")) or principal)
        role = roles.resolve(rid)
        if role is not None and role.includes_reader:
            readers.add(key)
        only_delete[key] = only_delete.get(key, True) and role is roles.REGISTRATION_DELETE
    # The offboarding group holds only the Delete Role: it removes a delegation by its id (the runbook's
    # `az managedservices assignment delete`), which needs no "My customers" listing, and gets no Reader.
    readers |= {p for p, only in only_delete.items() if only}
    return [f"{names[p]} ({p}) holds no role that includes Reader, so it will not see this customer in "
            "\"My customers\"; add a Reader authorization for it" for p in sorted(set(names) - readers)]


def check_diagnostic_destination(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """Every diagnostic setting sends to the MSSP workspace, or for a customer-mode customer to its own
    workspace (or at least to a Log Analytics workspace)."""
    ws = res.props.get("workspaceId")
    if is_unknown(ws):
        return []
    if not isinstance(ws, str) or not ws.strip():
        return ["workspaceId is not set: the setting must send to the MSSP Log Analytics workspace"]
    if ctx.customer_workspace_resource_id:
        if _norm_id(ws) != _norm_id(ctx.customer_workspace_resource_id):
            return [f"workspaceId {ws} is not the customer's own workspace {ctx.customer_workspace_resource_id} "
                    "(customer.workspace.mode customer)"]
        return []
    if ctx.workspace_resource_id:
        if _norm_id(ws) != _norm_id(ctx.workspace_resource_id):
            return [f"workspaceId {ws} is not the MSSP workspace {ctx.workspace_resource_id}"]
        return []
    if not _WORKSPACE_ID_RE.match(ws.strip()):
        return [f"workspaceId {ws} is not a Log Analytics workspace resource id"]
    return []


def check_diagnostic_entries(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """No setting mixes `category` and `categoryGroup`, and none carries `enabled: false`.

    Source: the API rejects mixed settings (Azure/azure-rest-api-specs#22719); disabled entries are noise
    that differs from what Azure returns and causes perpetual diffs (pulumi/pulumi-azure#930).
    """
    out: list[str] = []
    logs = _list(res.props.get("logs"))
    with_category = with_group = False
    for i, entry in enumerate(logs):
        entry = _map(entry)
        has_cat = bool(_str(entry.get("category")))
        has_group = bool(_str(entry.get("categoryGroup")))
        if has_cat and has_group:
            out.append(f"logs[{i}] names both category and categoryGroup")
        with_category |= has_cat
        with_group |= has_group
        enabled = entry.get("enabled")
        if not is_unknown(enabled) and enabled is not True:
            out.append(f"logs[{i}] has enabled: {str(enabled).lower()}; omit the entry instead of disabling it")
    if with_category and with_group:
        out.append("logs mixes category and categoryGroup entries; Azure rejects such a setting")
    for i, entry in enumerate(_list(res.props.get("metrics"))):
        enabled = _map(entry).get("enabled")
        if not is_unknown(enabled) and enabled is not True:
            out.append(f"metrics[{i}] has enabled: {str(enabled).lower()}; omit the entry instead of disabling it")
    return out


# Source: MicrosoftDocs/azure-monitor-docs `create-custom-table.md` (name ends in _CL, TimeGenerated
# datetime required, reserved column names).
_RESERVED_COLUMNS = frozenset(c.lower() for c in ("_ResourceId", "id", "_SubscriptionId", "TenantId", "Type", "UniqueId", "Title"))


def check_custom_table(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """Custom tables end in `_CL` and have a `TimeGenerated` dateTime column.

    A Table without schema columns whose name does not end in `_CL` sets retention on a built-in table
    (e.g. SecurityEvent); the rule does not apply to it.
    """
    schema = _map(res.props.get("schema"))
    columns = _list(schema.get("columns"))
    names = [n for n in (_str(res.props.get("tableName")), _str(schema.get("name"))) if n]
    is_custom = bool(columns) or any(n.endswith("_CL") for n in names)
    if not is_custom:
        return []
    out: list[str] = []
    for label, value in (("tableName", res.props.get("tableName")), ("schema.name", schema.get("name"))):
        if isinstance(value, str) and not is_unknown(value) and not value.endswith("_CL"):
            out.append(f"{label} {value!r} must end in _CL (custom log tables)")
    time_generated = [c for c in (_map(c) for c in columns) if _str(c.get("name")) == "TimeGenerated"]
    if not time_generated:
        out.append("schema.columns has no TimeGenerated column; custom tables need TimeGenerated of type dateTime")
    elif str(time_generated[0].get("type", "")).lower() != "datetime" and not is_unknown(time_generated[0].get("type")):
        out.append(f"TimeGenerated must be of type dateTime, got {time_generated[0].get('type')!r}")
    for i, col in enumerate(_map(c) for c in columns):
        name = _str(col.get("name"))
        if name and name.lower() in _RESERVED_COLUMNS:
            out.append(f"schema.columns[{i}] uses the reserved column name {name!r}")
    return out


def check_protected(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """Tables and DCRs are protected and retained on delete: deleting either loses data."""
    out: list[str] = []
    if res.protect is False:
        out.append("protect is not set: a delete or replace would lose its data")
    if res.retain_on_delete is False:
        out.append("retainOnDelete is not set: removing it from the program would delete it in Azure")
    return out


# Keys whose literal string value is a credential, compared case-insensitively with "-" and "_" removed.
_SECRET_KEYS = frozenset({
    "clientsecret", "password", "secret", "sharedaccesskey", "accountkey", "apikey", "accesskey",
    "connectionstring", "sastoken", "sharedaccesssignature", "privatekey", "pfx", "accesstoken", "bearertoken",
    "subscriptionkey",
})
# HTTP headers that carry a credential.
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "ocp-apim-subscription-key", "x-functions-key"})
# Credentials inside longer strings: SAS signatures, form-encoded client secrets, connection strings, tokens.
# Logic Apps expressions start with "@" (or embed "@{...}"), so a value reached through an expression such
# as @parameters('clientSecret') stops the match at "@".
_SECRET_TEXT = re.compile(
    r"(?i)(?:[?&]sig=[^&'\"\s@]{8,}"
    r"|client_secret=[^&'\"\s@]+"
    r"|(?:^|[;\s])(?:password|pwd)=[^;'\"\s@]+"
    r"|accountkey=[^;'\"\s@]+"
    r"|sharedaccesskey=[^;'\"\s@]+"
    r"|\bbearer\s+[a-z0-9\-_.=+/]{16,}"
    r"|\beyJ[a-z0-9_-]{8,}\.eyJ[a-z0-9_-]{8,}\."
    r"|\bhttps?://[^/\s:@'\"]+:[^/\s@'\"]+@)"  # user:password@host in a URL
)
_SECURE_TYPES = frozenset({"securestring", "secureobject"})


def _key(k: str) -> str:
    return k.lower().replace("-", "").replace("_", "")


def _is_literal(value: Any) -> bool:
    """A non-empty string that is not a Logic Apps expression."""
    if not isinstance(value, str) or is_unknown(value) or not value.strip():
        return False
    return not value.lstrip().startswith("@") and "@{" not in value


def _walk(value: Any, path: str) -> Iterator[tuple[str, str | None, Any]]:
    """(path, key, value) for every node below value."""
    if isinstance(value, Mapping):
        for k in value:
            child = value[k]
            p = f"{path}.{k}" if path else str(k)
            yield p, str(k), child
            yield from _walk(child, p)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        for i, child in enumerate(value):
            p = f"{path}[{i}]"
            yield p, None, child
            yield from _walk(child, p)


def check_workflow_credentials(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """No credential in a workflow definition; secrets reach it only as securestring parameters.

    Microsoft's Splunk ingestion tool pastes a client secret into the definition, readable by anyone who
    can read the Logic App (Azure/Azure-Sentinel Tools/SplunkAlertIngestion): this rule exists to stop that. Messages name the path,
    never the value.
    """
    found: dict[str, str] = {}  # path -> message; one finding per path, the first reason wins
    definition = res.props.get("definition")
    declared = _map(_map(definition).get("parameters"))
    for path, key, value in _walk(definition, "definition"):
        if path in found:
            continue
        if value == SECRET:
            found[path] = f"{path} holds a secret value; pass it as a securestring parameter instead"
        elif key is not None and _key(key) in _SECRET_KEYS and _is_literal(value):
            found[path] = f"{path} is a literal credential; use a managed identity or a securestring parameter"
        elif key is not None and key.lower() == "headers" and isinstance(value, Mapping):
            for h in value:
                if h.lower() in _SECRET_HEADERS and _is_literal(value[h]):
                    found[f"{path}.{h}"] = f"{path}.{h} is a literal credential header; use a managed identity"
        elif isinstance(value, str) and _SECRET_TEXT.search(value):
            found[path] = f"{path} contains a credential (SAS signature, secret, key or token) in plain text"
    for pname in declared:
        decl = _map(declared[pname])
        ptype = str(decl.get("type", "")).lower()
        path = f"definition.parameters.{pname}.defaultValue"
        if ptype in _SECURE_TYPES and decl.get("defaultValue") not in (None, "", {}) and path not in found:
            found[path] = f"definition.parameters.{pname} is {ptype} but carries a defaultValue in the definition"
    out = [found[p] for p in found]
    # Resource-level parameter values: fine for secure types, a credential in anything else is exposed.
    params = _map(res.props.get("parameters"))
    for pname in params:
        entry = _map(params[pname])
        value = entry.get("value")
        ptype = str(entry.get("type") or _map(declared.get(pname)).get("type") or "").lower()
        if ptype in _SECURE_TYPES:
            continue
        if value == SECRET or (_key(pname) in _SECRET_KEYS and _is_literal(value)) or (
            isinstance(value, str) and _SECRET_TEXT.search(value)
        ):
            out.append(f"parameters.{pname} passes a credential as {ptype or 'an untyped'} parameter; declare it securestring")
    return out


def _looks_like_callback_url(value: str) -> bool:
    # Logic App trigger callback URLs: .../workflows/<name>/triggers/<trigger>/paths/invoke?...&sig=...
    # Source: MicrosoftDocs azure-docs articles/connectors/connectors-native-reqres.md (the trigger URL carries a
    # Shared Access Signature, `sig`, which is the credential).
    low = value.lower()
    return "/triggers/" in low and "sig=" in low


_WEBHOOK_NAME = re.compile(r"(?i)(webhook|callback).*ur[il]|ur[il].*(webhook|callback)")


def check_webhook_outputs(
    resources: Sequence[ResourceView], outputs: Mapping[str, Any] | None, ctx: PolicyContext
) -> list[Finding]:
    """The only way out for a webhook URL is a secret stack output."""
    if not outputs:
        return []
    stack_urn = next((r.urn for r in resources if base_type(r.type) == STACK), "")
    out: list[Finding] = []
    for name in sorted(outputs):
        value = outputs[name]
        if value == SECRET or is_unknown(value):
            continue
        leaked = [p for p, _k, v in _walk(value, name) if isinstance(v, str) and _looks_like_callback_url(v)]
        if isinstance(value, str) and (_looks_like_callback_url(value) or (_WEBHOOK_NAME.search(name) and value)):
            leaked.insert(0, name)
        for path in leaked:
            out.append((stack_urn, f"stack output {path} exposes a webhook URL in plain text; export it with pulumi.Output.secret"))
    return out


# Data-plane roles and the only resource type their scope may be. Sources: MicrosoftDocs/azure-monitor-docs articles/azure-monitor/logs/logs-ingestion-api-overview.md
# (the Logs Ingestion caller needs Monitoring Metrics Publisher on the DCR); Log Analytics Contributor, where a
# stack grants it, belongs on the workspace alone (docs/design/identities.md).
_DATA_PLANE_SCOPES: Mapping[str, tuple[re.Pattern[str], str]] = MappingProxyType({
    roles.MONITORING_METRICS_PUBLISHER.guid: (_DCR_ID_RE, "a data collection rule"),
    roles.LOG_ANALYTICS_CONTRIBUTOR.guid: (_WORKSPACE_ID_RE, "a Log Analytics workspace"),
})


def check_request_trigger_callers(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """A workflow with a Request trigger and no allowed caller IP ranges: anyone holding the URL can call it."""
    definition = _map(res.props.get("definition"))
    requests = [n for n, t in _map(definition.get("triggers")).items() if _map(t).get("type") == "Request"]
    if not requests:
        return []
    ac = res.props.get("accessControl")
    if is_unknown(ac):
        return []
    ranges = [_map(r).get("addressRange") for r in _list(_map(_map(ac).get("triggers")).get("allowedCallerIpAddresses"))]
    if any(is_unknown(r) for r in ranges):
        return []
    why = "accepts calls from any IP address" if not ranges else _ranges_too_wide([r for r in ranges])
    if why is None:
        return []
    return [f"Request trigger {', '.join(requests)} {why}: whoever holds the callback URL can post alerts; set "
            "customer.splunk.allowedCallerIpRanges to the Splunk search heads' egress ranges"]


# Caller ranges wider than these count as "any address": a Splunk deployment's egress is a few addresses, and a
# /16 of IPv4 (65,536 addresses) or a /32 of IPv6 (an ISP's whole allocation, RIPE-738) is already far beyond it.
# The union is what counts, so 0.0.0.0/1 + 128.0.0.0/1, or many /17s, are as wide as 0.0.0.0/0.
MAX_CALLER_PREFIX = {4: 16, 6: 32}
_IPV4_MAPPED = __import__("ipaddress").ip_network("::ffff:0:0/96")  # RFC 4291 section 2.5.5.2


def _ranges_too_wide(ranges: Sequence[Any]) -> str | None:
    """Why a list of allowed caller ranges restricts nothing (None when it does restrict)."""
    import ipaddress

    networks: dict[int, list[Any]] = {4: [], 6: []}
    for value in ranges:
        text = value.strip() if isinstance(value, str) else ""
        try:
            if "-" in text:
                first, last = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
                nets = list(ipaddress.summarize_address_range(first, last))  # type: ignore[arg-type]
            else:
                nets = [ipaddress.ip_network(text, strict=False)]
        except (ValueError, TypeError):
            return f"has an allowed caller range {value!r} that is not an IP range, so it restricts nothing"
        for net in nets:
            if net.version == 6 and net.subnet_of(_IPV4_MAPPED):  # ::ffff:a.b.c.d is an IPv4 caller
                net = ipaddress.ip_network((int(net.network_address) & 0xFFFFFFFF, net.prefixlen - 96))
            networks[net.version].append(net)
    for version, nets in networks.items():
        covered = sum(n.num_addresses for n in ipaddress.collapse_addresses(nets))  # type: ignore[arg-type]
        bound = MAX_CALLER_PREFIX[version]
        if covered > 2 ** ((32 if version == 4 else 128) - bound):
            shown = ", ".join(str(n) for n in ipaddress.collapse_addresses(nets))  # type: ignore[arg-type]
            return (f"allows callers from {shown}, wider than a /{bound} of IPv{version}, which is as good as any IP "
                    "address")
    return None


SQL_SERVER_KIND = roles.SQL_SERVER_SCOPE


def check_sql_security_manager(
    views: Sequence[ResourceView], outputs: Mapping[str, Any] | None, ctx: PolicyContext
) -> list[Finding]:
    """Every SQL Security Manager grant above a resource group (the broad, acknowledged one): the role can also
    change firewall rules and Entra-only authentication and turn off the audit it enables, so each such grant is
    named in the plan and, when an inventory change adds one (a SQL server in another subscription), shows in the
    diff as a new finding beside the access change. Resource-group grants (the default) are not findings; they
    still show as access changes."""
    found: list[Finding] = []

    def broad(scope: str | None) -> bool:
        return roles.scope_kind((scope or "").strip()) not in ("resourceGroup", SQL_SERVER_KIND)

    why = ("holds SQL Security Manager at {scope}: it can also change the SQL servers' firewall rules and Entra-only "
           "authentication and turn auditing off; narrower: customer.forwarding.sqlAudit.enabledBy: customer (the "
           "customer enables auditing, e.g. with the built-in policy 25da7dfb-0666-4a15-a8f5-402127efd8bb)")
    for res in views:
        kind = base_type(res.type)
        if kind == REGISTRATION_DEFINITION:
            scope = _str(res.props.get("scope")) or "the delegated scope"
            if not broad(_str(res.props.get("scope"))):
                continue
            for auth in (_map(a) for a in _list(_map(res.props.get("properties")).get("authorizations"))):
                if roles.resolve(_str(auth.get("roleDefinitionId")) or "") is roles.SQL_SECURITY_MANAGER:
                    who = _str(auth.get("principalIdDisplayName")) or _str(auth.get("principalId")) or "a principal"
                    found.append((res.urn, f"{who} (Lighthouse) " + why.format(scope=scope)))
        elif kind in ROLE_GRANT_TYPES:
            rid, scope = _str(res.props.get("roleDefinitionId")), _str(res.props.get("scope"))
            if rid and scope and _role_guid(rid) == roles.SQL_SECURITY_MANAGER.guid and broad(scope):
                found.append((res.urn, f"role assignment {res.name!r} " + why.format(scope=scope)))
    return found


def check_data_plane_scope(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """Data-plane roles are assigned on the resource they are for, never above it."""
    rid = _str(res.props.get("roleDefinitionId"))
    scope = res.props.get("scope")
    if rid is None or is_unknown(scope):
        return []
    guid = _role_guid(rid)
    if guid not in _DATA_PLANE_SCOPES:
        return []
    pattern, what = _DATA_PLANE_SCOPES[guid]
    role = roles.BY_GUID[guid]
    if not isinstance(scope, str) or not pattern.match(scope.strip().rstrip("/")):
        return [f"{role.name} is assigned at scope {scope!r}; its scope must be {what} id, not a parent of it"]
    return []


def _urn_name(urn: str) -> str:
    """The logical name at the end of a URN (`urn:pulumi:stack::project::type::name`)."""
    return urn.rsplit("::", 1)[-1] if "::" in urn else ""


def check_federated_credentials(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """Who may sign in as the project's identities, checked on the credential itself (trust.py holds the pins).

    Issuer GitHub Actions, audience api://AzureADTokenExchange only, and a subject of the pinned repository:
    the production environment for the deploy identity, preview/drift/pull_request for the read-only one. A
    credential is judged as the read-only identity's only when its parent is that identity's component;
    anything else (the deploy identity, a renamed or new component) is judged as the deploy identity's. No
    wildcards and no claimsMatchingExpression: Entra matches subjects exactly and flexible matching is a
    separate feature (learn.microsoft.com/en-us/entra/workload-id/workload-identities-flexible-federated-identity-credentials).
    """
    what = f"federated credential {_str(res.props.get('displayName')) or _str(res.props.get('name')) or res.name!r}"
    if base_type(res.type) == APP_FLEXIBLE_FEDERATED_CREDENTIAL or _present(res.props.get("claimsMatchingExpression")):
        return [f"{what} uses claimsMatchingExpression (flexible, wildcard matching): the identities trust exact "
                f"subjects only ({trust.deploy_subject()} for the deploy identity)"]
    read_only = _urn_name(res.parent) == trust.READ_ONLY_IDENTITY_COMPONENT
    who = "the read-only identity" if read_only else "the deploy identity"
    out: list[str] = []
    issuer = res.props.get("issuer")
    if not is_unknown(issuer) and issuer != trust.GITHUB_ISSUER:
        out.append(f"{what} of {who} trusts issuer {issuer!r}; allowed: {trust.GITHUB_ISSUER} only "
                   "(components/facts/trust.py)")
    audiences = res.props.get("audiences")
    if not is_unknown(audiences):
        listed = [a for a in _list(audiences) if not is_unknown(a)]
        if listed != [trust.TOKEN_EXCHANGE_AUDIENCE] and not any(is_unknown(a) for a in _list(audiences)):
            out.append(f"{what} of {who} has audiences {listed!r}; allowed: exactly "
                       f"[{trust.TOKEN_EXCHANGE_AUDIENCE!r}] (components/facts/trust.py)")
    subject = res.props.get("subject")
    if not is_unknown(subject):
        if not isinstance(subject, str) or not subject:
            out.append(f"{what} of {who} has no subject; allowed: {trust.deploy_subject()}")
        else:
            problem = trust.subject_problem(subject, deploy=not read_only)
            if problem:
                allowed = trust.deploy_subject() if not read_only else ", ".join(trust.read_only_subjects())
                out.append(f"{what} of {who} trusts subject {subject!r}: {problem}; allowed: {allowed}")
    return out


def _custom_role_guids(views: Sequence[ResourceView]) -> set[str]:
    """GUIDs of the custom roles the plan itself defines (their own rule, custom-role-actions, checks them)."""
    found: set[str] = set()
    for v in views:
        if base_type(v.type) != ROLE_DEFINITION:
            continue
        for key in ("roleDefinitionId", "name", "id"):
            guid = _role_guid(_str(v.props.get(key)) or "")
            if guid:
                found.add(guid)
    return found


def _grant_problem(guid: str, kind: str | None, scope: str, custom: set[str], acknowledged_sql: bool) -> str | None:
    """Why a role at a scope is not in the reviewed table (None when it is)."""
    if kind is None:
        return (f"scope {scope!r} is not a subscription, resource group or resource id (no '.', '..' or empty "
                "segments); nothing may be assigned there")
    allowed = roles.ASSIGNABLE.get(guid)
    if allowed is not None:
        if kind in allowed.scopes:
            return None
        if allowed.role is roles.SQL_SECURITY_MANAGER and kind == "subscription" and acknowledged_sql:
            return None
        extra = (" (subscription scope only with customer.forwarding.sqlAudit.acknowledgeSubscriptionScope written "
                 "by a person)" if allowed.role is roles.SQL_SECURITY_MANAGER else "")
        return (f"{allowed.role.name} is assigned at {kind} scope {scope}; the reviewed role table allows it only at "
                f"{', '.join(sorted(allowed.scopes))}{extra} ({allowed.why})")
    if guid in custom:
        if kind == roles.WORKSPACE_SCOPE:
            return None
        return (f"a custom role the plan defines is assigned at {kind} scope {scope}; custom roles are assigned on the "
                "MSSP workspace only")
    role = roles.BY_GUID.get(guid)
    shown = f"{role.name} ({guid})" if role else f"role {guid}"
    return (f"{shown} at {kind} scope {scope} is not in the reviewed role table (components/facts/roles.py "
            f"ASSIGNABLE); allowed roles: {', '.join(sorted(a.role.name for a in roles.ASSIGNABLE.values()))}")


def check_role_assignments(
    views: Sequence[ResourceView], outputs: Mapping[str, Any] | None, ctx: PolicyContext
) -> list[Finding]:
    """Every Azure role the plan grants outside Lighthouse is in the reviewed table (roles.ASSIGNABLE) at a scope
    the table allows, or is a custom role the plan defines, on the workspace. Owner, Contributor, User Access
    Administrator and anything else not listed are refused wherever they are assigned."""
    custom = _custom_role_guids(views)
    acknowledged_sql = bool(_str(_map(outputs).get("sqlAuditAcknowledgement")))
    found: list[Finding] = []
    for res in views:
        if base_type(res.type) not in ROLE_GRANT_TYPES:
            continue
        rid, scope = res.props.get("roleDefinitionId"), res.props.get("scope")
        if is_unknown(rid) or is_unknown(scope):
            continue
        where = f"role assignment {res.name!r}"
        if not isinstance(rid, str) or not (guid := _role_guid(rid)):
            found.append((res.urn, f"{where}: roleDefinitionId {rid!r} names no role definition"))
            continue
        if not isinstance(scope, str):
            found.append((res.urn, f"{where}: scope {scope!r} is not a scope"))
            continue
        problem = _grant_problem(guid, roles.scope_kind(scope.strip()), scope, custom, acknowledged_sql)
        if problem:
            found.append((res.urn, f"{where}: {problem}"))
    return found


def _action_reads_logs(action: str) -> bool:
    """Whether an action (wildcards included) covers an action that reads a workspace's logs."""
    import fnmatch

    pattern = action.lower()
    return any(fnmatch.fnmatchcase(a.lower(), pattern) for a in roles.LOG_READ_ACTIONS)


def check_custom_roles(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """A custom role the plan defines holds only reviewed actions (roles.CUSTOM_ROLE_ACTIONS), no DataActions,
    and is assignable at resource-group scope or below."""
    name = _str(res.props.get("roleName")) or res.name
    out: list[str] = []
    for i, perm in enumerate(_list(res.props.get("permissions"))):
        perm = _map(perm)
        for action in _list(perm.get("actions")):
            if is_unknown(action):
                continue
            if not isinstance(action, str) or action.lower() not in roles.CUSTOM_ROLE_ACTIONS:
                why = ("it reads the workspace's logs" if isinstance(action, str) and _action_reads_logs(action)
                       else "it is not listed and justified")
                out.append(f"custom role {name!r}: permissions[{i}].actions {action!r} is refused: {why} "
                           "(components/facts/roles.py CUSTOM_ROLE_ACTIONS)")
        for key in ("dataActions", "data_actions"):
            for action in _list(perm.get(key)):
                if not is_unknown(action):
                    out.append(f"custom role {name!r}: permissions[{i}].dataActions {action!r} is refused: custom roles "
                               "get no DataActions (data-plane access, e.g. reading logs or secrets)")
    for scope in _list(res.props.get("assignableScopes")):
        if is_unknown(scope) or not isinstance(scope, str):
            continue
        kind = roles.scope_kind(scope.strip())
        if kind is None or kind in ("root", "managementGroup", "subscription"):
            out.append(f"custom role {name!r}: assignableScopes {scope!r} is too broad; allowed: a resource group or "
                       "a resource (the workspace's resource group)")
    return out


def check_app_role_assignments(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """Graph app roles (application permissions) only from the reviewed table (roles.GRAPH_APP_ROLES); no Entra
    directory roles and no delegated permission grants at all."""
    if base_type(res.type) in ENTRA_GRANT_TYPES_NEVER:
        return [f"{res.name!r} ({base_type(res.type).rsplit(':', 1)[-1]}) grants Entra directory-wide access; the "
                "reviewed tables allow none (components/facts/roles.py GRAPH_APP_ROLES lists the only Entra grants)"]
    app_role = res.props.get("appRoleId")
    if is_unknown(app_role):
        return []
    if isinstance(app_role, str) and app_role.strip().lower() in roles.GRAPH_APP_ROLES:
        return []
    allowed = ", ".join(f"{n} ({g})" for g, (n, _) in sorted(roles.GRAPH_APP_ROLES.items()))
    return [f"app role assignment {res.name!r}: appRoleId {app_role!r} is not in the reviewed Graph app-role table "
            f"(components/facts/roles.py GRAPH_APP_ROLES); allowed: {allowed}"]


def _present(value: Any) -> bool:
    return value is not None and not is_unknown(value) and value != {} and value != ""


def check_dcr_region(res: ResourceView, ctx: PolicyContext) -> list[str]:
    """A DCR lives in the region of the workspace it sends to (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/logs/logs-ingestion-api-overview.md)."""
    loc = _str(res.props.get("location"))
    if not loc or not ctx.workspace_location:
        return []
    if _norm_location(loc) != _norm_location(ctx.workspace_location):
        return [f"location {loc!r} differs from the MSSP workspace's region {ctx.workspace_location!r}"]
    return []


# --------------------------------------------------------------------------------------------------
# Advisory rules
# --------------------------------------------------------------------------------------------------
MAX_DIAGNOSTIC_SETTINGS = 5  # per resource (mssp.azure.arm.MAX_DIAGNOSTIC_SETTINGS has the source)


def _setting_target(res: ResourceView) -> str | None:
    uri = _str(res.props.get("resourceUri"))
    if uri:
        return uri
    # In AnalyzeStack the pack sees outputs, which carry the setting's id rather than resourceUri.
    sid = _str(res.props.get("id"))
    marker = "/providers/microsoft.insights/diagnosticsettings/"
    if sid and marker in sid.lower():
        return sid[: sid.lower().index(marker)]
    return None


def check_settings_per_resource(
    resources: Sequence[ResourceView], outputs: Mapping[str, Any] | None, ctx: PolicyContext
) -> list[Finding]:
    """More than five diagnostic settings on one resource: Azure refuses the sixth."""
    by_target: dict[str, list[ResourceView]] = {}
    for r in resources:
        if base_type(r.type) != DIAGNOSTIC_SETTING:
            continue
        target = _setting_target(r)
        if target:
            by_target.setdefault(_norm_id(target), []).append(r)
    out: list[Finding] = []
    for target in sorted(by_target):
        group = by_target[target]
        if len(group) > MAX_DIAGNOSTIC_SETTINGS:
            out.append((
                group[0].urn,
                f"{len(group)} diagnostic settings target {_setting_target(group[0])}; Azure allows at most "
                f"{MAX_DIAGNOSTIC_SETTINGS} per resource (settings already there, e.g. setByPolicy, count too)",
            ))
    return out


def _workspace_suffix(res: ResourceView) -> str | None:
    """The end of a planned workspace's ARM id (resource group and name; its subscription is the provider's)."""
    rg, name = _str(res.props.get("resourceGroupName")), _str(res.props.get("workspaceName"))
    if not rg or not name:
        return None
    return f"/resourcegroups/{rg.lower()}/providers/microsoft.operationalinsights/workspaces/{name.lower()}"


def check_data_residency(
    resources: Sequence[ResourceView], outputs: Mapping[str, Any] | None, ctx: PolicyContext
) -> list[Finding]:
    """Where the customer's logs are stored is inside customer.dataResidency.allowedRegions: every workspace the
    stack creates (customer mode), and the workspace every diagnostic setting sends to (the MSSP's central one
    in central mode). A destination whose region the plan cannot tell is refused too: residency is shown, not
    assumed. Values not known yet (a preview's unknowns) are skipped."""
    allowed = ctx.allowed_regions
    if allowed is None:
        return []
    shown = ", ".join(allowed)
    out: list[Finding] = []
    planned: dict[str, str | None] = {}  # workspace id suffix -> region
    for r in resources:
        if base_type(r.type) != WORKSPACE:
            continue
        loc = r.props.get("location")
        if is_unknown(loc):
            continue
        region = _norm_location(loc) if isinstance(loc, str) else None
        suffix = _workspace_suffix(r)
        if suffix:
            planned[suffix] = region
        if region not in allowed:
            out.append((r.urn, f"workspace {_str(r.props.get('workspaceName')) or r.name} is in region {region or '(none)'}, "
                        f"outside the customer's allowed regions ({shown})"))
    central = _norm_id(ctx.workspace_resource_id) if ctx.workspace_resource_id else None
    central_users: list[ResourceView] = []
    for r in resources:
        if base_type(r.type) not in DIAGNOSTIC_SETTING_TYPES:
            continue
        ws = r.props.get("workspaceId")
        if is_unknown(ws):
            continue
        target = _norm_id(ws) if isinstance(ws, str) else ""
        if central is not None and target == central:
            central_users.append(r)
        elif not any(target.endswith(suffix) for suffix in planned):
            out.append((r.urn, f"sends to {ws or '(no workspace)'}, whose region the plan cannot tell; the customer's "
                        f"logs must stay in {shown}"))
    if central_users:
        region = _norm_location(ctx.workspace_location) if ctx.workspace_location else None
        if region not in allowed:
            out.append((central_users[0].urn, f"{len(central_users)} diagnostic setting(s) send to the MSSP workspace "
                        f"{ctx.workspace_resource_id} in region {region or '(unknown)'}, outside the customer's allowed "
                        f"regions ({shown})"))
    return out


_REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced", "discard-replaced"})


def _replace_or_delete(changes: Sequence[Change], types: frozenset[str], ops: frozenset[str]) -> list[Change]:
    seen: dict[str, Change] = {}
    for c in changes:
        op = "replace" if c.op in _REPLACE_OPS else c.op
        if op in ops and (base_type(c.type) in types or c.kind in types) and c.urn not in seen:
            seen[c.urn] = Change(op=op, urn=c.urn, type=c.type, reasons=c.reasons, kind=c.kind)
    return [seen[u] for u in sorted(seen)]


def _because(c: Change) -> str:
    return f" (forced by {', '.join(c.reasons)})" if c.reasons else ""


def check_settings_delete_replace(changes: Sequence[Change], ctx: PolicyContext) -> list[Finding]:
    """Deleting or replacing a diagnostic setting fails where DenyAction-DiagnosticLogs is assigned."""
    return [
        (c.urn, f"plan will {c.op} this diagnostic setting{_because(c)}; tenants with the Azure Landing Zones "
         "policy DenyAction-DiagnosticLogs deny the delete")
        for c in _replace_or_delete(changes, DIAGNOSTIC_SETTING_TYPES, frozenset({"delete", "replace"}))
    ]


def check_table_dcr_replace(changes: Sequence[Change], ctx: PolicyContext) -> list[Finding]:
    """A replaced table or DCR loses its data (table) or its immutableId and role assignments (DCR)."""
    return [
        (c.urn, f"plan will replace this {(c.kind or base_type(c.type)).rsplit(':', 1)[1]}{_because(c)}; data and "
         "ingestion through it are lost unless it is retained and re-pointed")
        # A customer-mode workspace too (components.workspace.sentinel): a replace starts a new, empty one.
        for c in _replace_or_delete(changes, frozenset({TABLE, DATA_COLLECTION_RULE, WORKSPACE}), frozenset({"replace"}))
    ]


# --------------------------------------------------------------------------------------------------
# The rules, in report order (mandatory first)
# --------------------------------------------------------------------------------------------------
_NO_OPS_IN_PACK = (
    "CrossGuard gives a policy no operation (create, update, replace, delete); "
    "`python -m mssp diff` evaluates this rule from the plan's operations"
)

RULES: tuple[Rule, ...] = (
    Rule(
        name="lighthouse-delegable-roles",
        level="mandatory",
        kind="resource",
        description="Lighthouse authorizations use only delegable built-in roles: no Owner, no role with "
        "DataActions, User Access Administrator only with delegatedRoleDefinitionIds.",
        remediation="Pick roles from components/facts/roles.py that Lighthouse can delegate (e.g. Microsoft Sentinel "
        "Contributor, Log Analytics Contributor, Reader); give data-plane roles such as Monitoring Metrics "
        "Publisher to a managed identity in the customer tenant instead; add delegatedRoleDefinitionIds when "
        "using User Access Administrator.",
        resource_check=check_lighthouse_roles,
        types=frozenset({REGISTRATION_DEFINITION}),
    ),
    Rule(
        name="lighthouse-least-privilege",
        level="mandatory",
        kind="stack",
        description="Permanent Lighthouse authorizations hold only roles that read or write monitoring and "
        "Sentinel, unless acknowledged by name; eligible (just-in-time) ones require MFA and an approver.",
        remediation="Use a monitoring or Sentinel role, or make the authorization justInTime with multiFactorAuth "
        "Azure and approvers; a deliberate broad role needs acknowledgeBroadRole in the stack config.",
        stack_check=check_lighthouse_least_privilege,
    ),
    Rule(
        name="lighthouse-my-customers-reader",
        level="advisory",
        kind="resource",
        description="Every principal of a Lighthouse delegation holds Reader or a role that includes it, "
        "or it does not see the customer in \"My customers\".",
        remediation="Add an authorization with role Reader for that principal (customer.lighthouse.authorizations).",
        resource_check=check_my_customers_reader,
        types=frozenset({REGISTRATION_DEFINITION}),
    ),
    Rule(
        name="diagnostic-settings-to-mssp-workspace",
        level="mandatory",
        kind="resource",
        description="Every diagnostic setting sends to the MSSP Log Analytics workspace.",
        remediation="Set workspaceId to the MSSP workspace resource id (platform stack output / pack config "
        "workspaceResourceId).",
        resource_check=check_diagnostic_destination,
        uses_context=True,
        types=DIAGNOSTIC_SETTING_TYPES,
    ),
    Rule(
        name="data-residency",
        level="mandatory",
        kind="stack",
        description="The customer's logs are stored only in its allowed regions (customer.dataResidency): the "
        "workspace the stack creates (customer mode) and the MSSP workspace its settings send to (central mode).",
        remediation="Put the customer's workspace in an allowed region (customer.workspace.location), or move the "
        "customer to the customer topology, or change customer.dataResidency.allowedRegions with the customer's "
        "written agreement.",
        stack_check=check_data_residency,
        uses_context=True,
    ),
    Rule(
        name="diagnostic-settings-log-entries",
        level="mandatory",
        kind="resource",
        description="No diagnostic setting mixes category and categoryGroup entries or carries enabled: false.",
        remediation="Use either categoryGroup (allLogs/audit) or explicit categories in one setting, and list "
        "only enabled entries.",
        resource_check=check_diagnostic_entries,
        types=DIAGNOSTIC_SETTING_TYPES,
    ),
    Rule(
        name="custom-table-schema",
        level="mandatory",
        kind="resource",
        description="Custom tables end in _CL and have a TimeGenerated column of type dateTime.",
        remediation="Name the table <Name>_CL and declare TimeGenerated (dateTime); avoid reserved column names.",
        resource_check=check_custom_table,
        types=frozenset({TABLE}),
    ),
    Rule(
        name="tables-and-dcrs-protected",
        level="mandatory",
        kind="resource",
        description="Log Analytics tables and data collection rules are protected and retained on delete.",
        remediation="Create them with ResourceOptions(protect=True, retain_on_delete=True).",
        resource_check=check_protected,
        types=frozenset({TABLE, DATA_COLLECTION_RULE}),
    ),
    Rule(
        name="workflow-no-credentials",
        level="mandatory",
        kind="resource",
        description="Logic App workflow definitions carry no credential (secret, password, key, SAS "
        "signature, token, Authorization header).",
        remediation="Authenticate with the workflow's managed identity (authentication type "
        "ManagedServiceIdentity); pass anything secret as a securestring parameter without a default.",
        resource_check=check_workflow_credentials,
        types=frozenset({WORKFLOW}),
    ),
    Rule(
        name="webhook-url-secret-output",
        level="mandatory",
        kind="stack",
        description="A Logic App webhook (callback) URL leaves the stack only as a secret output.",
        remediation="Wrap the listCallbackUrl result in pulumi.Output.secret(...) before exporting it.",
        stack_check=check_webhook_outputs,
        not_in_pack="pulumi_policy unwraps secrets before a stack policy sees them, so the pack cannot tell a "
        "secret output from a plain one; `python -m mssp plan` evaluates this rule",
    ),
    Rule(
        name="data-plane-role-scope",
        level="mandatory",
        kind="resource",
        description="Data-plane roles are never assigned above the resource they are for: Monitoring Metrics "
        "Publisher on a data collection rule, Log Analytics Contributor on a workspace.",
        remediation="Set the role assignment's scope to the DCR (Monitoring Metrics Publisher) or the workspace "
        "(Log Analytics Contributor) resource id, not its resource group or subscription.",
        resource_check=check_data_plane_scope,
        types=frozenset({ROLE_ASSIGNMENT}),
    ),
    Rule(
        name="federated-credential-trust",
        level="mandatory",
        kind="resource",
        description="Federated identity credentials trust only GitHub Actions (issuer), api://AzureADTokenExchange "
        "(audience) and exact subjects of the pinned repository: the production environment for the deploy "
        "identity, preview/drift/pull_request for the read-only identity; no wildcards, no claimsMatchingExpression.",
        remediation="Use the subjects in components/facts/trust.py (a change there is reviewed by the platform "
        "security owners); give pull requests and drift the read-only identity.",
        resource_check=check_federated_credentials,
        types=FEDERATED_CREDENTIAL_TYPES,
    ),
    Rule(
        name="role-assignment-allowlist",
        level="mandatory",
        kind="stack",
        description="Azure roles granted outside Lighthouse (role assignments, PIM schedule requests) are in the "
        "reviewed role table at a scope it allows, or are a custom role the plan defines, on the workspace.",
        remediation="Use a role and scope from components/facts/roles.py ASSIGNABLE (a change there is reviewed by "
        "the platform security owners); never Owner, Contributor or User Access Administrator.",
        stack_check=check_role_assignments,
    ),
    Rule(
        name="custom-role-actions",
        level="mandatory",
        kind="resource",
        description="Custom roles hold only reviewed actions (no log queries, no wildcards), no DataActions, and "
        "are assignable at a resource group or below.",
        remediation="Keep custom roles to components/facts/roles.py CUSTOM_ROLE_ACTIONS; use a built-in role from "
        "the reviewed table for anything else.",
        resource_check=check_custom_roles,
        types=frozenset({ROLE_DEFINITION}),
    ),
    Rule(
        name="graph-app-role-allowlist",
        level="mandatory",
        kind="resource",
        description="Microsoft Graph app-role assignments grant only reviewed app roles; no Entra directory role "
        "or delegated permission grant is made.",
        remediation="Grant only the app roles in components/facts/roles.py GRAPH_APP_ROLES.",
        resource_check=check_app_role_assignments,
        types=frozenset({APP_ROLE_ASSIGNMENT, *ENTRA_GRANT_TYPES_NEVER}),
    ),
    Rule(
        name="dcr-workspace-same-region",
        level="mandatory",
        kind="resource",
        description="A data collection rule is in the same region as the MSSP workspace.",
        remediation="Create the DCR in the workspace's region (pack config workspaceLocation).",
        resource_check=check_dcr_region,
        uses_context=True,
        types=frozenset({DATA_COLLECTION_RULE}),
    ),
    Rule(
        name="webhook-caller-ip-restriction",
        level="advisory",
        kind="resource",
        description="A Logic App Request trigger without allowed caller IP ranges accepts calls from anywhere.",
        remediation="Set customer.splunk.allowedCallerIpRanges (accessControl.triggers.allowedCallerIpAddresses).",
        resource_check=check_request_trigger_callers,
        types=frozenset({WORKFLOW}),
    ),
    Rule(
        name="sql-security-manager-grant",
        level="advisory",
        kind="stack",
        description="The plan grants SQL Security Manager above a resource group (subscription-wide, acknowledged); "
        "it can also change SQL firewall rules and turn off the auditing it enables.",
        remediation="Prefer customer.forwarding.sqlAudit.enabledBy: customer; else keep scope: resourceGroups (the "
        "default); subscription scope needs acknowledgeSubscriptionScope written by a person.",
        stack_check=check_sql_security_manager,
    ),
    Rule(
        name="diagnostic-settings-per-resource-limit",
        level="advisory",
        kind="stack",
        description="More than five diagnostic settings on one resource: Azure allows at most five.",
        remediation="Merge settings or remove settings that target the same resource.",
        stack_check=check_settings_per_resource,
    ),
    Rule(
        name="diagnostic-settings-delete-or-replace",
        level="advisory",
        kind="change",
        description="The plan deletes or replaces diagnostic settings; Azure Landing Zones' "
        "DenyAction-DiagnosticLogs denies that in many tenants.",
        remediation="Prefer in-place updates (keep name and resourceUri stable); agree an exemption with the "
        "customer before removing a setting.",
        change_check=check_settings_delete_replace,
        not_in_pack=_NO_OPS_IN_PACK,
    ),
    Rule(
        name="table-or-dcr-replace",
        level="advisory",
        kind="change",
        description="The plan replaces a Log Analytics table or a data collection rule.",
        remediation="Keep tableName, workspaceName, DCR name, location and kind stable; if a replace is "
        "intended, plan the data migration and the DCR role assignments.",
        change_check=check_table_dcr_replace,
        not_in_pack=_NO_OPS_IN_PACK,
    ),
)

BY_NAME: Mapping[str, Rule] = MappingProxyType({r.name: r for r in RULES})


# --------------------------------------------------------------------------------------------------
# Offline evaluation
# --------------------------------------------------------------------------------------------------
def _context(context: PolicyContext | Mapping[str, Any] | None) -> PolicyContext:
    if isinstance(context, PolicyContext):
        return context
    return PolicyContext.from_mapping(context)


def _result(rule: Rule, urn: str, message: str) -> dict[str, str]:
    return {"policy": rule.name, "level": rule.level, "urn": urn, "message": message}


def _applies(rule: Rule, res: ResourceView) -> bool:
    return not rule.types or resource_kind(res.type, res.props) in rule.types


def views_from_manifest(manifest: Mapping[str, Any]) -> list[ResourceView]:
    views = []
    for r in manifest.get("resources") or []:
        opts = _map(r.get("options"))
        views.append(ResourceView(
            type=str(r.get("type", "")),
            props=_map(r.get("inputs")),
            urn=str(r.get("urn", "")),
            name=str(r.get("name", "")),
            protect=bool(opts.get("protect", False)),
            retain_on_delete=bool(opts.get("retainOnDelete", False)),
            parent=str(r.get("parent") or ""),
        ))
    return views


def evaluate_resources(
    views: Sequence[ResourceView],
    outputs: Mapping[str, Any] | None,
    context: PolicyContext | Mapping[str, Any] | None = None,
) -> list[dict[str, str]]:
    """Resource and stack rules over already-built views; results in RULES order, then URN, then message."""
    ctx = _context(context)
    results: list[dict[str, str]] = []
    for rule in RULES:
        found: list[Finding] = []
        if rule.resource_check is not None:
            for res in views:
                if _applies(rule, res):
                    found.extend((res.urn, m) for m in rule.resource_check(res, ctx))
        elif rule.stack_check is not None:
            found.extend(rule.stack_check(views, outputs, ctx))
        results.extend(_result(rule, urn, msg) for urn, msg in sorted(set(found)))
    return results


def evaluate_exported_definition(
    properties: Mapping[str, Any], urn: str, context: PolicyContext | Mapping[str, Any] | None = None
) -> list[dict[str, str]]:
    """The rules over Lighthouse definitions, for one that a template exports instead of the plan creating
    it (template mode): the customer deploys it, so the plan has no resource to check, yet the same
    findings apply (an Owner role would be rejected; a principal without Reader sees no "My customers")."""
    ctx = _context(context)
    view = ResourceView(type=REGISTRATION_DEFINITION, props={"properties": properties}, urn=urn)
    results: list[dict[str, str]] = []
    for rule in RULES:
        if rule.resource_check is not None and _applies(rule, view):
            results.extend(_result(rule, urn, msg) for msg in sorted(set(rule.resource_check(view, ctx))))
    return results


def evaluate_manifest(
    manifest: Mapping[str, Any], context: PolicyContext | Mapping[str, Any] | None = None
) -> list[dict[str, str]]:
    """Run every resource and stack rule over a plan manifest (docs/manifest.md).

    Returns `[{"policy", "level", "urn", "message"}]` in a stable order (rules in RULES order, then by
    URN and message). Change rules need two plans: see `evaluate_changes` and `python -m mssp diff`.
    """
    return evaluate_resources(views_from_manifest(manifest), _map(manifest.get("outputs")), context)


def evaluate_changes(
    changes: Iterable[Change | Mapping[str, Any]], context: PolicyContext | Mapping[str, Any] | None = None
) -> list[dict[str, str]]:
    """Run the change rules over planned operations (`{"op", "urn", "type", "reasons"?}`)."""
    ctx = _context(context)
    items = [
        c if isinstance(c, Change)
        else Change(op=str(c.get("op", "")), urn=str(c.get("urn", "")), type=str(c.get("type", "")),
                    reasons=tuple(c.get("reasons") or ()), kind=str(c.get("kind", "")))
        for c in changes
    ]
    results: list[dict[str, str]] = []
    for rule in RULES:
        if rule.change_check is not None:
            results.extend(_result(rule, urn, msg) for urn, msg in sorted(set(rule.change_check(items, ctx))))
    return results


def has_mandatory(results: Iterable[Mapping[str, Any]]) -> bool:
    return any(r.get("level") == "mandatory" for r in results)


# --------------------------------------------------------------------------------------------------
# CrossGuard adapters (pulumi_policy is imported only here, when the pack is built)
# --------------------------------------------------------------------------------------------------
def to_plain(value: Any) -> Any:
    """Copy pulumi_policy's unknown-checking proxies into plain dicts and lists; unknowns become UNKNOWN."""
    from pulumi_policy.proxy import UnknownValueError

    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k in value:
            try:
                out[k] = to_plain(value[k])
            except UnknownValueError:
                out[k] = UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items: list[Any] = []
        for i in range(len(value)):
            try:
                items.append(to_plain(value[i]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return UNKNOWN if is_unknown(value) else value


def pack_context(config: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None) -> PolicyContext:
    """The pack's context: the policy's config first, then MSSP_WORKSPACE_* environment variables."""
    env = os.environ if environ is None else environ
    ctx = PolicyContext.from_mapping(config)
    return PolicyContext(
        workspace_resource_id=ctx.workspace_resource_id or env.get(ENV_WORKSPACE_RESOURCE_ID) or None,
        workspace_location=ctx.workspace_location or env.get(ENV_WORKSPACE_LOCATION) or None,
        customer_workspace_resource_id=(ctx.customer_workspace_resource_id
                                        or env.get(ENV_CUSTOMER_WORKSPACE_RESOURCE_ID) or None),
        allowed_regions=ctx.allowed_regions if ctx.allowed_regions is not None
        else _regions(env.get(ENV_ALLOWED_REGIONS)),
    )


def _view_from_args(args: Any) -> ResourceView:
    opts = getattr(args, "opts", None)
    retain = getattr(opts, "retain_on_delete", None)  # absent in pulumi_policy 1.21: see module docstring
    return ResourceView(
        type=args.resource_type,
        props=to_plain(args.props),
        urn=args.urn,
        name=args.name,
        protect=getattr(opts, "protect", None),
        retain_on_delete=retain if isinstance(retain, bool) else None,
        parent=str(getattr(opts, "parent", None) or ""),
    )


def _resource_validate(rule: Rule) -> Callable[[Any, Callable[..., None]], None]:
    def validate(args: Any, report_violation: Callable[..., None]) -> None:
        res = _view_from_args(args)
        if not _applies(rule, res):
            return
        assert rule.resource_check is not None
        for message in rule.resource_check(res, pack_context(args.get_config())):
            report_violation(message)

    return validate


def _stack_validate(rule: Rule) -> Callable[[Any, Callable[..., None]], None]:
    def validate(args: Any, report_violation: Callable[..., None]) -> None:
        if rule.not_in_pack:
            args.not_applicable(rule.not_in_pack)
            return
        assert rule.stack_check is not None
        views = [_view_from_args(r) for r in args.resources]
        stack = next((v for v in views if base_type(v.type) == STACK), None)
        outputs = dict(stack.props) if stack else None
        for urn, message in rule.stack_check(views, outputs, pack_context(args.get_config())):
            report_violation(message, urn or None)

    return validate


def build_policies() -> list[Any]:
    """One pulumi_policy policy per rule, with the rule's name, description, level and remediation."""
    from pulumi_policy import (
        EnforcementLevel,
        PolicyConfigSchema,
        ResourceValidationPolicy,
        StackValidationPolicy,
    )

    schema = PolicyConfigSchema(properties={
        "workspaceResourceId": {"type": "string", "description": "Resource id of the MSSP Log Analytics workspace"},
        "workspaceLocation": {"type": "string", "description": "Azure region of the MSSP workspace"},
        "customerWorkspaceResourceId": {"type": "string", "description": "Resource id of the customer's own "
                                        "workspace (customer.workspace.mode customer)"},
        "allowedRegions": {"type": "array", "items": {"type": "string"},
                           "description": "Regions the customer's logs may be stored in (customer.dataResidency)"},
    })
    policies: list[Any] = []
    for rule in RULES:
        common: dict[str, Any] = {
            "name": rule.name,
            "description": rule.description,
            "enforcement_level": EnforcementLevel(rule.level),
            "remediation_steps": rule.remediation,
            "config_schema": schema if rule.uses_context else None,
        }
        if rule.kind == "resource":
            policies.append(ResourceValidationPolicy(validate=_resource_validate(rule), **common))
        else:
            policies.append(StackValidationPolicy(validate=_stack_validate(rule), **common))
    return policies
