"""Stand-in for the `azure-native` provider plugin (3.29.0): NOT the real provider.

It turns the engine's calls into the ARM REST requests azure-native would send (PUT/GET/DELETE on the
resource's id with the type's api-version; POST for list* invokes) against the local fake ARM
(testing/fake_arm.py), whose base URL it reads from MSSP_STANDIN_ARM_URL. What it knows per type is the
table TYPES: the api-version azure-native 3.29.0 uses for the type (the "Uses Azure REST API version"
line of each class in the pulumi-azure-native Python SDK), the resource's path (the REST spec's PUT path;
its parameters are the SDK's input names), whether `properties` is flattened into the inputs
(`x-ms-client-flatten`, which azure-native follows), and the inputs whose change forces a replacement.

What it does not do, and the real provider does: its own schema checks of the inputs, normalisation of
what Azure answers (case of ids, defaults), retries, long-running-operation polling, authentication.
See docs/real-engine.md.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from testing.providers.standin import BackendError, Identity, serve

NAME, VERSION = "azure-native", "3.29.0"
TOP_LEVEL = frozenset({"location", "tags", "identity", "kind", "etag", "plan", "sku", "properties", "managedBy",
                       "extendedLocation"})


@dataclass(frozen=True)
class ArmType:
    api_version: str
    path: str  # REST path; {param} are the SDK's input names, {subscriptionId} may come from the provider
    name_param: str  # the path's last parameter (autonamed when the program does not set it)
    flatten: bool = True  # `properties` flattened into the inputs (x-ms-client-flatten)
    renames: tuple[tuple[str, str], ...] = ()  # (SDK input name, REST property name) inside properties
    create_only: frozenset[str] = frozenset()  # inputs (besides the path) whose change is a replacement
    autoname_guid: bool = False  # azure-native names these with a GUID (role assignments, registrations)
    default_body: Mapping[str, Any] | None = None  # no DELETE in the REST API: delete writes this instead

    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers"
_WS = _RG + "/Microsoft.OperationalInsights/workspaces/{workspaceName}"

TYPES: Mapping[str, ArmType] = {
    # azure-rest-api-specs specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json
    # A role assignment cannot be updated in place (ARM answers RoleAssignmentUpdateNotPermitted), and
    # azure-native marks its principal and role forceNew.
    "azure-native:authorization:RoleAssignment": ArmType(
        "2022-04-01", "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
        "roleAssignmentName", create_only=frozenset({"principalId", "roleDefinitionId", "principalType"}),
        autoname_guid=True),
    # .../Microsoft.Authorization/preview/2022-05-01-preview/authorization-RoleDefinitionsCalls.json ("type" is roleType)
    "azure-native:authorization:RoleDefinition": ArmType(
        "2022-05-01-preview", "{scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}",
        "roleDefinitionId", renames=(("roleType", "type"),), autoname_guid=True),
    # specification/logic/resource-manager/Microsoft.Logic/stable/2019-05-01/logic.json
    "azure-native:logic:Workflow": ArmType("2019-05-01", _RG + "/Microsoft.Logic/workflows/{workflowName}", "workflowName",
                                           create_only=frozenset({"location"})),
    # specification/managedservices/resource-manager/Microsoft.ManagedServices/stable/2022-10-01/managedservices.json
    "azure-native:managedservices:RegistrationDefinition": ArmType(
        "2022-10-01", "{scope}/providers/Microsoft.ManagedServices/registrationDefinitions/{registrationDefinitionId}",
        "registrationDefinitionId", flatten=False, autoname_guid=True),
    "azure-native:managedservices:RegistrationAssignment": ArmType(
        "2022-10-01", "{scope}/providers/Microsoft.ManagedServices/registrationAssignments/{registrationAssignmentId}",
        "registrationAssignmentId", flatten=False, autoname_guid=True,
        create_only=frozenset({"properties"})),
    # specification/monitor/resource-manager/Microsoft.Insights/stable/2022-06-01/dataCollectionRules_API.json
    "azure-native:monitor:DataCollectionRule": ArmType(
        "2022-06-01", _RG + "/Microsoft.Insights/dataCollectionRules/{dataCollectionRuleName}", "dataCollectionRuleName",
        create_only=frozenset({"kind", "location"})),
    # specification/monitor/resource-manager/Microsoft.Insights/preview/2021-05-01-preview/diagnosticsSettings_API.json
    "azure-native:monitor:DiagnosticSetting": ArmType(
        "2021-05-01-preview", "{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}", "name"),
    # .../preview/2021-05-01-preview/subscriptionDiagnosticsSettings_API.json
    "azure-native:monitor:SubscriptionDiagnosticSetting": ArmType(
        "2021-05-01-preview", "/subscriptions/{subscriptionId}/providers/Microsoft.Insights/diagnosticSettings/{name}", "name"),
    # specification/operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/Tables.json
    "azure-native:operationalinsights:Table": ArmType("2023-09-01", _WS + "/tables/{tableName}", "tableName"),
    # specification/resources/resource-manager/Microsoft.Resources/stable/2024-03-01/resources.json (ResourceGroups_CreateOrUpdate;
    # location cannot change: a tracked resource's location is create-only)
    "azure-native:resources:ResourceGroup": ArmType(
        "2024-03-01", "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", "resourceGroupName",
        flatten=False, create_only=frozenset({"location"})),
    # specification/operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/Workspaces.json
    "azure-native:operationalinsights:Workspace": ArmType(
        "2023-09-01", _WS, "workspaceName", create_only=frozenset({"location"})),
    # specification/securityinsights/resource-manager/Microsoft.SecurityInsights/stable/2024-09-01/OnboardingStates.json
    "azure-native:securityinsights:SentinelOnboardingState": ArmType(
        "2024-09-01", _WS + "/providers/Microsoft.SecurityInsights/onboardingStates/{sentinelOnboardingStateName}",
        "sentinelOnboardingStateName"),
    # specification/resources/resource-manager/Microsoft.Resources/stable/2024-03-01/resources.json (Resources_CreateOrUpdate)
    "azure-native:resources:Resource": ArmType(
        "2024-03-01",
        "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/{resourceProviderNamespace}/"
        "{parentResourcePath}/{resourceType}/{resourceName}", "resourceName", flatten=False),
    # specification/securityinsights/resource-manager/Microsoft.SecurityInsights/stable/2024-09-01/AutomationRules.json
    "azure-native:securityinsights:AutomationRule": ArmType(
        "2024-09-01", _WS + "/providers/Microsoft.SecurityInsights/automationRules/{automationRuleId}", "automationRuleId"),
    # .../stable/2024-09-01/AlertRules.json (kind Scheduled)
    "azure-native:securityinsights:ScheduledAlertRule": ArmType(
        "2024-09-01", _WS + "/providers/Microsoft.SecurityInsights/alertRules/{ruleId}", "ruleId",
        create_only=frozenset({"kind"})),
    # specification/sql/resource-manager/Microsoft.Sql/stable/2023-08-01/BlobAuditing.json (no DELETE operation:
    # azure-native "deletes" such singletons by writing their default state).
    "azure-native:sql:ServerBlobAuditingPolicy": ArmType(
        "2023-08-01", _RG + "/Microsoft.Sql/servers/{serverName}/auditingSettings/{blobAuditingPolicyName}",
        "blobAuditingPolicyName", default_body={"properties": {"state": "Disabled"}}),
}


class ArmClient:
    """JSON over HTTP to the local fake ARM, with the fake's bearer token and the signed-in tenant."""

    def __init__(self, base_url: str, token: str, tenant: str | None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.tenant = tenant

    def request(self, method: str, path: str, api_version: str, body: Any = None) -> tuple[int, Any]:
        sep = "&" if "?" in path else "?"
        req = urllib.request.Request(f"{self.base_url}{path}{sep}api-version={api_version}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        # The local Azure reads the signed-in tenant from the token, as ARM reads a real token's `tid` claim.
        req.add_header("Authorization", f"Bearer {self.token};tid={self.tenant}" if self.tenant else f"Bearer {self.token}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw) if raw else None
            except ValueError:
                return exc.code, {"error": {"code": "Unknown", "message": raw.decode(errors="replace")}}


def _error(method: str, path: str, status: int, body: Any) -> BackendError:
    err = (body or {}).get("error", {}) if isinstance(body, dict) else {}
    return BackendError(f"{method} {path}: HTTP {status} {err.get('code', '')}: {err.get('message', body)}")


class AzureNative:
    name, version = NAME, VERSION

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self.client = ArmClient(os.environ.get("MSSP_STANDIN_ARM_URL", ""), os.environ.get("MSSP_STANDIN_TOKEN", "test-token"), None)

    def configure(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        if not self.client.base_url:
            raise BackendError("MSSP_STANDIN_ARM_URL is not set: the stand-in azure-native talks only to the local fake ARM")
        self.client.tenant = config.get("tenantId")

    # -- helpers -------------------------------------------------------------------------------

    def _type(self, token: str) -> ArmType:
        t = TYPES.get(token)
        if t is None:
            raise BackendError(f"the stand-in azure-native does not know {token}; add it to testing/providers/azure_native.py TYPES")
        return t

    def _path(self, t: ArmType, inputs: Mapping[str, Any]) -> str:
        def value(param: str) -> str:
            v = inputs.get(param)
            if v is None and param == "subscriptionId":
                v = self.config.get("subscriptionId")
            if v is None:
                if param == "parentResourcePath":
                    return ""
                raise BackendError(f"missing required input {param!r}")
            return str(v)
        path = re.sub(r"{(\w+)}", lambda m: value(m.group(1)), t.path)
        return re.sub(r"(?<!:)/{2,}", "/", path)

    def _api_version(self, token: str, t: ArmType, inputs: Mapping[str, Any]) -> str:
        return str(inputs.get("apiVersion")) if token == "azure-native:resources:Resource" else t.api_version

    def _body(self, token: str, t: ArmType, inputs: Mapping[str, Any]) -> dict[str, Any]:
        skip = set(t.path_params()) | ({"apiVersion"} if token == "azure-native:resources:Resource" else set())
        body: dict[str, Any] = {}
        props: dict[str, Any] = {}
        renames = dict(t.renames)
        for k, v in inputs.items():
            if k in skip or k.startswith("__"):
                continue
            if not t.flatten or k in TOP_LEVEL - {"properties"}:
                body[k] = v
            else:
                props[renames.get(k, k)] = v
        if t.flatten:
            body["properties"] = props
        return body

    def _outputs(self, t: ArmType, answer: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in answer.items() if k not in ("id", "properties") or not t.flatten}
        out.pop("id", None)
        if t.flatten:
            back = {rest: sdk for sdk, rest in t.renames}
            out.update({back.get(k, k): v for k, v in (answer.get("properties") or {}).items()})
        out["azureApiVersion"] = t.api_version
        return out

    def _put(self, token: str, inputs: Mapping[str, Any]) -> Identity:
        t = self._type(token)
        path = self._path(t, inputs)
        status, answer = self.client.request("PUT", path, self._api_version(token, t, inputs), self._body(token, t, inputs))
        if status not in (200, 201):
            raise _error("PUT", path, status, answer)
        return Identity(answer.get("id", path), {**self._outputs(t, answer), **_path_values(t, inputs)})

    # -- the calls -----------------------------------------------------------------------------

    def check(self, token: str, logical_name: str, olds: Mapping[str, Any], news: dict[str, Any], seed: bytes) -> dict[str, Any]:
        t = TYPES.get(token)
        if t is not None and t.name_param not in news:
            # azure-native autonames: the old name if there is one, else a GUID or name + random suffix.
            if t.name_param in olds:
                news[t.name_param] = olds[t.name_param]
            elif t.autoname_guid:
                news[t.name_param] = str(uuid.UUID(bytes=(seed + bytes(16))[:16], version=4))
            else:
                news[t.name_param] = f"{logical_name}{(seed or os.urandom(4)).hex()[:8]}"
        return news

    def replace_keys(self, token: str) -> frozenset[str]:
        t = TYPES.get(token)
        if t is None:
            return frozenset()
        return frozenset(t.path_params()) | t.create_only | ({"apiVersion"} if token == "azure-native:resources:Resource" else frozenset())

    def create(self, token: str, inputs: Mapping[str, Any]) -> Identity:
        return self._put(token, inputs)

    def update(self, token: str, resource_id: str, inputs: Mapping[str, Any], olds: Mapping[str, Any]) -> Identity:
        return self._put(token, inputs)

    def read(self, token: str, resource_id: str, state: Mapping[str, Any]) -> Identity | None:
        t = self._type(token)
        status, answer = self.client.request("GET", resource_id, self._api_version(token, t, state))
        if status == 404:
            return None
        if status != 200:
            raise _error("GET", resource_id, status, answer)
        keep = {k: state[k] for k in t.path_params() if k in state}
        if token == "azure-native:resources:Resource" and "apiVersion" in state:
            keep["apiVersion"] = state["apiVersion"]
        return Identity(answer.get("id", resource_id), {**self._outputs(t, answer), **keep})

    def delete(self, token: str, resource_id: str, state: Mapping[str, Any]) -> None:
        t = self._type(token)
        if t.default_body is not None:
            status, answer = self.client.request("PUT", resource_id, t.api_version, dict(t.default_body))
            if status not in (200, 201, 404):
                raise _error("PUT", resource_id, status, answer)
            return
        status, answer = self.client.request("DELETE", resource_id, self._api_version(token, t, state))
        if status not in (200, 202, 204, 404):
            raise _error("DELETE", resource_id, status, answer)

    def invoke(self, token: str, args: Mapping[str, Any]) -> dict[str, Any]:
        if token == "azure-native:logic:listWorkflowTriggerCallbackUrl":
            path = self._path(TYPES["azure-native:logic:Workflow"], args) + f"/triggers/{args['triggerName']}/listCallbackUrl"
            status, answer = self.client.request("POST", path, "2019-05-01", {})
        elif token == "azure-native:resources:getResource":
            t = TYPES["azure-native:resources:Resource"]
            path = self._path(t, args)
            status, answer = self.client.request("GET", path, str(args["apiVersion"]))
            if status == 200:
                answer = {k: v for k, v in answer.items()}
        else:
            raise BackendError(f"the stand-in azure-native has no invoke {token}")
        if status != 200:
            raise _error("POST" if "list" in token else "GET", path, status, answer)
        return dict(answer)


def _path_values(t: ArmType, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """azure-native keeps the path's inputs in the state (they are not in the REST answer)."""
    return {k: inputs[k] for k in t.path_params() if k in inputs}


def main() -> None:
    serve(AzureNative())


if __name__ == "__main__":
    main()
