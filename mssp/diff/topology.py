"""What `mssp diff` says about where a customer's logs are stored (components.config.topology, docs/topologies.md).

- A customer's guardrails are evaluated with that side's own topology: its customer workspace (the destination
  its settings must have) and its declared residency, both read from the side's plan of the stack file under
  review; everything else comes from the platform context as before.
- A change of topology (central -> customer, or back) and every diagnostic setting whose destination moves are
  listed, with the fact a reviewer must not miss: the logs already ingested stay in the old workspace until its
  retention ends; nothing in the change moves or deletes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from components.facts.pulumi_tokens import DIAGNOSTIC_SETTING, SUBSCRIPTION_DIAGNOSTIC_SETTING, WORKSPACE

SETTING_TYPES = frozenset({DIAGNOSTIC_SETTING, SUBSCRIPTION_DIAGNOSTIC_SETTING})


def _outputs(manifest: Mapping[str, Any] | None) -> Mapping[str, Any]:
    outputs = (manifest or {}).get("outputs")
    return outputs if isinstance(outputs, Mapping) else {}


def log_storage(manifest: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A customer plan's topology: mode, workspace, region (None for the platform or a missing side)."""
    if manifest is None or _outputs(manifest).get("stackKind") != "customer":
        return None
    outputs = _outputs(manifest)
    storage = outputs.get("logStorage") if isinstance(outputs.get("logStorage"), Mapping) else {}
    review = manifest.get("review") if isinstance(manifest.get("review"), Mapping) else {}
    return {"topology": str(storage.get("topology") or outputs.get("workspaceTopology") or "central"),
            "workspaceResourceId": storage.get("workspaceResourceId") or review.get("workspaceId"),
            "region": storage.get("region"),
            "allowedRegions": storage.get("allowedRegions")}


def _planned_workspace(manifest: Mapping[str, Any], workspace_id: str) -> bool:
    """Whether the plan itself creates the workspace `workspace_id` names (by resource group and name)."""
    tail = workspace_id.lower().split("/resourcegroups/", 1)[-1]
    for r in manifest.get("resources") or []:
        inputs = r.get("inputs") if isinstance(r, Mapping) and isinstance(r.get("inputs"), Mapping) else {}
        if r.get("type") == WORKSPACE and isinstance(inputs.get("resourceGroupName"), str):
            if tail == f"{inputs['resourceGroupName']}/providers/microsoft.operationalinsights/workspaces/" \
                       f"{inputs.get('workspaceName', '')}".lower():
                return True
    return False


def stack_context(context: Any, manifest: Mapping[str, Any] | None) -> Any:
    """The guardrail context for one side of one stack: the platform context, plus, for a customer, its own
    workspace (only one the same plan creates, so a plan cannot name an arbitrary destination as "its own") and
    its declared allowed regions. A `--rules` checkout gets them as policy-config keys."""
    storage = log_storage(manifest)
    if storage is None or manifest is None:
        return context
    own = storage["workspaceResourceId"] if storage["topology"] == "customer" else None
    if own is not None and not (isinstance(own, str) and _planned_workspace(manifest, own)):
        own = None
    allowed = storage["allowedRegions"] if isinstance(storage["allowedRegions"], list) else None
    if own is None and allowed is None:
        return context
    from mssp.diff.command import RulesSource

    if isinstance(context, RulesSource):
        extra = {k: v for k, v in (("customerWorkspaceResourceId", own), ("allowedRegions", allowed)) if v is not None}
        return dataclasses.replace(context, context={**context.context, **extra})
    from policies import rules

    base = context if isinstance(context, rules.PolicyContext) else rules.PolicyContext.from_mapping(context)
    return dataclasses.replace(base, customer_workspace_resource_id=own,
                               allowed_regions=tuple(sorted(allowed)) if allowed is not None else base.allowed_regions)


def destination_moves(changes: Sequence[Any]) -> list[dict[str, Any]]:
    """Every diagnostic setting updated with another destination workspace: {name, from, to}."""
    moves = []
    for c in changes:
        if c.type not in SETTING_TYPES or c.op not in ("update", "replace"):
            continue
        for p in c.properties:
            if p.path == "workspaceId" and isinstance(p.old, str) and isinstance(p.new, str) and p.old != p.new:
                moves.append({"name": c.name, "from": p.old, "to": p.new, "op": c.op})
    return moves


def topology_change(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None,
                    moves: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The stack's change of where its logs are stored, or None when it stays (and no setting moves)."""
    old, new = log_storage(base), log_storage(head)
    if old is None or new is None:
        return None
    if (old["topology"], old["workspaceResourceId"]) == (new["topology"], new["workspaceResourceId"]) and not moves:
        return None
    stays = sorted({m["from"] for m in moves} | ({old["workspaceResourceId"]} if old["workspaceResourceId"]
                                                 and old["workspaceResourceId"] != new["workspaceResourceId"] else set()))
    return {"from": old, "to": new, "settingsMoving": len(moves),
            "dataStays": [f"logs already in {w} stay there until its retention ends; this change moves and deletes "
                          "none of them" for w in stays]}


def markdown_lines(s: Mapping[str, Any], limit: int | None = 20) -> list[str]:
    """The diff's "where the logs go" block of one stack: topology, every destination move, the data left behind."""
    from mssp.plan.markdown import code, text

    topo = s.get("topologyChange")
    if not topo:
        return []
    old, new = topo["from"], topo["to"]

    def where(side: Mapping[str, Any]) -> str:
        label = "customer workspace" if side["topology"] == "customer" else "MSSP central workspace"
        region = f", {text(side['region'])}" if side.get("region") else ""
        return f"{label} {code(side.get('workspaceResourceId') or '?')}{region}"

    lines = ["", "**Where the logs go**", ""]
    if old["topology"] != new["topology"] or old["workspaceResourceId"] != new["workspaceResourceId"]:
        lines.append(f"- topology: {text(old['topology'])} → **{text(new['topology'])}**: from {where(old)} to {where(new)}")
    moves = s.get("destinationMoves") or []
    if moves:
        lines.append(f"- {len(moves)} diagnostic setting(s) change destination in place (same name, same resource):")
        shown = moves if limit is None else moves[:limit]
        lines += [f"  - {code(m['name'])}: {code(m['from'])} → {code(m['to'])}" for m in shown]
        if len(shown) < len(moves):
            lines.append(f"  - … and {len(moves) - len(shown)} more (the JSON report lists every one)")
    lines += [f"- ⚠️ {text(note)}" for note in topo["dataStays"]]
    return lines
