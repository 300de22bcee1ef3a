"""The project's one YAML reader (stack files, inventories), reading YAML as the Pulumi CLI reads stack files.

The CLI reads stack files with Go's yaml.v3 (YAML 1.2 core schema), PyYAML implements YAML 1.1; where they
differ this reader follows the CLI:
- `on`, `yes`, `off`, `no` are text, not booleans (only true/false are); `1:20` is text, not a base-60
  number; so `logs: on` or a key `on:` means what the CLI (and the program under the engine) sees.
- PyYAML keeps the last of two equal keys in a mapping ("last value wins"), so a stack file with two
  `displayName:` lines would plan with whichever came last; yaml.v3 refuses such a file ("mapping key
  already defined"). Refused here too.
- A key YAML reads as a boolean, number, null or date (`true:`, `2024:`) is no config key: refused.
Problems are reported with the line and the key path, before any value is constructed.

Hostile input (an alias bomb, a recursive alias, thousands of nesting levels, a huge file, git conflict
markers) is refused with a DocumentError before anything is built: the limits are in
components.facts.documents (docs/input-limits.md).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import yaml

from components.facts import documents
from components.facts.documents import DocumentError

# libyaml's parser when PyYAML was built with it (faster on large inventories,
# docs/benchmarks.md "Measurements behind the code"); the same safe constructor and resolver either way.
_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"


class _Loader(_BASE_LOADER):  # type: ignore[valid-type, misc]
    """The safe loader with YAML 1.2 core-schema booleans and integers (the resolvers are Python-side,
    so the C parser keeps them)."""


# YAML 1.2 core schema (yaml.org/spec/1.2.2 §10.3.2), as yaml.v3 resolves plain scalars: booleans are
# true/false only; integers decimal, 0o octal, 0x hex (0b as yaml.v3 also accepts), no base 60.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _INT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(
    _INT_TAG, re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+)$"), list("-+0123456789"))
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# How the types YAML resolves a plain key to are named in messages.
_KINDS = {"bool": "a boolean", "int": "a number", "float": "a number", "null": "null", "timestamp": "a date",
          "seq": "a list", "map": "a mapping"}
# Longest piece of user text echoed back in an error message.
SHOWN_MAX = 60


class YamlKeyError(ValueError):
    """Duplicate or non-string keys: (line, key path, message) triples, all of them."""

    def __init__(self, problems: list[tuple[int, str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"line {line}: {path}: {msg}" for line, path, msg in problems))


def shown(value: object, limit: int = SHOWN_MAX) -> str:
    """A user value as an error message echoes it: cut to `limit` characters, saying how long it was."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def _key_text(node: yaml.Node) -> str:
    return shown(node.value) if isinstance(node, yaml.ScalarNode) else f"<{node.id}>"


def _check(node: yaml.Node, path: str, problems: list[tuple[int, str, str]], seen: set[int]) -> None:
    # An alias (*x) is the very node its anchor names: check each node once, which also ends recursive
    # aliases and keeps an alias bomb ("billion laughs") linear.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check(item, f"{path}[{i}]", problems, seen)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    first_line: dict[str, int] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if key_node.tag == _MERGE_TAG:
            _check(value_node, path, problems, seen)
            continue
        key = _key_text(key_node)
        where = f"{path}.{key}" if path else key
        if key_node.tag != _STR_TAG or not isinstance(key_node, yaml.ScalarNode):
            kind = _KINDS.get(key_node.tag.rsplit(":", 1)[-1], key_node.tag.rsplit(":", 1)[-1])
            problems.append((line, where, f"key '{key}' is read by YAML as {kind}, not a string; "
                                          f"allowed: string keys (quote it: \"{key}\":)"))
            continue
        if key_node.value in first_line:
            problems.append((line, where, f"duplicate key '{key}' (first at line {first_line[key_node.value]}); "
                                          "allowed: each key once per mapping"))
            continue
        first_line[key_node.value] = line
        _check(value_node, where, problems, seen)


