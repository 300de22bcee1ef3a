"""The Pulumi CLI's own config rules, applied before our models see a stack: what `pulumi preview` refuses
before the program runs, the offline plan refuses too, with the same meaning.

Read from pulumi/pulumi (v3.274):
- Project: `sdk/go/common/workspace/project.go` (`Project.Validate`, `ValidateConfigValue`): a config
  declaration has an optional `type` (string, integer, boolean, array with `items`, object), `default`
  or `value` (not both), `secret`; a default must have the declared type; keys of another namespace
  take only a `value`.
- Stack files: `sdk/go/common/resource/config/key.go` (`ParseKey`) and the stack YAML (yaml.v3, YAML
  1.2): a key without a namespace belongs to the project; `ns:name` and the legacy `ns:config:name`
  are keys, anything else (`a:b:c`, `2024`) is refused; duplicate mapping keys are refused.
- `pkg/workspace/config.go` (`mergeConfig`, `ValidateStackConfigAndApplyProjectConfig`): a key of the
  project's namespace declared with neither `default` nor `value` must be set in every stack; missing
  keys get their default; explicitly typed keys are type-checked; `secret: true` keys must be secure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config.base import ConfigError
from components.facts import config_keys, documents, strict_yaml

TYPES = ("string", "integer", "boolean", "array", "object")


@dataclass(frozen=True)
class Declaration:
    """One entry of Pulumi.yaml's `config:` block."""

    key: str  # full key, "<namespace>:<name>"
    type: str | None
    items: Mapping[str, Any] | None
    default: Any
    value: Any
    secret: bool
    description: str = ""

    @property
    def required(self) -> bool:
        return self.default is None and self.value is None


@dataclass(frozen=True)
class Project:
    name: str
    declarations: tuple[Declaration, ...]


def full_key(project: str, key: str) -> str:
    """A config key as the CLI keys it: no namespace means the project's (config.go `parseConfigKey`)."""
    return key if ":" in key else f"{project}:{key}"


def stack_key(project: str, raw: Any, where: str) -> str:
    """A stack file's config key, parsed as config.ParseKey does; a clear error where the CLI fails."""
    if not isinstance(raw, str):
        raise ConfigError([(where, f"{raw!r} is not a configuration key: YAML reads it as "
                            f"{type(raw).__name__}; keys are `<namespace>:<name>` strings "
                            f"(e.g. {project}:kind); quote it if it is meant as text")])
    key = config_keys.parse_key(project, raw)
    if key is None:
        raise ConfigError([(where, f"could not parse {raw!r} as a configuration key: keys are `<namespace>:<name>` "
                            f"(e.g. {project}:customer); nested settings go inside the value, not the key")])
    return key


def type_name(decl: Declaration) -> str:
    """The type as the CLI names it in errors (`InferFullTypeName`): array<string>, object, ..."""
    if decl.type == "array" and decl.items:
        return f"array<{type_name(Declaration(decl.key, decl.items.get('type'), decl.items.get('items'), None, None, False))}>"
    return str(decl.type)


def value_has_type(type_: str, items: Mapping[str, Any] | None, value: Any) -> bool:
    """`ValidateConfigValue`: the value as the CLI holds it (scalars as text, objects decoded from JSON)."""
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return math.isfinite(value) and value == math.trunc(value)
        if isinstance(value, str):
            try:
                int(value, 10)
            except ValueError:
                return False
            return value.strip() == value and value != ""
        return False
    if type_ == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_ == "object":
        return isinstance(value, dict)
    if type_ == "array" and isinstance(value, list) and items is not None:
        return all(value_has_type(str(items.get("type")), items.get("items"), v) for v in value)
    return False


def _cli_view(value: Any) -> Any:
    """A stack value the way the CLI type-checks it: top-level scalars are text, structures stay structures.

    A stack YAML scalar becomes a config.Value string (`5`, `true` and `1.5` reach the program as text);
    a mapping or sequence becomes an object value, decoded back from JSON before the check.
    """
    if isinstance(value, (dict, list)):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# libyaml's parser when PyYAML has it (a plan reads Pulumi.yaml several times); the same safe constructor
