"""Text from outside (ARM, Resource Graph, Log Analytics, Pulumi's output, config) made safe to show: one place
for every command that writes Markdown (drift reports and issues, health, settings drift, offboarding, the
coverage page, plan and diff comments), HTML (the coverage page) or a terminal line.

An ARM error message is written by whoever answers: Azure, a proxy, or someone impersonating the endpoint.
Pasted raw into a drift issue it could add a fake `**Status: clean**` line, a heading, a table row, a link,
an image, an @mention that pings people, or bidi overrides that make the text read differently from what
it is. So every such text goes through one of:

- `clean(value)`: one line, C0/C1 controls and Unicode format characters (bidi overrides and isolates,
  zero-width characters, the BOM, tag characters) and lone surrogates shown as U+FFFD, cut to `limit`
  characters with a marker saying how long it was. For terminals and as the first step of the others.
- `md(value)`: Markdown text that renders as exactly the clean text: the characters that start inline
  constructs (`\\ ` * _ [ ] < > | ~ # ! $`) backslash-escaped (CommonMark: any ASCII punctuation may be
  escaped), a leading block marker (`-`, `+`, `=`, `>`, `1.`) escaped, autolinks (`https://`, `www.`)
  broken by escaping their `:` or `.`, and GitHub's @mentions and #references broken with a zero-width
  space after `@` or `#` (GitHub finds them in the rendered text, where backslashes are gone).
- `md_code(value)`: an inline code span that holds any text, in a table cell too (GitHub neither links
  nor mentions inside code; `|` is escaped because GFM splits table cells before code spans).
- `html(value)`: HTML text (`html.escape` with quotes) of the clean text.
"""

from __future__ import annotations

import html as _html
import re
import unicodedata
from typing import Any

MAX_TEXT = 600  # characters of one outside text shown by default; the JSON reports keep it whole
MAX_TERMINAL = 4000  # characters of one error line printed to a terminal or CI log
REPLACEMENT = "\ufffd"
ZWSP = "\u200b"  # breaks @mentions and #references (GitHub matches them in rendered text)
_HIDDEN = frozenset({"Cc", "Cf", "Cs"})  # controls, format characters (bidi, zero-width), surrogates

_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~#!$&])")
_MD_LEADING = re.compile(r"^([-+=:.>)}{(])")
_MD_ORDERED = re.compile(r"^(\d{1,9})([.)])")
_MD_SCHEME = re.compile(r":(?=//)")
_MD_WWW = re.compile(r"(?i)\b(www)\.")
_MENTION = re.compile(r"([@#])(?=[0-9A-Za-z])")
_BACKTICKS = re.compile(r"`+")


def clean(value: Any, limit: int | None = MAX_TEXT) -> str:
    """One line of visible text: whitespace runs (newlines included) as one space, hidden characters as
    U+FFFD, at most `limit` characters (None: no cut) plus a marker naming the full length."""
    text = str(value)
    total = len(text)
    if limit is not None and total > limit * 4:
        text = text[: limit * 4]  # whitespace collapsing never shrinks a text to a quarter of what is kept
    text = " ".join(text.split())
    if any(unicodedata.category(ch) in _HIDDEN for ch in text):
        text = "".join(REPLACEMENT if unicodedata.category(ch) in _HIDDEN else ch for ch in text)
    if limit is not None and len(text) > limit:
        text = text[:limit].rstrip() + f" … [cut: {total} characters in all]"
    return text


def md(value: Any, limit: int | None = MAX_TEXT) -> str:
    """Markdown text (a paragraph, a list item or a table cell) that renders as clean(value)."""
    text = clean(value, limit)
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_SCHEME.sub(r"\\:", text)
    text = _MD_WWW.sub(r"\1\\.", text)
    text = _MD_ORDERED.sub(r"\1\\\2", text)
    text = _MD_LEADING.sub(r"\\\1", text)
    return _MENTION.sub(r"\1" + ZWSP, text)


def md_code(value: Any, limit: int | None = MAX_TEXT) -> str:
    """An inline code span of clean(value): fenced with more backticks than any run inside, pipes escaped."""
    text = clean(value, limit).replace("|", "\\|")
    runs = [len(m) for m in _BACKTICKS.findall(text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if runs or text.startswith(" ") or text.endswith(" ") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html(value: Any, limit: int | None = MAX_TEXT) -> str:
    """HTML text (element content or a quoted attribute value) of clean(value)."""
    return _html.escape(clean(value, limit), quote=True)
