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


def check_out_dir(path: Path, option: str = "--out") -> None:
    """Refuse, before any work, an output folder that is a file (or lies under one): a usage error (exit 2)."""
    from components.facts.strict_yaml import shown

    for at in (path, *path.parents):
        try:
            exists = at.exists()
            if exists and not at.is_dir():
                where = "it is a file" if at == path else f"{shown(str(at), 500)} is a file"
                raise UserError(f"cannot write to {option} {shown(str(path), 500)}: {where}; allowed: a folder (created "
                                "when missing) for the files this command writes")
        except OSError:
            return  # an unreadable or absurd path: the write itself says why
        if exists:
            return


def check_out_file(path: Path | None, option: str) -> None:
    """Refuse, before any work, an output file path that is a folder or lies under a file (exit 2)."""
    from components.facts.strict_yaml import shown

    if path is None or str(path) == "-":
        return
    try:
        if path.is_dir():
            raise UserError(f"{option}: cannot write {shown(str(path), 500)}: it is a folder; allowed: a file path "
                            "(written whole, replaced if it exists)")
    except OSError:
        return
    for at in path.parents:
        try:
            exists = at.exists()
            if exists and not at.is_dir():
                raise UserError(f"{option}: cannot write {shown(str(path), 500)}: {shown(str(at), 500)} is a file, not a "
                                "folder; allowed: a file path in a folder (created when missing)")
        except OSError:
            return
        if exists:
            return


# The options whose value a command writes: files, and folders it writes files into. Checked by mssp.cli before
# the command runs, so a mistake there costs no plan, no Azure call and leaves nothing half-written.
OUTPUT_FILES = {"json": "--json", "json_out": "--json", "markdown": "--markdown", "full_markdown": "--full-markdown",
                "import_file": "--import-file"}
# (command, dest) -> option of the folders commands write into; any other `--out` is a file (e.g. `usage --out`).
OUTPUT_DIRS = {("template", "out"): "--out", ("report", "out"): "--out", ("plan", "out_dir"): "--out-dir"}


def check_outputs(args: object) -> None:
    """check_out_file / check_out_dir for every output option a parsed command line has."""
    command = getattr(args, "command", None)
    for dest, option in {**OUTPUT_FILES, "out": "--out"}.items():
        value = getattr(args, dest, None)
        if isinstance(value, Path) and (command, dest) not in OUTPUT_DIRS:
            check_out_file(value, option)
    for (owner, dest), option in OUTPUT_DIRS.items():
        value = getattr(args, dest, None)
        if owner == command and isinstance(value, Path):
            check_out_dir(value, option)
