"""The README states the catalog and the set-up commands; keep them true."""

from __future__ import annotations

import re

from conftest import PROJECT_DIR

from components.facts import catalog


def readme() -> str:
    return (PROJECT_DIR / "README.md").read_text(encoding="utf-8")


def test_readme_catalog_table_matches_the_catalog():
    m = re.search(r"<!-- catalog:start[^>]*-->\n(.*?)\n<!-- catalog:end -->", readme(), re.S)
    assert m, "catalog markers missing"
    assert m.group(1).strip() == catalog.markdown_table().strip()


def test_readme_starts_with_the_two_commands_ci_runs():
    first_block = readme().split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()[1:]]
    assert commands == ["./dev plan contoso", "./dev test"]
    assert "./dev test" in (PROJECT_DIR / ".ci" / "run").read_text()
