"""The README's own references hold: the manifest format lives in the repository, "Dependencies" exists
and names every pinned package, and the plan section says what the Markdown and the JSON show."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
README = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert m, f"README has no section '## {title}'"
    return m.group(1)


def pinned(path: Path) -> list[str]:
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            names.append(re.split(r"[=<>!~\[]", line, maxsplit=1)[0].strip())
    return names


def test_the_manifest_format_is_documented_inside_the_repository():
    assert "../shared" not in README and "shared/design.md" not in README
    assert "(docs/manifest.md)" in section("The offline plan")
    assert (PROJECT_DIR / "docs" / "manifest.md").is_file()


def test_the_dependencies_section_that_requirements_cite_names_every_pinned_package():
    deps = section("Dependencies")
    assert 'README "Dependencies"' in (PROJECT_DIR / "requirements.txt").read_text(encoding="utf-8")
    for req in ("requirements.txt", "requirements-dev.txt"):
        for name in pinned(PROJECT_DIR / req):
            assert f"`{name}`" in deps, f"{req}: {name} is not in README 'Dependencies'"
    assert "- [Dependencies](#dependencies)" in README


def test_the_plan_section_says_where_inputs_and_dependencies_are():
    plan = section("The offline plan")
    assert "The JSON manifest (`--json`) holds all of that" in plan
    assert "options, dependencies" in plan  # what the Markdown's resource table shows
