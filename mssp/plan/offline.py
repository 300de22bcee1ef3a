"""Run the real Pulumi program in-process under mocks and record what it would create.

This is the engine of the offline plan and of every whole-graph test: the program's own
`__main__.py` runs with the stack's real config; a recording monitor keeps each registration
(type, name, parent, provider, inputs as the engine would receive them, protect, retainOnDelete,
dependsOn) and the stack's outputs. Secret values are replaced by "[secret]" at the moment they are
recorded, so they cannot leak into a manifest, a Markdown plan or stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import runpy
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.facts import config_keys
from components.facts.pulumi_tokens import SECRET, SERVICE_PRINCIPAL, STACK
from mssp.plan.mock_azure import OfflineMocks

# components.config.PROJECT and SECRET_PLACEHOLDER (tests/mssp/plan/test_offline_gc.py pins them equal). Not
# imported: the runner stays free of pydantic and the config models, so the benchmark's SDK floor
# (scripts/benchmark.py) can use the same monitor and mocks without paying for them.
PROJECT = "mssp-sentinel"

# Cyclic-GC thresholds while a program runs. The SDK allocates dozens of short-lived asyncio objects
# (tasks, futures, handles) per resource, so with CPython's defaults (700, 10, 10) the collector runs
# thousands of times and its full collections rescan the whole growing resource graph. Collecting less
# often cuts that time at the same peak memory (the garbage is mostly freed by reference counting); the
# measurements: docs/benchmarks.md "Measurements behind the code".
PLAN_GC_THRESHOLDS = (50_000, 20, 20)


def scrub(value: Any) -> Any:
    """Replace Pulumi secret envelopes (and unknowns) with plain markers, recursively."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET
        # Sorted keys: protobuf maps carry no order, and two plans must be byte-identical.
        return {k: scrub(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if value == rpc.UNKNOWN:
        return "[unknown]"
    if isinstance(value, float) and value.is_integer():
        # The SDK sends every number as a protobuf double; the engine prints whole ones as integers
        # (`pulumi preview --json` shows 90, not 90.0: Go's encoding/json), and so does the manifest.
        return int(value)
    return value


# Types whose created state is itself an Entra principal (its objectId); other resources carry one in
# `identity.principalId` (system-assigned managed identities, Microsoft.Logic/workflows response).
PRINCIPAL_TYPES = frozenset({SERVICE_PRINCIPAL})


def principal_of(state: Mapping[str, Any]) -> str | None:
    """The principal object id in a resource's created state, if it has one."""
    identity = state.get("identity")
    if isinstance(identity, Mapping) and isinstance(identity.get("principalId"), str):
        return identity["principalId"]
    object_id = state.get("objectId")
    return object_id if isinstance(object_id, str) else None


class DuplicateUrnError(Exception):
    """Two resources of one program share a URN: a real `pulumi up` would fail the same way."""


def provider_name(reference: str) -> str | None:
    """The logical name of a provider reference ("<provider urn>::<provider id>")."""
    return reference.rsplit("::", 1)[0].split("::")[-1] if reference else None


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    depends_on: list[str]
    # The Entra object id this resource IS or carries (a service principal, a managed identity), as the
    # mocks answered it: lets the plan name the principal of a role assignment (mssp.plan review facts).
    principal_id: str | None = None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that also keeps every registration request, secrets scrubbed."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self._urns: set[str] = set()
        # Raising inside the monitor would leave SDK futures failed and unretrieved (asyncio then
        # prints them at exit); duplicates are collected here and raised by run_program afterwards.
        self.duplicate_urns: list[str] = []

    def RegisterResource(self, request: Any) -> Any:
        # The engine refuses two resources with one URN ("Duplicate resource URN"); so does the plan.
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type != STACK and urn in self._urns:
            self.duplicate_urns.append(urn)
        response = super().RegisterResource(request)
        if request.type != STACK:
            self._urns.add(response.urn)
            inputs = scrub(rpc.deserialize_properties(request.object, keep_unknowns=True))
            principal = None
            if request.type in PRINCIPAL_TYPES or "identity" in inputs:
                principal = principal_of(rpc.deserialize_properties(response.object))
            self.registrations.append(Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent if request.parent and "::pulumi:pulumi:Stack::" not in request.parent else None,
                custom=bool(request.custom),
                provider=provider_name(request.provider),
                inputs=inputs,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                depends_on=sorted(request.dependencies),
                principal_id=principal,
            ))
        return response

    def Invoke(self, request: Any) -> Any:
        response = super().Invoke(request)
        # The SDK's mock Invoke gives each worker thread its own event loop and never closes it; left
        # open, those loops print "Exception ignored ... Invalid file descriptor" at interpreter exit.
        if threading.current_thread() is not threading.main_thread():
            with contextlib.suppress(RuntimeError):
                loop = asyncio.get_event_loop()
                if not loop.is_running():
                    loop.close()
                    asyncio.set_event_loop(None)
        return response

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine does (sdk/go/common/resource/urn.go NewURN): the root stack is nobody's type
        # parent, so resources parented to the stack have no "pulumi:pulumi:Stack$" prefix.
        if "::pulumi:pulumi:Stack::" in parent:
            parent = ""
        return super().make_urn(parent, type_, name)

    def ReadResource(self, request: Any) -> Any:
        # Reads (StackReferences) create nothing, but the plan shows them: other resources depend on them.
        response = super().ReadResource(request)
        if response.urn in self._urns:
            self.duplicate_urns.append(response.urn)
        self._urns.add(response.urn)
        self.registrations.append(Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent if request.parent and "::pulumi:pulumi:Stack::" not in request.parent else None,
            custom=True,
            provider=provider_name(request.provider),
            inputs=scrub(rpc.deserialize_properties(request.properties, keep_unknowns=True)),
            protect=False,
            retain_on_delete=False,
            depends_on=sorted(request.dependencies),
        ))
        return response


