"""Errors that end a command with a clear message and a chosen exit code, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad input, missing file). Printed as-is; no traceback."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
