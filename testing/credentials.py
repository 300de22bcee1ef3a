"""A credential that hands out one static bearer token, for the SDK clients pointed at local fake servers."""

from __future__ import annotations

import time
from typing import Any


class StaticTokenCredential:
    """azure-core TokenCredential protocol: get_token(*scopes) -> AccessToken. Records the scopes asked for."""

    def __init__(self, token: str = "test-token"):
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)
