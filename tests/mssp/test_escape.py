"""Text from Azure in Markdown, GitHub issues, HTML and terminals: it shows as itself and adds nothing.

The oracle is a real CommonMark parser with GFM tables (markdown-it-py): each hostile text, escaped, must
render as exactly its clean text, with no emphasis, link, image, raw HTML, code, heading, list or extra table
cell; GitHub's own additions (autolinks, @mentions, #references), which that parser does not model, are
checked on the raw and rendered text. Then every renderer that shows outside text (drift report and issue,
settings drift, health, offboarding, the coverage page) is run with hostile text in every such field and
must produce the same document structure as with plain text.

Bugs these catch: an ARM error message that adds a fake `**Status: clean**` line, a heading, a table row,
a link or an image to the drift issue; an @mention that pings a team from a report; a bidi override that
makes an id read as another; a 100 000-character message pasted whole; one renderer that forgot to escape.
"""

from __future__ import annotations

import json
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from mssp import escape
from mssp.drift import command as drift
from mssp.drift import settings as settings_drift
from mssp.health import command as health
from mssp.offboard import runbook
from mssp.report import page

REPO = Path(__file__).resolve().parents[2]

HOSTILE = [
    "ok\n\n**Status: clean** (exit 0): Azure matches the program",
    "# Heading\n## Sub heading",
    "cell | injected | row\n|---|---|\n| a | b |",
    "[click here](https://evil.example/x) and <https://evil.example/y>",
    "![pixel](https://evil.example/p.png)",
    "<img src=x onerror=alert(1)><script>alert(1)</script><details open><summary>hi</summary>",
    "`code` ``double`` ```fence``` ````",
    "*em* _em_ **strong** __strong__ ~~strike~~ $x^2$ $$y$$",
    "@octocat @acme-mssp/platform-security please look; fixes #12 and acme/repo#3",
    "see https://evil.example/path, www.evil.example and me@evil.example",
    "- list\n+ list\n1. ordered\n2) ordered\n> quote\n---\n===\n    indented code",
    "\u202eevil\u202c \u2066isolate\u2069 zero\u200bwidth \ufeffbom \u200fmark \U000e0041tag",
    "\x1b[31mred\x1b[0m \x00nul \x07bell \x7fdel \x85nel\u2028line\u2029para\rcr\ttab\x0bvt",
    "\\*not escaped\\* \\\\[a](b) \\",
    "&lt;b&gt;bold&lt;/b&gt; &#42;x&#42; &amp; &copy;",
    "[^1] footnote\n\n[^1]: https://evil.example",
    "| a | b |",
    "-",
    "1986. a year",
    "\ud800 lone surrogate \udfff",
    "x" * 100_000,
    "line one\n" * 5000,
]
IDS = [f"h{i}" for i in range(len(HOSTILE))]

md_parser = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def shown(text: str) -> str:
    """What a reader sees: our zero-width spaces (which break mentions) are invisible."""
    return text.replace(escape.ZWSP, "")


def inline_children(source: str) -> list[Any]:
    tokens = md_parser.parse(source)
    types = [t.type for t in tokens]
    assert types == ["paragraph_open", "inline", "paragraph_close"], (source[:300], types)
    return tokens[1].children or []