def check_limits(text: str, name: str) -> None:
    """Walk the parser's events (libyaml's parser is a state machine: no recursion) and refuse the document
    before it is composed when it nests too deep, aliases itself, or its aliases expand too far.

    Each collection's size is counted with its aliases expanded (an anchor's size is known when its node
    ends), so an alias bomb is refused at the first alias that would go over the limit."""
    stream = io.StringIO(text)
    stream.name = name  # type: ignore[misc]  # YAML's own error marks name the file
    loader = _Loader(stream)
    open_nodes: list[list[Any]] = []  # [anchor, expanded size so far] of each collection being read
    sizes: dict[str, int] = {}
    total = alias_nodes = 0
    try:
        while (event := loader.get_event()) is not None:
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.CollectionStartEvent):
                open_nodes.append([event.anchor, 1])
                if len(open_nodes) > documents.MAX_DEPTH:
                    raise DocumentError(name, f"nested more than {documents.MAX_DEPTH} levels deep; allowed: at "
                                              f"most {documents.MAX_DEPTH} levels of mappings and lists "
                                              "(docs/input-limits.md)", line)
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, size = open_nodes.pop()
            elif isinstance(event, yaml.ScalarEvent):
                anchor, size = event.anchor, 1
            elif isinstance(event, yaml.AliasEvent):
                anchor = None
                if any(open_anchor == event.anchor for open_anchor, _ in open_nodes):
                    raise DocumentError(name, f"recursive alias *{shown(event.anchor)}: it refers to a node that "
                                              "contains it; allowed: aliases of complete nodes only "
                                              "(docs/input-limits.md)", line)
                size = sizes.get(event.anchor, 1)  # an undefined alias: the composer names it
                alias_nodes += size
                if alias_nodes > documents.MAX_ALIAS_NODES:
                    raise DocumentError(name, f"YAML aliases expand to more than {documents.MAX_ALIAS_NODES:,} "
                                              "nodes (an alias bomb?); allowed: at most "
                                              f"{documents.MAX_ALIAS_NODES:,} nodes from aliases "
                                              "(docs/input-limits.md)", line)
            else:
                continue
            total += 1 if not isinstance(event, yaml.CollectionEndEvent) else 0
            if anchor is not None:
                sizes[anchor] = size
            if open_nodes:
                open_nodes[-1][1] += size
            if total + alias_nodes > documents.MAX_NODES:
                raise DocumentError(name, f"more than {documents.MAX_NODES:,} values; allowed: at most "
                                          f"{documents.MAX_NODES:,} (docs/input-limits.md)", line)
    finally:
        loader.dispose()


def loads(text: str, name: str | None = None) -> Any:
    """Parse one YAML document; raise DocumentError for input beyond the limits (components.facts.documents),
    YamlKeyError for duplicate or non-string keys, yaml.YAMLError otherwise.

    `name` (a file's path) is what YAML's own error marks show instead of "<unicode string>"."""
    label = name if name is not None else "the YAML document"
    if len(text) > documents.MAX_YAML_BYTES:
        raise DocumentError(label, f"the document is {len(text):,} characters; allowed: at most "
                                   f"{documents.MAX_YAML_BYTES // (1024 * 1024)} MiB (docs/input-limits.md)")
    documents.check_conflict_markers(text, label)
    check_limits(text, label)
    stream = io.StringIO(text)
    if name is not None:
        stream.name = name  # type: ignore[misc]  # read by PyYAML's reader for its error marks
    loader = _Loader(stream)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problems: list[tuple[int, str, str]] = []
        _check(node, "", problems, set())
        if problems:
            raise YamlKeyError(problems)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_file(path: Path, what: str = "YAML file") -> Any:
    """Read and parse a YAML file (UTF-8, within documents' limits). Raises OSError, DocumentError,
    yaml.YAMLError or YamlKeyError."""
    return loads(documents.read_text(path, documents.MAX_YAML_BYTES, what), documents.describe(path))
