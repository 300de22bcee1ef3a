"""The writable part of the local Azure: ARM resources (PUT/GET/DELETE) and Microsoft Graph, for the
stand-in provider plugins (testing/providers/) that the real Pulumi engine drives.

testing/fake_arm.py routes to it: ARM requests with an api-version that are not Resource Graph, /batch
or a diagnostic-settings *list*, and everything under /graph/{tenant}/v1.0. What it enforces is
Microsoft's published contract of each type the program writes, from testing/contracts.py (each rule
names its source there), plus these documented behaviours:

- A child needs its parent: a resource group must exist (ARM answers 404 ResourceGroupNotFound), and
  a nested or extension resource needs the resource it belongs to (404 ParentResourceNotFound /
  ResourceNotFound).
- Diagnostic settings: at most five per resource ("You can create up to five diagnostic settings per
  resource": MicrosoftDocs/azure-monitor-docs articles/azure-monitor/essentials/diagnostic-settings.md),
  and a setting's name is unique on its resource (a PUT with the same name updates it).
- Lighthouse: a registration assignment needs its registration definition (managedservices.json
  RegistrationAssignmentProperties.registrationDefinitionId: "The fully qualified path of the
  registration definition"), and an authorization Lighthouse refuses is refused: Owner and roles with
  DataActions are not supported, User Access Administrator only to assign roles to managed identities
  with delegatedRoleDefinitionIds (learn.microsoft.com/azure/lighthouse/concepts/tenants-users-roles,
  "Role support for Azure Lighthouse").
- Role definitions: a custom role's roleName is unique in the tenant (ARM RoleDefinitionWithSameNameExists,
  MicrosoftDocs/azure-docs articles/role-based-access-control/troubleshooting.md); role assignments: one
  principal holds one role on one scope once (409 RoleAssignmentExists, same page).
- Graph: a service principal needs an application of that appId in its tenant, or a multi-tenant one
  (signInAudience AzureADMultipleOrgs) elsewhere; one per appId per tenant (409); an application holds at
  most 20 federated identity credentials (learn.microsoft.com/graph/api/resources/federatedidentitycredentials-overview).
"""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from testing import contracts

OWNER_ROLE = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
USER_ACCESS_ADMINISTRATOR_ROLE = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
# Built-in roles with DataActions that a delegation might name (Lighthouse refuses them).
DATA_ACTION_ROLES = frozenset({
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe",  # Storage Blob Data Contributor
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",  # Storage Blob Data Reader
    "4633458b-17de-408a-b874-0445c86b69e6",  # Key Vault Secrets User
})
MAX_DIAGNOSTIC_SETTINGS = 5
MAX_FEDERATED_CREDENTIALS = 20
MULTITENANT_AUDIENCES = frozenset({"AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount"})

# First-party service principals present in every tenant (appId -> displayName, app roles).
FIRST_PARTY = {
    "00000003-0000-0000-c000-000000000000": ("Microsoft Graph", {"SecurityIncident.Read.All": "45cc0394-e837-488b-a098-1918f48d186c"}),
    "98785600-1bb7-4fb9-b9fa-19afe2c8a360": ("Azure Security Insights", {}),
}


@dataclass
class Answer:
    status: int
    body: Any = None


def error(status: int, code: str, message: str) -> Answer:
    return Answer(status, {"error": {"code": code, "message": message}})


@dataclass(frozen=True)
class ArmPath:
    """An ARM id split into the scope it lives on, its resource type and its name."""

    scope: str  # /subscriptions/s[/resourceGroups/rg[/providers/ns/type/name...]] or a resource id
    type: str  # Microsoft.Insights/diagnosticSettings, Microsoft.Sql/servers/auditingSettings
    name: str
    parent: str  # the id this resource needs: its scope, or for nested types its parent resource


