"""The configuration reference and the stack files' JSON Schema are generated from the config models and
pinned: a field added, renamed or re-described without regenerating fails here, and so does a field
without a description. The schema accepts the example stacks and refuses what the models refuse."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, ValidationError

from components.config.base import Model
from components.config.customer import CustomerConfig
from components.config.platform import PlatformConfig
from components.facts import strict_yaml

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("config_reference", ROOT / "scripts" / "config_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


GEN = generator()
SCHEMA = json.loads((ROOT / "docs" / "stack-file.schema.json").read_text(encoding="utf-8"))


def models(root: type[BaseModel]) -> Iterator[type[Model]]:
    """Every config model reachable from a root model's fields (through Optional, list, dict)."""
    seen: set[type] = set()
    todo: list[Any] = [root]
    while todo:
        current = todo.pop()
        if isinstance(current, type) and issubclass(current, Model):
            if current in seen:
                continue
            seen.add(current)
            yield current
            todo.extend(f.annotation for f in current.model_fields.values())
        else:
            todo.extend(getattr(current, "__args__", ()))
            todo.extend(getattr(current, "__metadata__", ()))


@pytest.mark.parametrize("path", [GEN.REFERENCE, GEN.SCHEMA], ids=lambda p: p.name)
def test_the_committed_file_is_what_the_models_generate(path: Path) -> None:
    committed = path.read_text(encoding="utf-8")
    assert committed == GEN.outputs()[path], f"{path.name} is stale: run python scripts/config_reference.py"


def test_check_mode_names_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text("# hand-edited\n")
    monkeypatch.setattr(GEN, "REFERENCE", stale)
    monkeypatch.setattr(GEN, "ROOT", tmp_path)
    monkeypatch.setattr(GEN, "SCHEMA", tmp_path / "missing.schema.json")
    assert GEN.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "configuration.md differs" in err and "missing.schema.json differs" in err
    assert stale.read_text() == "# hand-edited\n"  # --check writes nothing


@pytest.mark.parametrize("root", [PlatformConfig, CustomerConfig], ids=lambda m: m.__name__)
def test_every_config_field_has_a_description(root: type[BaseModel]) -> None:
    found = list(models(root))
    assert len(found) > 4
    missing = [f"{m.__name__}.{name}" for m in found for name, f in m.model_fields.items() if not f.description]
    assert missing == []


@pytest.mark.parametrize("root", [PlatformConfig, CustomerConfig], ids=lambda m: m.__name__)
def test_the_reference_has_a_row_for_every_key(root: type[BaseModel]) -> None:
    page = (ROOT / "docs" / "reference" / "configuration.md").read_text(encoding="utf-8")
    for model in models(root):
        for name, field in model.model_fields.items():
            key = field.alias or name
            assert f".{key}` |" in page, f"{model.__name__}.{name}: no row for key {key}"
            assert " ".join(str(field.description).split()) in page, f"{model.__name__}.{name}: description missing"


@pytest.mark.parametrize("stack", STACKS, ids=lambda p: p.name)
def test_the_example_stacks_validate_against_the_schema(stack: Path) -> None:
    jsonschema.validate(strict_yaml.load_file(stack), SCHEMA)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return mutate


def _drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
    return mutate


C, P = "mssp-sentinel:customer", "mssp-sentinel:platform"
# Mistakes of each kind the schema should catch as the models do: unknown keys at every depth, a wrong
# type, a value outside an enum, a missing required key, a malformed GUID, a bound.
MISTAKES: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "unknown customer key": ("contoso", _set(("config", C, "tenantID"), "x")),
    "unknown nested key": ("contoso", _set(("config", C, "forwarding", "metric"), True)),
    "unknown key in a list item": ("contoso", _set(("config", C, "subscriptions", 0, "name"), "x")),
    "enum": ("contoso", _set(("config", C, "accessModel"), "delegated")),
    "type": ("contoso", _set(("config", C, "forwarding", "metrics"), "yes please")),
    "required": ("contoso", _drop(("config", C, "tenantId"))),
    "guid": ("contoso", _set(("config", C, "tenantId"), "not-a-guid")),
    "empty list": ("contoso", _set(("config", C, "subscriptions"), [])),
    "platform unknown key": ("mssp", _set(("config", P, "workspaceId"), "x")),
    "platform bound": ("mssp", _set(("config", P, "identity", "clientSecret"), {"lifetimeHours": 1})),
    "platform region": ("mssp", _set(("config", P, "location"), "West Europe")),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_the_schema_refuses_what_the_models_refuse(name: str) -> None:
    stack, mutate = MISTAKES[name]
    doc = copy.deepcopy(strict_yaml.load_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml"))
    mutate(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)
    key, model = (C, CustomerConfig) if C in doc["config"] else (P, PlatformConfig)
    with pytest.raises(ValidationError):
        model.model_validate(doc["config"][key])


def test_the_schema_refuses_an_unknown_project_key_and_allows_other_namespaces() -> None:
    doc = strict_yaml.load_file(ROOT / "stacks" / "Pulumi.fabrikam.yaml")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**doc, "config": {**doc["config"], "mssp-sentinel:custommer": {}}}, SCHEMA)
    jsonschema.validate({**doc, "config": {**doc["config"], "azure-native:location": "westeurope"}}, SCHEMA)
