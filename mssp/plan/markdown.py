"""The Markdown plan of one stack (`python -m mssp plan STACK --markdown OUT`), written for a reviewer.

Order: a header (who the customer is, the access model, counts per resource type), the access table
(who gets which role where), the forwarding tables (which logs go where), the workflows (Splunk
webhook, ITSM sync: who may call them, what they may call), then providers, every resource, outputs
and the guardrails. Guardrail results also sit in the row of the resource they concern.

Long ids are shortened in tables (the JSON manifest keeps them whole). Every value that comes from
config or Azure goes through `text` or `code`, so a `|`, a backtick or HTML in a display name cannot
break a table. The rows come from `mssp.plan.facts`; this module only lays them out.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from components.facts.pulumi_tokens import SECRET
from mssp import escape
from mssp.plan import facts

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_MAX_CELL = 90


# --------------------------------------------------------------------------------------------------
# Escaping and shortening (shared with the diff's Markdown)
# --------------------------------------------------------------------------------------------------
def text(value: Any) -> str:
    """Plain text for Markdown (tables included): mssp.escape.md, uncut (the plan shortens ids itself)."""
    return escape.md(value, None)


def code(value: Any) -> str:
    """An inline code span that holds any text, in a table too: mssp.escape.md_code, uncut."""
    return escape.md_code(value, None)


def short_guid(value: str) -> str:
    return value[:8] + "…" if _GUID.match(value or "") else value


_GUID_INSIDE = re.compile(r"([0-9a-fA-F]{8})-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def short_name(value: Any) -> str:
    """A logical name with the GUIDs inside it cut to their first 8 digits (`forward-3c8d0e5f…`)."""
    return _GUID_INSIDE.sub(r"\1…", str(value))


def short_id(value: Any, subscriptions: Mapping[str, str] | None = None) -> str:
    """An ARM id or GUID for a table cell: the subscription by name, the last type and name of a resource."""
    s = str(value)
    subscriptions = subscriptions or {}
    if _GUID.match(s):
        return short_guid(s)
    parts = s.strip("/").split("/")
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        sub = parts[1]
        sub_label = subscriptions.get(sub.lower()) or subscriptions.get(sub) or short_guid(sub)
        if len(parts) == 2:
            return f"subscription {sub_label}"
        if len(parts) == 4 and parts[2].lower() == "resourcegroups":
            return f"resource group {parts[3]} ({sub_label})"
        name, rtype = facts.resource_short(s)
        if rtype:
            return f"{rtype.rsplit('/', 1)[-1]}/{name}"
    if len(s) > _MAX_CELL:
        return s[:_MAX_CELL - 1] + "…"
    return s


def _subs(manifest: Mapping[str, Any]) -> dict[str, str]:
    subs = facts.review(manifest).get("subscriptions") or {}
    return {str(k).lower(): str(v) for k, v in subs.items()} if isinstance(subs, Mapping) else {}


def guardrail_note(policies: Iterable[Mapping[str, Any]]) -> str:
    parts = []
    for p in policies:
        icon = "❌" if p.get("level") == "mandatory" else "⚠️"
        parts.append(f"{icon} {code(p.get('policy'))}: {text(p.get('message'))}")
    return "<br>".join(parts)


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# --------------------------------------------------------------------------------------------------
# Cells of the review tables (the diff uses them too)
# --------------------------------------------------------------------------------------------------
def access_cells(row: facts.AccessRow, subs: Mapping[str, str]) -> list[str]:
    principal = f"{text(row.principal_name)} ({text(row.principal_type)}) {code(short_guid(row.principal_id))}"
    role = f"**{text(row.role_name)}** {code(row.role_guid)}"
    if row.delegated_roles:
        role += " may assign: " + ", ".join(text(r) for r in row.delegated_roles)
    if row.eligible:
        approvers = ", ".join(text(a) for a in row.approvers) or "none (no approval)"
        access = f"eligible: max {code(row.max_duration)}, MFA {text(row.mfa)}, approvers {approvers}"
    else:
        access = "permanent"
    return [text(short_id(row.scope, subs)), principal, text(row.identity) if row.identity else "-", role, access,
            text(row.via)]


ACCESS_HEADER = ("scope", "principal (type, id)", "identity", "role (GUID)", "access", "via")


def forwarding_cells(row: facts.ForwardingRow, workspace: str) -> list[str]:
    notes = []
    if row.destination and workspace and row.destination.lower() != workspace.lower():
        notes.append(f"⚠️ sends to another workspace: {code(row.destination)}")
    if row.destination_type:
        notes.append(f"{text(row.destination_type)} tables")
    if row.setting_name and row.setting_name != "mssp-sentinel":
        notes.append(f"setting {code(row.setting_name)}")
    return [code(row.resource), text(row.resource_type), text(row.logs), text(row.metrics), "<br>".join(notes)]


FORWARDING_HEADER = ("resource", "type", "logs", "metrics", "notes")


# --------------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------------
def _header(manifest: Mapping[str, Any], custom: list[Mapping[str, Any]], providers: list[Mapping[str, Any]]) -> list[str]:
    rv = facts.review(manifest)
    outputs = manifest.get("outputs") or {}
    kind = rv.get("kind") or outputs.get("stackKind", "?")
    title = rv.get("displayName") or manifest["stack"]
    lines = [f"# Offline plan: {text(title)} (stack {code(manifest['stack'])})", "", f"- kind: **{text(kind)}**"]
    if rv.get("tenantId"):
        lines.append(f"- tenant: {code(rv['tenantId'])}"
                     + (f" (managed from MSSP tenant {code(rv['managingTenantId'])})" if rv.get("managingTenantId") else ""))
    if kind == "customer":
        model = rv.get("accessModel") or outputs.get("accessModel")
        mode = rv.get("lighthouseMode") or outputs.get("lighthouseMode")
        lines.append(f"- access model: **{text(model)}**" + (f" (Lighthouse {text(mode)} mode)" if mode else ""))
    subs = rv.get("subscriptions") or {}
    if subs:
        lines.append("- subscriptions: " + ", ".join(f"{text(n)} ({code(i)})" for i, n in subs.items()))
    if kind == "customer":
        lines.append(log_storage_line(rv, outputs))
    mandatory = sum(1 for p in manifest.get("policies") or [] if p.get("level") == "mandatory")
    advisory = len(manifest.get("policies") or []) - mandatory
    lines.append(f"- resources: {len(custom)} (plus {len(providers)} explicit providers)")
    lines.append(f"- guardrails: {'❌ ' if mandatory else ''}{mandatory} mandatory, {advisory} advisory finding(s)")
    lines += ["", *table(("resource type", "count"),
                         ([code(t), str(n)] for t, n in sorted(Counter(r["type"] for r in custom).items())))]
    return lines


def log_storage_line(rv: Mapping[str, Any], outputs: Mapping[str, Any]) -> str:
    """Where the customer's logs are stored (components.config.topology): topology, workspace, region, residency."""
    # The workspace by name: its full id is written once, in the Forwarding section.
    storage = outputs.get("logStorage")
    if not isinstance(storage, Mapping):
        return f"- logs stored in: the MSSP's central workspace {code(str(rv.get('workspaceId') or '?').rsplit('/', 1)[-1])}"
    where = ("the customer's own workspace (customer topology)" if storage.get("topology") == "customer"
             else "the MSSP's central workspace")
    line = (f"- logs stored in: {where} {code(str(storage.get('workspaceResourceId') or '?').rsplit('/', 1)[-1])}, "
            f"region **{text(storage.get('region'))}**")
    allowed = storage.get("allowedRegions")
    if isinstance(allowed, list):
        line += f"; allowed regions: {', '.join(text(r) for r in allowed)}"
    if storage.get("topology") == "customer":
        line += f"; on offboarding: **{text(storage.get('onOffboard', 'retain'))}**"
    return line


