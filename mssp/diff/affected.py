"""Which stacks a change can affect, and why: the pure rules behind `mssp diff` on git refs.

A stack's offline plan reads the program's code (`__main__.py`, `components/`, `mssp/`, `policies/`,
`Pulumi.yaml`, the requirements), its own stack file and inventory, and for a customer the platform
stack file it references through `customer.platformStack` (components/config: the last segment names
`stacks/Pulumi.<name>.yaml`). So:

- documentation, tests and tooling (`*.md`, `README*`, `mkdocs.yml`, `tests/`, `testing/`, `docs/`, `scripts/`, `tools/`,
  `.github/`) affect none;
- code, catalog, roles, policies, requirements, `Pulumi.yaml`, `__main__.py`, any `.py` affect every stack;
- a stack file, its inventory or its import file affects that stack; the platform stack file affects the
  platform and every customer that references it;
- anything else is unknown and, to be safe, affects every stack.

Code classification wins over every data rule, and a path is data only by its own text
(components.facts.data_paths: `stacks/Pulumi.<stack>.yaml`, a YAML/JSON file under `stacks/inventories/`,
a JSON file under `stacks/imports/`, written exactly so), never because a stack file names it: the review
plans a data-only change with the base's code over HEAD's data files, so a data path must never be code.
A path that is not written as git writes it (`./`, `//`, `..`, backslashes) is never data or documentation.

`StackInfo` is read from the stack files of BOTH sides (`describe_stacks`), so a customer that moves
to another platform counts for the old and the new one.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml

from components.facts import config_keys, data_paths, strict_yaml

NAMESPACE = "mssp-sentinel"  # components.config.PROJECT; not imported: this module runs without pydantic
STACK_FILE = "stacks/Pulumi.{}.yaml"

# Folders no plan reads (documentation, tests, tooling, CI definitions): a change there plans nothing.
DOCS_FOLDERS: tuple[str, ...] = (
    "tests/*", "docs/*", "scripts/*", ".github/*", ".ci/*",
    # Test doubles (no product module may import them: tests/test_layout.py) and the Pulumi CLI's build.
    "testing/*", "tools/*",
)
# Documentation by name, anywhere: checked after the code patterns, so `LICENSE.py` or `README.pth` is code.
DOCS_NAMES: tuple[str, ...] = ("*.md", "README*", "LICENSE*", "CHANGELOG*", ".gitignore", ".gitattributes", "mkdocs.yml")
DOCS_PATTERNS: tuple[str, ...] = DOCS_FOLDERS + DOCS_NAMES
# Paths every plan reads: the program, its components and catalog, the planner, the guardrails and
# what decides the installed packages.
CODE_PATTERNS: tuple[str, ...] = (
    "__main__.py", "Pulumi.yaml", "requirements*.txt", "requirements*.lock", "pyproject.toml", "dev",
    "components/*", "mssp/*", "policies/*", "*.py", "*.pth", "*.pyc", "*.so", "conftest.py", "setup.cfg",
    "sitecustomize*", "usercustomize*", "PulumiPolicy.yaml", "Pulumi.yml", "Pulumi.*.yml",
)

PathClass = Literal["docs", "code", "stack", "inventory", "import", "unknown"]


@dataclass(frozen=True)
class StackInfo:
    """What the affected-stack rules need to know of one stack file (from `describe_stacks`)."""

    name: str
    kind: str  # "platform", "customer" or "unknown" (the file does not parse: treated as reading everything)
    platform: str | None = None  # for a customer: the platform stack's name (platformStack's last segment)
    inventory: str | None = None  # for a customer: its inventory path, when it is one (data_paths)
    import_file: str | None = None  # for a customer: its import file (configured, else stacks/imports/<name>.json)

    @property
    def file(self) -> str:
        return STACK_FILE.format(self.name)


@dataclass(frozen=True)
class Affected:
    """The verdict: reasons per affected stack, and the stacks skipped with why."""

    stacks: Mapping[str, tuple[str, ...]]  # stack -> why it is planned
    skipped: Mapping[str, str]  # stack -> why it is not

    def to_json(self) -> dict[str, Any]:
        return {"planned": {s: list(r) for s, r in sorted(self.stacks.items())},
                "skipped": dict(sorted(self.skipped.items()))}


def _matcher(patterns: Iterable[str]) -> Callable[[str, str], bool]:
    """`(path, name) -> bool`: does a pattern match the path (fnmatchcase), or the file name for a
    pattern without "/". One regex per side instead of a pattern at a time: every plan classifies
    the project's ~200 files for its cache key (mssp.diff.cache.platform_outputs_key)."""
    patterns = tuple(patterns)
    whole = re.compile("|".join(fnmatch.translate(p) for p in patterns))
    bare = [p for p in patterns if "/" not in p]
    named = re.compile("|".join(fnmatch.translate(p) for p in bare)) if bare else None
    return lambda path, name: whole.match(path) is not None or (named is not None and named.match(name) is not None)


