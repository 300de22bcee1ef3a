"""What a reviewer decides on, extracted from a plan manifest as plain rows (no Markdown here).

- `access_rows`: one row per Lighthouse authorization (permanent or eligible) and per role or app-role
  assignment: principal, role by name, scope, and for eligible ones the just-in-time policy.
- `forwarding_rows` / `skipped_rows`: per diagnostic setting the source resource and its log selection.
- `workflow_rows`: Logic Apps with their trigger, allowed caller ranges, identity and HTTP calls.
- `output_rows` / `compare_outputs`: stack outputs and whether each is secret.
- `access_changes`: grants added, removed, widened or otherwise changed between two manifests.

Pure functions over the manifest's JSON (docs/manifest.md), so the Markdown plan, the diff and the
tests share one reading of it. Manifests written before the `review` section existed still work:
names that only the section knows fall back to ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.facts import roles
from components.facts.pulumi_tokens import (
    APP_ROLE_ASSIGNMENT,
    DIAGNOSTIC_SETTING,
    REGISTRATION_DEFINITION,
    ROLE_ASSIGNMENT,
    ROLE_DEFINITION,
    SECRET,
    WORKFLOW,
)
from components.facts.pulumi_tokens import SUBSCRIPTION_DIAGNOSTIC_SETTING as SUBSCRIPTION_SETTING

# Microsoft Graph app roles the program grants, by id: the reviewed table (components/facts/roles.py
# GRAPH_APP_ROLES, with the source there); an unknown id is shown as the id.
GRAPH_APP_ROLES: Mapping[str, str] = {guid: name for guid, (name, _) in roles.GRAPH_APP_ROLES.items()}

# How much a built-in role may do, coarsely, to tell a widened grant from a narrowed one. Readers read;
# responders and operators act on existing objects; the scoped contributors write within one service;
# Contributor writes anything; User Access Administrator grants access; Owner does both. Source of
# what each role holds: MicrosoftDocs/azure-docs role-based-access-control/built-in-roles.md.
ROLE_BREADTH: Mapping[str, int] = {
    "Reader": 1, "Monitoring Reader": 1, "Log Analytics Reader": 1, "Microsoft Sentinel Reader": 1,
    "Microsoft Sentinel Responder": 2, "Microsoft Sentinel Playbook Operator": 2, "Logic App Operator": 2,
    "Managed Services Registration assignment Delete Role": 2, "Monitoring Metrics Publisher": 2,
    "Key Vault Secrets User": 2,
    "Monitoring Contributor": 3, "Log Analytics Contributor": 3, "Microsoft Sentinel Contributor": 3,
    "Microsoft Sentinel Automation Contributor": 3, "Logic App Contributor": 3, "Key Vault Secrets Officer": 3,
    "Contributor": 4, "Key Vault Administrator": 4, "Security Admin": 4, "Resource Policy Contributor": 4,
    "User Access Administrator": 5, "Owner": 6,
}
_UNKNOWN_BREADTH = 4  # an unknown role is assumed broad: a reviewer must look at it
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")


# --------------------------------------------------------------------------------------------------
# Small readers
# --------------------------------------------------------------------------------------------------
def review(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    r = manifest.get("review")
    return r if isinstance(r, Mapping) else {}


def principals(manifest: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    p = review(manifest).get("principals")
    return p if isinstance(p, Mapping) else {}


def role_of(role_definition_id: str) -> tuple[str, str]:
    """(role name, GUID) of a role definition id or bare GUID; the name is "unknown role" if not in roles.py."""
    found = _GUID.findall(role_definition_id or "")
    guid = found[-1].lower() if found else str(role_definition_id)
    role = roles.BY_GUID.get(guid)
    return (role.name if role else "unknown role", guid)


def _custom_role(manifest: Mapping[str, Any], assignment: Mapping[str, Any]) -> tuple[str, str] | None:
    """(name, GUID) of a custom role the plan itself defines and the assignment depends on, if any: its id is
    only known after deployment, so the assignment's roleDefinitionId cannot name it offline."""
    deps = set((assignment.get("options") or {}).get("dependsOn") or [])
    for d in resources(manifest, ROLE_DEFINITION):
        if d.get("urn") in deps:
            inputs = d.get("inputs") or {}
            actions = [a for p in inputs.get("permissions") or [] for a in p.get("actions") or []]
            return (f"{inputs.get('roleName') or d.get('name')} (custom role: {', '.join(actions) or 'no actions'})",
                    str(inputs.get("roleDefinitionId") or inputs.get("name") or "custom"))
    return None


