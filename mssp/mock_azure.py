"""Offline stand-ins for what Azure and Entra would return, for the offline plan and the tests.

The offline plan runs the real program under Pulumi mocks. The engine would send each resource to
its provider and get back the created state; here `new_resource` answers instead, with ids shaped
like Azure's (ARM resource ids as in the REST API examples, Entra object ids as GUIDs) and derived
from the resource's URN, so two plans of the same stack are identical. Nothing here claims to be a
real Azure response: every value is marked as offline where a human could mistake it for one.

Per-type answers live in NEW_RESOURCE and CALLS (read-only tables of pure functions): to teach the
mocks a new type, add an entry there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import pulumi

# Namespace for the offline GUIDs (client ids, object ids); not a real tenant's anything.
_OFFLINE = uuid.UUID("a7e5c2f0-6b1d-5e8a-9c3f-0d4b2a1e7f60")


def offline_guid(*parts: str) -> str:
    return str(uuid.uuid5(_OFFLINE, "/".join(parts)))


def _arm_child(parent_key: str, provider_path: str, name_key: str) -> Callable[[pulumi.runtime.MockResourceArgs], dict]:
    """An ARM id `{inputs[parent_key]}/providers/{provider_path}/{inputs[name_key]}`."""

    def state(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        name = args.inputs.get(name_key) or args.name
        return {"id": f"{args.inputs.get(parent_key, '')}/providers/{provider_path}/{name}", "name": name}

    return state


def _subscription_setting(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    # The subscription comes from the provider, which the mock does not see; the id says so.
    name = args.inputs.get("name") or args.name
    return {"id": f"/subscriptions/(from-provider)/providers/Microsoft.Insights/diagnosticSettings/{name}", "name": name}


def _entra_application(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    object_id = offline_guid("application", args.name)
    return {"id": f"/applications/{object_id}", "objectId": object_id, "clientId": offline_guid("client", args.name)}


def _entra_service_principal(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    object_id = offline_guid("service-principal", args.name)
    return {"id": f"/servicePrincipals/{object_id}", "objectId": object_id}


def _entra_password(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    key_id = offline_guid("password", args.name)
    return {"id": f"{args.inputs.get('applicationId')}/password/{key_id}", "keyId": key_id,
            "value": "offline-plan-placeholder-not-a-secret"}


NEW_RESOURCE: Mapping[str, Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]]] = MappingProxyType({
    "azure-native:monitor:DiagnosticSetting": _arm_child("resourceUri", "Microsoft.Insights/diagnosticSettings", "name"),
    "azure-native:monitor:SubscriptionDiagnosticSetting": _subscription_setting,
    "azure-native:managedservices:RegistrationDefinition": _arm_child(
        "scope", "Microsoft.ManagedServices/registrationDefinitions", "registrationDefinitionId"),
    "azure-native:managedservices:RegistrationAssignment": _arm_child(
        "scope", "Microsoft.ManagedServices/registrationAssignments", "registrationAssignmentId"),
    "azure-native:authorization:RoleAssignment": _arm_child(
        "scope", "Microsoft.Authorization/roleAssignments", "roleAssignmentName"),
    "azuread:index/application:Application": _entra_application,
    "azuread:index/servicePrincipal:ServicePrincipal": _entra_service_principal,
    "azuread:index/applicationPassword:ApplicationPassword": _entra_password,
})

CALLS: Mapping[str, Callable[[pulumi.runtime.MockCallArgs], dict[str, Any]]] = MappingProxyType({})


class OfflineMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes offline; StackReferences read given outputs."""

    def __init__(self, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None):
        # Stack reference name -> outputs (e.g. the platform stack's own offline plan outputs).
        self._stack_outputs = dict(stack_outputs or {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if args.typ == "pulumi:pulumi:StackReference":
            ref = args.inputs.get("name", args.name)
            outputs = self._stack_outputs.get(ref) or self._stack_outputs.get(ref.rsplit("/", 1)[-1], {})
            return ref, {"name": ref, "outputs": dict(outputs), "secretOutputNames": []}
        state = dict(args.inputs)
        extra = NEW_RESOURCE.get(args.typ)
        if extra is not None:
            state.update(extra(args))
        state.setdefault("name", args.name)
        resource_id = state.pop("id", None) or f"offline-{args.name}"
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        handler = CALLS.get(args.token)
        if handler is None:
            raise NotImplementedError(f"the offline plan has no answer for invoke {args.token}; add one to mock_azure.CALLS")
        return handler(args)