_IS_DOCS_FOLDER = _matcher(DOCS_FOLDERS)
_IS_DOCS_NAME = _matcher(DOCS_NAMES)
_IS_CODE = _matcher(CODE_PATTERNS)
_IS_MARKDOWN = _matcher(("*.md",))


def classify_path(path: str, stacks: Sequence[StackInfo] = ()) -> PathClass:
    """What kind of plan input a repository path is (pure). `path` is relative to the project, as git
    writes it. `stacks` is not needed any more (a path is data by its own text) and kept for callers.

    Order: a docs folder or a Markdown file, then code, then documentation by name, then data
    (components.facts.data_paths), else unknown. A path not written as git writes it is code or unknown."""
    del stacks
    norm, name = _norm_and_name(path)
    if norm != path:
        # "./mssp/x.py", "stacks//Pulumi.x.yaml", "a\\b": never docs, never data.
        return "code" if _IS_CODE(norm, name) else "unknown"
    if _IS_DOCS_FOLDER(path, name) or _IS_MARKDOWN(path, name):
        return "docs"
    if _IS_CODE(path, name):
        return "code"
    if _IS_DOCS_NAME(path, name):
        return "docs"
    if data_paths.stack_file_stack(path) is not None:
        return "stack"
    if data_paths.is_data_path(path, "inventory"):
        return "inventory"
    if data_paths.is_data_path(path, "import"):
        return "import"
    return "unknown"


def _norm(path: str) -> str:
    """A repository path as git prints it: forward slashes, no leading "./" or "/"."""
    path = path.strip().replace("\\", "/")
    # Most paths (git's, os.walk's) are already normal: no empty or "." part, no trailing slash. Those skip
    # PurePosixPath, which every plan's cache key would otherwise build for each of the project's files.
    if path and "//" not in path and "/./" not in path and not path.startswith("./") and not path.endswith("/") \
            and not path.endswith("/.") and path != ".":
        return path.lstrip("/")
    return str(PurePosixPath(path)).lstrip("/")


def _norm_and_name(path: str) -> tuple[str, str]:
    """`_norm(path)` and its last part (PurePosixPath's `name`, without building one)."""
    path = _norm(path)
    return path, "" if path == "." else path.rpartition("/")[2]


def affected_stacks(changed: Sequence[str], stacks: Sequence[StackInfo],
                    kinds: Mapping[str, str] | None = None) -> Affected:
    """The stacks whose plan the changed paths can change, each with its reasons (pure). `kinds`: the
    caller's classification of some paths where it knows more than their text (a data path git stores as a
    symbolic link is "unknown": mssp.diff.command)."""
    kinds = kinds or {}

    def kind_of(p: str) -> str:
        return kinds.get(p) or classify_path(p, stacks)

    names = sorted({s.name for s in stacks})
    reasons: dict[str, list[str]] = {n: [] for n in names}

    def add(stack: str, why: str) -> None:
        if stack in reasons and why not in reasons[stack]:
            reasons[stack].append(why)

    for raw in changed:
        kind = kind_of(raw)
        path = _norm(raw)
        if kind == "docs":
            continue
        if kind in ("code", "unknown"):
            why = f"`{path}` is read by every plan" if kind == "code" else \
                f"`{path}` is not a known plan input (planned to be safe)"
            for n in names:
                add(n, why)
            continue
        if kind == "stack":
            stack = data_paths.stack_file_stack(path) or ""
            add(stack, "its stack file changed")
            for s in stacks:
                if s.platform == stack:
                    add(s.name, f"its platform stack file `{path}` changed")
            continue
        if kind == "import":
            for n in sorted({s.name for s in stacks if s.import_file == path}):
                add(n, f"its import file `{path}` changed")
            continue
        # An inventory: the stacks that name it (on either side).
        for n in sorted({s.name for s in stacks if s.inventory == path}):
            add(n, f"its inventory `{path}` changed")
    # A stack file that does not parse may read anything: plan it whenever anything changed.
    for s in stacks:
        if s.kind == "unknown" and any(kind_of(p) != "docs" for p in changed):
            add(s.name, "its stack file could not be read (planned to be safe)")
    planned = {n: tuple(r) for n, r in reasons.items() if r}
    skipped = {n: _skip_reason(changed, kind_of) for n in names if n not in planned}
    return Affected(planned, skipped)


