"""Generate the configuration reference and the stack files' JSON Schema from the config models.

    python scripts/config_reference.py           # write docs/reference/configuration.md and docs/stack-file.schema.json
    python scripts/config_reference.py --check   # exit 1, naming the file, when either differs from the models

Both come from one JSON Schema that pydantic derives from the models in components/config/ (their field
docstrings are the descriptions), so the page, the schema and the validation cannot disagree on a key.
tests/scripts/test_config_reference.py runs --check's comparison and validates the example stacks
against the schema.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic.json_schema import models_json_schema  # noqa: E402

from components.config import KEYS, PROJECT, SECRET_KEYS  # noqa: E402
from components.config.customer import CustomerConfig  # noqa: E402
from components.config.platform import PlatformConfig  # noqa: E402

REFERENCE = ROOT / "docs" / "reference" / "configuration.md"
SCHEMA = ROOT / "docs" / "stack-file.schema.json"
ROOTS: dict[str, Any] = {"platform": PlatformConfig, "customer": CustomerConfig}
SECURE = {"type": "object", "properties": {"secure": {"type": "string"}}, "required": ["secure"],
          "additionalProperties": False, "description": "A Pulumi secret (`pulumi config set --secret`): ciphertext only."}


def _tidy(node: Any) -> Any:
    """Without pydantic's generated titles ("Tenantid": they say nothing the key does not), and with each
    description on one line (field docstrings wrap)."""
    if isinstance(node, dict):
        return {k: " ".join(v.split()) if k == "description" and isinstance(v, str) else _tidy(v)
                for k, v in node.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    return node


def model_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """(root key -> {"$ref": ...}, $defs) for the platform and customer models, with shared definitions."""
    refs, top = models_json_schema([(model, "validation") for model in ROOTS.values()], by_alias=True,
                                   ref_template="#/$defs/{model}")
    roots = {key: refs[(model, "validation")] for key, model in ROOTS.items()}
    return roots, _tidy(top["$defs"])


def stack_file_schema() -> dict[str, Any]:
    """The JSON Schema of a stack file (stacks/Pulumi.<stack>.yaml) as the loader reads it."""
    roots, defs = model_schemas()
    kind = {"enum": list(ROOTS), "description": "Which kind of stack this is: the MSSP platform or one customer."}
    described = {
        "kind": kind,
        "platform": {**roots["platform"], "description": "The platform stack's settings (with kind: platform)."},
        "customer": {**roots["customer"], "description": "A customer stack's settings (with kind: customer)."},
        **{key: {**SECURE, "description": f"{what}, as a Pulumi secret; platform stack only."}
           for key, what in SECRET_KEYS.items()},
    }
    assert set(described) == set(KEYS), "a project config key has no schema here"
    config: dict[str, Any] = {}
    for key, schema in described.items():
        config[f"{PROJECT}:{key}"] = schema
        config[key] = schema  # a key without a namespace belongs to the project (pulumi config.ParseKey)
    others = "|".join(KEYS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "mssp-sentinel stack file",
        "description": "A Pulumi stack file of mssp-sentinel (stacks/Pulumi.<stack>.yaml). Generated from the config "
                       "models by scripts/config_reference.py; reference: docs/reference/configuration.md.",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": config,
                # Other keys of the project's namespace are refused; other namespaces belong to providers.
                "patternProperties": {f"^{PROJECT}:(?!({others})$)": False},
                "required": [f"{PROJECT}:kind"],
            },
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
        },
        "required": ["config"],
        "$defs": defs,
    }


# --- the Markdown page -------------------------------------------------------------------------------


def _deref(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = {**defs[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _without_null(node: dict[str, Any]) -> dict[str, Any]:
    """An Optional's schema without its null branch (anyOf [X, null] -> X, keeping the outer keys)."""
    options = [o for o in node.get("anyOf", []) if o != {"type": "null"}]
    if "anyOf" in node and len(options) == 1:
        return {**options[0], **{k: v for k, v in node.items() if k != "anyOf"}}
    return node


def type_text(node: dict[str, Any], defs: dict[str, Any]) -> str:
    node = _without_null(node)
    if "anyOf" in node:
        return " or ".join(type_text(o, defs) for o in node["anyOf"] if o != {"type": "null"})
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    if "$ref" in node:
        return "object"
    kind = node.get("type")
    if kind == "array":
        return f"list of {type_text(node.get('items', {}), defs)}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"map of {type_text(node['additionalProperties'], defs)}"
    return str(kind or "any")


def default_text(node: dict[str, Any]) -> str:
    if "default" not in node:
        return "required"
    value = node["default"]
    if value is None:
        return "not set"
    if isinstance(value, dict) and value:
        return "see below"
    return f"`{json.dumps(value)}`"


