"""The harness the component unit tests build with (testing/component_mocks.py) reports what a component
really registered: parent, provider, options and secretness. A harness that lost one of them would let
every component test pass on a graph it never saw."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from testing.component_mocks import build


class _Probe(pulumi.ComponentResource):
    def __init__(self, name: str, provider: azure_native.Provider) -> None:
        super().__init__("test:probe:Probe", name, None, None)
        first = azure_native.resources.ResourceGroup(
            f"{name}-first", resource_group_name="rg-a", location="westeurope",
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=True, retain_on_delete=True))
        azure_native.resources.ResourceGroup(
            f"{name}-second", resource_group_name="rg-b", location="westeurope",
            tags={"token": pulumi.Output.secret("s3cr3t")},
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[first]))
        self.register_outputs({})


def test_the_harness_reports_parent_provider_options_and_secrets() -> None:
    b = build(lambda: _Probe("probe", azure_native.Provider("arm", subscription_id="x")))
    first, second = b.graph.named("probe-first"), b.graph.named("probe-second")
    assert (first.parent, first.parent_type, first.provider) == ("probe", "test:probe:Probe", "arm")
    assert first.protect and first.retain_on_delete and not second.protect and not second.retain_on_delete
    assert second.depends_on == ("probe-first",) and first.depends_on == ()
    assert second.inputs["tags"] == {"token": "s3cr3t"} and second.secret_inputs == {"tags"}
    assert first.secret_inputs == frozenset()
    assert b.graph.types()["azure-native:resources:ResourceGroup"] == 2
    assert b.graph.named("probe").parent is None  # directly under the stack


def test_each_build_starts_from_a_fresh_stack() -> None:
    one = build(lambda: _Probe("same", azure_native.Provider("arm", subscription_id="x")))
    two = build(lambda: _Probe("same", azure_native.Provider("arm", subscription_id="x")))
    assert len(one.graph.nodes) == len(two.graph.nodes) == 4  # no resource of the first run leaks into the second


def test_every_component_has_a_unit_test_under_mocks() -> None:
    # A new ComponentResource gets its own tests beside the end-to-end plan tests
    # (tests/components/<area>/test_<component>_unit.py, built with testing/component_mocks.py).
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    components = {node.name for path in (root / "components").rglob("*.py")
                  for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                  if isinstance(node, ast.ClassDef)
                  and any(ast.unparse(base) == "pulumi.ComponentResource" for base in node.bases)}
    assert len(components) >= 8
    unit_tests = [p.read_text(encoding="utf-8") for p in (root / "tests" / "components").rglob("test_*_unit.py")]
    untested = sorted(c for c in components
                      if not any(f"import {c}" in t or f" {c}," in t or f", {c}" in t for t in unit_tests
                                 if "testing.component_mocks" in t))
    assert untested == []