@dataclass
class ProgramRun:
    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def plan_gc() -> Iterator[None]:
    """PLAN_GC_THRESHOLDS for the block, then the previous thresholds: they are process-wide."""
    previous = gc.get_threshold()
    gc.set_threshold(*PLAN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


@contextlib.contextmanager
def without_source_positions() -> Iterator[None]:
    """No source position or stack trace on the registrations of the block.

    At every registration the SDK walks the whole Python stack (`traceback.extract_stack`, a file URI
    per frame: pulumi/runtime/resource.py `_get_stack_trace`, `_get_source_position`) for the
    request's `sourcePosition` and `stackTrace`, which the engine shows in its diagnostics. Under the
    offline mocks nobody reads them: RecordingMonitor records neither, and MockMonitor ignores them. So
    the runner does not compute them, which saves a share of every registration that grows with the
    program's call stack (measured: docs/benchmarks.md "Measurements behind the code"). The SDK's functions are
    put back afterwards, and tests/mssp/plan/test_offline_gc.py pins that they still exist under these
    names, so an SDK upgrade that renames them fails a test instead of silently costing the time again.
    """
    saved = sdk_resource._get_stack_trace, sdk_resource._get_source_position
    sdk_resource._get_stack_trace = source_pb2.StackTrace  # an empty StackTrace message
    sdk_resource._get_source_position = lambda _stack: None
    try:
        yield
    finally:
        sdk_resource._get_stack_trace, sdk_resource._get_source_position = saved


def run_program(
    project_dir: Path,
    stack: str,
    config_values: Mapping[str, Any],
    secret_keys: set[str],
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> ProgramRun:
    """Run `project_dir/__main__.py` for one stack under offline mocks."""
    monitor = RecordingMonitor(OfflineMocks(stack_outputs))
    # A fresh root stack for every run, so runs in one process (tests) do not share outputs.
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config_keys.engine_values(config_values), sorted(secret_keys))
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()

    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    collected: dict[str, Any] = {}

    def program() -> None:
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

    async def outputs() -> None:
        root = settings.get_root_resource()
        for key, value in (getattr(root, "outputs", {}) or {}).items():
            serialized = await rpc.serialize_property(value, [], None, keep_output_values=False)
            collected[key] = scrub(serialized)

    with plan_gc(), without_source_positions():
        try:
            _sync_await(run_pulumi_func(program))
        except BaseException:
            # A failed run leaves SDK tasks whose exceptions nobody retrieves; asyncio reports them when they
            # are collected. Collect now, while the caller still owns stderr, not at interpreter exit.
            gc.collect()
            raise
        _sync_await(run_pulumi_func(outputs))
    if monitor.duplicate_urns:
        # The engine refuses a program that registers one URN twice ("Duplicate resource URN").
        raise DuplicateUrnError(
            f"duplicate resource URN {monitor.duplicate_urns[0]}: two resources share a logical name"
            + (f" (and {len(monitor.duplicate_urns) - 1} more)" if len(monitor.duplicate_urns) > 1 else "")
        )
    return ProgramRun(stack=stack, registrations=list(monitor.registrations), outputs=collected)
