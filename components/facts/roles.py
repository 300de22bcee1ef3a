"""Azure built-in role definitions the project uses, as data.

Source for every GUID: MicrosoftDocs/azure-docs `articles/role-based-access-control/built-in-roles.md`
(built-in role GUIDs are the same in every tenant). Lighthouse delegability: MicrosoftDocs
azure-management-docs `articles/lighthouse/concepts/tenants-users-roles.md` ("Role support for
Azure Lighthouse"): only built-in roles; not Owner; no role with DataActions; no role holding
`Microsoft.Authorization/*` write or delete, except User Access Administrator, which is allowed only to
assign roles to managed identities and then needs `delegatedRoleDefinitionIds`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType


class Delegable(Enum):
    """Whether Azure Lighthouse accepts a role in an authorization."""

    YES = "yes"
    NO_OWNER = "Owner cannot be delegated through Azure Lighthouse"
    NO_DATA_ACTIONS = "roles with DataActions cannot be delegated through Azure Lighthouse"
    NO_AUTHORIZATION_WRITE = (
        "roles that can write Microsoft.Authorization/* cannot be delegated through Azure Lighthouse"
    )
    ONLY_WITH_DELEGATED_ROLES = (
        "User Access Administrator can be delegated only to assign roles to managed identities, "
        "with delegatedRoleDefinitionIds"
    )


@dataclass(frozen=True)
class Role:
    name: str
    guid: str
    delegable: Delegable
    # Whether the role's actions include `*/read` (or `*`), i.e. Reader: Lighthouse's "My customers" page shows
    # a customer only to principals holding Reader or a role that includes it (MicrosoftDocs azure-management-docs
    # articles/lighthouse/concepts/tenants-users-roles.md). Set exactly where the role's JSON in MicrosoftDocs
    # azure-docs articles/role-based-access-control/built-in-roles/<category>.md lists `*` or `*/read` among
    # its actions (e.g. Log Analytics Reader's: "*/read"; Microsoft Sentinel Reader's has only
    # Microsoft.SecurityInsights/*/read and the like). Every role's actions are copied, with path and commit,
    # in tests/fixtures/builtin-role-permissions.json, and test_role_permissions.py pins this flag against them.
    includes_reader: bool = False


_ROLES: tuple[Role, ...] = (
    Role("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7", Delegable.YES, includes_reader=True),
    Role("Monitoring Contributor", "749f88d5-cbae-40b8-bcfc-e573ddc772fa", Delegable.YES, includes_reader=True),
    Role("Monitoring Reader", "43d0d8ad-25c7-4714-9337-8ba259a9fe05", Delegable.YES, includes_reader=True),
    Role("Log Analytics Contributor", "92aaf0da-9dab-42b6-94a3-d43ce8d16293", Delegable.YES, includes_reader=True),
    Role("Log Analytics Reader", "73c42c96-874c-492b-b04d-ab87d138a893", Delegable.YES, includes_reader=True),
    # Publishes metrics and Logs Ingestion API data: a DataAction, so never through Lighthouse.
    Role("Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb", Delegable.NO_DATA_ACTIONS),
    Role("Microsoft Sentinel Reader", "8d289c81-5878-46d4-8554-54e1e3d8b5cb", Delegable.YES),
    Role("Microsoft Sentinel Responder", "3e150937-b8fe-4cfb-8069-0eaf05ecd056", Delegable.YES),
    Role("Microsoft Sentinel Contributor", "ab8e14d6-4a74-4a29-9ba8-549422addade", Delegable.YES),
    Role("Microsoft Sentinel Automation Contributor", "f4c81013-99ee-4d62-a7ee-b3f1f648599a", Delegable.YES),
    Role("Microsoft Sentinel Playbook Operator", "51d6186e-6489-4900-b93f-92e23144cca5", Delegable.YES),
    Role("Logic App Contributor", "87a39d53-fc1b-424a-814c-f7e04687dc9e", Delegable.YES),
    Role("Logic App Operator", "515c2055-d9d4-4321-b1b9-bd0c9a0f79fe", Delegable.YES),
    Role("Managed Services Registration assignment Delete Role", "91c1777a-f3dc-4fae-b103-61d183457e46", Delegable.YES),
    # Delegable but far too broad for this project; kept so configs that name it get a clear answer.
    Role("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c", Delegable.YES, includes_reader=True),
    # Its actions include */read (built-in-roles.md, Privileged section), so it sees "My customers" too.
    Role("User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", Delegable.ONLY_WITH_DELEGATED_ROLES,
         includes_reader=True),
    Role("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", Delegable.NO_OWNER, includes_reader=True),
    # "Lets you manage the security-related policies of SQL servers and databases, but not access to them":
    # it includes Microsoft.Sql/servers/auditingSettings/* (built-in-roles.md, Databases section), no DataActions.
    Role("SQL Security Manager", "056cd41c-7e88-42e1-933e-88ba6a50c9c3", Delegable.YES),
    # Key Vault data-plane roles carry DataActions.
    Role("Key Vault Administrator", "00482a5a-887f-4fb3-b363-3b7fe8e74483", Delegable.NO_DATA_ACTIONS),
    Role("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6", Delegable.NO_DATA_ACTIONS),
    Role("Key Vault Secrets Officer", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", Delegable.NO_DATA_ACTIONS),
    # Security Admin and Resource Policy Contributor hold Microsoft.Authorization/policyAssignments/*.
    Role("Security Admin", "fb1c8493-542b-48eb-b624-b4c8fea62acd", Delegable.NO_AUTHORIZATION_WRITE),
    # Its actions start with "*/read" (built-in-roles/management-and-governance.md @ 6e6f7801, Resource Policy
    # Contributor's JSON), so it includes Reader.
    Role("Resource Policy Contributor", "36243c78-bf99-498c-9df9-86d9f8d28608", Delegable.NO_AUTHORIZATION_WRITE,
         includes_reader=True),
)

# Older names Microsoft still shows in places (the product was renamed from Azure Sentinel).
_ALIASES: Mapping[str, str] = MappingProxyType({
    "azure sentinel reader": "Microsoft Sentinel Reader",
    "azure sentinel responder": "Microsoft Sentinel Responder",
    "azure sentinel contributor": "Microsoft Sentinel Contributor",
    "azure sentinel automation contributor": "Microsoft Sentinel Automation Contributor",
})

BY_NAME: Mapping[str, Role] = MappingProxyType({r.name.lower(): r for r in _ROLES})
BY_GUID: Mapping[str, Role] = MappingProxyType({r.guid: r for r in _ROLES})

READER = BY_NAME["reader"]
MONITORING_CONTRIBUTOR = BY_NAME["monitoring contributor"]
LOG_ANALYTICS_CONTRIBUTOR = BY_NAME["log analytics contributor"]
MONITORING_METRICS_PUBLISHER = BY_NAME["monitoring metrics publisher"]
REGISTRATION_DELETE = BY_NAME["managed services registration assignment delete role"]
USER_ACCESS_ADMINISTRATOR = BY_NAME["user access administrator"]
OWNER = BY_NAME["owner"]
SENTINEL_RESPONDER = BY_NAME["microsoft sentinel responder"]
SENTINEL_AUTOMATION_CONTRIBUTOR = BY_NAME["microsoft sentinel automation contributor"]

# What the MSSP identity needs, besides SERVICE_PRINCIPAL_ROLES, in a subscription whose SQL servers it
# audits: writing a server's auditing settings (Microsoft.Sql/servers/auditingSettings/write) is in no
# monitoring role. Granted only where the inventory holds SQL servers, and named in the plan.
SQL_SECURITY_MANAGER = BY_NAME["sql security manager"]

# Roles that only read, or write only monitoring and Microsoft Sentinel objects (diagnostic settings,
# alerts, Sentinel incidents/rules/automation). Any other role is "broad" for a permanent Lighthouse
# authorization: Contributor writes everything; Log Analytics Contributor also writes VM extensions and
# deployments and reads storage keys; Logic App roles change or run arbitrary workflows; User Access
# Administrator assigns roles (permissions listed per role in built-in-roles.md). Microsoft's Lighthouse
# recommendations: least privilege, groups, eligible (JIT) access for anything privileged
# (azure-management-docs articles/lighthouse/concepts/recommended-security-practices.md).
MONITORING_SCOPED: frozenset[str] = frozenset(BY_NAME[n].guid for n in (
    "reader", "monitoring reader", "monitoring contributor", "log analytics reader",
    "microsoft sentinel reader", "microsoft sentinel responder", "microsoft sentinel contributor",
    "microsoft sentinel automation contributor", "microsoft sentinel playbook operator",
    "managed services registration assignment delete role",
))


def is_broad(role_guid: str) -> bool:
    """Whether a role can write outside monitoring and Sentinel (see MONITORING_SCOPED)."""
    return role_guid.lower() not in MONITORING_SCOPED


# What a diagnostic setting needs on its destination workspace, and nothing more: MicrosoftDocs azure-docs
# articles/azure-monitor/logs/manage-access.md, custom role example 2 ("Microsoft.OperationalInsights/
# workspaces/read and Microsoft.OperationalInsights/workspaces/sharedKeys/action ... users can't perform
# any workspace-level queries. They can only enumerate the workspace and use it as a destination for
# diagnostic settings"). No built-in role is that narrow (Log Analytics Contributor also reads every log
# and writes VM extensions), so the platform stack defines it as a custom role on the workspace only; a
# custom role is fine here because it is assigned in the MSSP tenant, not delegated through Lighthouse.
DIAGNOSTIC_DESTINATION_ROLE_NAME = "MSSP Sentinel diagnostic destination"
DIAGNOSTIC_DESTINATION_ACTIONS: tuple[str, ...] = (
    "Microsoft.OperationalInsights/workspaces/read",
    "Microsoft.OperationalInsights/workspaces/sharedKeys/action",
)

# The read-only identity (PR previews, drift) in each customer: what `pulumi preview --refresh` reads,
# and nothing else. Reader is `*/read`. Monitoring Reader is not added: besides `*/read` it holds
# `Microsoft.OperationalInsights/workspaces/search/action` (log queries in customer workspaces) and
# `Microsoft.Support/*` (opening support tickets) (built-in-roles.md, Monitor section), which a job that
# unreviewed pull-request code can reach must not have.
READ_ONLY_ROLES: tuple[Role, ...] = (READER,)

# What the read-only identity holds on the MSSP workspace: the workspace's and its children's
# configuration, which the platform stack's refresh reads (the Splunk table, the Sentinel analytics and
# automation rules), and no data. Reader would not do: its `*/read` includes
# `Microsoft.OperationalInsights/workspaces/query/*/read`, every customer's logs (MicrosoftDocs azure-docs
# articles/azure-monitor/logs/manage-access.md: table-level read access is
# `Microsoft.OperationalInsights/workspaces/query/<table>/read`). Assigned in the MSSP tenant, so a
# custom role is allowed (as for the diagnostic destination above).
WORKSPACE_CONFIG_READER_ROLE_NAME = "MSSP Sentinel workspace configuration reader"
WORKSPACE_CONFIG_READER_ACTIONS: tuple[str, ...] = (
    "Microsoft.OperationalInsights/workspaces/read",
    "Microsoft.OperationalInsights/workspaces/tables/read",
    "Microsoft.SecurityInsights/alertRules/read",
    "Microsoft.SecurityInsights/automationRules/read",
)

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def resolve(name_or_guid: str) -> Role | None:
    """A role by its built-in name (case-insensitive, old Azure Sentinel names too) or GUID."""
    key = name_or_guid.strip()
    if GUID_RE.match(key):
        return BY_GUID.get(key.lower())
    lowered = key.lower()
    return BY_NAME.get(_ALIASES.get(lowered, lowered).lower())


def known_role_names() -> list[str]:
    return sorted(r.name for r in _ROLES)


def role_definition_id(scope_subscription_id: str, role: Role) -> str:
    """The full role definition id ARM role assignments take (Lighthouse takes the bare GUID)."""
    return f"/subscriptions/{scope_subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role.guid}"


# --------------------------------------------------------------------------------------------------
# Grants outside Lighthouse: the reviewed tables the mandatory guardrails allow (policies/rules.py
# role-assignment-allowlist, custom-role-actions, graph-app-role-allowlist). Anything not listed here is
# refused, whatever the code that planned it says; a change to this file is reviewed by the platform
# security owners (.github/CODEOWNERS) and shown in `mssp diff`'s guardrail section.
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Assignable:
    """A built-in role the program may assign with an ARM role assignment, where, and why."""

    role: Role
    scopes: frozenset[str]  # scope kinds (scope_kind): "subscription", "resourceGroup", "resource:<ns>/<type>"
    why: str


WORKSPACE_SCOPE = "resource:microsoft.operationalinsights/workspaces"
DCR_SCOPE = "resource:microsoft.insights/datacollectionrules"
KEY_VAULT_SECRET_SCOPE = "resource:microsoft.keyvault/vaults/secrets"
SQL_SERVER_SCOPE = "resource:microsoft.sql/servers"

ASSIGNABLE: Mapping[str, Assignable] = MappingProxyType({a.role.guid: a for a in (
    Assignable(READER, frozenset({"subscription", "resourceGroup"}),
               "the read-only identity: customer subscriptions (direct model) and the platform resource group"),
    Assignable(MONITORING_CONTRIBUTOR, frozenset({"subscription"}),
               "the deploy identity writes diagnostic settings in customer subscriptions (direct model)"),
    # Subscription scope only with a person's acknowledgement in the stack file (customer.forwarding.sqlAudit).
    Assignable(SQL_SECURITY_MANAGER, frozenset({"resourceGroup", SQL_SERVER_SCOPE}),
               "the deploy identity enables auditing on the inventoried SQL servers (direct model)"),
    Assignable(SENTINEL_AUTOMATION_CONTRIBUTOR, frozenset({"resourceGroup"}),
               "Microsoft Sentinel's automation runs the ITSM playbook in the platform resource group"),
    Assignable(SENTINEL_RESPONDER, frozenset({WORKSPACE_SCOPE}),
               "the ITSM playbook reads and tags incidents in the MSSP workspace"),
    Assignable(BY_NAME["key vault secrets user"], frozenset({KEY_VAULT_SECRET_SCOPE}),
               "the ITSM workflows read their one credential secret, not the vault"),
    Assignable(MONITORING_METRICS_PUBLISHER, frozenset({DCR_SCOPE}),
               "a customer's Splunk webhook Logic App posts alerts through the Splunk data collection rule"),
)})

# Actions a custom role the program defines may hold, each with why (the two custom roles above). No
# DataActions at all. Compared case-insensitively and exactly: a wildcard action is not listed, so it is refused.
CUSTOM_ROLE_ACTIONS: Mapping[str, str] = MappingProxyType({
    "microsoft.operationalinsights/workspaces/read": "enumerate the workspace (both custom roles)",
    "microsoft.operationalinsights/workspaces/sharedkeys/action":
        "use the workspace as a diagnostic-setting destination (manage-access.md custom-role example 2); "
        "deploy identity only",
    "microsoft.operationalinsights/workspaces/tables/read": "read table configuration (schema, retention), no rows",
    "microsoft.securityinsights/alertrules/read": "read analytics rules' configuration (drift of the Splunk rule)",
    "microsoft.securityinsights/automationrules/read": "read automation rules' configuration (drift of the ITSM rule)",
})
assert {a.lower() for a in DIAGNOSTIC_DESTINATION_ACTIONS + WORKSPACE_CONFIG_READER_ACTIONS} <= set(CUSTOM_ROLE_ACTIONS)

# Actions that read a workspace's logs, to say why a custom-role action is refused (MicrosoftDocs azure-docs
# articles/azure-monitor/logs/manage-access.md: `workspaces/query/*/read` and `workspaces/query/<table>/read`
# read table rows; `workspaces/search/action` runs searches; `workspaces/analytics/query/action` runs queries).
LOG_READ_ACTIONS: tuple[str, ...] = (
    "Microsoft.OperationalInsights/workspaces/query/read",
    "Microsoft.OperationalInsights/workspaces/query/SecurityEvent/read",
    "Microsoft.OperationalInsights/workspaces/search/action",
    "Microsoft.OperationalInsights/workspaces/analytics/query/action",
    "Microsoft.OperationalInsights/workspaces/purge/action",
)

# Microsoft Graph application permissions (app roles) the program may grant, by app role id, with why.
# SecurityIncident.Read.All: read incidents (GET security/incidents[/{id}]), microsoftgraph/microsoft-graph-docs-contrib
# api-reference/v1.0/api/security-incident-get.md (least privileged application permission); its id as
# components/itsm/sync.py GRAPH_APP_ROLE_ID_OFFLINE documents (the program resolves it by name at deploy time).
GRAPH_APP_ROLES: Mapping[str, tuple[str, str]] = MappingProxyType({
    "45cc0394-e837-488b-a098-1918f48d186c": ("SecurityIncident.Read.All",
                                             "the ITSM workflows read a merged incident's redirectIncidentId"),
})

_SCOPE_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_SCOPE_NAME = r"[^/\s]+"
_SUBSCRIPTION_SCOPE = re.compile(rf"^/subscriptions/{_SCOPE_GUID}$", re.I)
_RESOURCE_GROUP_SCOPE = re.compile(rf"^/subscriptions/{_SCOPE_GUID}/resourceGroups/{_SCOPE_NAME}$", re.I)
_RESOURCE_SCOPE = re.compile(
    rf"^/subscriptions/{_SCOPE_GUID}/resourceGroups/{_SCOPE_NAME}/providers/(?P<ns>{_SCOPE_NAME})"
    rf"(?P<rest>(?:/{_SCOPE_NAME}/{_SCOPE_NAME})+)$", re.I)
_MANAGEMENT_GROUP_SCOPE = re.compile(r"^/providers/Microsoft\.Management/managementGroups/[^/\s]+$", re.I)


def scope_kind(scope: str) -> str | None:
    """What an ARM scope is: "root", "managementGroup", "subscription", "resourceGroup", "resource:<ns>/<type>[/<type>]"
    (lower-cased), or None when it is none of these (then nothing may be assigned there).

    One trailing slash is ignored, as ARM ignores it; `.`/`..` segments, empty segments and whitespace are not
    scopes (they would let a text comparison and ARM disagree about where a grant lands).
    """
    text = scope[:-1] if scope.endswith("/") and len(scope) > 1 else scope
    if text == "/":
        return "root"
    segments = text.split("/")[1:]
    if not text.startswith("/") or any(s in ("", ".", "..") for s in segments):
        return None
    if _MANAGEMENT_GROUP_SCOPE.match(text):
        return "managementGroup"
    if _SUBSCRIPTION_SCOPE.match(text):
        return "subscription"
    if _RESOURCE_GROUP_SCOPE.match(text):
        return "resourceGroup"
    m = _RESOURCE_SCOPE.match(text)
    if m:
        types = m["rest"].strip("/").split("/")[0::2]
        return f"resource:{m['ns'].lower()}/{'/'.join(t.lower() for t in types)}"
    return None
