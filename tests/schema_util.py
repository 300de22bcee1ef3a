"""Validate generated ARM properties against Microsoft's published ARM schemas (tests/fixtures/arm)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

FIXTURES = Path(__file__).parent / "fixtures" / "arm"
COMMON = "https://schema.management.azure.com/schemas/common/definitions.json"
# The one definition the schemas take from common/definitions.json: an ARM template expression.
_COMMON_STUB = {"definitions": {"expression": {"type": "string", "pattern": r"^\[([^\[].*)?\]$"}}}


def validator_for(schema_file: str, pointer: str) -> jsonschema.protocols.Validator:
    """A validator for one definition (`#/definitions/X` or `#/unknown_resourceDefinitions/Y`) of a schema file."""
    doc = json.loads((FIXTURES / schema_file).read_text(encoding="utf-8"))
    base = doc["id"].rstrip("#")
    registry = Registry().with_resources([
        (base, Resource.from_contents(doc, default_specification=DRAFT4)),
        (COMMON, Resource.from_contents(_COMMON_STUB, default_specification=DRAFT4)),
    ])
    return jsonschema.Draft4Validator({"$ref": f"{base}{pointer}"}, registry=registry)


def errors(schema_file: str, pointer: str, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator_for(schema_file, pointer).iter_errors(instance)]
