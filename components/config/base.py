"""Shared pieces of the configuration models: strict camelCase models, typed scalars, error paths."""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from components.facts import naming

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


STR_MAX = 4096


class Model(BaseModel):
    """Frozen, camelCase-keyed, and rejecting unknown keys (typos are errors, not silently ignored)."""

    # str_max_length: no config string is anywhere near this long (Azure's names stop at 260 characters, URLs
    # and resource ids at a few hundred); a pasted blob is refused, not carried into plans, names and comments.
    # use_attribute_docstrings: the docstring under each field is its description, which the configuration
    # reference (docs/reference/configuration.md) and the stack files' JSON Schema are generated from.
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              str_max_length=STR_MAX, use_attribute_docstrings=True)


def _guid(value: str) -> str:
    if not GUID_RE.match(value.strip()):
        raise ValueError(f"'{value}' is not a GUID; allowed: 8-4-4-4-12 hexadecimal digits (e.g. 2b7c9d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e)")
    return value.strip().lower()


def _region(value: str) -> str:
    # ARM region names as the API spells them: lower-case letters and digits ("westeurope").
    # Bounded: ARM's region names are short (the longest, e.g. "germanywestcentral", are under 25 characters).
    if not re.fullmatch(r"[a-z][a-z0-9]{1,39}", value):
        raise ValueError(f"'{value}' is not an Azure region name; allowed: the ARM name, lower-case letters and digits, no spaces "
                         "(e.g. westeurope)")
    return value


def _name(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,38}[a-z0-9]", value):
        raise ValueError(f"'{value}' must be 2-40 lower-case letters, digits or dashes, starting with a letter; "
                         "allowed: e.g. contoso or fabrikam-eu")
    return value


def _schema(pattern: str | None = None, *examples: str) -> Any:
    """What the stack files' JSON Schema says of a typed scalar (a pattern, examples); validation is the
    AfterValidator's, whose errors say what is allowed, so this changes the schema only."""
    return Field(json_schema_extra={k: v for k, v in (("pattern", pattern), ("examples", list(examples))) if v})


Guid = Annotated[str, AfterValidator(_guid), _schema(GUID_RE.pattern, "2b7c9d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e")]


def _object_id(value: str) -> str:
    from components.facts.apps import app_id_problem

    problem = app_id_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# A principal's object id in one tenant: a GUID that is not a well-known application id (components.facts.apps).
ObjectId = Annotated[str, AfterValidator(_guid), AfterValidator(_object_id),
                     _schema(GUID_RE.pattern, "2b7c9d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e")]
# Names Azure checks by its naming rules (components.facts.naming.NAME_RULES, with their source).
ResourceGroupName = Annotated[str, AfterValidator(naming.check_name("resourceGroup")), _schema(None, "rg-mssp-sentinel")]
WorkspaceName = Annotated[str, AfterValidator(naming.check_name("workspace")), _schema(None, "law-mssp-sentinel")]
# Display names are shown in portals and plans, not parsed by Azure; the bound is the project's own, so a
# pasted blob is refused instead of echoed into every plan and PR comment.
DISPLAY_NAME_MAX = 256
DisplayName = Annotated[str, Field(min_length=1, max_length=DISPLAY_NAME_MAX)]
# A file path in the project (inventory, import file): bounded well under Linux's PATH_MAX (4096 bytes), so
# an absurd value is refused here instead of failing inside the file system ("File name too long").
ProjectPath = Annotated[str, Field(min_length=1, max_length=1024)]
Region = Annotated[str, AfterValidator(_region), _schema(r"^[a-z][a-z0-9]{1,39}$", "westeurope")]
Slug = Annotated[str, AfterValidator(_name), _schema(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$", "contoso")]


# Echoed user text longer than this is cut (a 100,000-character value must not flood the terminal or a PR
# comment); a legitimate ARM resource id stays whole.
_ECHO_MAX = 200
# A quoted value opens after a non-word character and closes before one: the text between the closing
# quote of one value and the opening quote of the next ("'SOC' (Reader): ... set x: '<why>'") is no value.
_LONG_QUOTED = re.compile(rf"(?<![\w'])'(?=\S)([^'\n]{{{_ECHO_MAX + 1},}})'(?!\w)")
_LONG_RUN = re.compile(rf"[^.\[\]\s;,']{{{_ECHO_MAX + 1},}}")


def _cut(text: str) -> str:
    return f"{text[:80]}... ({len(text)} characters)"


def clip_issue(path: str, message: str) -> tuple[str, str]:
    """An issue with every huge echoed value (a key in the path, a quoted value in the message) cut short."""
    path = _LONG_RUN.sub(lambda m: _cut(m[0]), path)
    message = _LONG_QUOTED.sub(lambda m: f"'{_cut(m[1])}'", message)
    message = _LONG_RUN.sub(lambda m: _cut(m[0]), message)
    return path, message


class ConfigError(Exception):
    """Invalid stack configuration: every problem with the path of its key (and the stack file, once known)."""

    def __init__(self, issues: list[tuple[str, str]], file: str | None = None):
        self.issues = sorted({clip_issue(p, m) for p, m in issues})
        self.file = clip_issue(file, "")[0] if file else None
        super().__init__("\n".join(f"{p}: {m}" for p, m in self.issues))


def format_loc(prefix: str, loc: tuple[Any, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _strip(annotation: Any) -> Any:
    """An annotation without Annotated[...] and Optional[...] around it (the model, list or dict inside)."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            inner = [a for a in get_args(annotation) if a is not type(None)]
            structured = [a for a in inner if (isinstance(a, type) and issubclass(a, BaseModel))
                          or get_origin(_strip(a)) in (list, dict)]
            if not structured:
                return None
            annotation = structured[0]
        else:
            return annotation


def _unwrap(annotation: Any, key: Any) -> Any:
    """The annotation one step down a loc path (through Optional, list, dict, Annotated)."""
    current = _strip(annotation)
    origin = get_origin(current)
    if origin is list and isinstance(key, int):
        return get_args(current)[0]
    if origin is dict:
        return get_args(current)[1]
    if isinstance(current, type) and issubclass(current, BaseModel):
        for name, field in current.model_fields.items():
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
    current = _strip(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(f.alias or n for n, f in current.model_fields.items())
    return []


def _allowed_hint(kind: str, ctx: dict[str, Any]) -> str:
    """What is allowed, for pydantic's constraint errors (their own text says only what is wrong)."""
    if kind == "string_pattern_mismatch":
        return f"; allowed: text matching {ctx.get('pattern')}"
    if kind == "literal_error":
        return f"; allowed: {ctx.get('expected')}"
    if kind in ("string_too_long", "too_long"):
        return f"; allowed: at most {ctx.get('max_length')}"
    if kind in ("string_too_short", "too_short"):
        return f"; allowed: at least {ctx.get('min_length')}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}
        return f"; allowed: {bounds[kind]} {next(iter(ctx.values()), '?')}"
    return ""


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
        else:
            msg += _allowed_hint(err["type"], err.get("ctx") or {})
        issues.append((format_loc(prefix, loc), msg))
    return issues


