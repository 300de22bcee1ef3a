"""The gRPC side of the stand-in provider plugins: what the Pulumi engine calls, translated to a backend.

A resource provider plugin is a gRPC server (pulumi/pulumi proto/pulumi/provider.proto, the stubs in
`pulumi.runtime.proto`) that prints its port on stdout; the engine starts `pulumi-resource-<name>` with
the engine's address as argument (pulumi/pulumi sdk/go/common/resource/plugin/plugin.go, newPlugin).
This module implements the calls the engine makes during preview, up, refresh and destroy: GetPluginInfo,
CheckConfig, DiffConfig, Configure, Check, Diff, Create, Read, Update, Delete and Invoke, plus a minimal
GetSchema. Everything type-specific (which REST request, which property forces a replacement) is the
backend's (testing/providers/azure_native.py, azuread.py).

How it decides, and where that comes from:
- Diff compares the program's inputs with the *old outputs* projected onto the inputs' shape (keys the
  program does not set are ignored), so a change made in Azure and read back by `refresh` shows as a
  diff. azure-native does the same: its Diff works on the outputs read back from Azure
  (pulumi/pulumi-azure-native provider/pkg/provider/provider.go, Diff: "oldInputs ... calculated from
  olds"), and a refresh computes inputs from outputs (Read).
- A change to a create-only property, or to any part of the resource's path (its id), is a replacement:
  azure-native marks properties `forceNew` from the REST spec's `x-ms-mutability` without "update" and
  for every path parameter (pulumi-azure-native provider/pkg/gen/properties.go, forceNew).
- Configure answers acceptSecrets=false: the engine then sends plain values and marks an output secret
  when the input of the same name was secret (pulumi/pulumi pkg/resource/plugin/provider_plugin.go,
  annotateSecrets), and supportsPreview=false: previews use the inputs as the planned outputs.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi/pulumi sdk/go/common/resource/plugin/rpc.go UnknownStringValue


class BackendError(Exception):
    """A request Azure (the local fake) refused: the message is what the engine shows."""


@dataclass(frozen=True)
class Identity:
    """What `Read` found: the resource's id and outputs, or None when it is gone."""

    id: str
    outputs: dict[str, Any]


class Backend(Protocol):
    name: str
    version: str

    def configure(self, config: Mapping[str, Any]) -> None: ...
    def check(self, token: str, logical_name: str, olds: Mapping[str, Any], news: dict[str, Any], seed: bytes) -> dict[str, Any]: ...
    def replace_keys(self, token: str) -> frozenset[str]: ...
    def create(self, token: str, inputs: Mapping[str, Any]) -> Identity: ...
    def read(self, token: str, resource_id: str, state: Mapping[str, Any]) -> Identity | None: ...
    def update(self, token: str, resource_id: str, inputs: Mapping[str, Any], olds: Mapping[str, Any]) -> Identity: ...
    def delete(self, token: str, resource_id: str, state: Mapping[str, Any]) -> None: ...
    def invoke(self, token: str, args: Mapping[str, Any]) -> dict[str, Any]: ...


def to_dict(struct: struct_pb2.Struct | None) -> dict[str, Any]:
    return json_format.MessageToDict(struct, preserving_proto_field_name=True) if struct is not None else {}


def to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(json.loads(json.dumps(value)))
    return out


def integral(value: Any) -> Any:
    """Protobuf carries every number as a double; JSON bodies want 90, not 90.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


def project(old: Any, new: Any) -> Any:
    """`old` cut to the shape of `new`: only the keys `new` has, list items pairwise."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: project(old.get(k), v) for k, v in new.items()}
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [project(o, n) for o, n in zip(old, new, strict=True)]
    return old


def same(old: Any, new: Any) -> bool:
    if new == UNKNOWN or (isinstance(new, str) and UNKNOWN in new):
        return False
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(old, bool):
        return float(old) == float(new)
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(same(old[k], new[k]) for k in new)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(same(o, n) for o, n in zip(old, new, strict=True))
    return bool(old == new)