def _access(manifest: Mapping[str, Any]) -> list[str]:
    rows = facts.access_rows(manifest)
    lines = ["", "## Access: who gets which role where", ""]
    if not rows:
        return [*lines, "This stack grants no access."]
    subs = _subs(manifest)
    by_urn = facts.policies_by_urn(manifest)
    body = [[*access_cells(r, subs), guardrail_note(by_urn.get(r.urn, []))] for r in rows]
    lines += table((*ACCESS_HEADER, "guardrails"), body)
    if any(r.via == "Lighthouse template" for r in rows):
        lines += ["", "_Lighthouse template mode: the customer deploys these authorizations from "
                      "`python -m mssp template`; Pulumi creates none of them._"]
    held = Counter((r.identity, r.principal_name) for r in rows if r.identity)
    if held:
        lines += ["", "Identities of this project and how many grants each holds here: "
                  + "; ".join(f"{text(name)} ({text(ident)}): {n}" for (ident, name), n in sorted(held.items()))]
    signs_in = [(who.get("displayName"), who.get("signsInFrom")) for who in facts.principals(manifest).values()
                if who.get("signsInFrom") is not None]
    for name, subjects in signs_in:
        lines.append(f"- {text(name)} signs in from: " + (", ".join(code(s) for s in subjects) or "no federated credential"))
    return lines


