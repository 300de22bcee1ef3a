"""Reading the files the project is given (stack files, inventories, import files, manifests, preview JSON,
health and drift reports) with explicit limits, so hostile or broken input is refused quickly, with the file's
name, and never reads as something else.

Limits (docs/input-limits.md, which tests/components/test_documents.py keeps in step with these numbers):
- size: a YAML file at most MAX_YAML_BYTES, a JSON document at most MAX_JSON_BYTES, checked before the file is
  read (only regular files: a FIFO would block, /dev/zero never ends);
- nesting: at most MAX_DEPTH levels of mappings and lists (a stack file needs about 8, a preview about 20);
  deeper input is refused before it is built (libyaml's composer recurses in C and would crash);
- YAML aliases: a recursive alias is refused; all aliases together may stand for at most MAX_ALIAS_NODES
  nodes, and a whole document for at most MAX_NODES (a "billion laughs" alias bomb is refused after reading
  a few hundred bytes of it, before anything is expanded);
- text: UTF-8; git conflict markers (`<<<<<<<`, `=======`, `>>>>>>>` at a line's start) are named as an
  unresolved merge conflict on the marker's line.
A file reached through a symbolic link is named as "PATH (a symbolic link to TARGET)".
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_YAML_BYTES = 16 * 1024 * 1024
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 2_000_000
MAX_ALIAS_NODES = 100_000

# git's conflict markers (git-merge(1) "HOW CONFLICTS ARE PRESENTED"): seven of one character at a line's start.
_CONFLICT_RE = re.compile(r"^(<{7}|={7}|>{7}|\|{7})(?: |$)", re.MULTILINE)
_MARKER_NAMES = {"<": "<<<<<<< (start of our side)", "=": "======= (between the two sides)",
                 ">": ">>>>>>> (end of their side)", "|": "||||||| (the common ancestor)"}


class DocumentError(ValueError):
    """A file refused before its content is used: which file, what is wrong, what is allowed."""

    def __init__(self, name: str, problem: str, line: int | None = None):
        self.name = name
        self.problem = problem
        self.line = line
        where = f"{name} line {line}" if line is not None else name
        super().__init__(f"{where}: {problem}")


def describe(path: Path | str) -> str:
    """A path as messages name it: with its target when it is a symbolic link (the user sees the link's
    name in the stack file, but the content, or the "not found", is the target's)."""
    path = Path(path)
    try:
        if path.is_symlink():
            return f"{path} (a symbolic link to {os.readlink(path)})"
    except OSError:
        pass
    return str(path)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


def read_text(path: Path | str, limit: int, what: str = "file") -> str:
    """A file's UTF-8 text, at most `limit` bytes. Raises FileNotFoundError/IsADirectoryError/OSError as
    reading does (their filename is the described path), DocumentError for a file too large, not UTF-8 or
    holding git conflict markers."""
    path = Path(path)
    name = describe(path)
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise FileNotFoundError(exc.errno, exc.strerror, name) from None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", name)
    if not stat.S_ISREG(info.st_mode):
        # A FIFO would block until someone writes to it, a device may never end: neither is a document.
        raise DocumentError(name, f"not a regular file (a named pipe, socket or device); allowed: a {what} saved "
                                  "as a file")
    size = info.st_size
    if size > limit:
        raise DocumentError(name, f"the {what} is {size:,} bytes; allowed: at most {_mib(limit)} "
                                  "(docs/input-limits.md)")
    with path.open("rb") as f:
        data = f.read(limit + 1)  # a file that grew since stat(): stop past the limit
    if len(data) > limit:
        raise DocumentError(name, f"the {what} is larger than {_mib(limit)}; allowed: at most {_mib(limit)} "
                                  "(docs/input-limits.md)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DocumentError(name, f"cannot read the {what}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                  f"allowed: a UTF-8 {what}", line) from None
    check_conflict_markers(text, name)
    return text


def check_conflict_markers(text: str, name: str) -> None:
    """Refuse text with git conflict markers, naming the first marker's line."""
    m = _CONFLICT_RE.search(text)
    if m is None:
        return
    line = text.count("\n", 0, m.start()) + 1
    raise DocumentError(name, f"unresolved git merge conflict: conflict marker {_MARKER_NAMES[m.group(1)[0]]}; "
                              "allowed: the file after the merge is resolved (edit it to keep one side, remove "
                              "the markers, then `git add` it)", line)


def loads_json(text: str, name: str, *, limit: int = MAX_JSON_BYTES,
               pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """Parse a JSON document within the limits. Raises DocumentError (size, depth, conflict markers) or
    json.JSONDecodeError (syntax)."""
    if len(text) > limit:
        raise DocumentError(name, f"the document is {len(text):,} characters; allowed: at most {_mib(limit)}")
    check_conflict_markers(text, name)
    try:
        data = json.loads(text, object_pairs_hook=pairs_hook)
    except RecursionError:
        raise DocumentError(name, f"nested more than {MAX_DEPTH} levels deep; allowed: at most {MAX_DEPTH} "
                                  "levels of objects and arrays (docs/input-limits.md)") from None
    check_depth(data, name)
    return data


def load_json_file(path: Path | str, what: str = "JSON document") -> Any:
    """Read and parse a JSON file within the limits (see loads_json and read_text)."""
    text = read_text(path, MAX_JSON_BYTES, what)
    return loads_json(text, describe(path))


def check_depth(data: Any, name: str, limit: int = MAX_DEPTH) -> None:
    """Refuse decoded data nested deeper than `limit` (iteratively: no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            raise DocumentError(name, f"nested more than {limit} levels deep; allowed: at most {limit} levels of "
                                      "objects and arrays (docs/input-limits.md)")
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