def duration_minutes(value: str | None) -> int:
    m = _DURATION.match(value or "")
    return int(m[1] or 0) * 60 + int(m[2] or 0) if m else 0


def subscription_of(resource_id: str) -> str:
    parts = (resource_id or "").split("/")
    return parts[2].lower() if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""


def resources(manifest: Mapping[str, Any], *types: str) -> list[Mapping[str, Any]]:
    return [r for r in manifest.get("resources") or [] if r.get("type") in types]


def policies_by_urn(manifest: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    found: dict[str, list[Mapping[str, Any]]] = {}
    for p in manifest.get("policies") or []:
        found.setdefault(str(p.get("urn") or ""), []).append(p)
    return found


# --------------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccessRow:
    scope: str
    principal_id: str
    principal_name: str
    principal_type: str
    identity: str  # which of the project's identities this is ("" for people and groups from config)
    role_name: str
    role_guid: str
    eligible: bool = False
    max_duration: str = ""
    mfa: str = ""
    approvers: tuple[str, ...] = ()
    delegated_roles: tuple[str, ...] = ()
    via: str = ""  # "Lighthouse", "Lighthouse template", "role assignment", "Graph app role"
    urn: str = ""
    name: str = ""  # the resource's logical name

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.scope.lower(), self.principal_id.lower(), self.role_guid)

    @property
    def permanence(self) -> str:
        return "eligible (just in time)" if self.eligible else "permanent"


def _principal(manifest: Mapping[str, Any], principal_id: str, shown: str | None, declared_type: str | None) -> tuple[str, str, str]:
    known = principals(manifest).get(principal_id) or {}
    name = shown or known.get("displayName") or principal_id
    ptype = known.get("type") or declared_type or "unknown"
    return str(name), str(ptype), str(known.get("identity") or "")


def _lighthouse_rows(manifest: Mapping[str, Any], scope: str, props: Mapping[str, Any], via: str,
                     urn: str = "", name: str = "") -> list[AccessRow]:
    rows = []
    for auth in props.get("authorizations") or []:
        pid = str(auth.get("principalId"))
        pname, ptype, ident = _principal(manifest, pid, auth.get("principalIdDisplayName"), None)
        rname, rguid = role_of(str(auth.get("roleDefinitionId")))
        delegated = tuple(role_of(d)[0] for d in auth.get("delegatedRoleDefinitionIds") or [])
        rows.append(AccessRow(scope, pid, pname, ptype, ident, rname, rguid, delegated_roles=delegated,
                              via=via, urn=urn, name=name))
    for auth in props.get("eligibleAuthorizations") or []:
        pid = str(auth.get("principalId"))
        pname, ptype, ident = _principal(manifest, pid, auth.get("principalIdDisplayName"), None)
        rname, rguid = role_of(str(auth.get("roleDefinitionId")))
        jit = auth.get("justInTimeAccessPolicy") or {}
        approvers = tuple(sorted(str(a.get("principalIdDisplayName") or a.get("principalId"))
                                 for a in jit.get("managedByTenantApprovers") or []))
        rows.append(AccessRow(scope, pid, pname, ptype, ident, rname, rguid, eligible=True,
                              max_duration=str(jit.get("maximumActivationDuration") or "PT8H"),
                              mfa=str(jit.get("multiFactorAuthProvider") or "None"), approvers=approvers,
                              via=via, urn=urn, name=name))
    return rows


_PARAMETER_REF = re.compile(r"^\[parameters\('([A-Za-z0-9_]+)'\)\]$")


