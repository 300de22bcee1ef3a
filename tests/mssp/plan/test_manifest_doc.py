"""docs/manifest.md and docs/manifest.schema.json describe the manifest the plan really writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from conftest import example_manifest

from mssp.plan.command import manifest_json

DOCS = Path(__file__).resolve().parents[3] / "docs"
SCHEMA = json.loads((DOCS / "manifest.schema.json").read_text(encoding="utf-8"))
STACKS = ("mssp", "contoso", "fabrikam")


def documented_tables() -> dict[str, set[str]]:
    """The keys (first column) of each key table in docs/manifest.md, by the line that introduces it."""
    tables: dict[str, set[str]] = {}
    title = ""
    for line in (DOCS / "manifest.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or (line.endswith(":") and line.startswith("`")):
            title = line.strip("#: ").strip()
        m = re.match(r"^\| `([A-Za-z]+)` \|", line)
        if m:
            tables.setdefault(title, set()).add(m[1])
    return tables


def schema_keys(*path: str) -> set[str]:
    node = SCHEMA
    for part in path:
        node = node[part]
    return set(node["properties"])


def test_every_documented_table_lists_exactly_the_schema_keys():
    tables = documented_tables()
    assert tables["Top level"] == schema_keys()
    assert tables["Resources"] == schema_keys("$defs", "resource")
    assert tables["`options`"] == schema_keys("$defs", "resource", "properties", "options")
    assert tables["Policies"] == schema_keys("$defs", "policy")
    assert tables["Review"] == schema_keys("$defs", "review")
    assert tables["`principals` entries"] == schema_keys("$defs", "principal")


@pytest.mark.parametrize("stack", STACKS)
def test_every_example_manifest_matches_the_schema(stack):
    jsonschema.validate(json.loads(manifest_json(example_manifest(stack))), SCHEMA)


def test_the_schema_rejects_an_undocumented_key():
    m = example_manifest("fabrikam")
    m["resources"][0]["extra"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(m, SCHEMA)
    m = example_manifest("fabrikam")
    m["review"]["surprise"] = True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(m, SCHEMA)


@pytest.mark.parametrize("stack", STACKS)
def test_every_objects_keys_are_sorted(stack):
    unsorted: list[list[str]] = []

    def check(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [k for k, _ in pairs]
        if keys != sorted(keys):
            unsorted.append(keys)
        return dict(pairs)

    json.loads(manifest_json(example_manifest(stack)), object_pairs_hook=check)
    assert unsorted == []
