"""The coverage page as one self-contained HTML file (inline CSS and JS, no external assets) and as Markdown.

Every count carries its word ("3 forwarding", "1 silent"), so the colour is never the only signal;
the table sorts by any column (numbers as numbers) from its header buttons, and each customer links to
its details section in the same file. Works offline, as a CI artifact or as a GitHub Pages page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from mssp import escape as untrusted
from mssp.report.fleet import ACTIVITY, COUNT_KEYS

# Every text from config, the plan and the health and drift reports (Azure's and Log Analytics' messages
# included) is escaped for its context by mssp.escape: `escape` for HTML, `untrusted.md`/`md_code` for Markdown.
escape = untrusted.html

LABELS: Mapping[str, str] = {"forwarding": "forwarding", "silent": "silent", "notInInventory": "not in inventory",
                             "excluded": "excluded", "skipped": "skipped"}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1b1b1b;background:#fff}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem}th,td{border:1px solid #c8c8c8;padding:.35rem .5rem;vertical-align:top}
th{background:#f0f0f0;position:sticky;top:0}th button{font:inherit;font-weight:600;background:none;border:0;
cursor:pointer;padding:0;text-align:left}th[aria-sort=ascending] button::after{content:" \\25B2"}
th[aria-sort=descending] button::after{content:" \\25BC"}
.c{display:block;white-space:nowrap;border-radius:3px;padding:0 .3rem;margin:1px 0}
.forwarding{background:#d7f0dd;color:#0b5a1f}.silent{background:#fbd5d5;color:#8a1010;font-weight:700}
.notInInventory{background:#ffe8b3;color:#6b4300}.excluded,.skipped{background:#ececec;color:#444}
.none{color:#777}.legend span{margin-right:.6rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{font-weight:600}code{font-size:.8rem}
"""

JS = """
(function(){
  var table=document.getElementById('coverage');
  var heads=table.tHead.rows[0].cells;
  function key(row,i,num){var v=row.cells[i].getAttribute('data-sort');return num?parseFloat(v):v.toLowerCase();}
  Array.prototype.forEach.call(heads,function(th,i){
    var b=th.querySelector('button');if(!b)return;
    b.addEventListener('click',function(){
      var dir=th.getAttribute('aria-sort')==='ascending'?'descending':'ascending';
      Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',dir);
      var num=th.getAttribute('data-numeric')==='true';
      var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){var x=key(a,i,num),y=key(b,i,num);var r=x<y?-1:x>y?1:0;return dir==='ascending'?r:-r;});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
})();
"""


def short_type(t: str) -> str:
    return t.removeprefix("Microsoft.") if t != ACTIVITY else "Activity log (subscriptions)"


def _cell(counts: Mapping[str, int]) -> str:
    parts = [f'<span class="c {k}" data-kind="{k}">{counts[k]} {LABELS[k]}</span>' for k in COUNT_KEYS if counts[k]]
    return "".join(parts) or '<span class="none">none</span>'


def render_html(data: Mapping[str, Any], title: str = "mssp-sentinel fleet coverage") -> str:
    cols = data["columns"]
    head = ['<th data-numeric="false"><button type="button">Customer</button></th>',
            '<th data-numeric="true"><button type="button">Forwarding</button></th>',
            '<th data-numeric="true"><button type="button">Silent</button></th>',
            '<th data-numeric="false"><button type="button">Logs stored in</button></th>',
            '<th data-numeric="true"><button type="button">Billable GB</button></th>']
    head += [f'<th data-numeric="true" data-type="{escape(c)}"><button type="button">{escape(short_type(c))}'
             "</button></th>" for c in cols]
    rows = []
    for cust in data["customers"]:
        name = escape(cust["customer"])
        tds = [f'<td data-sort="{name}"><a href="#customer-{name}">{escape(cust["displayName"])}</a> '
               f"<code>{name}</code></td>",
               f'<td data-sort="{cust["totals"]["forwarding"]}" data-total="forwarding">'
               f'{cust["totals"]["forwarding"]} forwarding</td>',
               f'<td data-sort="{cust["totals"]["silent"]}" data-total="silent">{cust["totals"]["silent"]} silent</td>',
               f'<td data-sort="{escape(topology_text(cust))}" data-topology="{escape(cust["topology"]["mode"])}">'
               f"{escape(topology_text(cust))}</td>",
               f'<td data-sort="{_usage_gb(cust)}" data-usage="{escape(_usage_status(cust))}">'
               f"{escape(usage_text(cust))}</td>"]
        for c in cols:
            counts = cust["cells"].get(c) or dict.fromkeys(COUNT_KEYS, 0)
            attrs = " ".join(f'data-{k.lower()}="{counts[k]}"' for k in COUNT_KEYS)
            n_settings = cust.get("settings", {}).get(c, 0)
            attrs += f' data-settings="{n_settings}" title="{n_settings} diagnostic settings planned"' if n_settings else ""
            tds.append(f'<td data-customer="{name}" data-type="{escape(c)}" data-sort="{counts["forwarding"]}" {attrs}>'
                       f"{_cell(counts)}</td>")
        rows.append(f'<tr data-customer="{name}">{"".join(tds)}</tr>')
    details = [_details_html(c) for c in data["customers"]]
    legend = "".join(f'<span class="c {k}" style="display:inline">{LABELS[k]}</span>' for k in COUNT_KEYS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(title)}</title><style>{CSS}</style></head>
