"""After the destroy: read back from ARM that none of the stack's diagnostic settings remain.

One small function over the existing REST client (mssp.azure.rest): one list read per setting scope
(the documented list API, listDiagnosticSettings.json), then a name check. The fleet-scale settings drift
(ARM /batch, mssp/drift/settings.py) could replace the loop without changing the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mssp.azure import arm as arm_api
from mssp.azure.rest import AzureRestClient, AzureRestError


def verify_settings_removed(client: AzureRestClient, expected: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
    """Per expected setting {id, scope, name}: result "removed", "remains" (with its destination),
    "resource-gone" (404: cannot be verified; a setting survives its resource) or "unreadable" (an error)."""
    out: list[dict[str, Any]] = []
    for s in expected:
        path = f"{s['scope']}{arm_api.DIAGNOSTIC_SETTINGS_PROVIDER}?api-version={arm_api.DIAGNOSTIC_SETTINGS_API_VERSION}"
        try:
            body = client.get(path, what=f"reading the diagnostic settings of {s['scope']}").body or {}
        except AzureRestError as exc:
            gone = exc.status == 404
            out.append({**s, "result": "resource-gone" if gone else "unreadable", "detail": str(exc)})
            continue
        found = next((v for v in body.get("value") or [] if str(v.get("name", "")).lower() == s["name"].lower()), None)
        if found is None:
            out.append({**s, "result": "removed", "detail": ""})
        else:
            workspace = (found.get("properties") or {}).get("workspaceId") or "?"
            out.append({**s, "result": "remains", "detail": f"still sends to {workspace}"})
    return out
