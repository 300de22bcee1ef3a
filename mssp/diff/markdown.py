"""The Markdown of `python -m mssp diff`: the pull-request comment a reviewer decides on.

Top: the counts per stack, then **Access changes** across all stacks (grants added, removed, widened;
`mssp.plan.facts.access_changes` defines widened). Per stack: created resources with the same key
facts as the plan (a new delegation's roles and principals, a new setting's log selection), updates
with before and after per changed property, replaces with the property that forces them, deletes
with what stops (a deleted setting's log selection), the stack outputs that change and whether each is
secret, and the guardrail results.

A comment must stay under GitHub's 65,536 characters. `render_comment` renders the full report
first; when it is too long it renders again with every list cut to a few rows inside `<details>`
blocks that carry the counts, and, past the limit even then, only the summary and the access
changes. Each cut says where the full report is (the workflow artifact, `--full-markdown`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mssp.plan import facts
from mssp.plan.markdown import access_cells, code, short_id, short_name, text

MARKER = "<!-- mssp-sentinel:plan-diff -->"
COMMENT_LIMIT = 65_536  # GitHub refuses longer issue and pull-request comment bodies
_MARGIN = 1_536  # room for the workflow's own additions (it prepends the marker when missing)
_ICON = {"create": "🟢 create", "update": "🟡 update", "replace": "🟠 replace", "delete": "🔴 delete"}
_ACCESS_ICON = {"widened": "⚠️ widened", "added": "➕ added", "changed": "✏️ changed", "removed": "➖ removed"}
_MAX_PATHS = 12
_MAX_VALUE = 60
_GROUP_DETAILS_AT = 25  # more changes than this of one kind and type: collapsed into <details>


@dataclass(frozen=True)
class Limits:
    """How much of each list to show; None: all of it."""

    rows: int | None = None
    access_rows: int | None = None
    per_stack_details: bool = True


FULL = Limits()
COMPACT = Limits(rows=15)  # every access change stays: they are what the review is for
SUMMARY = Limits(rows=0, access_rows=150, per_stack_details=False)


# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------
def short_value(value: Any, start: int = 0) -> str:
    """A value for a table cell; long strings are cut to a window that begins near `start`."""
    from mssp.diff.command import MISSING

    if value is MISSING:
        return "(none)"
    if isinstance(value, Mapping):
        return "{…}"
    if isinstance(value, list):
        return f"[{len(value)} items]"
    if isinstance(value, str) and len(value) > _MAX_VALUE:
        begin = max(0, min(start - 10, len(value) - _MAX_VALUE))
        window = value[begin:begin + _MAX_VALUE]
        return ("\"…" if begin else "\"") + window + ("…\"" if begin + _MAX_VALUE < len(value) else "\"")
    return json.dumps(value, ensure_ascii=False)


def first_difference(old: Any, new: Any) -> int:
    """Where two strings start to differ, so a long id shows the part that changed."""
    if not (isinstance(old, str) and isinstance(new, str)):
        return 0
    return next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))


# --------------------------------------------------------------------------------------------------
# Key facts of one resource (what a created or deleted resource means)
# --------------------------------------------------------------------------------------------------
def key_facts(resource: Mapping[str, Any] | None, manifest: Mapping[str, Any] | None) -> str:
    """What a reviewer needs to know about a resource, in one cell: grants, log selection, callers."""
    if resource is None or manifest is None:
        return ""
    rtype = resource.get("type")
    if rtype in (facts.REGISTRATION_DEFINITION, facts.ROLE_ASSIGNMENT, facts.APP_ROLE_ASSIGNMENT):
        one = {**manifest, "resources": [resource], "review": {**facts.review(manifest), "delegationTemplate": None}}
        parts = []
        for g in facts.access_rows(one):
            access = "permanent" if not g.eligible else (
                f"eligible max {g.max_duration}, MFA {g.mfa}, approvers {', '.join(g.approvers) or 'none'}")
            parts.append(f"**{text(g.role_name)}** to {text(g.principal_name)} ({text(g.principal_type)}), {text(access)}")
        return "<br>".join(parts)
    if rtype in (facts.DIAGNOSTIC_SETTING, facts.SUBSCRIPTION_SETTING):
        f = facts.forwarding_row(resource)
        where = f" of subscription {code(f.subscription)}" if rtype == facts.SUBSCRIPTION_SETTING else ""
        return f"{code(f.resource)}{where}: logs {text(f.logs)}; metrics {text(f.metrics)}"
    inputs = resource.get("inputs") or {}
    if str(rtype).startswith("pulumi:providers:"):
        aux = inputs.get("auxiliaryTenantIds")
        return (f"signs in to tenant {code(inputs.get('tenantId', '(ambient)'))}"
                + (f" (+ auxiliary {', '.join(code(a) for a in aux)})" if aux else "")
                + (f", subscription {code(inputs['subscriptionId'])}" if inputs.get("subscriptionId") else ""))
    if rtype == facts.WORKFLOW:
        (w,) = facts.workflow_rows({**manifest, "resources": [resource]}, grants=())
        return (f"callers: {', '.join(code(c) for c in w.allowed_callers) or 'any address'}; "
                f"identity {text(w.identity.split(' ', 1)[0])}; {len(w.calls)} HTTP call(s)")
    scalars = [(k, v) for k, v in sorted(inputs.items()) if isinstance(v, (str, int, float, bool))]
    shown = "; ".join(f"{code(k)} {code(short_id(v, subs_of(manifest)) if isinstance(v, str) else json.dumps(v))}"
                      for k, v in scalars[:4])
    more = len(inputs) - min(len(scalars), 4)
    return shown + (f" (+{more} more input(s))" if more else "")


def subs_of(manifest: Mapping[str, Any]) -> dict[str, str]:
    subs = facts.review(manifest).get("subscriptions") or {}
    return {str(k).lower(): str(v) for k, v in subs.items()} if isinstance(subs, Mapping) else {}


def describe_change(change: Any) -> str:
    """Before → after per changed property, the forcing ones marked."""
    parts = []
    for p in change.properties[:_MAX_PATHS]:
        forced = " **(forces replacement)**" if p.path in change.reasons or any(
            p.path.startswith((r + ".", r + "[")) for r in change.reasons) else ""
        at = first_difference(p.old, p.new)
        parts.append(f"{code(p.path)}: {code(short_value(p.old, at))} → {code(short_value(p.new, at))}{forced}")
    if len(change.properties) > _MAX_PATHS:
        parts.append(f"… and {len(change.properties) - _MAX_PATHS} more")
    return "<br>".join(parts)


def _flags(c: Any) -> str:
    flags = []
    if c.blocked_by_protect:
        flags.append("⛔ **protected**: Pulumi refuses this until `protect` is removed")
    elif c.op == "replace" and c.protect:
        flags.append("`protect` removed in this change: Pulumi replaces it (protected only before)")
    elif c.protect or c.protect_after:
        flags.append("protected")
    if c.retain_on_delete and c.op in ("delete", "replace"):
        flags.append("retained in Azure")
    return "<br>".join(flags)


def _by_urn(manifest: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    return {r["urn"]: r for r in (manifest or {}).get("resources") or []}


def change_row(c: Any, base: Mapping[str, Any] | None, head: Mapping[str, Any] | None,
               base_by_urn: Mapping[str, Mapping[str, Any]], head_by_urn: Mapping[str, Mapping[str, Any]]) -> str:
    op = _ICON[c.op] + (f" (forced by {', '.join(code(r) for r in c.reasons)})" if c.reasons else "")
    if c.op == "create":
        what = "new: " + (key_facts(head_by_urn.get(c.urn), head) or "no inputs")
    elif c.op == "delete":
        what = "removed from the program" + (f": {k}" if (k := key_facts(base_by_urn.get(c.urn), base)) else "")
    else:
        what = describe_change(c)
    return f"| {op} | {code(short_name(c.name))} | {code(type_label(c.type))} | {what} | {_flags(c)} |"


def type_label(token: str) -> str:
    """`DiagnosticSetting` for `azure-native:monitor:DiagnosticSetting`; `provider azure-native` for providers."""
    if token.startswith("pulumi:providers:"):
        return "provider " + token.rsplit(":", 1)[-1]
    return token.rsplit(":", 1)[-1]


# --------------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------------
def _more(n: int, hint: str) -> str:
    return f"… and {n} more: the full report is {hint}."


SCOPE_NAMES = 40  # stacks named per line of the planned/skipped summary in a comment (a fleet has hundreds)


def scope_section(planned: Mapping[str, Sequence[str]], skipped: Mapping[str, str], cached: Mapping[str, int],
                  max_names: int | None = None, hint: str = "in the `--full-markdown` file",
                  head_source: str = "") -> list[str]:
    """Which stacks a ref-to-ref diff planned and why, which it skipped (grouped by reason), how many
    plans came from the plan cache (mssp.diff.affected, mssp.diff.cache), and whose code planned HEAD."""

    def names(items: list[str]) -> str:
        shown = items if max_names is None else items[:max_names]
        rest = len(items) - len(shown)
        return ", ".join(shown) + (f" … and {rest} more (the full report is {hint})" if rest else "")

    lines = []
    if planned:
        lines.append(f"Planned {len(planned)} of {len(planned) + len(skipped)} stack(s), the ones this change can "
                     "affect: " + names([f"{code(s)} ({', '.join(r)})" for s, r in sorted(planned.items())]) + ".")
    by_reason: dict[str, list[str]] = {}
    for s, why in sorted(skipped.items()):
        by_reason.setdefault(why, []).append(s)
    for why, stacks in by_reason.items():
        lines.append(f"Skipped {len(stacks)} stack(s), not planned on either side because {why}: "
                     + names([code(n) for n in stacks]) + ".")
    if any(cached.values()):
        lines.append(f"Plans reused from the plan cache: {cached.get('base', 0)} base, {cached.get('head', 0)} head.")
    if head_source and planned:
        lines.append(head_source)
    return ["<br>".join(lines)] if lines else []


def access_section(stacks: Sequence[Mapping[str, Any]], limits: Limits, hint: str) -> list[str]:
    rows: list[tuple[str, facts.AccessChange, Mapping[str, str]]] = []
    for s in stacks:
        subs = subs_of(s.get("_head") or s.get("_base") or {})
        rows += [(s["stack"], c, subs) for c in s["_access"]]
    lines = ["", "### Access changes", ""]
    if not rows:
        return [*lines, "No authorization or role assignment is added, removed or widened."]
    kinds = Counter(c.kind for _, c, _ in rows)
    lines.append(", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: list(_ACCESS_ICON).index(kv[0]))))
    lines += ["", "| stack | change | scope | principal (type, id) | identity | role (GUID) | access | via | why |",
              "|---|---|---|---|---|---|---|---|---|"]
    shown = rows if limits.access_rows is None else rows[:limits.access_rows]
    for stack, c, subs in shown:
        cells = access_cells(c.row, subs)
        if c.before is not None and c.after is not None and c.kind in ("widened", "changed"):
            before = access_cells(c.before, subs)
            cells = [b if b == a else f"{b} → {a}" for b, a in zip(before, cells, strict=True)]
        lines.append(f"| {code(stack)} | {_ACCESS_ICON[c.kind]} | " + " | ".join(cells)
                     + f" | {'<br>'.join(text(r) for r in c.reasons)} |")
    if len(shown) < len(rows):
        lines += ["", _more(len(rows) - len(shown), hint)]
    return lines


def outputs_section(outputs: Sequence[facts.OutputChange]) -> list[str]:
    changed = [o for o in outputs if o.op != "same" or o.secret_before != o.secret_after]
    if not changed:
        return []

    def secret(flag: bool | None) -> str:
        return "-" if flag is None else "yes" if flag else "no"

    lines = ["", "**Stack outputs**", "", "| output | change | secret before | secret after | note |", "|---|---|---|---|---|"]
    for o in changed:
        note = "⚠️ **stopped being secret**" if o.stopped_being_secret else ""
        if o.op == "changed" and not (o.secret_before or o.secret_after):
            at = first_difference(o.before, o.after)
            note = "<br>".join(x for x in (note, f"{code(short_value(o.before, at))} → {code(short_value(o.after, at))}") if x)
        lines.append(f"| {code(o.name)} | {o.op} | {secret(o.secret_before)} | {secret(o.secret_after)} | {note} |")
    return lines


def _grouped_settings(changes: Sequence[Any], base_by_urn: Mapping[str, Any], head_by_urn: Mapping[str, Any]) -> list[str]:
    """Created and deleted diagnostic settings counted by type and selection: the gist of a large change."""
    groups: Counter[tuple[str, str, str, str]] = Counter()
    for c in changes:
        if c.op not in ("create", "delete") or c.type not in (facts.DIAGNOSTIC_SETTING, facts.SUBSCRIPTION_SETTING):
            continue
        r = (head_by_urn if c.op == "create" else base_by_urn).get(c.urn)
        if r is None:
            continue
        f = facts.forwarding_row(r)
        groups[(c.op, f.resource_type, f.logs, f.metrics)] += 1
    if not groups:
        return []
    lines = ["", "**Diagnostic settings created or deleted, by type and selection**", "",
             "| operation | resource type | logs | metrics | settings |", "|---|---|---|---|---:|"]
    for (op, rtype, logs, metrics), n in sorted(groups.items()):
        lines.append(f"| {_ICON[op]} | {text(rtype)} | {text(logs)} | {text(metrics)} | {n} |")
    return lines


def changes_section(s: Mapping[str, Any], limits: Limits, hint: str) -> list[str]:
    changes = s["_changes"]
    if not changes:
        return []
    base, head = s.get("_base"), s.get("_head")
    base_by_urn, head_by_urn = _by_urn(base), _by_urn(head)
    lines = _grouped_settings(changes, base_by_urn, head_by_urn) if len(changes) > _GROUP_DETAILS_AT else []
    header = ["| Operation | Resource | Type | Changes | Notes |", "|---|---|---|---|---|"]
    groups: dict[tuple[str, str], list[Any]] = {}
    for c in changes:
        groups.setdefault((c.op, c.type), []).append(c)
    if len(changes) <= _GROUP_DETAILS_AT and limits.rows is None:
        return [*lines, "", *header, *(change_row(c, base, head, base_by_urn, head_by_urn) for c in changes)]
    for (op, rtype), group in sorted(groups.items(), key=lambda kv: (list(_ICON).index(kv[0][0]), kv[0][1])):
        shown = group if limits.rows is None else group[:limits.rows]
        lines += ["", f"<details><summary>{_ICON[op]}: {len(group)} × {text(type_label(rtype))}</summary>", "",
                  *header, *(change_row(c, base, head, base_by_urn, head_by_urn) for c in shown)]
        if len(shown) < len(group):
            lines += ["", _more(len(group) - len(shown), hint)]
        lines += ["", "</details>"]
    return lines


def guardrails_section(s: Mapping[str, Any], limits: Limits, hint: str) -> list[str]:
    findings = [*s["policies"], *s["changeAdvisories"]]
    lines: list[str] = []
    if findings:
        lines += ["", "**Guardrails**", ""]
        shown = findings if limits.rows is None else findings[:max(limits.rows, 5)]
        for p in shown:
            icon = "❌" if p["level"] == "mandatory" else "⚠️"
            new = " (new)" if p.get("new") else ""
            target = p["urn"].rsplit("::", 1)[-1] if p.get("urn") else "stack"
            lines.append(f"- {icon} **{p['level']}** `{p['policy']}`{new} on {code(target)}: {text(p['message'])}")
        if len(shown) < len(findings):
            counts = Counter((p["level"], p["policy"]) for p in findings)
            lines.append("- " + _more(len(findings) - len(shown), hint) + " All findings: "
                         + ", ".join(f"{n} × {lvl} `{pol}`" for (lvl, pol), n in sorted(counts.items())))
    if s["resolvedPolicies"]:
        resolved = s["resolvedPolicies"]
        shown_r = resolved if limits.rows is None else resolved[:max(limits.rows, 5)]
        lines += ["", "Resolved by this change: " + ", ".join(
            f"`{p['policy']}` on {code(p['urn'].rsplit('::', 1)[-1])}" for p in shown_r)
            + (f" (and {len(resolved) - len(shown_r)} more)" if len(shown_r) < len(resolved) else "")]
    return lines


def _status(s: Mapping[str, Any]) -> str:
    return "" if s["status"] in ("changed", "unchanged") else f" ({s['status']})"


def template_section(s: Mapping[str, Any], limits: Limits, hint: str) -> list[str]:
    """Lighthouse template mode: every change to the files the customer deploys, and that they must deploy again."""
    changes = s.get("templateChanges") or []
    if not changes:
        return []
    lines = ["", f"**Exported Lighthouse template** ({len(changes)} change(s))", "",
             f"> ⚠️ What the customer deploys changed: nothing reaches Azure until the customer deploys the new "
             f"template again. Send them the output of `python -m mssp template {text(s['stack'])} --out DIR`.", "",
             "| file | path | before | after |", "|---|---|---|---|"]
    shown = changes if limits.rows is None else changes[:max(limits.rows, 5)]
    for c in shown:
        from mssp.diff.command import MISSING

        before = MISSING if c["before"] is None else c["before"]
        after = MISSING if c["after"] is None else c["after"]
        at = first_difference(before, after)
        lines.append(f"| {code(c['file'])} | {code(c['path'])} | {code(short_value(before, at))} | "
                     f"{code(short_value(after, at))} |")
    if len(shown) < len(changes):
        lines += ["", _more(len(changes) - len(shown), hint)]
    return lines


def stack_section(s: Mapping[str, Any], limits: Limits, hint: str) -> list[str]:
    outputs = outputs_section(s["_outputs"])
    exported = template_section(s, limits, hint)
    if (not s["_changes"] and not s["policies"] and not s["changeAdvisories"] and not s["resolvedPolicies"]
            and not outputs and not exported):
        return []
    lines = ["", f"### {code(s['stack'])}{_status(s)}", ""]
    head = s.get("_head") or s.get("_base") or {}
    rv = facts.review(head)
    if rv.get("displayName"):
        lines.append(f"{text(rv['displayName'])}, tenant {code(rv.get('tenantId', '?'))}"
                     + (f", access model **{text(rv['accessModel'])}**" if rv.get("accessModel") else "")
                     + (f" (Lighthouse {text(rv['lighthouseMode'])} mode)" if rv.get("lighthouseMode") else ""))
        lines.append("")
    blocked = [c for c in s["_changes"] if c.blocked_by_protect]
    if blocked:
        lines.append(f"> ⛔ **{len(blocked)} protected resource(s) would be deleted or replaced**: "
                     + ", ".join(code(c.name) for c in blocked[:20]) + (" …" if len(blocked) > 20 else ""))
        lines.append("")
    from mssp.diff import topology

    lines += topology.markdown_lines(s, None if limits.per_stack_details else 5)
    if limits.per_stack_details:
        lines += changes_section(s, limits, hint)
    else:
        by_kind = Counter((c.op, type_label(c.type)) for c in s["_changes"])
        lines += [", ".join(f"{n} × {_ICON[op]} {t}" for (op, t), n in sorted(by_kind.items()))]
    lines += exported
    lines += outputs
    lines += guardrails_section(s, limits, hint)
    return lines


def render(stacks: Sequence[Mapping[str, Any]], base: str, head: str, limits: Limits = FULL,
           hint: str = "in the `--full-markdown` file") -> str:
    lines = [MARKER, "## Offline plan diff", "",
             f"{code(base)} → {code(head)} · planned offline under mocks; secrets show as `[secret]` "
             "(a changed secret is not visible).", ""]
    if limits is not FULL:
        lines += [f"> This report is shortened to fit a pull-request comment; the full report is {hint}.", ""]
    lines += ["| Stack | Create | Update | Replace | Delete | Mandatory | Advisory |", "|---|---:|---:|---:|---:|---:|---:|"]
    for s in stacks:
        c = s["counts"]
        mand = sum(1 for p in s["policies"] if p["level"] == "mandatory")
        adv = sum(1 for p in s["policies"] if p["level"] == "advisory") + len(s["changeAdvisories"])
        lines.append(f"| {code(s['stack'])}{_status(s)} | {c['create']} | {c['update']} | {c['replace']} | {c['delete']} | "
                     f"{'❌ ' if mand else ''}{mand} | {adv} |")
    lines += access_section(stacks, limits, hint)
    for s in stacks:
        lines += stack_section(s, limits, hint)
    if all(not s["changed"] for s in stacks):
        lines += ["", "No stack changes."]
    return "\n".join(lines) + "\n"


def render_failure(base: str, head: str, error: str, preamble: str = "") -> str:
    """The report when a side could not be planned or read: the reason, where a PR comment shows it (a typo in
    a stack file must reach its author as a comment, not only as a red job). `preamble`: the guardrail change."""
    lines = [MARKER, "## Offline plan diff", "", f"{code(base)} → {code(head)}", ""]
    if preamble:
        lines += [preamble, ""]
    lines += ["❌ **The change could not be planned, so nothing was compared.**", "", "```",
              error.replace("```", "` ` `"), "```", "",
              "Fix the cause (often a stack file or inventory that the plan refuses: run `./dev plan STACK` "
              "locally) and push again."]
    return "\n".join(lines) + "\n"


def comment_length(body: str) -> int:
    """Length as JavaScript counts it (UTF-16 code units; an emoji is two): the workflow checks `body.length`."""
    return len(body.encode("utf-16-le")) // 2


def render_comment(stacks: Sequence[Mapping[str, Any]], base: str, head: str,
                   hint: str = "in the `--full-markdown` file", limit: int = COMMENT_LIMIT) -> str:
    """The report as one pull-request comment: the full report when it fits, shorter ones when not."""
    budget = limit - _MARGIN
    for limits in (FULL, COMPACT, SUMMARY):
        body = render(stacks, base, head, limits, hint)
        if comment_length(body) <= budget:
            return body
    # Even the summary is too long (hundreds of stacks): cut it at a line and say so.
    cut = body[:budget // 2].rsplit("\n", 1)[0]  # at most two UTF-16 units a character
    return cut + f"\n\n… cut to fit a pull-request comment: the full report is {hint}.\n"
