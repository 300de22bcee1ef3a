"""After the destroy: read back from ARM that none of the stack's diagnostic settings remain.

One list read per setting scope (the documented list API, listDiagnosticSettings.json, read with
mssp.azure.batch's single GET and following `nextLink` pages: mssp.azure.batch.pages), then a name check.
An answer that is not a settings list (not an object, no `value` array) is "unreadable", never
"removed": only a list that was read to its last page can show that the setting is gone. The fleet-scale
settings drift (ARM /batch, mssp/drift/settings.py) could replace the loop without changing the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mssp.azure import arm as arm_api
from mssp.azure.batch import BatchReader, pages
from mssp.azure.rest import AzureRestClient, AzureRestError, status_text
from mssp.discover.discovery import ExistingSetting, parse_settings


def _read_scope(reader: BatchReader, scope: str) -> tuple[list[ExistingSetting] | None, str, bool]:
    """(every setting on the scope, "", False), or (None, why it could not be read, whether the resource
    is gone: its first page answered 404)."""
    what = f"reading the diagnostic settings of {scope}"
    path = f"{scope}{arm_api.DIAGNOSTIC_SETTINGS_PROVIDER}?api-version={arm_api.DIAGNOSTIC_SETTINGS_API_VERSION}"
    settings: list[ExistingSetting] = []
    try:
        for n, answer in enumerate(pages(reader, reader.get_one(path, what=what), what=what)):
            page = f" (page {n + 1})" if n else ""
            if answer.status != 200:
                return None, f"{what}{page}: {status_text(answer.status, answer.content)}", answer.status == 404 and n == 0
            try:
                settings.extend(parse_settings(answer.content))
            except ValueError as exc:
                return None, f"{what}{page}: malformed answer: {exc}", False
    except AzureRestError as exc:  # a transport failure or 5xx beyond the retries, or a nextLink not followed
        return None, str(exc), False
    return settings, "", False


def verify_settings_removed(client: AzureRestClient, expected: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
    """Per expected setting {id, scope, name}: result "removed", "remains" (with its destination),
    "resource-gone" (404: cannot be verified; a setting survives its resource) or "unreadable" (an error)."""
    reader = BatchReader(client, use_batch=False)
    out: list[dict[str, Any]] = []
    for s in expected:
        settings, error, gone = _read_scope(reader, s["scope"])
        if settings is None:
            out.append({**s, "result": "resource-gone" if gone else "unreadable", "detail": error})
            continue
        found = next((v for v in settings if v.name.lower() == s["name"].lower()), None)
        if found is None:
            out.append({**s, "result": "removed", "detail": ""})
        else:
            out.append({**s, "result": "remains", "detail": f"still sends to {found.workspace_id or '?'}"})
    return out
