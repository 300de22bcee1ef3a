"""The repository paths that are plan data by construction: stack files, inventories and import files.

The PR review plans a change that edits only data with the BASE branch's code over HEAD's data files
(mssp.diff.command.plan_overlay), so a path the review treats as data must never be a file that any
program imports or executes. That is decided here, from the path's text alone, by one rule that the
review (mssp.diff.affected), the overlay and the config loader (components.config) all apply:

- a stack file is `stacks/Pulumi.<stack>.yaml`;
- an inventory is a `.yaml`, `.yml` or `.json` file under `stacks/inventories/`;
- an import file (`pulumi import` format) is a `.json` file under `stacks/imports/`.

The path must be written exactly so: relative, forward slashes, no `.`, `..` or empty segment, no
leading `./` or `/`, no backslash, NUL or other control character, case as shown (`Stacks/` or `.YAML`
is no data path: on a case-insensitive file system it could name another file than the one reviewed),
each segment made of letters, digits, `_`, `-` and `.` and not starting with a dot (no `.pth`, no
hidden files), and no name that a tool picks up by itself (`Pulumi.yaml`, `PulumiPolicy.yaml`,
`conftest.py`, requirements, ...: the suffix rule already excludes most). Symbolic links are refused
where the file system or git is read (the config loader; mssp.diff.command checks git's file modes).

No pydantic here: mssp.diff.affected runs without it.
"""

from __future__ import annotations

import re
from typing import Literal

DataKind = Literal["inventory", "import"]

STACKS_DIR = "stacks"
INVENTORY_DIR = "stacks/inventories"
IMPORT_DIR = "stacks/imports"
SUFFIXES: dict[DataKind, tuple[str, ...]] = {"inventory": (".yaml", ".yml", ".json"), "import": (".json",)}
FOLDERS: dict[DataKind, str] = {"inventory": INVENTORY_DIR, "import": IMPORT_DIR}
EXAMPLES: dict[DataKind, str] = {"inventory": "stacks/inventories/<customer>.yaml", "import": "stacks/imports/<customer>.json"}
MAX_LENGTH = 1024  # components.config.base.ProjectPath

# A path segment: no leading dot (".", "..", ".pth"-style hidden files), a small safe alphabet.
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")
# The characters the Pulumi CLI allows in a stack name (mssp.diff.command._STACK_NAME).
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# File names a tool reads or runs by itself wherever it finds them (Pulumi project and policy files, pytest's
# conftest, pip's requirements, setuptools/pyproject): never data, whatever the folder.
_TOOL_NAMES = re.compile(r"(?i)(pulumi(policy)?\.ya?ml|conftest\.py|requirements.*|pyproject\.toml|setup\.(py|cfg)"
                         r"|.*\.(py|pyc|pth|sh|exe|so|dll|dylib|whl|egg)|dev|sitecustomize.*|usercustomize.*)")


def _segments_problem(path: str) -> str | None:
    """Why `path` is not a plain relative path of safe segments (None when it is)."""
    if not path:
        return "is empty"
    if len(path) > MAX_LENGTH:
        return f"is {len(path)} characters long (at most {MAX_LENGTH})"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        return "contains a control character (NUL, newline, ...)"
    if "\\" in path:
        return "contains a backslash"
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        return "is an absolute path"
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "has an empty, '.' or '..' segment (write it without './', '//', '..' or a trailing '/')"
    bad = next((p for p in parts if not _SEGMENT.fullmatch(p)), None)
    if bad is not None:
        return (f"has the segment '{bad[:80]}' (allowed: letters, digits, '_', '-', '.', not starting with '.')")
    return None


def data_path_problem(path: str, kind: DataKind) -> str | None:
    """Why `path` (relative to the project, as a stack file writes it) is no `kind` file; None when it is one.

    Pure: the file system is not read (see the module docstring for the rule)."""
    if not isinstance(path, str):
        return "is not a string"
    problem = _segments_problem(path)
    if problem:
        return problem
    folder = FOLDERS[kind] + "/"
    if not path.startswith(folder) or len(path) == len(folder):
        return f"is not under {folder}"
    name = path.rpartition("/")[2]
    suffixes = SUFFIXES[kind]
    if not name.endswith(suffixes) or name in suffixes:
        return f"is not a {', '.join(suffixes)} file (lower case)"
    if _TOOL_NAMES.fullmatch(name):
        return f"is named like a file that tools read or run by themselves ({name})"
    return None


def is_data_path(path: str, kind: DataKind) -> bool:
    return data_path_problem(path, kind) is None


def stack_file_stack(path: str) -> str | None:
    """The stack a path is the stack file of (`stacks/Pulumi.<stack>.yaml`, written exactly so), else None."""
    if _segments_problem(path) is not None:
        return None
    folder, _, name = path.rpartition("/")
    if folder != STACKS_DIR or not (name.startswith("Pulumi.") and name.endswith(".yaml")):
        return None
    stack = name[len("Pulumi."):-len(".yaml")]
    return stack if stack and _STACK_NAME.fullmatch(stack) else None


def allowed(kind: DataKind) -> str:
    """The rule in a user's words, for error messages."""
    return (f"a {', '.join(SUFFIXES[kind])} file under {FOLDERS[kind]}/, written as a plain relative path "
            f"(e.g. {EXAMPLES[kind]}); the review treats it as data, so it can never name code, a symbolic link "
            "or a file outside that folder")
