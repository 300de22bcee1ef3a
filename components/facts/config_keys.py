"""How Pulumi keys a stack file's config (`config.ParseKey`, pulumi/pulumi
sdk/go/common/resource/config/key.go) and hands the values to a program. Kept apart from
components.config so that code which runs without pydantic (mssp/diff/affected.py, the offline runner
mssp/plan/offline.py) does both exactly as the config loader does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def parse_key(project: str, raw: str) -> str | None:
    """`namespace:name` for a stack file's key: no namespace is the project's (`kind` is
    `<project>:kind`), `ns:config:name` is the legacy spelling of `ns:name`; None where ParseKey fails."""
    parts = raw.split(":")
    if len(parts) == 1:
        return f"{project}:{raw}"
    if len(parts) == 2 or (len(parts) == 3 and parts[1] == "config"):
        return f"{parts[0]}:{parts[-1]}"
    return None


def engine_values(values: Mapping[str, Any]) -> dict[str, str]:
    """Config values as the engine hands them to a program: text as it is, structured values as JSON text."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