def _skip_reason(changed: Sequence[str], kind_of: Callable[[str], str]) -> str:
    if not changed:
        return "no file changed"
    if all(kind_of(p) == "docs" for p in changed):
        return "only documentation or tests changed"
    return "no changed file is read by its plan"


def _config_keys(config: Mapping[Any, Any]) -> dict[str, Any]:
    """A stack file's config keyed as the Pulumi CLI keys it (components.facts.config_keys, which the config
    loader's `stack_key` uses too): `kind` is `mssp-sentinel:kind`, `ns:config:key` is `ns:key`; a key the CLI
    cannot parse is left out (the plan refuses it). A later spelling wins, as there."""
    out: dict[str, Any] = {}
    for raw, value in config.items():
        key = config_keys.parse_key(NAMESPACE, raw) if isinstance(raw, str) else None
        if key is not None:
            out[key] = value
    return out


def stack_info(name: str, doc: Any) -> StackInfo:
    """StackInfo from a parsed stack file; kind "unknown" when its shape is not a stack file's."""
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        return StackInfo(name, "unknown")
    config = _config_keys(config)
    kind = config.get(f"{NAMESPACE}:kind")
    if kind == "platform":
        return StackInfo(name, "platform")
    customer = config.get(f"{NAMESPACE}:customer")
    if kind != "customer" or not isinstance(customer, dict):
        return StackInfo(name, "unknown")
    platform = customer.get("platformStack")
    forwarding = customer.get("forwarding")
    inventory = forwarding.get("inventory") if isinstance(forwarding, dict) else None
    import_file = forwarding.get("importFile") if isinstance(forwarding, dict) else None
    if import_file is None:
        import_file = f"{data_paths.IMPORT_DIR}/{name}.json"
    # Only a path that IS data (by its text) is taken: a stack file that names anything else as its inventory
    # is refused by the config loader, and the path is classified by its own text (code, unknown) anyway.
    return StackInfo(
        name, "customer",
        platform=platform.rsplit("/", 1)[-1] if isinstance(platform, str) and platform else None,
        inventory=inventory if isinstance(inventory, str) and data_paths.is_data_path(inventory, "inventory") else None,
        import_file=import_file if isinstance(import_file, str) and data_paths.is_data_path(import_file, "import")
        else None,
    )


def describe_stacks(files: Mapping[str, str]) -> list[StackInfo]:
    """StackInfo per stack from {stack name: stack file text}; unreadable files become kind "unknown"."""
    out = []
    for name, text in sorted(files.items()):
        try:
            # Read as the CLI and the plan read it (YAML 1.2 booleans, duplicate keys refused): a file the
            # plan refuses is "unknown" here, so it is planned (and refused) on any change.
            doc = strict_yaml.loads(text)
        except (yaml.YAMLError, strict_yaml.YamlKeyError, strict_yaml.DocumentError):
            doc = None
        out.append(stack_info(name, doc))
    return out


def merge_infos(*sides: Iterable[StackInfo]) -> list[StackInfo]:
    """Both sides' StackInfos: a stack may reference another platform or inventory on each side."""
    seen: dict[tuple[str, str, str | None, str | None, str | None], StackInfo] = {}
    for side in sides:
        for s in side:
            seen[(s.name, s.kind, s.platform, s.inventory, s.import_file)] = s
    return sorted(seen.values(), key=lambda s: (s.name, s.kind, s.platform or "", s.inventory or "", s.import_file or ""))


def stack_name_of(path: Path | str) -> str:
    name = PurePosixPath(str(path)).name
    return name[len("Pulumi."):-len(".yaml")]
