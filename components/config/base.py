"""Shared pieces of the configuration models: strict camelCase models, typed scalars, error paths."""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Model(BaseModel):
    """Frozen, camelCase-keyed, and rejecting unknown keys (typos are errors, not silently ignored)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


def _guid(value: str) -> str:
    if not GUID_RE.match(value.strip()):
        raise ValueError(f"'{value}' is not a GUID (expected 8-4-4-4-12 hexadecimal digits)")
    return value.strip().lower()


def _region(value: str) -> str:
    # ARM region names as the API spells them: lower-case letters and digits ("westeurope").
    if not re.fullmatch(r"[a-z][a-z0-9]+", value):
        raise ValueError(f"'{value}' is not an Azure region name (lower-case, no spaces, e.g. westeurope)")
    return value


def _name(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,38}[a-z0-9]", value):
        raise ValueError(f"'{value}' must be 2-40 lower-case letters, digits or dashes, starting with a letter")
    return value


Guid = Annotated[str, AfterValidator(_guid)]
Region = Annotated[str, AfterValidator(_region)]
Slug = Annotated[str, AfterValidator(_name)]


class ConfigError(Exception):
    """Invalid stack configuration: every problem with the path of its key."""

    def __init__(self, issues: list[tuple[str, str]]):
        self.issues = sorted(set(issues))
        super().__init__("\n".join(f"{p}: {m}" for p, m in self.issues))


def format_loc(prefix: str, loc: tuple[Any, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _unwrap(annotation: Any, key: Any) -> Any:
    """The annotation one step down a loc path (through Optional, list, dict, Annotated)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0], key)
    if origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            if arg is type(None):
                continue
            if (isinstance(arg, type) and issubclass(arg, BaseModel)) or get_origin(arg) in (list, dict):
                return _unwrap(arg, key)
        return None
    if origin is list and isinstance(key, int):
        return get_args(annotation)[0]
    if origin is dict:
        return get_args(annotation)[1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if key in (field.alias, name):
                return field.annotation
    return None


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for key in loc[:-1]:
        nxt = _unwrap(current, key)
        if nxt is None:
            return []
        current = nxt
    while get_origin(current) in (Union, types.UnionType, Annotated):
        current = _unwrap(current, None)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(f.alias or n for n, f in current.model_fields.items())
    return []


def issues_from(exc: ValidationError, model: type[BaseModel], prefix: str) -> list[tuple[str, str]]:
    """Turn pydantic errors into (key path, message) pairs a user can act on."""
    issues = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            msg = "unknown key" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        issues.append((format_loc(prefix, loc), msg))
    return issues