def _forwarding(manifest: Mapping[str, Any]) -> list[str]:
    by_sub = facts.forwarding_rows(manifest)
    skipped = facts.skipped_rows(manifest)
    if not by_sub and not skipped:
        return []
    subs = _subs(manifest)
    workspace = str(facts.review(manifest).get("workspaceId") or next(
        (r.destination for rows in by_sub.values() for r in rows if r.destination), ""))
    by_urn = facts.policies_by_urn(manifest)
    lines = ["", "## Forwarding: which logs go where", "", f"Destination workspace: {code(workspace)}"]
    for sub, rows in by_sub.items():
        lines += ["", f"### {text(subs.get(sub, 'subscription'))} ({code(sub)}): {len(rows)} setting(s)", ""]
        body = []
        for r in rows:
            cells = forwarding_cells(r, workspace)
            note = guardrail_note(by_urn.get(r.urn, []))
            cells[-1] = "<br>".join(x for x in (cells[-1], note) if x)
            body.append(cells)
        lines += table(FORWARDING_HEADER, body)
    if skipped:
        lines += ["", "### Not forwarded", ""]
        lines += table(("subscription", "resource", "type", "reason"),
                       ([text(subs.get(s, short_guid(s))), code(n), text(t), text(why)] for s, n, t, why in skipped))
    return lines