def parse_id(path: str) -> ArmPath | None:
    """The last provider segment decides: /providers/{ns}/{type}/{name}[/{type}/{name}...]."""
    parts = path.strip("/").split("/")
    lower = [p.lower() for p in parts]
    if "providers" not in lower:
        if len(parts) == 4 and lower[2] == "resourcegroups":
            return ArmPath(f"/subscriptions/{parts[1]}", "Microsoft.Resources/resourceGroups", parts[3], f"/subscriptions/{parts[1]}")
        return None
    i = len(lower) - 1 - lower[::-1].index("providers")
    ns, rest = parts[i + 1], parts[i + 2:]
    if len(rest) < 2 or len(rest) % 2:
        return None
    scope = "/" + "/".join(parts[:i])
    types = rest[0::2]
    name = rest[-1]
    parent = scope if len(rest) == 2 else "/" + "/".join(parts[: len(parts) - 2])
    return ArmPath(scope if scope != "/" else "", f"{ns}/{'/'.join(types)}", name, parent if parent != "/" else "")


@dataclass
class ArmStore:
    """ARM resources by lower-case id; diagnostic settings live in the FakeArm's `settings` lists."""

    settings: dict[str, list[dict[str, Any]]]
    seeded: Callable[[], set[str]]  # lower-case ids of resources that exist outside Pulumi
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    resource_groups: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    writes: list[tuple[str, str]] = field(default_factory=list)  # (method, id) of every write
    # A system-assigned managed identity is a service principal in the tenant of the resource's
    # subscription (learn.microsoft.com/entra/identity/managed-identities-azure-resources/overview:
    # "Azure automatically creates an identity in Microsoft Entra ID that's tied to the resource").
    graph: GraphStore | None = None
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)  # template deployments by id

    def managing_tenants(self, scope: str) -> set[str]:
        """The managing tenants of the Lighthouse registration assignments on a subscription or resource group
        (`scope` lower case: /subscriptions/s or /subscriptions/s/resourcegroups/rg)."""
        prefix = f"{scope.lower()}/providers/microsoft.managedservices/registrationassignments/"
        with self.lock:
            definitions = [str((r.get("properties") or {}).get("registrationDefinitionId", "")).lower()
                           for rid, r in self.resources.items() if rid.startswith(prefix)]
            return {str((self.resources[d].get("properties") or {}).get("managedByTenantId", "")).lower()
                    for d in definitions if d in self.resources}

    # -- existence -------------------------------------------------------------------------------

    def exists(self, rid: str) -> bool:
        low = rid.rstrip("/").lower()
        if re.fullmatch(r"/subscriptions/[^/]+", low):
            return True
        if re.fullmatch(r"/subscriptions/[^/]+/resourcegroups/[^/]+", low):
            return low in self.resource_groups
        return low in self.resources or low in self.seeded()

    def _parent_missing(self, p: ArmPath) -> Answer | None:
        rg = re.match(r"(/subscriptions/[^/]+/resourcegroups/[^/]+)", p.parent.lower())
        if rg and rg.group(1) not in self.resource_groups:
            return error(404, "ResourceGroupNotFound", f"Resource group '{p.parent.split('/')[4]}' could not be found.")
        if p.parent and not self.exists(p.parent):
            code = "ParentResourceNotFound" if p.parent != p.scope else "ResourceNotFound"
            return error(404, code, f"The Resource '{p.parent}' under resource group was not found.")
        return None

    # -- requests --------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, body: Any, tenant: str = "") -> Answer:
        api_version = (parse_qs(query).get("api-version") or [""])[0]
        low = path.lower()
        if method == "POST" and low.endswith("/listcallbackurl"):
            return self._callback_url(path)
        if re.fullmatch(r"/subscriptions/[^/]+/providers/microsoft\.resources/deployments/[^/]+", low):
            return self._deployment(method, path, api_version, body, tenant)
        p = parse_id(path)
        if p is None:
            return error(400, "InvalidResourceId", f"not a resource id: {path}")
        contract = contracts.for_type(p.type)
        if contract is None:
            return error(400, "NoRegisteredProviderFound", f"the local Azure does not serve {p.type}")
        if method == "PUT" or method == "GET" or method == "DELETE":
            problems = contract.check_api_version(api_version)
            if problems:
                return error(400, "NoRegisteredProviderFound", problems)
        p = ArmPath(p.scope, contract.type, p.name, p.parent)  # the type as its provider spells it
        if p.type == "Microsoft.Insights/diagnosticSettings":
            return self._setting(method, p, body, contract)
        key = path.rstrip("/").lower()
        if method == "GET":
            with self.lock:
                found = self.resources.get(key)
            if found is None:
                return error(404, "ResourceNotFound", f"The Resource '{p.type}/{p.name}' was not found.")
            return Answer(200, contract.respond(found, api_version))
        if method == "DELETE":
            with self.lock:
                gone = self.resources.pop(key, None)
                self.writes.append(("DELETE", path))
                if p.type == "Microsoft.Resources/resourceGroups" and gone is not None:
                    # Deleting a resource group deletes what is in it (ResourceGroups_Delete).
                    self.resource_groups.discard(key)
                    for rid in [r for r in self.resources if r.startswith(key + "/")]:
                        del self.resources[rid]
            principal = ((gone or {}).get("identity") or {}).get("principalId") if isinstance(gone, dict) else None
            if principal and self.graph is not None:
                self.graph.remove_principal(gone["identity"].get("tenantId") or "", principal)
            return Answer(200 if gone else 204, None)
        if method != "PUT":
            return error(405, "MethodNotAllowed", f"{method} {path}")
        return self._put(path, p, body, contract, api_version, tenant)

    def _put(self, path: str, p: ArmPath, body: Any, contract: contracts.Contract, api_version: str,
             tenant: str) -> Answer:
        if not isinstance(body, dict):
            return error(400, "InvalidRequestContent", "the request body must be a JSON object")
        key = path.rstrip("/").lower()
        with self.lock:
            old = self.resources.get(key)
        problems = contract.validate(body, old)
        if problems:
            return error(400, contract.error_code, "; ".join(problems))
        missing = self._parent_missing(p)
        if missing:
            return missing
        rule = RULES.get(p.type)
        if rule is not None:
            refused = rule(self, path, p, body, old)
            if refused is not None:
                return refused
        stored = {**body, "id": path, "name": p.name, "type": p.type}
        stored = contract.complete(stored, old)
        identity = stored.get("identity") if isinstance(stored.get("identity"), dict) else {}
        if identity.get("principalId") and self.graph is not None:
            identity["tenantId"] = tenant or identity.get("tenantId")
            self.graph.add_managed_identity(identity["tenantId"], identity["principalId"], p.name)
        with self.lock:
            self.resources[key] = stored
            self.writes.append(("PUT", path))
            if p.type == "Microsoft.Resources/resourceGroups":
                self.resource_groups.add(key)
        return Answer(201 if old is None else 200, contract.respond(stored, api_version))

    def _setting(self, method: str, p: ArmPath, body: Any, contract: contracts.Contract) -> Answer:
        scope = p.scope.lower()
        with self.lock:
            current = self.settings.setdefault(scope, []) if self.exists(p.scope) else None
            found = next((s for s in current or [] if s["name"].lower() == p.name.lower()), None)
        if method == "GET":
            return Answer(200, found) if found else error(404, "ResourceNotFound", f"diagnostic setting {p.name} not found")
        if method == "DELETE":
            with self.lock:
                if current is not None and found is not None:
                    current.remove(found)
                self.writes.append(("DELETE", f"{p.scope}/providers/{p.type}/{p.name}"))
            return Answer(200 if found else 204, None)
        if not isinstance(body, dict):
            return error(400, "InvalidRequestContent", "the request body must be a JSON object")
        problems = contract.validate(body, found)
        if problems:
            return error(400, contract.error_code, "; ".join(problems))
        if current is None:
            return error(404, "ResourceNotFound", f"The Resource '{p.scope}' was not found.")
        if found is None and len(current) >= MAX_DIAGNOSTIC_SETTINGS:
            return error(400, "BadRequest", f"Diagnostic settings count exceeds the maximum of {MAX_DIAGNOSTIC_SETTINGS} "
                         f"on {p.scope}: {', '.join(s['name'] for s in current)}")
        setting = {"id": f"{p.scope}/providers/microsoft.insights/diagnosticSettings/{p.name}",
                   "type": "Microsoft.Insights/diagnosticSettings", "name": p.name,
                   "properties": _setting_properties(body.get("properties") or {})}
        with self.lock:
            if found is not None:
                current[current.index(found)] = setting
            else:
                current.append(setting)
            self.writes.append(("PUT", setting["id"]))
        return Answer(200, setting)

    def _deployment(self, method: str, path: str, api_version: str, body: Any, tenant: str) -> Answer:
        """A subscription-scope template deployment (testing/arm_templates.py): each resource PUT in order."""
        from testing import arm_templates

        if api_version not in arm_templates.DEPLOYMENT_API_VERSIONS:
            return error(400, "NoRegisteredProviderFound", f"api-version {api_version!r} for deployments")
        if method == "GET":
            with self.lock:
                found = self.deployments.get(path.lower())
            return Answer(200, found) if found else error(404, "DeploymentNotFound", path)
        if method != "PUT" or not isinstance(body, dict):
            return error(400, "InvalidRequestContent", "PUT a deployment with a JSON body")
        subscription = path.split("/")[2]
        try:
            writes = arm_templates.planned_writes(body, subscription)
        except arm_templates.TemplateError as exc:
            return error(400, "InvalidTemplate", str(exc))
        for target, version, payload in writes:
            answer = self.handle("PUT", target, f"api-version={version}", payload, tenant)
            if answer.status not in (200, 201):
                failed = {"properties": {"provisioningState": "Failed", "error": (answer.body or {}).get("error")}}
                with self.lock:
                    self.deployments[path.lower()] = {"id": path, **failed}
                return Answer(400, {"error": {"code": "DeploymentFailed", "message": f"{target}: {answer.body}"}})
        done = {"id": path, "name": path.rsplit("/", 1)[-1], "location": body.get("location"),
                "properties": {"provisioningState": "Succeeded", "mode": (body.get("properties") or {}).get("mode")}}
        with self.lock:
            self.deployments[path.lower()] = done
        return Answer(201, done)

    def _callback_url(self, path: str) -> Answer:
        m = re.match(r"(.*/providers/Microsoft\.Logic/workflows/[^/]+)/triggers/([^/]+)/listCallbackUrl$", path, re.I)
        if not m:
            return error(404, "NotFound", path)
        with self.lock:
            workflow = self.resources.get(m.group(1).lower())
        if workflow is None:
            return error(404, "ResourceNotFound", f"The Resource 'Microsoft.Logic/workflows/{m.group(1).rsplit('/', 1)[-1]}' was not found.")
        triggers = ((workflow.get("properties") or {}).get("definition") or {}).get("triggers") or {}
        trigger = m.group(2)
        if trigger not in triggers:
            return error(404, "WorkflowTriggerNotFound", f"The workflow trigger '{trigger}' could not be found.")
        sig = workflow.setdefault("_sig", secrets.token_urlsafe(32))
        base = f"https://local-fake.logic.azure.invalid/workflows/{uuid.uuid5(uuid.NAMESPACE_URL, m.group(1)).hex}/triggers/{trigger}/paths/invoke"
        return Answer(200, {"value": f"{base}?api-version=2016-10-01&sp=%2Ftriggers%2F{trigger}%2Frun&sv=1.0&sig={sig}",
                            "method": "POST", "basePath": base,
                            "queries": {"api-version": "2016-10-01", "sp": f"/triggers/{trigger}/run", "sv": "1.0", "sig": sig}})


