"""Well-known application (client) ids of Microsoft first-party apps: the same GUID in every tenant.

A config key that wants an *object id* (a service principal's or a group's id in one tenant) and is given one
of these got the application id instead: each tenant's service principal of the app has its own object id.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# "Azure Security Insights" is Microsoft Sentinel's first-party app; automation rules run playbooks as its service
# principal. Source: MicrosoftDocs/entra-docs (Microsoft service principal sign-in logs, first-party application
# table): Azure Security Insights, 98785600-1bb7-4fb9-b9fa-19afe2c8a360.
AZURE_SECURITY_INSIGHTS_APP_ID = "98785600-1bb7-4fb9-b9fa-19afe2c8a360"
# Microsoft Graph. Source: Microsoft Graph permissions reference (resourceAppId of Graph permissions).
MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

WELL_KNOWN_APP_IDS: Mapping[str, str] = MappingProxyType({
    AZURE_SECURITY_INSIGHTS_APP_ID: "Azure Security Insights (Microsoft Sentinel)",
    MICROSOFT_GRAPH_APP_ID: "Microsoft Graph",
})


def app_id_problem(value: str) -> str | None:
    """Why `value` cannot be an object id (it is a well-known application id), or None."""
    name = WELL_KNOWN_APP_IDS.get(value.lower())
    if name is None:
        return None
    return (f"'{value}' is the application (client) id of {name}, the same in every tenant (Microsoft's first-party "
            "application list, MicrosoftDocs/entra-docs), not an object id; "
            f"allowed: the object id of its service principal in your tenant (`az ad sp show --id {value} "
            "--query id -o tsv`)")
