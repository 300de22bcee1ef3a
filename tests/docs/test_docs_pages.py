"""What the README and the documentation pages state stays true of the code: the set-up commands, the
catalog table, the commands and their exit codes, every pinned dependency, and the plan's formats."""

from __future__ import annotations

import re
from pathlib import Path

from components.facts import catalog
from mssp import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def pages() -> dict[str, str]:
    return {p.relative_to(ROOT).as_posix(): text(p) for p in DOCS.rglob("*.md")}


def pinned(path: Path) -> list[str]:
    names = []
    for line in text(path).splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            names.append(re.split(r"[=<>!~\[]", line, maxsplit=1)[0].strip())
    return names


def test_the_readme_is_a_short_front_door_that_starts_with_the_two_commands_ci_runs() -> None:
    readme = text(ROOT / "README.md")
    assert len(readme.splitlines()) <= 200
    first_block = readme.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()[1:]]
    assert commands == ["./dev plan contoso", "./dev test"]
    assert "./dev test" in text(ROOT / ".ci" / "run")


def test_the_readme_links_every_lifecycle_command_to_its_page() -> None:
    readme = text(ROOT / "README.md")
    for command in ("discover", "plan", "template", "health", "drift", "report", "offboard"):
        assert re.search(rf"\[`mssp {command}`\]\(docs/operations/{command}\.md\)", readme), command


def test_the_catalog_page_table_matches_the_catalog() -> None:
    m = re.search(r"<!-- catalog:start[^>]*-->\n(.*?)\n<!-- catalog:end -->", text(DOCS / "reference" / "catalog.md"), re.S)
    assert m, "catalog markers missing"
    assert m.group(1).strip() == catalog.markdown_table().strip()


def test_the_commands_page_lists_every_command_with_its_exit_codes() -> None:
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z-]+)` \|.*$", text(DOCS / "reference" / "commands.md"), re.M)}
    assert set(rows) == set(cli.COMMANDS)
    for name, (description, codes) in cli.COMMANDS.items():
        assert description.replace("|", "\\|") in rows[name] and codes in rows[name], name
        link = re.search(r"\]\(\.\./([^)#]+)", rows[name])
        assert link and (DOCS / link.group(1)).is_file(), f"{name}: no page linked"


def test_the_dependencies_page_that_requirements_cite_names_every_pinned_package() -> None:
    deps = text(DOCS / "reference" / "dependencies.md")
    assert "docs/reference/dependencies.md" in text(ROOT / "requirements.txt")
    for req in ("requirements.txt", "requirements-dev.txt"):
        for name in pinned(ROOT / req):
            assert f"`{name}`" in deps, f"{req}: {name} is not in docs/reference/dependencies.md"


def test_the_manifest_format_is_documented_inside_the_repository() -> None:
    for path, page in {**pages(), "README.md": text(ROOT / "README.md")}.items():
        assert "../shared" not in page and "shared/design.md" not in page, path
    assert "(../manifest.md)" in text(DOCS / "operations" / "plan.md")
    assert (DOCS / "manifest.md").is_file() and (DOCS / "manifest.schema.json").is_file()


def test_the_plan_page_says_where_inputs_and_dependencies_are() -> None:
    plan = text(DOCS / "operations" / "plan.md")
    assert "The JSON manifest (`--json`) holds all of that" in plan
    assert "options, dependencies" in plan  # what the Markdown's resource table shows
