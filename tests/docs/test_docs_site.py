"""The documentation site builds in strict mode and every link in it and in the README resolves.

`mkdocs build --strict` fails on a link to a page that does not exist, an anchor that no heading of
the target page has, and a page that the nav cannot reach (mkdocs.yml `validation`). The README is not
part of the site, so its links are checked here against the built pages and their anchors.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's notice about its successor, not a finding
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], cwd=config.parent, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = build(ROOT / "mkdocs.yml", out)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    return out


def nav_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_nav_hook", ROOT / "docs" / "_hooks" / "nav.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def built_page(site: Path, doc: str) -> Path:
    """The HTML file MkDocs writes for docs/<doc> (directory URLs: a/b.md -> a/b/index.html)."""
    stem = doc.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return site / stem.removesuffix("index") / "index.html"
    return site / stem / "index.html"


def anchors(html: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html.read_text(encoding="utf-8")))


def test_the_site_builds_strictly_with_every_page_in_it(site: Path) -> None:
    docs = ROOT / "docs"
    pages = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md"))
    pages = [p for p in pages if not p.startswith("_")]
    assert "index.md" in pages and "benchmarks.md" in pages and len(pages) > 15
    for doc in pages:
        assert built_page(site, doc).is_file(), doc


def test_every_link_of_the_readme_resolves(site: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = [t for t in _LINK.findall(readme) if "://" not in t]
    assert len(links) > 10  # the README links into the manual
    for target in links:
        path, _, anchor = target.partition("#")
        assert path, f"README: {target}: link a docs page, not an anchor of the README"
        assert (ROOT / path).exists(), f"README links to {path}, which does not exist"
        if path.startswith("docs/") and path.endswith(".md"):
            html = built_page(site, path.removeprefix("docs/"))
            assert html.is_file(), f"README links to {path}, which the site does not build"
            assert not anchor or anchor in anchors(html), f"README links to {target}: no such anchor"


def test_a_broken_anchor_fails_the_build(tmp_path: Path) -> None:
    # The checks above are only worth something if the strict build really refuses a bad anchor.
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with (tmp_path / "docs" / "index.md").open("a", encoding="utf-8") as f:
        f.write("\n[broken](operations/plan.md#no-such-heading)\n")
    proc = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert proc.returncode != 0
    assert "no-such-heading" in proc.stderr


def test_the_nav_hook_drops_missing_pages_and_adds_unlisted_ones(tmp_path: Path) -> None:
    # Pages are added in separate changes: the nav may name one that is not there yet, or miss a new one.
    hook = nav_hook()
    for page in ("index.md", "a/one.md", "a/two.md", "new.md", "_hooks/x.md"):
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text("# x\n")
    nav = [{"Home": "index.md"}, {"A": ["a/one.md", "a/missing.md", {"Gone": "gone.md"}]}, {"B": ["b/none.md"]},
           {"Ext": "https://example.org/"}]
    kept = hook.existing(nav, tmp_path)
    assert kept == [{"Home": "index.md"}, {"A": ["a/one.md"]}, {"Ext": "https://example.org/"}]
    assert hook.unlisted(kept, tmp_path) == ["a/two.md", "new.md"]