<body><h1>{escape(title)}</h1>
<p>Rows are customers, columns resource types. Each cell counts the customer's resources of that type:
forwarding (a diagnostic setting is planned{", minus those the health check found silent" if any(c["health"] for c in data["customers"]) else ""}),
silent (no rows in the health window), not in inventory (coverage drift), excluded and skipped.
Click a column header to sort.</p>
<p class="legend">{legend}</p>
<table id="coverage"><thead><tr>{"".join(head)}</tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
{"".join(details)}
<script>{JS}</script></body></html>
"""


def _usage_gb(c: Mapping[str, Any]) -> float:
    u = c.get("usage")
    return float(u["totalGB"]) if u else -1.0


def _usage_status(c: Mapping[str, Any]) -> str:
    u = c.get("usage")
    return str(u["status"]) if u else "none"


def usage_text(c: Mapping[str, Any]) -> str:
    """Billable GB from `mssp usage` (with its period); an incomplete answer says so, a missing one too."""
    u = c.get("usage")
    if not u:
        return "no usage report"
    incomplete = "" if u["status"] == "complete" else f" ({u['status']}: incomplete)"
    return f"{u['totalGB']:.3f} GB, {u['from']} to {u['to']}{incomplete}"


def topology_text(c: Mapping[str, Any]) -> str:
    """`central (westeurope)` or `customer workspace (northeurope)`, with the allowed regions when declared."""
    t = c["topology"]
    where = "customer workspace" if t["mode"] == "customer" else "central"
    allowed = f"; allowed: {', '.join(t['allowedRegions'])}" if t.get("allowedRegions") else ""
    return f"{where} ({t['region']}{allowed})"


def _status_line(kind: str, result: Mapping[str, Any] | None) -> str:
    if result is None:
        return f"no {kind} report given"
    if kind == "health":
        return (f"{result['status']} (window of {result.get('hours')} h ending {result.get('end')}): "
                f"{result['silent']} silent resources, {result['silentSubscriptions']} silent subscriptions"
                + (f"; errors: {'; '.join(result['errors'])}" if result["errors"] else ""))
    summary = ", ".join(f"{k} {v}" for k, v in (result.get("summary") or {}).items() if v)
    return f"{result['status']}" + (f" ({summary})" if summary else "") + (
        f"; errors: {'; '.join(result['errors'])}" if result["errors"] else "")


def _details_html(c: Mapping[str, Any]) -> str:
    name = escape(c["customer"])
    access = escape(c["accessModel"] + (f" ({c['lighthouseMode']} mode)" if c["lighthouseMode"] else ""))
    subs = "".join(f"<li><code>{escape(s['id'])}</code> {escape(s['displayName'])}: Activity log "
                   f"<span class=\"c {escape(s['activityLog'])}\" style=\"display:inline\">{escape(s['activityLog'])}</span></li>"
                   for s in c["subscriptions"])
    auths = "".join(f"<li>{escape(a['principal'])} (<code>{escape(a['principalId'])}</code>): "
                    f"<strong>{escape(a['role'])}</strong>, {escape(a['kind'])}</li>" for a in c["authorizations"])
    topo = c["topology"]
    ws_auths = "".join(f"<li>{escape(a['principal'])} (<code>{escape(a['principalId'])}</code>): "
                       f"<strong>{escape(a['role'])}</strong></li>" for a in topo["workspaceAuthorizations"])
    return (f'<section id="customer-{name}"><h2>{escape(c["displayName"])} (<code>{name}</code>)</h2><dl>'
            f"<dt>Stack</dt><dd><code>{escape(c['stack'])}</code></dd>"
            f"<dt>Access model</dt><dd>{access}</dd>"
            f"<dt>Logs stored in</dt><dd>{escape(topology_text(c))}: <code>{escape(topo['workspaceResourceId'])}</code></dd>"
            + (f"<dt>SOC roles on the customer workspace</dt><dd><ul>{ws_auths}</ul></dd>" if ws_auths else "") +
            f"<dt>Subscriptions</dt><dd><ul>{subs}</ul></dd>"
            f"<dt>Authorizations</dt><dd>{'<ul>' + auths + '</ul>' if auths else 'none (direct access model)'}</dd>"
            f"<dt>Last health check</dt><dd>{escape(_status_line('health', c['health']))}</dd>"
            f"<dt>Last drift check</dt><dd>{escape(_status_line('drift', c['drift']))}</dd>"
            "</dl></section>")


def render_markdown(data: Mapping[str, Any], title: str = "mssp-sentinel fleet coverage") -> str:
    md, code = untrusted.md, untrusted.md_code
    cols = data["columns"]
    lines = [f"# {md(title)}", "", "Counts per customer and resource type: " + ", ".join(LABELS.values()) + ".", "",
             "| customer | forwarding | silent | logs stored in | billable GB | "
             + " | ".join(md(short_type(c)) for c in cols) + " |",
             "|---" * (5 + len(cols)) + "|"]
    for cust in data["customers"]:
        cells = []
        for c in cols:
            counts = cust["cells"].get(c) or dict.fromkeys(COUNT_KEYS, 0)
            cells.append(", ".join(f"{counts[k]} {LABELS[k]}" for k in COUNT_KEYS if counts[k]) or "-")
        lines.append(f"| [{md(cust['displayName'])}](#{_anchor(cust['customer'])}) | {cust['totals']['forwarding']} | "
                     f"{cust['totals']['silent']} | {md(topology_text(cust))} | {md(usage_text(cust))} | "
                     + " | ".join(cells) + " |")
    for c in data["customers"]:
        mode = f" ({md(c['lighthouseMode'])} mode)" if c["lighthouseMode"] else ""
        lines += ["", f'<a id="{escape(_anchor(c["customer"]))}"></a>', "",
                  f"## {md(c['displayName'])} ({code(c['customer'])})", "",
                  f"- stack: {code(c['stack'])}",
                  f"- access model: {md(c['accessModel'])}{mode}",
                  f"- logs stored in: {md(topology_text(c))}: {code(c['topology']['workspaceResourceId'])}"]
        topo_auths = c["topology"]["workspaceAuthorizations"]
        if topo_auths:
            lines.append("- SOC roles on the customer workspace:")
            lines += [f"  - {md(a['principal'])} ({code(a['principalId'])}): **{md(a['role'])}**" for a in topo_auths]
        lines.append("- subscriptions:")
        lines += [f"  - {code(s['id'])} {md(s['displayName'])}: Activity log {md(s['activityLog'])}"
                  for s in c["subscriptions"]]
        lines.append("- authorizations:" if c["authorizations"] else "- authorizations: none (direct access model)")
        lines += [f"  - {md(a['principal'])} ({code(a['principalId'])}): **{md(a['role'])}**, {md(a['kind'])}"
                  for a in c["authorizations"]]
        lines += [f"- last health check: {md(_status_line('health', c['health']))}",
                  f"- last drift check: {md(_status_line('drift', c['drift']))}"]
    return "\n".join(lines) + "\n"


def _anchor(customer: str) -> str:
    return "customer-" + quote(untrusted.clean(customer), safe="")
