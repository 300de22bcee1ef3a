"""Onboarding under the real Pulumi engine: `pulumi up` of the platform, a deploy-mode (contoso), a
template-mode (fabrikam) and a direct-model customer (northwind, written from scratch) into the local
Azure, through real stack references; then "plan equals engine" and the state's secrets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from compare import Comparison, assigned_values, compare
from realengine_support import PLATFORM, Deployment, deployment, engine_bin_dir, local_azure  # noqa: F401 (fixtures)

pytestmark = pytest.mark.realengine


def _resources(deployment: Deployment, stack: str) -> list[dict[str, Any]]:
    return deployment.project.export(stack)["deployment"]["resources"]


def _plan(deployment: Deployment, stack: str) -> dict[str, Any]:
    out = deployment.project.root.parent / f"{stack}.plan.json"
    done = deployment.project.mssp("plan", stack, "--json", str(out))
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def test_customers_read_the_deployed_platform_through_real_stack_references(deployment: Deployment) -> None:
    """Catches a customer that plans against the stack file instead of the deployed platform's outputs."""
    platform = deployment.project.outputs(PLATFORM)
    for stack in deployment.stacks[1:]:
        ref = next(r for r in _resources(deployment, stack) if r["type"] == "pulumi:pulumi:StackReference")
        read = ref["outputs"]["outputs"]
        assert read["servicePrincipalObjectId"] == platform["servicePrincipalObjectId"], stack
        assert read["workspaceResourceId"] == platform["workspaceResourceId"], stack


def test_every_deployed_diagnostic_setting_is_in_the_local_azure(deployment: Deployment) -> None:
    """What `up` wrote is what Azure holds: each setting in each customer's state, on its resource, sending
    to the workspace the state says (the platform's, or the customer's own in the customer topology)."""
    for stack in deployment.stacks[1:]:
        state = _resources(deployment, stack)
        settings = [r for r in state if r["type"] in ("azure-native:monitor:DiagnosticSetting",
                                                       "azure-native:monitor:SubscriptionDiagnosticSetting")]
        assert settings, stack
        for r in settings:
            scope, name = r["id"].lower().split("/providers/microsoft.insights/diagnosticsettings/")
            held = {s["name"].lower(): s for s in deployment.arm.settings.get(scope, [])}
            assert name in held, f"{stack}: {r['urn']} not in the local Azure at {scope}"
            assert held[name]["properties"]["workspaceId"] == r["inputs"]["workspaceId"], r["urn"]


def test_the_engine_state_equals_the_offline_plan_for_every_stack(deployment: Deployment) -> None:
    """URN by URN: type, parent, provider, inputs, protect, retainOnDelete, dependencies (compare.py).
    Catches any divergence between the offline plan's model of the engine and the engine itself."""
    exports = {s: _resources(deployment, s) for s in deployment.stacks}
    assigned = assigned_values([r for rs in exports.values() for r in rs], deployment.arm.graph.object_ids())
    result = Comparison()
    for stack in deployment.stacks:
        compare(exports[stack], _plan(deployment, stack)["resources"], assigned, result)
    assert result.ok(), "\n".join(result.problems)
    assert result.mapping, "no Azure-assigned value was matched: the comparison would not see a wrong id"


def test_a_second_preview_finds_no_changes(deployment: Deployment) -> None:
    """The engine, the stand-ins and the local Azure agree on what was deployed: no diff right after `up`."""
    for stack in deployment.stacks:
        done = deployment.project.pulumi("preview", "--stack", stack, "--expect-no-changes", "--non-interactive",
                                         check=False)
        assert done.returncode == 0, f"{stack}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"


def test_state_files_hold_secrets_only_as_ciphertext(deployment: Deployment) -> None:
    """The webhook URL's sig (a credential) and any password Graph issued never appear in plain text."""
    backend = Path(deployment.project.env["PULUMI_BACKEND_URL"].removeprefix("file://"))
    state = "".join(p.read_text(encoding="utf-8") for p in backend.rglob("*.json"))
    sigs = [r.get("_sig") for r in deployment.arm.store.resources.values() if r.get("_sig")]
    assert sigs, "the contoso webhook's callback URL was never listed: nothing to look for"
    for secret in [*sigs, *deployment.arm.graph.issued_secrets]:
        assert secret not in state
    webhook = deployment.project.outputs("contoso")["splunkWebhookUrl"]
    assert webhook == "[secret]"