def workflow_lines(rows: Sequence[facts.WorkflowRow], subs: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    for w in rows:
        callers = ", ".join(code(c) for c in w.allowed_callers) or "any address (only the URL's signature protects it)"
        lines += ["", f"### {code(w.name)}", "",
                  f"- triggers: {', '.join(text(t) for t in w.triggers) or 'none'}",
                  f"- allowed caller ranges: {callers}",
                  f"- identity: {text(w.identity)}"]
        if w.grants:
            lines.append("- its identity holds: " + "; ".join(
                f"**{text(g.role_name)}** on {text(short_id(g.scope, subs))}" for g in w.grants))
        if w.calls:
            lines.append("- it calls: " + "; ".join(code(c if len(c) <= _MAX_CELL else c[:_MAX_CELL - 1] + "…")
                                                  for c in w.calls))
    return lines


def _workflows(manifest: Mapping[str, Any]) -> list[str]:
    rows = facts.workflow_rows(manifest)
    if not rows:
        return []
    return ["", "## Workflows: Splunk webhook and ITSM sync", *workflow_lines(rows, _subs(manifest))]


def _providers(manifest: Mapping[str, Any], providers: list[Mapping[str, Any]]) -> list[str]:
    subs = _subs(manifest)
    body = []
    for p in providers:
        inp = p.get("inputs") or {}
        aux = inp.get("auxiliaryTenantIds")
        tenant = code(inp.get("tenantId", "")) + (" + auxiliary " + ", ".join(code(a) for a in aux) if aux else "")
        sub = inp.get("subscriptionId")
        body.append([code(short_name(p["name"])), tenant, text(subs.get(str(sub).lower(), short_guid(str(sub)))) if sub else "-"])
    return ["", "## Providers (what each signs in to)", "", *table(("provider", "tenant", "subscription"), body)]


def _resources(manifest: Mapping[str, Any], custom: list[Mapping[str, Any]]) -> list[str]:
    by_urn = facts.policies_by_urn(manifest)
    body = []
    for r in custom:
        opts = r.get("options") or {}
        flags = ", ".join(k for k in ("protect", "retainOnDelete") if opts.get(k)) or "-"
        parent = (r.get("parent") or "").rsplit("::", 1)[-1] or "-"
        deps = ", ".join(code(short_name(d.rsplit("::", 1)[-1])) for d in opts.get("dependsOn") or []) or "-"
        body.append([code(short_name(r["name"])), code(r["type"].rsplit(":", 1)[-1]), code(parent),
                     code(short_name(r.get("provider") or "-")),
                     flags, deps, guardrail_note(by_urn.get(r["urn"], []))])
    return ["", "## Resources", "", "Inputs in full: the JSON manifest (`--json`).", "",
            *table(("name", "type", "parent", "provider", "options", "depends on", "guardrails"), body)]


def _sql_audit(manifest: Mapping[str, Any]) -> list[str]:
    """Enabling server audit changes the customer's own SQL servers: the reviewer is told so."""
    audited = (manifest.get("outputs") or {}).get("auditedSqlServers") or []
    if not audited:
        return []
    return ["", "## Changed on the customer's SQL servers", "",
            "Server auditing is enabled with the Azure Monitor target (`state: Enabled`, "
            "`isAzureMonitorTargetEnabled: true`), so that SQLSecurityAuditEvents (and DevOpsOperationsAudit "
            "where `isDevopsAuditEnabled: true`) reach the workspace through each master database's setting:", "",
            *(f"- {code(a.get('serverId'))}: isDevopsAuditEnabled {code(str(a.get('isDevopsAuditEnabled')).lower())}"
              for a in audited)]


def output_value(value: Any) -> str:
    if facts.is_secret(value):
        return SECRET
    s = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= _MAX_CELL else s[:_MAX_CELL - 1] + "…"


def _outputs(manifest: Mapping[str, Any]) -> list[str]:
    rows = [[code(k), "yes" if facts.is_secret(v) else "no", code(output_value(v))]
            for k, v in (manifest.get("outputs") or {}).items()]
    return ["", "## Outputs", "", *table(("output", "secret", "value"), rows)]


def _guardrails(manifest: Mapping[str, Any]) -> list[str]:
    lines = ["", "## Guardrails", ""]
    pol = manifest.get("policies") or []
    if not pol:
        return [*lines, "No guardrail findings."]
    for v in pol:
        target = str(v.get("urn") or "").rsplit("::", 1)[-1] or "stack"
        lines.append(f"- **{text(v.get('level'))}** {code(v.get('policy'))} on {code(target)}: {text(v.get('message'))}")
    return lines


def render_plan(manifest: Mapping[str, Any]) -> str:
    from mssp.plan.command import split_resources

    custom, providers = split_resources(manifest)
    lines = _header(manifest, custom, providers)
    lines += _access(manifest)
    lines += _forwarding(manifest)
    lines += _workflows(manifest)
    lines += _providers(manifest, providers)
    lines += _resources(manifest, custom)
    lines += _sql_audit(manifest)
    lines += _outputs(manifest)
    lines += _guardrails(manifest)
    return "\n".join(lines) + "\n"
