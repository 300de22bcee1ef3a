"""Writing a command's output files (`--json`, `--markdown`, ...): atomically, and a path that cannot be
written as a clear error with the command's exit code, never a traceback."""

from __future__ import annotations

import contextlib
from pathlib import Path

from mssp.errors import UserError


def write_output(path: Path, text: str, exit_code: int = 2) -> None:
    """Write `text` to `path` (parent folders created), through a temporary file beside it, so a reader
    never sees half a report. OSError (a parent that is a file, no permission, disk full) -> UserError."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)  # no half-written leftover beside the report
        raise UserError(f"cannot write {path}: {exc}", exit_code) from None