def template_definition(delegation: Mapping[str, Any]) -> Mapping[str, Any]:
    """The registration definition's properties in the exported template (review.delegationTemplate), with
    `[parameters('x')]` principal ids replaced by the values the plan knows. Manifests written before the
    template itself was in the review carry the properties directly."""
    template = delegation.get("template")
    if not isinstance(template, Mapping):
        return delegation.get("properties") or {}
    values = delegation.get("parameterValues") or {}
    props = next((r.get("properties") or {} for r in template.get("resources") or []
                  if r.get("type") == "Microsoft.ManagedServices/registrationDefinitions"), {})

    def resolve(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        m = _PARAMETER_REF.match(value) if isinstance(value, str) else None
        return values.get(m.group(1), f"(template parameter {m.group(1)})") if m else value

    return resolve(props)


def exported_files(manifest: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the customer deploys in Lighthouse template mode, by file name (`mssp template` writes the same
    content): {} for a stack without an exported template, None for a manifest written before the review
    carried the template (nothing to compare against)."""
    delegation = review(manifest or {}).get("delegationTemplate")
    if not isinstance(delegation, Mapping):
        return {}
    if not isinstance(delegation.get("template"), Mapping):
        return None
    return {"template.json": delegation["template"], "createUiDefinition.json": delegation.get("uiDefinition")}


def access_rows(manifest: Mapping[str, Any]) -> list[AccessRow]:
    """Every grant the stack makes, in manifest order: Lighthouse first, then role and app-role assignments."""
    rows: list[AccessRow] = []
    for r in resources(manifest, REGISTRATION_DEFINITION):
        inputs = r.get("inputs") or {}
        rows += _lighthouse_rows(manifest, str(inputs.get("scope", "")), inputs.get("properties") or {}, "Lighthouse",
                                 str(r["urn"]), str(r.get("name", "")))
    template = review(manifest).get("delegationTemplate")
    if isinstance(template, Mapping):
        for scope in template.get("scopes") or []:
            rows += _lighthouse_rows(manifest, str(scope), template_definition(template), "Lighthouse template")
    # Customer topology in template mode: the workspace resource group's delegation, deployed by the customer too.
    workspace = review(manifest).get("workspaceDelegationTemplate")
    if isinstance(workspace, Mapping):
        for scope in workspace.get("scopes") or []:
            rows += _lighthouse_rows(manifest, str(scope), workspace.get("properties") or {}, "Lighthouse template")
    for r in resources(manifest, ROLE_ASSIGNMENT):
        inputs = r.get("inputs") or {}
        pid = str(inputs.get("principalId"))
        pname, ptype, ident = _principal(manifest, pid, None, inputs.get("principalType"))
        rname, rguid = role_of(str(inputs.get("roleDefinitionId")))
        custom = _custom_role(manifest, r) if rname == "unknown role" else None
        if custom is not None:
            rname, rguid = custom
        rows.append(AccessRow(str(inputs.get("scope", "")), pid, pname, ptype, ident, rname, rguid,
                              via="role assignment", urn=str(r["urn"]), name=str(r.get("name", ""))))
    # Hosts the ITSM credential (ServiceNow password, webhook secret) may be sent to: adding one is an access change.
    hosts = (manifest.get("outputs") or {}).get("itsmCredentialHosts")
    for host in hosts if isinstance(hosts, list) else []:
        rows.append(AccessRow(f"https://{host}", "itsm-credential", "ITSM credential", "credential", "",
                              "may be sent to this host", f"itsm-host:{str(host).lower()}", via="ITSM host allowlist"))
    for r in resources(manifest, APP_ROLE_ASSIGNMENT):
        inputs = r.get("inputs") or {}
        pid = str(inputs.get("principalObjectId"))
        pname, ptype, ident = _principal(manifest, pid, None, None)
        app_role = str(inputs.get("appRoleId"))
        rows.append(AccessRow(f"Microsoft Graph ({inputs.get('resourceObjectId')})", pid, pname, ptype, ident,
                              f"app role {GRAPH_APP_ROLES.get(app_role, 'unknown')}", app_role,
                              via="Graph app role", urn=str(r["urn"]), name=str(r.get("name", ""))))
    return rows


@dataclass(frozen=True)
class AccessChange:
    kind: str  # added | removed | widened | changed
    before: AccessRow | None
    after: AccessRow | None
    reasons: tuple[str, ...] = ()

    @property
    def row(self) -> AccessRow:
        row = self.after or self.before
        assert row is not None
        return row


def _is_ancestor(broad: str, narrow: str) -> bool:
    b, n = broad.lower().rstrip("/"), narrow.lower().rstrip("/")
    return b != n and n.startswith(b + "/")


def grant_differences(old: AccessRow, new: AccessRow) -> tuple[list[str], list[str]]:
    """(widening reasons, other differences) between two grants of one principal.

    Widened means the principal can do more, or with fewer checks: a broader role (ROLE_BREADTH), a
    broader scope (an ancestor of the old one), permanent instead of eligible, a longer maximum
    activation, MFA no longer required, approval no longer required (no approvers left), more delegated
    roles. Anything else that differs (fewer rights, other approvers) is a plain change.
    """
    widened: list[str] = []
    other: list[str] = []
    if old.role_guid != new.role_guid:
        wider = ROLE_BREADTH.get(new.role_name, _UNKNOWN_BREADTH) > ROLE_BREADTH.get(old.role_name, _UNKNOWN_BREADTH)
        (widened if wider else other).append(
            f"role {old.role_name} → {new.role_name}" + (" (broader)" if wider else ""))
    if old.scope.lower() != new.scope.lower():
        wider = _is_ancestor(new.scope, old.scope)
        (widened if wider else other).append(f"scope {old.scope} → {new.scope}" + (" (broader)" if wider else ""))
    if old.eligible and not new.eligible:
        widened.append("permanent instead of eligible (just in time)")
    elif new.eligible and not old.eligible:
        other.append("eligible (just in time) instead of permanent")
    if old.eligible and new.eligible:
        if duration_minutes(new.max_duration) > duration_minutes(old.max_duration):
            widened.append(f"maximum activation {old.max_duration} → {new.max_duration} (longer)")
        elif new.max_duration != old.max_duration:
            other.append(f"maximum activation {old.max_duration} → {new.max_duration}")
        if old.mfa == "Azure" and new.mfa != "Azure":
            widened.append(f"MFA {old.mfa} → {new.mfa} (MFA no longer required)")
        elif old.mfa != new.mfa:
            other.append(f"MFA {old.mfa} → {new.mfa}")
        if old.approvers and not new.approvers:
            widened.append("approvers removed: activation needs no approval")
        elif old.approvers != new.approvers:
            removed = sorted(set(old.approvers) - set(new.approvers))
            added = sorted(set(new.approvers) - set(old.approvers))
            other.append("approvers " + ", ".join([*(f"-{a}" for a in removed), *(f"+{a}" for a in added)]))
    if set(new.delegated_roles) - set(old.delegated_roles):
        widened.append("delegated roles added: " + ", ".join(sorted(set(new.delegated_roles) - set(old.delegated_roles))))
    elif set(new.delegated_roles) != set(old.delegated_roles):
        other.append("delegated roles removed")
    return widened, other


def access_changes(base: Sequence[AccessRow], head: Sequence[AccessRow]) -> list[AccessChange]:
    """Grants added, removed, widened or changed from base to head.

    Rows pair by (scope, principal, role); an unpaired removal and addition of one principal then pair
    when they share the scope (a role change) or the role (a scope change), so a changed role reads as
    one widened or changed grant rather than an addition and a removal.
    """
    old = {r.key: r for r in base}
    new = {r.key: r for r in head}
    changes: list[AccessChange] = []
    for key in [k for k in new if k in old]:
        widened, other = grant_differences(old[key], new[key])
        if widened or other:
            changes.append(AccessChange("widened" if widened else "changed", old[key], new[key], tuple(widened + other)))
    gone = [old[k] for k in old if k not in new]
    came = [new[k] for k in new if k not in old]
    for match in (lambda a, b: a.scope.lower() == b.scope.lower(), lambda a, b: a.role_guid == b.role_guid):
        for a in list(came):
            b = next((g for g in gone if g.principal_id.lower() == a.principal_id.lower() and g.via == a.via
                      and match(a, g)), None)
            if b is None:
                continue
            widened, other = grant_differences(b, a)
            changes.append(AccessChange("widened" if widened else "changed", b, a, tuple(widened + other)))
            gone.remove(b)
            came.remove(a)
    changes += [AccessChange("added", None, a) for a in came]
    changes += [AccessChange("removed", g, None) for g in gone]
    order = {"widened": 0, "added": 1, "changed": 2, "removed": 3}
    return sorted(changes, key=lambda c: (order[c.kind], c.row.scope.lower(), c.row.principal_name, c.row.role_name))


# --------------------------------------------------------------------------------------------------
# Forwarding
# --------------------------------------------------------------------------------------------------
def log_selection(inputs: Mapping[str, Any]) -> str:
    """A setting's log selection in words: its category group(s), or its categories; "none"."""
    logs = [entry for entry in inputs.get("logs") or [] if entry.get("enabled", True)]
    groups = [str(e["categoryGroup"]) for e in logs if e.get("categoryGroup")]
    cats = [str(e["category"]) for e in logs if e.get("category")]
    if groups:
        return "group " + ", ".join(groups)
    if cats:
        return "categories " + ", ".join(cats)
    return "none"


def metrics_selection(inputs: Mapping[str, Any]) -> str:
    metrics = [str(e.get("category")) for e in inputs.get("metrics") or [] if e.get("enabled", True)]
    return "on (" + ", ".join(metrics) + ")" if metrics else "off"


def resource_short(resource_id: str) -> tuple[str, str]:
    """(short name, resource type) of an ARM id: `sql-contoso-prod/sqldb-orders`, `Microsoft.Sql/servers/databases`."""
    parts = (resource_id or "").strip("/").split("/")
    if "providers" not in parts:
        return resource_id, ""
    i = len(parts) - 1 - parts[::-1].index("providers")
    rest = parts[i + 1:]
    ns, pairs = (rest[0] if rest else ""), rest[1:]
    types, names = pairs[0::2], pairs[1::2]
    # A singleton child ("blobServices/default") reads better by its type than by "default".
    shown = [t if n.lower() == "default" else n for t, n in zip(types, names, strict=False)]
    return "/".join(shown), "/".join([ns, *types])


@dataclass(frozen=True)
class ForwardingRow:
    subscription: str
    resource: str  # short name
    resource_type: str
    resource_id: str
    logs: str
    metrics: str
    destination: str
    destination_type: str = ""
    setting_name: str = ""
    urn: str = ""
    name: str = ""


def forwarding_row(resource: Mapping[str, Any]) -> ForwardingRow:
    inputs = resource.get("inputs") or {}
    if resource.get("type") == SUBSCRIPTION_SETTING:
        sub = str(resource.get("name", "")).rsplit("-activity-", 1)[-1]
        short, rtype, rid = "Activity log", "subscription", f"/subscriptions/{sub}"
    else:
        rid = str(inputs.get("resourceUri", ""))
        short, rtype = resource_short(rid)
        sub = subscription_of(rid)
    return ForwardingRow(sub.lower(), short, rtype, rid, log_selection(inputs), metrics_selection(inputs),
                         str(inputs.get("workspaceId", "")), str(inputs.get("logAnalyticsDestinationType") or ""),
                         str(inputs.get("name") or ""), str(resource.get("urn", "")), str(resource.get("name", "")))


def forwarding_rows(manifest: Mapping[str, Any]) -> dict[str, list[ForwardingRow]]:
    """Diagnostic settings by subscription (the Activity log first, then resources by id)."""
    by_sub: dict[str, list[ForwardingRow]] = {}
    for r in resources(manifest, SUBSCRIPTION_SETTING, DIAGNOSTIC_SETTING):
        row = forwarding_row(r)
        by_sub.setdefault(row.subscription, []).append(row)
    for rows in by_sub.values():
        rows.sort(key=lambda x: (x.resource_type != "subscription", x.resource_id.lower()))
    return dict(sorted(by_sub.items()))


def skipped_rows(manifest: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(subscription, short name, type, reason) of inventoried resources that get no setting."""
    rows = []
    for s in (manifest.get("outputs") or {}).get("skippedResources") or []:
        rid = str(s.get("id", ""))
        short, rtype = resource_short(rid)
        rows.append((subscription_of(rid), short, rtype, str(s.get("reason", ""))))
    return rows


# --------------------------------------------------------------------------------------------------
# Workflows (Splunk webhook, ITSM sync)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkflowRow:
    name: str  # Azure name
    logical_name: str
    triggers: tuple[str, ...]
    allowed_callers: tuple[str, ...]  # empty: any caller that holds the URL
    identity: str
    calls: tuple[str, ...]  # "POST https://host/path" of each HTTP action (query strings dropped)
    grants: tuple[AccessRow, ...] = field(default=())
    urn: str = ""


def _host_path(uri: Any) -> str:
    text = str(uri)
    return text.split("?", 1)[0] if text.startswith("https://") else text.split("?", 1)[0][:80]


def workflow_rows(manifest: Mapping[str, Any], grants: Sequence[AccessRow] | None = None) -> list[WorkflowRow]:
    grants = access_rows(manifest) if grants is None else grants
    directory = principals(manifest)
    rows = []
    for r in resources(manifest, WORKFLOW):
        inputs = r.get("inputs") or {}
        definition = inputs.get("definition") if isinstance(inputs.get("definition"), Mapping) else {}
        triggers = tuple(f"{name} ({t.get('type')}{', ' + str(t.get('recurrence', {}).get('frequency')) if t.get('recurrence') else ''})"
                         for name, t in sorted((definition.get("triggers") or {}).items()) if isinstance(t, Mapping))
        ranges = tuple(str(a.get("addressRange")) for a in
                       (((inputs.get("accessControl") or {}).get("triggers") or {}).get("allowedCallerIpAddresses") or []))
        calls = []
        for action_name, action in sorted(_actions(definition)):
            if action.get("type") == "Http":
                a_inputs = action.get("inputs") or {}
                auth = (a_inputs.get("authentication") or {}).get("type") if isinstance(a_inputs.get("authentication"), Mapping) else None
                calls.append(f"{action_name}: {a_inputs.get('method', '?')} {_host_path(a_inputs.get('uri'))}"
                             + (f" (as {auth})" if auth else ""))
            elif action.get("type") == "ApiConnection":
                a_inputs = action.get("inputs") or {}
                calls.append(f"{action_name}: {a_inputs.get('method', '?')} connection {_host_path(a_inputs.get('path'))}")
        pid = next((p for p, who in directory.items() if who.get("identity") == f"managed identity of {r.get('name')}"), "")
        mine = tuple(g for g in grants if pid and g.principal_id == pid)
        identity = (inputs.get("identity") or {}).get("type") or "none"
        rows.append(WorkflowRow(str(inputs.get("workflowName") or r.get("name")), str(r.get("name")), triggers, ranges,
                                f"{identity}" + (f" ({pid})" if pid else ""), tuple(calls), mine, str(r.get("urn"))))
    return rows


def _actions(definition: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Every action of a workflow definition, nested scopes (If, Foreach, Until, Scope) included."""
    for name, action in (definition.get("actions") or {}).items():
        if not isinstance(action, Mapping):
            continue
        yield name, action
        yield from _actions(action)
        if isinstance(action.get("else"), Mapping):
            yield from _actions(action["else"])
        for case in (action.get("cases") or {}).values():
            if isinstance(case, Mapping):
                yield from _actions(case)


# --------------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------------
def is_secret(value: Any) -> bool:
    """An output is secret when the plan wrote it as "[secret]" (the manifest never holds the value)."""
    return value == SECRET


@dataclass(frozen=True)
class OutputChange:
    name: str
    op: str  # added | removed | changed | same
    secret_before: bool | None  # None: absent on that side
    secret_after: bool | None
    before: Any = None
    after: Any = None

    @property
    def stopped_being_secret(self) -> bool:
        return bool(self.secret_before) and self.secret_after is False


def compare_outputs(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> list[OutputChange]:
    """Every stack output of either side with its secretness on each side (one function for the diff
    and the "stopped being secret" flag)."""
    base, head = base or {}, head or {}
    rows = []
    for name in sorted(set(base) | set(head)):
        b, h = name in base, name in head
        op = "added" if not b else "removed" if not h else "same" if base[name] == head[name] else "changed"
        rows.append(OutputChange(name, op, is_secret(base[name]) if b else None, is_secret(head[name]) if h else None,
                                 base.get(name), head.get(name)))
    return rows