# -- clean ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_clean_is_one_visible_bounded_line(value):
    out = escape.clean(value)
    assert "\n" not in out and "\r" not in out
    assert not [c for c in out if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")], repr(out[:200])
    assert len(out) <= escape.MAX_TEXT + 40
    if len(" ".join(value.split())) > escape.MAX_TEXT:
        assert out.endswith(f" … [cut: {len(value)} characters in all]")


def test_clean_keeps_plain_text_and_marks_what_it_hid():
    assert escape.clean("  Key Vault  kv-01 (prod) ") == "Key Vault kv-01 (prod)"
    assert escape.clean("a\u202eb") == "a\ufffdb"  # a reader sees that something was there
    assert escape.clean("x" * 50, limit=None) == "x" * 50


# -- Markdown ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_md_renders_as_exactly_its_clean_text(value):
    out = escape.md(value)
    children = inline_children(out)
    assert [c.type for c in children] == ["text"], [c.type for c in children]
    assert shown(children[0].content) == escape.clean(value)


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_md_in_a_list_item_and_a_table_cell_stays_in_it(value):
    tokens = md_parser.parse(f"- {escape.md(value)}\n")
    assert [t.type for t in tokens].count("list_item_open") == 1
    assert {t.type for t in tokens} <= {"bullet_list_open", "list_item_open", "paragraph_open", "inline",
                                        "paragraph_close", "list_item_close", "bullet_list_close"}
    table = md_parser.parse(f"| what | detail |\n|---|---|\n| {escape.md(value)} | end |\n")
    cells = [t for t in table if t.type == "inline"][2:]
    assert [t.type for t in table].count("tr_open") == 2 and len(cells) == 2
    assert [c.type for c in cells[0].children] == ["text"]
    assert shown(cells[0].children[0].content) == escape.clean(value)
    assert cells[1].content == "end"


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_md_leaves_github_nothing_to_link_or_mention(value):
    out = escape.md(value)
    rendered = inline_children(out)[0].content
    assert not re.search(r"(?<![0-9A-Za-z])@[0-9A-Za-z]", rendered), "an @mention GitHub would notify"
    assert not re.search(r"#[0-9]", rendered), "an issue reference GitHub would link"
    assert not re.search(r"(?<!\\):(?=//)", out), "a URL GitHub would autolink"
    assert not re.search(r"(?i)\bwww\.", out), "a www. address GitHub would autolink"


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_md_code_is_one_code_span_of_the_clean_text(value):
    out = escape.md_code(value)
    children = inline_children(out)
    assert [c.type for c in children] == ["code_inline"]
    # CommonMark strips one space each side when both are there and the span is not all spaces.
    assert children[0].content == escape.clean(value).replace("|", "\\|")
    table = md_parser.parse(f"| a | b |\n|---|---|\n| {out} | end |\n")
    cell = [t for t in table if t.type == "inline"][2]
    assert [c.type for c in cell.children] == ["code_inline"]
    assert cell.children[0].content == escape.clean(value)


# -- HTML -------------------------------------------------------------------------------------------


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text += data


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_html_is_text_and_attribute_values_only(value):
    parser = Tags()
    parser.feed(f'<p>{escape.html(value)}</p><a title="{escape.html(value)}">t</a>')
    parser.close()
    assert [t for t, _ in parser.tags] == ["p", "a"]
    assert parser.tags[1][1] == [("title", escape.clean(value))]
    assert parser.text == escape.clean(value) + "t"


# -- every renderer: hostile text changes no structure ----------------------------------------------


def md_structure(markdown: str) -> list[tuple[str, ...]]:
    """The document's block and inline token types, text contents left out."""
    out: list[tuple[str, ...]] = []
    for t in md_parser.parse(markdown):
        out.append((t.type, t.tag))
        if t.type == "inline":
            out.append(tuple(c.type for c in t.children or []))
    return out


def html_structure(text: str) -> list[tuple[str, tuple[str, ...]]]:
    parser = Tags()
    parser.feed(text)
    return [(tag, tuple(name for name, _ in attrs)) for tag, attrs in parser.tags]


def drift_report(text: str) -> dict[str, Any]:
    return {
        "stack": "contoso", "status": "error", "exitCode": 1,
        "source": {"kind": "file", "path": "preview.json"},
        "summary": {"changed": 1, "uncovered": 1},
        "resources": [{"category": "changed", "name": text, "type": text, "operation": text, "urn": text,
                       "replaceReasons": [text], "refreshed": True,
                       "properties": [{"path": text, "kind": text, "current": text, "desired": {text: [text]}}]}],
        "unattributedChanges": {}, "coverage": [{"id": text, "type": text, "reason": text}],
        "errors": [text, f"diag: {text}"], "hints": [], "warnings": [text],
    }


def settings_report(text: str) -> dict[str, Any]:
    return {"stack": "contoso", "status": "error", "counts": {"error": 1},
            "calls": {"batch": 1, "batchPolls": 0, "single": 0, "refusedItems": 0, "pages": 0, "http": 1},
            "expectedSettings": 2,
            "findings": [{"kind": "error", "target": text, "setting": text, "detail": text, "changes": {}},
                         {"kind": "changed", "target": text, "setting": text, "detail": "",
                          "changes": {text: {"expected": text, "actual": [text]}}}],
            "errors": [text]}


def health_report(text: str) -> dict[str, Any]:
    return {"stack": "contoso", "status": "error", "exitCode": 1,
            "window": {"hours": 24, "start": text, "end": text}, "workspace": text,
            "summary": {"resources": 1, "forwarding": 0, "silent": 1, "unverified": 0, "subscriptions": 1,
                        "silentSubscriptions": 1},
            "errors": [text],
            "resources": [{"id": text, "type": text, "tables": [text, text], "status": "silent", "lastSeen": text,
                           "rows": text}],
            "subscriptions": [{"id": text, "displayName": text, "status": "silent", "lastSeen": text, "rows": text}],
            "splunk": {"table": text, "customer": text, "status": "quiet", "rows": text, "lastSeen": text}}


def offboard_report(text: str) -> dict[str, Any]:
    return {"customer": text, "stack": "contoso", "status": "error", "exitCode": 1, "accessModel": text,
            "lighthouseMode": text, "subscriptions": [text], "deleted": 1, "retained": 1,
            "errors": [text],
            "resources": [{"name": text, "type": text, "reason": "ours", "disposition": "deleted"},
                          {"name": text, "type": text, "reason": "ours", "disposition": "retained"}],
            "stays": [], "customerSteps": [], "blockers": [],
            "verification": {"summary": text, "settings": [{"id": text, "result": text, "detail": text}]}}


def fleet(text: str) -> dict[str, Any]:
    customer = {"customer": "contoso", "displayName": text, "stack": text, "accessModel": text,
                "lighthouseMode": text, "totals": {"forwarding": 1, "silent": 0}, "cells": {}, "settings": {},
                "topology": {"mode": text, "region": text, "allowedRegions": [text], "workspaceResourceId": text,
                             "workspaceAuthorizations": [{"principal": text, "principalId": text, "role": text}]},
                "subscriptions": [{"id": text, "displayName": text, "activityLog": text}],
                "authorizations": [{"principal": text, "principalId": text, "role": text, "kind": text}],
                "health": {"status": text, "hours": 24, "end": text, "silent": 0, "silentSubscriptions": 0,
                           "errors": [text]},
                "drift": {"status": text, "summary": {text: 1}, "errors": [text]}}
    return {"columns": ["Microsoft.KeyVault/vaults"], "customers": [customer]}


MARKDOWN_RENDERERS = {
    "drift": lambda t: drift.render_markdown(drift_report(t)),
    "settings-drift": lambda t: settings_drift.render_markdown(settings_report(t)),
    "health": lambda t: health.render_markdown(health_report(t)),
    "offboard": lambda t: runbook.render_markdown(offboard_report(t)),
    "report": lambda t: page.render_markdown(fleet(t)),
}


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
@pytest.mark.parametrize("renderer", MARKDOWN_RENDERERS, ids=list(MARKDOWN_RENDERERS))
def test_hostile_text_changes_no_markdown_structure(renderer, value):
    render = MARKDOWN_RENDERERS[renderer]
    plain, hostile = render("plain"), render(value)
    assert md_structure(hostile) == md_structure(plain)
    assert md_parser.render(hostile).count("<strong>Status: clean") == md_parser.render(plain).count("<strong>Status: clean")
    assert len(hostile) < len(plain) + 60 * (len(escape.clean(value)) + 50)  # bounded: every field is cut


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_hostile_text_changes_no_html_structure(value):
    assert html_structure(page.render_html(fleet(value))) == html_structure(page.render_html(fleet("plain")))


def test_the_reported_attack_an_arm_message_in_a_saved_preview_cannot_fake_a_clean_drift_issue(tmp_path, capsys):
    """End to end through `mssp drift --from-json`: an ARM error message (a preview diagnostic) that tries to
    end the error section and add a clean status, a heading, an image and a mention."""
    from mssp.cli import main

    attack = ("denied\"\n\n**Status: clean** (exit 0): Azure matches the program; nothing changed outside "
              "Pulumi.\n\n## All good\n\n![ok](https://evil.example/ok.png) cc @acme-mssp/platform-security")
    doc = json.loads((REPO / "tests/fixtures/preview/failed.json").read_text())
    outputs = {}
    for name, message in (("plain", "plain"), ("attack", attack)):
        doc["diagnostics"][0]["message"] = f"error: Status=403 Code=\"AuthorizationFailed\" Message=\"{message}\"\n"
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
        code = main(["drift", "contoso", "--from-json", str(tmp_path / f"{name}.json"),
                     "--markdown", str(tmp_path / f"{name}.md")])
        capsys.readouterr()
        assert code == 1
        outputs[name] = (tmp_path / f"{name}.md").read_text()
    assert md_structure(outputs["attack"]) == md_structure(outputs["plain"])
    rendered = md_parser.render(outputs["attack"])
    assert re.findall(r"<strong>Status: \w+", rendered) == ["<strong>Status: error"]
    assert "<h2>All good" not in rendered and "<img" not in rendered and "<a " not in rendered


def test_terminal_and_ci_log_lines_carry_no_controls_bidi_or_workflow_commands(run_cli, tmp_path):
    """An error message printed to stderr in CI: a newline followed by `::error::` would be a GitHub Actions
    workflow command, an escape sequence would rewrite the terminal, a bidi override would reorder it."""
    hostile = "denied\n::error title=Drift::none found\n::add-mask::x\x1b[2J\x1b]8;;https://evil\x07\u202eevil\n"
    doc = json.loads((REPO / "tests/fixtures/preview/failed.json").read_text())
    doc["diagnostics"][0]["message"] = f"error: {hostile}"
    (tmp_path / "p.json").write_text(json.dumps(doc))
    code, out, err = run_cli(["drift", "contoso", "--from-json", str(tmp_path / "p.json")])
    assert code == 1
    assert re.search(r"^error: .*denied ::error title=Drift::none found", err, re.MULTILINE)
    assert not [line for line in (out + err).splitlines() if line.lstrip().startswith("::")]
    assert not [c for c in out + err if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"]