def changed_keys(old_outputs: Mapping[str, Any], old_inputs: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """Top-level input keys whose value differs from what Azure holds (or that were removed)."""
    changed = [k for k, v in news.items()
               if not same(project(old_outputs.get(k, old_inputs.get(k)), v), v)]
    changed += [k for k in old_inputs if k not in news and not k.startswith("__")]
    return sorted(changed)


@dataclass
class StandInProvider(provider_pb2_grpc.ResourceProviderServicer):
    backend: Backend
    configured: dict[str, Any] = field(default_factory=dict)

    # -- plugin and provider configuration ------------------------------------------------------

    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=self.backend.version)

    def GetSchema(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.GetSchemaResponse:
        # Minimal: the engine does not need the schema for preview/up/refresh/destroy.
        schema = {"name": self.backend.name, "version": self.backend.version,
                  "description": f"stand-in for {self.backend.name} (testing/providers): not the real provider"}
        return provider_pb2.GetSchemaResponse(schema=json.dumps(schema))

    def CheckConfig(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.CheckResponse:
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.DiffResponse:
        olds, news = to_dict(request.old_inputs) or to_dict(request.olds), to_dict(request.news)
        keys = [k for k in set(olds) | set(news) if k != "version" and not same(olds.get(k), news.get(k))]
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if keys else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=sorted(keys))

    def Configure(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.ConfigureResponse:
        config = to_dict(request.args) if request.HasField("args") else {}
        for key, value in request.variables.items():  # "azure-native:config:subscriptionId" -> value
            config.setdefault(key.rsplit(":", 1)[-1], value)
        self.configured = config
        self.backend.configure(config)
        return provider_pb2.ConfigureResponse(acceptSecrets=False, supportsPreview=False,
                                              acceptResources=False, acceptOutputs=False)

    # -- resources -------------------------------------------------------------------------------

    def Check(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.CheckResponse:
        news = self.backend.check(request.type or request.urn.rsplit("::", 2)[-2].rsplit("$", 1)[-1],
                                  request.name or request.urn.rsplit("::", 1)[-1], to_dict(request.olds),
                                  to_dict(request.news), bytes(request.randomSeed))
        return provider_pb2.CheckResponse(inputs=to_struct(news))

    def Diff(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.DiffResponse:
        token = _token(request)
        news, olds, old_inputs = to_dict(request.news), to_dict(request.olds), to_dict(request.old_inputs)
        keys = changed_keys(olds, old_inputs, news)
        forcing = self.backend.replace_keys(token)
        replaces = [k for k in keys if k in forcing]
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if keys else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=keys, replaces=replaces, deleteBeforeReplace=bool(replaces))

    def Create(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.CreateResponse:
        token = _token(request)
        try:
            made = self.backend.create(token, integral(to_dict(request.properties)))
        except BackendError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        return provider_pb2.CreateResponse(id=made.id, properties=to_struct(made.outputs))

    def Read(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.ReadResponse:
        token = _token(request)
        state, old_inputs = to_dict(request.properties), to_dict(request.inputs)
        try:
            found = self.backend.read(token, request.id, state)
        except BackendError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        if found is None:
            return provider_pb2.ReadResponse(id="")
        # Inputs as read back: each input the program set, taken from what Azure now holds.
        inputs = {k: project(found.outputs[k], v) if k in found.outputs else v for k, v in old_inputs.items()}
        return provider_pb2.ReadResponse(id=found.id, properties=to_struct(found.outputs), inputs=to_struct(inputs))

    def Update(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.UpdateResponse:
        token = _token(request)
        try:
            made = self.backend.update(token, request.id, integral(to_dict(request.news)), to_dict(request.olds))
        except BackendError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        return provider_pb2.UpdateResponse(properties=to_struct(made.outputs))

    def Delete(self, request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
        token = _token(request)
        try:
            self.backend.delete(token, request.id, to_dict(request.properties))
        except BackendError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        return empty_pb2.Empty()

    def Invoke(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.InvokeResponse:
        try:
            result = self.backend.invoke(request.tok, integral(to_dict(request.args)))
        except BackendError as exc:
            return provider_pb2.InvokeResponse(failures=[provider_pb2.CheckFailure(property="", reason=str(exc))])
        return provider_pb2.InvokeResponse(**{"return": to_struct(result)})

    def Cancel(self, request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
        return empty_pb2.Empty()


def _token(request: Any) -> str:
    """The resource's type token: the request's `type` field, else the URN's last type segment."""
    if getattr(request, "type", ""):
        return str(request.type)
    qualified = request.urn.split("::")[2]
    return qualified.rsplit("$", 1)[-1]


def serve(backend: Backend, argv: Sequence[str] = ()) -> None:
    """Start the gRPC server, print its port (the engine reads it from stdout), serve until killed."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(StandInProvider(backend), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop(0)