def _children(node: dict[str, Any]) -> tuple[str, str] | None:
    """(path suffix, model name) of what a key nests: an object, a list of objects, a map of objects."""
    node = _without_null(node)
    for suffix, inner in (("", node), ("[]", node.get("items") or {}), (".<type>", node.get("additionalProperties"))):
        if isinstance(inner, dict) and "$ref" in inner:
            return suffix, inner["$ref"].rsplit("/", 1)[-1]
    return None


def rows(obj: dict[str, Any], defs: dict[str, Any], prefix: str, seen: dict[str, str]) -> list[str]:
    """One table row per key, depth first; a model met before at another path is referred to, not repeated."""
    out = []
    required = set(obj.get("required", []))
    for key, prop in obj.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        prop = {**prop, **({} if key in required or "default" in prop else {"default": None})}
        nested = _children(prop)
        description = prop.get("description", "")
        if nested and nested[1] in seen:
            description += f" Same keys as `{seen[nested[1]]}`."
        out.append(f"| `{path}` | {type_text(prop, defs)} | {default_text(prop)} | {description} |")
        if nested and nested[1] not in seen:
            suffix, model = nested
            seen[model] = path + suffix
            out.extend(rows(defs[model], defs, path + suffix, seen))
    return out


PREAMBLE = """# Configuration reference

<!-- Generated by scripts/config_reference.py from the config models (components/config/); do not edit.
     tests/scripts/test_config_reference.py fails when this page differs from what the models generate. -->

A stack file is `stacks/Pulumi.<stack>.yaml`. Its `config:` holds `mssp-sentinel:kind` (`platform` or
`customer`) and the settings of that kind under `mssp-sentinel:platform` or `mssp-sentinel:customer`.
All keys are camelCase; an unknown key is an error that lists the allowed ones, and every error names the
file, the key path, what is wrong and what is allowed, before anything is planned.

Editors can check stack files as they are typed against the JSON Schema
[`stack-file.schema.json`](../stack-file.schema.json), generated from the same models. With the YAML
language server (VS Code's YAML extension), put this first line in a stack file:

```yaml
# yaml-language-server: $schema=../docs/stack-file.schema.json
```

Stack files and inventories are read as the Pulumi CLI reads stack files (YAML 1.2, one reader:
`components/facts/strict_yaml.py`): `on`, `yes`, `off`, `no` are text, not booleans; a key written twice
in one mapping, or a key YAML reads as a boolean, number, null or date (`true:`, `2024:`, `null:`), is an
error naming the file, line and key path. A config key without a namespace belongs to the project
(`kind:` is `mssp-sentinel:kind`), as the CLI reads it. Names Azure checks are checked here first, by
Azure's naming rules (`components/facts/naming.py`, with the source): resource groups 1-90 characters,
Log Analytics workspaces 4-63, Logic App workflows 1-80, and the name in every inventoried resource id by
its type's rule (Key Vaults 3-24, storage accounts 3-24 letters and digits, ...; compared
case-insensitively, as ARM compares names).

Beyond each key's own rules the loader checks the stack as a whole: no two customer stacks share a
tenant, subscription, inventoried resource or workflow name; a customer's `name` equals its file's name;
the Lighthouse authorizations follow Microsoft's recommended practices ([access
models](../design/access-models.md), [identities](../design/identities.md)).
"""

SECRETS = """## Secret keys

| key | what |
|---|---|
""" + "".join(f"| `{PROJECT}:{key}` | {what}: only as a Pulumi secret (`pulumi config set --secret {key} <value>`), "
              "only in the platform stack |\n" for key, what in SECRET_KEYS.items())


def reference_markdown() -> str:
    roots, defs = model_schemas()
    header = "| key | type | default | description |\n|---|---|---|---|\n"
    sections = [PREAMBLE]
    titles = {"platform": "Platform stack (`mssp-sentinel:kind: platform`)",
              "customer": "Customer stack (`mssp-sentinel:kind: customer`)"}
    for key, ref in roots.items():
        model = _deref(ref, defs)
        body = "\n".join(rows(model, defs, key, {}))
        sections.append(f"## {titles[key]}\n\nUnder `mssp-sentinel:{key}`:\n\n{header}{body}\n")
    sections.append(SECRETS)
    return "\n".join(sections)


def schema_text() -> str:
    return json.dumps(stack_file_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def outputs() -> dict[Path, str]:
    return {REFERENCE: reference_markdown(), SCHEMA: schema_text()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed file differs; write nothing")
    args = parser.parse_args(argv)
    stale = [path for path, text in outputs().items()
             if not path.is_file() or path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} differs from the config models: run python scripts/config_reference.py",
                  file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
