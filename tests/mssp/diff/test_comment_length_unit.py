"""GitHub's 65,536 limit on a comment body is checked by the workflow in JavaScript (`body.length`:
UTF-16 code units), so the diff measures in that unit: not in code points, not in UTF-8 bytes.
The oracle here is independent of the code under test: Node.js itself when it is installed (it is on the
CI machine), else the UTF-16 rule written out (one unit per code point below U+10000, two above)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from mssp.diff import markdown as diff_markdown

SAMPLES = ["", "plain ascii", "é", "€", "漢字", "😀", "a😀b", "🇩🇪", "👩‍💻", "\u0000", "x" * 1000 + "😀" * 500]


def js_lengths(texts: list[str]) -> list[int]:
    node = shutil.which("node")
    if node is None:
        return [sum(2 if ord(c) > 0xFFFF else 1 for c in t) for t in texts]
    out = subprocess.run([node, "-e", "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>"
                          "console.log(JSON.stringify(JSON.parse(s).map(t=>t.length))))"],
                         input=json.dumps(texts), capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


def test_comment_length_is_what_javascript_counts():
    # Bug caught: len(body) (code points) or len(body.encode()) (UTF-8 bytes) instead of UTF-16 units.
    assert [diff_markdown.comment_length(t) for t in SAMPLES] == js_lengths(SAMPLES)


@pytest.mark.parametrize("unit", ["😀", "é", "a"])
def test_a_comment_that_needs_the_cut_fits_in_utf16_units(monkeypatch, unit):
    """Every rendering is too long, so render_comment must cut; the cut must fit in UTF-16 units even
    when every character is an astral one (two units each)."""
    limit = 20_000
    long_text = "\n".join(unit * 40 for _ in range(2_000))
    monkeypatch.setattr(diff_markdown, "render", lambda *args, **kwargs: long_text)
    comment = diff_markdown.render_comment([], "main", "pr", hint="HINT", limit=limit)
    assert js_lengths([comment])[0] <= limit
    assert "HINT" in comment
    # and the cut keeps a fair share of what the limit allows (at worst half: astral characters count two)
    assert js_lengths([comment])[0] > (limit - diff_markdown._MARGIN) // 2 - 100


def test_a_report_that_fits_in_utf16_units_is_not_cut(monkeypatch):
    limit = 8_000
    body = "é" * 6_000  # 6,000 UTF-16 units, 12,000 UTF-8 bytes: it fits
    monkeypatch.setattr(diff_markdown, "render", lambda *args, **kwargs: body)
    assert diff_markdown.render_comment([], "main", "pr", limit=limit) == body
