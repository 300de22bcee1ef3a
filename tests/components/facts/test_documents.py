"""components.facts.documents: the limits every reader applies, and docs/input-limits.md stating them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import PROJECT_DIR

from components.facts import documents, strict_yaml

DOC = PROJECT_DIR / "docs" / "input-limits.md"


def test_the_documented_limits_are_the_enforced_ones() -> None:
    text = DOC.read_text()
    assert f"**{documents.MAX_YAML_BYTES // 2**20} MiB**" in text
    assert f"**{documents.MAX_JSON_BYTES // 2**20} MiB**" in text
    assert f"**{documents.MAX_DEPTH}** levels" in text
    assert f"**{documents.MAX_ALIAS_NODES:,}**" in text
    assert f"**{documents.MAX_NODES:,}**" in text


@pytest.mark.parametrize("levels", [documents.MAX_DEPTH + 1, 5_000, 200_000])
def test_json_nested_beyond_the_limit_is_a_document_error(levels: int) -> None:
    with pytest.raises(documents.DocumentError, match=f"nested more than {documents.MAX_DEPTH}"):
        documents.loads_json("[" * levels + "]" * levels, "x.json")
    with pytest.raises(documents.DocumentError, match="nested more than"):
        documents.loads_json('{"a":' * levels + "1" + "}" * levels, "x.json")


def test_json_at_the_limit_reads() -> None:
    depth = documents.MAX_DEPTH
    assert documents.loads_json("[" * depth + "]" * depth, "x.json") is not None


@pytest.mark.parametrize("levels", [documents.MAX_DEPTH + 1, 100_000])
def test_yaml_nested_beyond_the_limit_is_refused_before_it_is_composed(levels: int) -> None:
    with pytest.raises(documents.DocumentError, match="line 1: nested more than"):
        strict_yaml.loads("a: " + "[" * levels + "]" * levels, "x.yaml")
    block = "".join("  " * i + f"k{i}:\n" for i in range(levels if levels < 1000 else 1000)) + "  " * 1000 + "v: 1\n"
    with pytest.raises(documents.DocumentError, match="nested more than"):
        strict_yaml.loads(block, "x.yaml")


def test_yaml_alias_budget_counts_expanded_nodes_not_alias_events() -> None:
    # Ten aliases of a 20,000-value list is 200,000 expanded values: over the budget of 100,000.
    big = "[" + ", ".join(["1"] * 20_000) + "]"
    text = f"a: &a {big}\n" + "".join(f"b{i}: *a\n" for i in range(10))
    with pytest.raises(documents.DocumentError, match="alias bomb"):
        strict_yaml.loads(text, "x.yaml")
    # Four are within it, and read as YAML says.
    ok = f"a: &a {big}\n" + "".join(f"b{i}: *a\n" for i in range(4))
    assert len(strict_yaml.loads(ok, "x.yaml")["b3"]) == 20_000


def test_merge_keys_and_aliases_to_scalars_count_too() -> None:
    names = ["s"] + [f"l{i}" for i in range(6)]
    lines = ["s: &s x"] + [f"{names[i + 1]}: &{names[i + 1]} [{', '.join(['*' + names[i]] * 10)}]" for i in range(6)]
    with pytest.raises(documents.DocumentError, match="alias bomb"):
        strict_yaml.loads("\n".join(lines) + "\n", "x.yaml")
    with pytest.raises(documents.DocumentError, match="recursive alias"):
        strict_yaml.loads("m: &m\n  <<: *m\n", "x.yaml")


def test_read_text_refuses_a_huge_file_before_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as f:
        f.truncate(documents.MAX_YAML_BYTES + 1)
    with pytest.raises(documents.DocumentError, match="allowed: at most 16 MiB"):
        strict_yaml.load_file(path)


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/null"])
def test_only_regular_files_are_read(tmp_path: Path, special: str) -> None:
    # A FIFO blocked the command until someone wrote to it; /dev/zero never ends (bounded time and memory).
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
    with pytest.raises(documents.DocumentError, match="not a regular file"):
        strict_yaml.load_file(path)
    with pytest.raises(documents.DocumentError, match="not a regular file"):
        documents.load_json_file(path)
    with pytest.raises(IsADirectoryError):
        documents.read_text(tmp_path, 100)


@pytest.mark.parametrize(("text", "line", "marker"), [
    ("a: 1\n<<<<<<< HEAD\nb: 2\n", 2, "<<<<<<<"),
    ("a: 1\nb: 2\n=======\n", 3, "======="),
    ("a: 1\n>>>>>>> feature/x\n", 2, ">>>>>>>"),
    ("a: |\n  text\n||||||| base\n", 3, "|||||||"),
])
def test_conflict_markers_name_the_merge_conflict_and_its_line(text: str, line: int, marker: str) -> None:
    with pytest.raises(documents.DocumentError) as info:
        strict_yaml.loads(text, "Pulumi.x.yaml")
    assert info.value.line == line and marker in str(info.value) and "merge conflict" in str(info.value)
    with pytest.raises(documents.DocumentError, match="merge conflict"):
        documents.loads_json('{\n=======\n"a": 1}', "x.json")


def test_seven_equals_signs_inside_a_line_are_no_marker() -> None:
    assert strict_yaml.loads("a: ======= \nb: '<<<<<<< x'\n") == {"a": "=======", "b": "<<<<<<< x"}


def test_a_symbolic_link_is_named_with_its_target(tmp_path: Path) -> None:
    link = tmp_path / "inventory.yaml"
    link.symlink_to(tmp_path / "elsewhere.yaml")
    assert documents.describe(link) == f"{link} (a symbolic link to {tmp_path / 'elsewhere.yaml'})"
    with pytest.raises(FileNotFoundError) as info:
        strict_yaml.load_file(link)
    assert "a symbolic link to" in str(info.value.filename)
    (tmp_path / "elsewhere.yaml").write_bytes(b"a: \xff\n")
    with pytest.raises(documents.DocumentError, match=r"a symbolic link to .*not UTF-8"):
        strict_yaml.load_file(link)