# and resolver either way, as components.facts.strict_yaml uses.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _safe_load(text: str) -> Any:
    """yaml.safe_load, parsed by libyaml; a document it refuses is parsed again by PyYAML's own parser,
    so the error (and its message) is the one yaml.safe_load gives."""
    try:
        return yaml.load(text, Loader=_FAST_LOADER)  # a safe loader (its constructor is SafeConstructor)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def load_project(project_dir: Path) -> Project:
    """Pulumi.yaml's name and config declarations, refused where `Project.Validate` refuses them."""
    path = project_dir / "Pulumi.yaml"
    where = "Pulumi.yaml"
    try:
        text = documents.read_text(path, documents.MAX_YAML_BYTES, "project file")
        strict_yaml.check_limits(text, where)
        doc = _safe_load(text)
    except FileNotFoundError:
        raise ConfigError([(where, f"no Pulumi.yaml in {project_dir}")]) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, documents.DocumentError) as exc:
        raise ConfigError([(where, f"cannot read the project file: {exc}")]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str) or not doc["name"]:
        raise ConfigError([(f"{where}:name", "the project file needs a 'name' (here: mssp-sentinel)")])
    name: str = doc["name"]
    block = doc.get("config") or {}
    if not isinstance(block, dict):
        raise ConfigError([(f"{where}:config", "expected a mapping of config declarations")])
    issues: list[tuple[str, str]] = []
    decls: list[Declaration] = []
    for raw_key, spec in block.items():
        at = f"{where}:config.{raw_key}"
        if not isinstance(spec, dict):
            # A bare value is shorthand for `value:` (project.go `ProjectConfigType` unmarshalling).
            spec = {"value": spec}
        key = full_key(name, str(raw_key))
        own = key.startswith(f"{name}:")
        type_ = spec.get("type")
        if "default" in spec and "value" in spec:
            issues.append((at, "cannot have both a 'default' and 'value' attribute"))
        if type_ is not None and type_ not in TYPES:
            issues.append((at, f"unknown type {type_!r}; allowed: {', '.join(TYPES)}"))
        elif own:
            if type_ == "array" and not spec.get("items"):
                issues.append((at, "declares an array but does not specify the underlying type via 'items'"))
            elif type_ is not None and spec.get("default") is not None and not value_has_type(
                    type_, spec.get("items"), spec["default"]):
                issues.append((at, f"the default value is not of the expected type '{type_}'"))
        else:
            if type_ is not None:
                issues.append((at, "is not namespaced by the project and should not define a type"))
            if "default" in spec:
                issues.append((at, "is not namespaced by the project: use 'value', not 'default'"))
            elif "value" not in spec:
                issues.append((at, "is namespaced by another project and must provide an attribute 'value'"))
        decls.append(Declaration(key=key, type=type_, items=spec.get("items"), default=spec.get("default"),
                                 value=spec.get("value"), secret=bool(spec.get("secret")),
                                 description=str(spec.get("description") or "")))
    if issues:
        raise ConfigError(issues)
    return Project(name=name, declarations=tuple(decls))


def apply_project_config(
    project: Project,
    values: Mapping[str, Any],
    secret_keys: set[str],
    *,
    stack: str,
    where: str,
) -> dict[str, Any]:
    """The stack's values with the project's defaults applied, or the CLI's refusal as a ConfigError.

    `values` are keyed `<namespace>:<name>` (see stack_key); engine-supplied values (JSON text for
    structures) are accepted too, so the program under the real CLI applies the same rules to what the
    CLI already merged.
    """
    merged = dict(values)
    missing: list[Declaration] = []
    issues: list[tuple[str, str]] = []
    own = f"{project.name}:"
    for decl in sorted(project.declarations, key=lambda d: d.key):
        short = decl.key.removeprefix(own)
        if decl.key not in merged:
            if decl.value is not None or decl.default is not None:
                merged[decl.key] = decl.value if decl.value is not None else decl.default
            elif decl.key.startswith(own):
                missing.append(decl)
            continue
        if decl.secret and decl.key not in secret_keys:
            issues.append((f"{where}: {decl.key}", f"must be encrypted as it's secret: "
                           f"`pulumi config set --secret {short} <value>` -s {stack}"))
        if decl.type is None or decl.key in secret_keys:
            # The CLI checks a secret's decrypted text; offline it cannot be decrypted (the CLI checks it).
            continue
        value = merged[decl.key]
        if isinstance(value, str) and decl.type in ("object", "array") and value[:1] in "{[":
            try:
                value = json.loads(value)
            except (json.JSONDecodeError, RecursionError):
                pass
        if not value_has_type(decl.type, decl.items, _cli_view(value)):
            issues.append((f"{where}: {decl.key}", f"must be of type '{type_name(decl)}' (Pulumi.yaml declares it "
                           f"so; found {_describe(value)})"))
    if missing:
        names = [d.key.removeprefix(own) for d in missing]
        cli = (f"Stack '{stack}' is missing configuration value{'s' if len(names) > 1 else ''} "
               + ", ".join(f"'{n}'" for n in names))
        for decl in missing:
            hint = f" (allowed: {decl.description})" if decl.description else ""
            issues.append((f"{where}: {decl.key}", f"missing: Pulumi.yaml declares it without a default, so every "
                           f"stack must set it under `config:`{hint}; pulumi preview refuses the stack: {cli}"))
    if issues:
        raise ConfigError(issues)
    return merged


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
