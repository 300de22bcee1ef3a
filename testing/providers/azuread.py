"""Stand-in for the `azuread` provider plugin (6.11.1): NOT the real provider.

The real one is pulumi/pulumi-azuread, a bridge of hashicorp/terraform-provider-azuread; it talks to
Microsoft Graph v1.0. This stand-in sends the Graph requests that provider sends for the resources
the program writes, to the local fake (testing/fake_arm.py serves Graph under /graph/{tenant}/v1.0; the
tenant in the path stands for the tenant of the token), and maps the answers to the bridged
resources' outputs:

- Application: POST /applications (learn.microsoft.com/graph/api/application-post-applications);
  outputs clientId (appId), objectId, id "/applications/{objectId}" (azuread v3+ resource ids).
- ServicePrincipal: POST /servicePrincipals {appId} (servicePrincipal-post-serviceprincipals); with
  `useExisting` an existing principal of that appId is adopted (terraform-provider-azuread
  internal/services/serviceprincipals/service_principal_resource.go, use_existing).
- ApplicationFederatedIdentityCredential: POST /applications/{id}/federatedIdentityCredentials.
- ApplicationPassword: POST /applications/{id}/addPassword; delete POST .../removePassword {keyId}.
- AppRoleAssignment: POST /servicePrincipals/{resourceId}/appRoleAssignedTo.
- getServicePrincipal: GET /servicePrincipals?$filter=appId eq '...'; appRoleIds maps value -> id.

Replacement (REPLACE below) follows the Terraform schema's ForceNew arguments of these resources in
terraform-provider-azuread: a service principal's client_id; a federated credential's application_id
and display_name; every argument of an application password; every argument of an app role
assignment. Everything else is updated in place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from testing.providers.standin import BackendError, Identity, serve

NAME, VERSION = "azuread", "6.11.1"

APPLICATION = "azuread:index/application:Application"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
FEDERATED = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
PASSWORD = "azuread:index/applicationPassword:ApplicationPassword"
APP_ROLE_ASSIGNMENT = "azuread:index/appRoleAssignment:AppRoleAssignment"

REPLACE: Mapping[str, frozenset[str]] = {
    APPLICATION: frozenset(),
    SERVICE_PRINCIPAL: frozenset({"clientId"}),
    FEDERATED: frozenset({"applicationId", "displayName"}),
    PASSWORD: frozenset({"applicationId", "displayName", "endDate", "endDateRelative", "rotateWhenChanged", "startDate"}),
    APP_ROLE_ASSIGNMENT: frozenset({"appRoleId", "principalObjectId", "resourceObjectId"}),
}


class Graph:
    def __init__(self, base_url: str, token: str):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.tenant = ""

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        url = f"{self.base_url}/graph/{self.tenant}/v1.0{path}"
        req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def ok(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200, 201, 204)) -> Any:
        status, answer = self.request(method, path, body)
        if status not in expect:
            err = (answer or {}).get("error", {}) if isinstance(answer, dict) else {}
            raise BackendError(f"{method} {path}: HTTP {status} {err.get('code', '')}: {err.get('message', answer)}")
        return answer


def _object_id(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def _end_date(inputs: Mapping[str, Any]) -> str:
    if inputs.get("endDate"):
        return str(inputs["endDate"])
    hours = 2 * 365 * 24  # the provider's default lifetime: two years
    rel = str(inputs.get("endDateRelative") or "")
    if m := re.fullmatch(r"(\d+)h", rel):
        hours = int(m.group(1))
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


class AzureAd:
    name, version = NAME, VERSION

    def __init__(self) -> None:
        self.graph = Graph(os.environ.get("MSSP_STANDIN_ARM_URL", ""), os.environ.get("MSSP_STANDIN_TOKEN", "test-token"))

    def configure(self, config: Mapping[str, Any]) -> None:
        if not self.graph.base_url:
            raise BackendError("MSSP_STANDIN_ARM_URL is not set: the stand-in azuread talks only to the local fake Graph")
        self.graph.tenant = str(config.get("tenantId") or "")

    def check(self, token: str, logical_name: str, olds: Mapping[str, Any], news: dict[str, Any], seed: bytes) -> dict[str, Any]:
        return news

    def replace_keys(self, token: str) -> frozenset[str]:
        return REPLACE.get(token, frozenset())

    # -- outputs ---------------------------------------------------------------------------------

    @staticmethod
    def _app(answer: Mapping[str, Any], inputs: Mapping[str, Any]) -> Identity:
        oid = answer["id"]
        return Identity(f"/applications/{oid}", {**inputs, "objectId": oid, "clientId": answer["appId"],
                                                 "displayName": answer.get("displayName"),
                                                 "signInAudience": answer.get("signInAudience")})

    @staticmethod
    def _sp(answer: Mapping[str, Any], inputs: Mapping[str, Any]) -> Identity:
        oid = answer["id"]
        roles = {r["value"]: r["id"] for r in answer.get("appRoles") or [] if r.get("value")}
        return Identity(f"/servicePrincipals/{oid}", {**inputs, "objectId": oid, "clientId": answer["appId"],
                                                      "displayName": answer.get("displayName"), "appRoleIds": roles})

    # -- the calls -------------------------------------------------------------------------------

    def create(self, token: str, inputs: Mapping[str, Any]) -> Identity:
        g = self.graph
        if token == APPLICATION:
            body = {"displayName": inputs.get("displayName"), "signInAudience": inputs.get("signInAudience", "AzureADMyOrg")}
            return self._app(g.ok("POST", "/applications", body), inputs)
        if token == SERVICE_PRINCIPAL:
            client_id = inputs["clientId"]
            status, answer = g.request("POST", "/servicePrincipals", {"appId": client_id})
            if status == 409 and inputs.get("useExisting"):
                found = g.ok("GET", "/servicePrincipals?$filter=" + urllib.parse.quote(f"appId eq '{client_id}'"))
                if found.get("value"):
                    return self._sp(found["value"][0], inputs)
            if status not in (200, 201):
                err = (answer or {}).get("error", {})
                raise BackendError(f"POST /servicePrincipals: HTTP {status} {err.get('code')}: {err.get('message')}")
            return self._sp(answer, inputs)
        if token == FEDERATED:
            app = _object_id(inputs["applicationId"])
            body = {"name": inputs["displayName"], "issuer": inputs["issuer"], "subject": inputs["subject"],
                    "audiences": inputs.get("audiences") or ["api://AzureADTokenExchange"],
                    "description": inputs.get("description")}
            answer = g.ok("POST", f"/applications/{app}/federatedIdentityCredentials", body)
            return Identity(f"/applications/{app}/federatedIdentityCredential/{answer['id']}",
                            {**inputs, "credentialId": answer["id"]})
        if token == PASSWORD:
            app = _object_id(inputs["applicationId"])
            body = {"passwordCredential": {"displayName": inputs.get("displayName"), "endDateTime": _end_date(inputs)}}
            answer = g.ok("POST", f"/applications/{app}/addPassword", body)
            return Identity(f"/applications/{app}/password/{answer['keyId']}",
                            {**inputs, "keyId": answer["keyId"], "value": answer["secretText"],
                             "endDate": answer.get("endDateTime")})
        if token == APP_ROLE_ASSIGNMENT:
            resource = inputs["resourceObjectId"]
            body = {"principalId": inputs["principalObjectId"], "resourceId": resource, "appRoleId": inputs["appRoleId"]}
            answer = g.ok("POST", f"/servicePrincipals/{resource}/appRoleAssignedTo", body)
            return Identity(f"/servicePrincipals/{resource}/appRoleAssignedTo/{answer['id']}", dict(inputs))
        raise BackendError(f"the stand-in azuread does not know {token}")

    def read(self, token: str, resource_id: str, state: Mapping[str, Any]) -> Identity | None:
        g = self.graph
        inputs = {k: v for k, v in state.items()}
        if token == APPLICATION:
            status, answer = g.request("GET", resource_id)
            return None if status == 404 else self._app(answer, inputs)
        if token == SERVICE_PRINCIPAL:
            status, answer = g.request("GET", resource_id)
            return None if status == 404 else self._sp(answer, inputs)
        if token == FEDERATED:
            app, _, cred = resource_id.strip("/").split("/")[1:4]
            status, answer = g.request("GET", f"/applications/{app}/federatedIdentityCredentials/{cred}")
            if status == 404:
                return None
            return Identity(resource_id, {**inputs, "issuer": answer["issuer"], "subject": answer["subject"],
                                          "audiences": answer["audiences"], "displayName": answer["name"]})
        if token == PASSWORD:
            app, key = resource_id.strip("/").split("/")[1], _object_id(resource_id)
            status, answer = g.request("GET", f"/applications/{app}")
            if status == 404 or not any(p.get("keyId") == key for p in answer.get("passwordCredentials") or []):
                return None
            return Identity(resource_id, inputs)
        if token == APP_ROLE_ASSIGNMENT:
            resource, assignment = resource_id.strip("/").split("/")[1], _object_id(resource_id)
            status, answer = g.request("GET", f"/servicePrincipals/{resource}/appRoleAssignedTo/{assignment}")
            return None if status == 404 else Identity(resource_id, inputs)
        raise BackendError(f"the stand-in azuread does not know {token}")

    def update(self, token: str, resource_id: str, inputs: Mapping[str, Any], olds: Mapping[str, Any]) -> Identity:
        g = self.graph
        if token == APPLICATION:
            g.ok("PATCH", resource_id, {"displayName": inputs.get("displayName"),
                                        "signInAudience": inputs.get("signInAudience", "AzureADMyOrg")})
            return self._app(g.ok("GET", resource_id), inputs)
        if token == SERVICE_PRINCIPAL:
            return self._sp(g.ok("GET", resource_id), inputs)
        if token == FEDERATED:
            app, _, cred = resource_id.strip("/").split("/")[1:4]
            g.ok("PATCH", f"/applications/{app}/federatedIdentityCredentials/{cred}",
                 {"issuer": inputs["issuer"], "subject": inputs["subject"], "audiences": inputs.get("audiences"),
                  "description": inputs.get("description")})
            return Identity(resource_id, {**olds, **inputs})
        return Identity(resource_id, {**olds, **inputs})

    def delete(self, token: str, resource_id: str, state: Mapping[str, Any]) -> None:
        g = self.graph
        if token == PASSWORD:
            app = resource_id.strip("/").split("/")[1]
            g.ok("POST", f"/applications/{app}/removePassword", {"keyId": _object_id(resource_id)}, expect=(200, 204, 404))
            return
        if token == FEDERATED:
            app, _, cred = resource_id.strip("/").split("/")[1:4]
            g.ok("DELETE", f"/applications/{app}/federatedIdentityCredentials/{cred}", expect=(204, 404))
            return
        g.ok("DELETE", resource_id, expect=(204, 404))

    def invoke(self, token: str, args: Mapping[str, Any]) -> dict[str, Any]:
        if token != "azuread:index/getServicePrincipal:getServicePrincipal":
            raise BackendError(f"the stand-in azuread has no invoke {token}")
        g = self.graph
        if args.get("objectId"):
            answer = g.ok("GET", f"/servicePrincipals/{args['objectId']}")
        else:
            key, value = ("appId", args["clientId"]) if args.get("clientId") else ("displayName", args.get("displayName"))
            found = g.ok("GET", "/servicePrincipals?$filter=" + urllib.parse.quote(f"{key} eq '{value}'"))
            if not found.get("value"):
                raise BackendError(f"no service principal with {key} {value!r} in tenant {g.tenant}")
            answer = found["value"][0]
        sp = self._sp(answer, {})
        return {"id": answer["id"], **sp.outputs}


def main() -> None:
    serve(AzureAd())


if __name__ == "__main__":
    main()
