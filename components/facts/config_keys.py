"""How the Pulumi CLI keys a stack file's config: `config.ParseKey` (pulumi/pulumi
sdk/go/common/resource/config/key.go). Kept apart from components.config so that code which runs
without pydantic (mssp/diff/affected.py) keys stack files exactly as the config loader does.
"""

from __future__ import annotations


def parse_key(project: str, raw: str) -> str | None:
    """`namespace:name` for a stack file's key: no namespace is the project's (`kind` is
    `<project>:kind`), `ns:config:name` is the legacy spelling of `ns:name`; None where ParseKey fails."""
    parts = raw.split(":")
    if len(parts) == 1:
        return f"{project}:{raw}"
    if len(parts) == 2 or (len(parts) == 3 and parts[1] == "config"):
        return f"{parts[0]}:{parts[-1]}"
    return None