def _setting_properties(props: dict[str, Any]) -> dict[str, Any]:
    """What ARM answers for a setting: every log and metric with a retention policy (listDiagnosticSettings.json)."""
    out = dict(props)
    for key in ("logs", "metrics"):
        out[key] = [{**e, "retentionPolicy": e.get("retentionPolicy", {"enabled": False, "days": 0})} for e in props.get(key) or []]
    return out


# -- type rules beyond the schema ---------------------------------------------------------------

def _registration_definition(store: ArmStore, path: str, p: ArmPath, body: dict[str, Any], old: Any) -> Answer | None:
    props = body.get("properties") or {}
    for a in [*(props.get("authorizations") or []), *(props.get("eligibleAuthorizations") or [])]:
        role = str(a.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower()
        if role == OWNER_ROLE:
            return error(400, "InvalidRoleDefinitionId", "The Owner role is not supported for Azure Lighthouse delegations.")
        if role in DATA_ACTION_ROLES:
            return error(400, "InvalidRoleDefinitionId", f"Role {role} has DataActions, which Azure Lighthouse does not support.")
        if role == USER_ACCESS_ADMINISTRATOR_ROLE and not a.get("delegatedRoleDefinitionIds"):
            return error(400, "InvalidRoleDefinitionId", "User Access Administrator needs delegatedRoleDefinitionIds "
                         "(it may only assign roles to managed identities).")
    return None


def _registration_assignment(store: ArmStore, path: str, p: ArmPath, body: dict[str, Any], old: Any) -> Answer | None:
    definition = str((body.get("properties") or {}).get("registrationDefinitionId", ""))
    if not store.exists(definition):
        return error(400, "RegistrationDefinitionNotFound",
                     f"The registration definition '{definition}' was not found.")
    return None


def _role_definition(store: ArmStore, path: str, p: ArmPath, body: dict[str, Any], old: Any) -> Answer | None:
    name = str((body.get("properties") or {}).get("roleName", "")).lower()
    with store.lock:
        clash = [rid for rid, r in store.resources.items() if r["type"] == p.type and rid != path.lower()
                 and str((r.get("properties") or {}).get("roleName", "")).lower() == name]
    if clash:
        return error(409, "RoleDefinitionWithSameNameExists", f"A custom role with the same name already exists: {clash[0]}")
    return None


def _role_assignment(store: ArmStore, path: str, p: ArmPath, body: dict[str, Any], old: Any) -> Answer | None:
    props = body.get("properties") or {}
    if old is not None:
        before = old.get("properties") or {}
        if any(before.get(k) != props.get(k) for k in ("principalId", "roleDefinitionId")):
            return error(400, "RoleAssignmentUpdateNotPermitted",
                         "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
    role = str(props.get("roleDefinitionId", ""))
    if not store.exists(role) and not re.search(r"/providers/Microsoft\.Authorization/roleDefinitions/[0-9a-f-]{36}$", role, re.I):
        return error(400, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{role}' does not exist.")
    with store.lock:
        twins = [rid for rid, r in store.resources.items() if r["type"] == p.type and rid != path.lower()
                 and rid.startswith(p.scope.lower() + "/providers/")
                 and (r.get("properties") or {}).get("principalId") == props.get("principalId")
                 and str((r.get("properties") or {}).get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower() == role.rsplit("/", 1)[-1].lower()]
    if twins:
        return error(409, "RoleAssignmentExists", f"The role assignment already exists: {twins[0]}")
    return None


RULES: dict[str, Callable[[ArmStore, str, ArmPath, dict[str, Any], Any], Answer | None]] = {
    "Microsoft.ManagedServices/registrationDefinitions": _registration_definition,
    "Microsoft.ManagedServices/registrationAssignments": _registration_assignment,
    "Microsoft.Authorization/roleDefinitions": _role_definition,
    "Microsoft.Authorization/roleAssignments": _role_assignment,
}


# -- Microsoft Graph ---------------------------------------------------------------------------

@dataclass
class Tenant:
    applications: dict[str, dict[str, Any]] = field(default_factory=dict)  # object id -> application
    principals: dict[str, dict[str, Any]] = field(default_factory=dict)  # object id -> service principal


class GraphStore:
    """Microsoft Graph v1.0 for the objects the program writes, one directory per tenant."""

    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.lock = threading.Lock()
        self.issued_secrets: list[str] = []  # every password secretText handed out (tests look for them in state)

    def tenant(self, tid: str) -> Tenant:
        t = self.tenants.get(tid.lower())
        if t is None:
            t = self.tenants[tid.lower()] = Tenant()
            for app_id, (name, roles) in FIRST_PARTY.items():
                oid = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{tid}/{app_id}"))
                t.principals[oid] = {"id": oid, "appId": app_id, "displayName": name,
                                     "appRoles": [{"id": rid, "value": v, "allowedMemberTypes": ["Application"]}
                                                  for v, rid in roles.items()], "appRoleAssignedTo": {}}
        return t

    def object_ids(self) -> set[str]:
        """Every object id this directory assigned (applications, service principals, first-party ones too)."""
        with self.lock:
            return {oid for t in self.tenants.values() for oid in (*t.applications, *t.principals)}

    def add_managed_identity(self, tid: str, object_id: str, name: str) -> None:
        with self.lock:
            t = self.tenant(tid)
            t.principals.setdefault(object_id, {"id": object_id, "appId": str(uuid.uuid5(uuid.NAMESPACE_OID, object_id)),
                                                "displayName": name, "servicePrincipalType": "ManagedIdentity",
                                                "appRoles": [], "appRoleAssignedTo": {}})

    def remove_principal(self, tid: str, object_id: str) -> None:
        with self.lock:
            self.tenant(tid).principals.pop(object_id, None)

    def application_by_app_id(self, app_id: str) -> tuple[str, dict[str, Any]] | None:
        for tid, t in self.tenants.items():
            for app in t.applications.values():
                if app["appId"] == app_id:
                    return tid, app
        return None

    def handle(self, method: str, tid: str, path: str, query: str, body: Any) -> Answer:
        with self.lock:
            return self._handle(method, self.tenant(tid), tid.lower(), path.rstrip("/"), query, body)

    def _handle(self, method: str, t: Tenant, tid: str, path: str, query: str, body: Any) -> Answer:
        seg = [unquote(s) for s in path.strip("/").split("/")]
        if seg[0] == "applications":
            return self._applications(method, t, seg[1:], body)
        if seg[0] == "servicePrincipals":
            return self._principals(method, t, tid, seg[1:], query, body)
        return error(404, "Request_ResourceNotFound", f"no Graph route {method} /{path}")

    def _applications(self, method: str, t: Tenant, seg: list[str], body: Any) -> Answer:
        if not seg:
            if method != "POST":
                return error(405, "Request_BadRequest", method)
            problems = contracts.GRAPH_APPLICATION.validate(body or {}, None)
            if problems:
                return error(400, "Request_BadRequest", "; ".join(problems))
            oid, app_id = str(uuid.uuid4()), str(uuid.uuid4())
            app = {"id": oid, "appId": app_id, "displayName": body["displayName"],
                   "signInAudience": body.get("signInAudience", "AzureADMyOrg"), "passwordCredentials": [],
                   "federatedIdentityCredentials": {}}
            t.applications[oid] = app
            return Answer(201, _public(app))
        app = t.applications.get(seg[0])
        if app is None:
            return error(404, "Request_ResourceNotFound", f"Resource '{seg[0]}' does not exist.")
        if len(seg) == 1:
            if method == "GET":
                return Answer(200, _public(app))
            if method == "PATCH":
                app.update({k: v for k, v in (body or {}).items() if k in ("displayName", "signInAudience")})
                return Answer(204)
            if method == "DELETE":
                del t.applications[seg[0]]
                return Answer(204)
        if seg[1] == "addPassword" and method == "POST":
            cred = {"keyId": str(uuid.uuid4()), "displayName": ((body or {}).get("passwordCredential") or {}).get("displayName"),
                    "endDateTime": ((body or {}).get("passwordCredential") or {}).get("endDateTime")}
            app["passwordCredentials"].append(cred)
            secret = secrets.token_urlsafe(30)
            self.issued_secrets.append(secret)
            return Answer(200, {**cred, "secretText": secret})
        if seg[1] == "removePassword" and method == "POST":
            key = (body or {}).get("keyId")
            before = len(app["passwordCredentials"])
            app["passwordCredentials"] = [c for c in app["passwordCredentials"] if c["keyId"] != key]
            return Answer(204) if len(app["passwordCredentials"]) < before else error(404, "Request_ResourceNotFound", f"keyId {key}")
        if seg[1] == "federatedIdentityCredentials":
            return self._federated(method, app, seg[2:], body)
        return error(404, "Request_ResourceNotFound", "/".join(seg))

    def _federated(self, method: str, app: dict[str, Any], seg: list[str], body: Any) -> Answer:
        creds = app["federatedIdentityCredentials"]
        if not seg:
            if method != "POST":
                return Answer(200, {"value": list(creds.values())})
            problems = contracts.GRAPH_FEDERATED_CREDENTIAL.validate(body or {}, None)
            if problems:
                return error(400, "Request_BadRequest", "; ".join(problems))
            if any(c["name"] == body["name"] for c in creds.values()):
                return error(409, "Request_MultipleObjectsWithSameKeyValue", f"FederatedIdentityCredential with name {body['name']} already exists.")
            if len(creds) >= MAX_FEDERATED_CREDENTIALS:
                return error(400, "Request_BadRequest", f"an application has at most {MAX_FEDERATED_CREDENTIALS} federated identity credentials")
            cid = str(uuid.uuid4())
            creds[cid] = {"id": cid, **{k: body.get(k) for k in ("name", "issuer", "subject", "audiences", "description")}}
            return Answer(201, creds[cid])
        cred = creds.get(seg[0])
        if cred is None:
            return error(404, "Request_ResourceNotFound", seg[0])
        if method == "GET":
            return Answer(200, cred)
        if method == "PATCH":
            cred.update({k: v for k, v in (body or {}).items() if k in ("issuer", "subject", "audiences", "description")})
            return Answer(204)
        if method == "DELETE":
            del creds[seg[0]]
            return Answer(204)
        return error(405, "Request_BadRequest", method)

    def _principals(self, method: str, t: Tenant, tid: str, seg: list[str], query: str, body: Any) -> Answer:
        if not seg:
            if method == "GET":
                flt = (parse_qs(query).get("$filter") or [""])[0]
                m = re.fullmatch(r"(appId|displayName) eq '([^']*)'", flt)
                if not m:
                    return error(400, "Request_UnsupportedQuery", f"unsupported filter {flt!r}")
                return Answer(200, {"value": [_public(sp) for sp in t.principals.values() if sp.get(m.group(1)) == m.group(2)]})
            app_id = (body or {}).get("appId")
            if not app_id:
                return error(400, "Request_BadRequest", "appId is required")
            if any(sp["appId"] == app_id for sp in t.principals.values()):
                return error(409, "Request_MultipleObjectsWithSameKeyValue",
                             f"The service principal for appId {app_id} already exists.")
            home = self.application_by_app_id(app_id)
            if home is None or (home[0] != tid and home[1]["signInAudience"] not in MULTITENANT_AUDIENCES):
                return error(400, "Request_BadRequest", f"The appId '{app_id}' of the service principal does not "
                             "reference a valid application object.")
            oid = str(uuid.uuid4())
            t.principals[oid] = {"id": oid, "appId": app_id, "displayName": home[1]["displayName"], "appRoles": [],
                                 "appRoleAssignedTo": {}}
            return Answer(201, _public(t.principals[oid]))
        sp = t.principals.get(seg[0])
        if sp is None:
            return error(404, "Request_ResourceNotFound", f"Resource '{seg[0]}' does not exist.")
        if len(seg) == 1:
            if method == "GET":
                return Answer(200, _public(sp))
            if method == "DELETE":
                del t.principals[seg[0]]
                return Answer(204)
        if seg[1] == "appRoleAssignedTo":
            assigned = sp["appRoleAssignedTo"]
            if len(seg) == 2 and method == "POST":
                b = body or {}
                if b.get("principalId") not in t.principals:
                    return error(400, "Request_BadRequest", f"principal {b.get('principalId')} not found in the tenant")
                if b.get("appRoleId") not in {r["id"] for r in sp["appRoles"]}:
                    return error(400, "Request_BadRequest", "Permission being assigned was not found on application")
                aid = secrets.token_urlsafe(24)
                assigned[aid] = {"id": aid, **{k: b.get(k) for k in ("principalId", "resourceId", "appRoleId")}}
                return Answer(201, assigned[aid])
            if len(seg) == 3:
                found = assigned.get(seg[2])
                if found is None:
                    return error(404, "Request_ResourceNotFound", seg[2])
                if method == "DELETE":
                    del assigned[seg[2]]
                    return Answer(204)
                return Answer(200, found)
        return error(404, "Request_ResourceNotFound", "/".join(seg))


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("federatedIdentityCredentials", "appRoleAssignedTo")}


def graph_route(path: str) -> tuple[str, str] | None:
    """/graph/{tenant}/v1.0/rest -> (tenant, rest)."""
    m = re.match(r"/graph/([^/]+)/v1\.0(/.*)$", urlsplit(path).path)
    return (m.group(1), m.group(2)) if m else None
