"""One ComponentResource built alone under Pulumi's own mocks, as Pulumi's unit-testing guide does it
(https://www.pulumi.com/docs/iac/guides/testing/unit/, "Unit testing with mocks": `pulumi.runtime.set_mocks`
with a `pulumi.runtime.Mocks`, then the resources constructed directly in the test).

No stack file, no config loader, no planner: a test gives the component typed args and reads back what it
registered. Where the behaviour comes from:
- the resource monitor is the SDK's own `pulumi.runtime.mocks.MockMonitor` (URNs, registration order);
- the state each resource answers is `mssp.plan.mock_azure.OfflineMocks`' (Azure-shaped ids derived from
  the resource's name, principal ids, a Logic App's callback URL), so a component that reads an output of
  one child into another child's inputs gets a value shaped like Azure's;
- providers, parents, inputs and options (`protect`, `retainOnDelete`, `dependsOn`) are what the component
  sent the monitor (the RegisterResource request).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings

from mssp.plan.mock_azure import OfflineMocks

T = TypeVar("T")
PROJECT, STACK = "mssp-sentinel", "unit"


@dataclass(frozen=True)
class Node:
    """One registered resource: its URN, type, name, inputs, and the names of its provider and parent type."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    provider: str | None  # the provider resource's name (from the reference `<urn>::<id>`)
    parent_type: str | None  # the type of its parent (the URN's type chain), None under the stack
    parent: str | None  # the parent's name, None under the stack
    protect: bool
    retain_on_delete: bool
    depends_on: tuple[str, ...]  # names of the resources it explicitly depends on
    secret_inputs: frozenset[str]  # top-level inputs that are, or hold, a Pulumi secret (values shown unwrapped)


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]

    def of_type(self, type_: str) -> list[Node]:
        return [n for n in self.nodes if n.type == type_]

    def named(self, name: str) -> Node:
        (node,) = [n for n in self.nodes if n.name == name]
        return node

    def types(self) -> Counter[str]:
        return Counter(n.type for n in self.nodes)

    def children_of(self, component_type: str) -> list[Node]:
        return [n for n in self.nodes if n.parent_type == component_type]


@dataclass
class Built(Generic[T]):
    component: T
    graph: Graph
    # name -> (value, is_secret) of the outputs asked for
    outputs: dict[str, tuple[Any, bool]] = field(default_factory=dict)


class _RecordingMocks(OfflineMocks):
    def __init__(self) -> None:
        super().__init__()
        self.args: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        self.args.append(args)
        return super().new_resource(args)


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, keeping each registration's options (the SDK's keeps only its state)."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.options: dict[str, tuple[str, bool, bool, tuple[str, ...]]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.options[response.urn] = (request.parent, bool(request.protect), bool(request.retainOnDelete),
                                      tuple(request.dependencies))
        return response


def _parent_type(urn: str) -> str | None:
    chain = urn.split("::")[2].split("$")
    return chain[-2] if len(chain) > 1 else None


def _unwrap(value: Any) -> tuple[Any, bool]:
    """A deserialized input without the SDK's secret wrappers, and whether any part of it was secret."""
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return _unwrap(value["value"])[0], True
    if isinstance(value, dict):
        pairs = {k: _unwrap(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_unwrap(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def _name(urn: str) -> str:
    return urn.split("::")[3]


def build(make: Callable[[], T], outputs: Callable[[T], Mapping[str, Any]] | None = None) -> Built[T]:
    """Run `make` (which creates providers and the component) under fresh mocks; return what it registered.

    `outputs` names outputs of the component to resolve, each with whether it is secret.
    """
    mocks = _RecordingMocks()
    monitor = _RecordingMonitor(mocks)
    settings.set_root_resource(None)  # type: ignore[arg-type]  # a new root stack: tests share no state
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=False, monitor=monitor)
    made: list[T] = []
    resolved: dict[str, tuple[Any, bool]] = {}

    async def collect(wanted: Mapping[str, Any]) -> None:
        for key, value in wanted.items():
            out = pulumi.Output.from_input(value)
            resolved[key] = (await out.future(), await out.is_secret())

    @pulumi.runtime.test
    def program() -> Any:
        component = make()
        made.append(component)
        return asyncio.ensure_future(collect(outputs(component) if outputs else {}))

    program()
    by_key = {(a.typ, a.name): a for a in mocks.args}
    nodes = []
    for urn in monitor.get_registered_resources():
        type_, name = urn.split("::")[2].split("$")[-1], urn.split("::")[3]
        args = by_key[(type_, name)]
        provider = args.provider.split("::")[-2] if args.provider else None
        parent, protect, retain, depends = monitor.options[urn]
        parent_name = _name(parent) if parent and _parent_type(urn) != "pulumi:pulumi:Stack" else None
        inputs = {key: _unwrap(value) for key, value in args.inputs.items()}
        nodes.append(Node(urn, type_, name, {k: v for k, (v, _) in inputs.items()}, provider, _parent_type(urn),
                          parent_name, protect, retain, tuple(_name(d) for d in depends),
                          frozenset(k for k, (_, secret) in inputs.items() if secret)))
    return Built(made[0], Graph(tuple(nodes)), resolved)
