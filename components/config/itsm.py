"""Configuration of the ITSM sync for redirected incidents (the `itsm` section of the platform stack).

When Defender correlation merges incidents, the source incident is closed with the tag "redirected"
and its alerts move to a target incident. The sync closes the source's ITSM ticket pointing at the
target and notes the merge on the target's ticket, through one adapter: ServiceNow (Table API) or a
generic webhook. The Sentinel workspace comes from the platform config itself.

Credentials never live in this section: the ServiceNow password, or the webhook's shared secret (or
its whole URL when the URL carries a SAS signature), is the top-level secret key
`mssp-sentinel:itsmCredential` (`pulumi config set --secret itsmCredential ...`), or a Key Vault
secret the workflows read at run time with their managed identity (`credential.keyVaultSecretUri`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from components.config.base import Guid, Model

ITSM_KINDS = ("servicenow", "webhook")
# Poll interval bounds: at least 5 minutes (Graph security API throttling and Logic Apps run cost),
# at most a day (a longer gap leaves ITSM tickets stale for longer than a shift).
POLL_MIN_MINUTES, POLL_MAX_MINUTES = 5, 1440
# Keys that would put a credential in plain config; named here so the error says what to do instead.
_CREDENTIAL_KEYS = ("password", "secret", "sharedSecret", "token", "apiKey", "credentialValue")
_CREDENTIAL_HINT = ("credentials are not allowed in plain config: set the secret key itsmCredential with "
                    "`pulumi config set --secret itsmCredential <value>`, or give credential.keyVaultSecretUri")


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"'{value}' must be an https:// URL (allowed: https://host/...)")
    if parts.username is not None or parts.password is not None:
        # user:password@host would sit in plain text in the workflow definition.
        raise ValueError("the URL must not carry user info (user:password@); " + _CREDENTIAL_HINT)
    return value.rstrip("/")


class ServiceNowConfig(Model):
    """A ServiceNow instance reached through its Table API with basic authentication."""

    instance_url: str  # https://<instance>.service-now.com
    table: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = "incident"
    user_name: Annotated[str, Field(min_length=1)]
    # The field the MSSP's Sentinel->ServiceNow integration stores the Defender incident id in.
    correlation_field: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = "correlation_id"
    # Incident state "Closed" is 7 and "Closed/Resolved by Caller" a stock close code on the incident
    # table. Source: Azure/Azure-Sentinel Solutions/Servicenow/Playbooks/ServiceNow-CreateAndUpdateIncident/
    # azuredeploy.json (Update_Record_-_Incident_closed).
    closed_state: Annotated[str, Field(min_length=1)] = "7"
    close_code: Annotated[str, Field(min_length=1)] = "Closed/Resolved by Caller"

    @field_validator("instance_url")
    @classmethod
    def _instance(cls, value: str) -> str:
        url = _https_url(value)
        if urlsplit(url).path or urlsplit(url).query:
            raise ValueError(f"'{value}' must be the instance root; allowed: e.g. https://acme.service-now.com")
        return url


class WebhookConfig(Model):
    """A generic HTTPS endpoint receiving a documented JSON event (README "ITSM sync for redirected incidents")."""

    # Leave out when the URL itself is secret (a SAS signature): itsmCredential then holds the whole URL.
    url: str | None = None
    # When url is given, the credential (if any) is sent in this header.
    header_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$")] = "Authorization"
    # Static, NON-secret headers sent with every event (a routing key, a source tag). They are written
    # into the workflow definition in plain text: a credential here is stopped by the mandatory
    # guardrail `workflow-no-credentials` (the plan exits 1); put credentials in itsmCredential.
    extra_headers: dict[str, str] = {}

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = _https_url(value)
        if urlsplit(url).query:
            raise ValueError("a URL with a query string may carry a signature (SAS): leave url out and put the "
                             "whole URL in the secret key itsmCredential (allowed: a URL without a query string)")
        return url


class PollerConfig(Model):
    """The Graph poller: a safety net, and the path for ITSMs fed from Defender rather than Sentinel."""

    enabled: bool = True
    interval_minutes: int = 15

    @field_validator("interval_minutes")
    @classmethod
    def _interval(cls, value: int) -> int:
        if not POLL_MIN_MINUTES <= value <= POLL_MAX_MINUTES:
            raise ValueError(f"must be between {POLL_MIN_MINUTES} and {POLL_MAX_MINUTES} minutes (found {value}; "
                             f"allowed: {POLL_MIN_MINUTES}..{POLL_MAX_MINUTES})")
        return value


class CredentialConfig(Model):
    """A Key Vault secret the workflows read at run time with their managed identity."""

    key_vault_secret_uri: str  # https://<vault>.vault.azure.net/secrets/<name>
    key_vault_id: str  # the vault's ARM id: its identities get Key Vault Secrets User on it, nothing above

    @field_validator("key_vault_secret_uri")
    @classmethod
    def _secret_uri(cls, value: str) -> str:
        if not re.fullmatch(r"https://[a-z0-9-]{3,24}\.vault\.azure\.net/secrets/[A-Za-z0-9-]{1,127}(/[0-9a-f]{32})?",
                            value):
            raise ValueError(f"'{value}' must look like https://<vault>.vault.azure.net/secrets/<name>[/<version>] "
                             "(allowed: that form)")
        return value

    @field_validator("key_vault_id")
    @classmethod
    def _vault_id(cls, value: str) -> str:
        if not re.fullmatch(r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/"
                            r"Microsoft\.KeyVault/vaults/[A-Za-z0-9-]{3,24}", value, flags=re.IGNORECASE):
            raise ValueError("must look like /subscriptions/<guid>/resourceGroups/<rg>/providers/"
                             "Microsoft.KeyVault/vaults/<name> (allowed: that form)")
        return value


class ItsmConfig(Model):
    kind: str
    servicenow: ServiceNowConfig | None = None
    webhook: WebhookConfig | None = None
    # Raise the target ticket's priority when the absorbed (source) incident was more severe.
    raise_priority_on_merge: bool = True
    poller: PollerConfig = PollerConfig()
    credential: CredentialConfig | None = None
    # Object id of the "Azure Security Insights" service principal in the MSSP tenant; looked up by its
    # well-known application id when not given (the lookup needs Application.Read.All).
    sentinel_service_principal_object_id: Guid | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_plain_credentials(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for where, section in (("", data), ("servicenow.", data.get("servicenow")),
                                   ("webhook.", data.get("webhook"))):
                if isinstance(section, dict):
                    found = [k for k in _CREDENTIAL_KEYS if k in section]
                    if found:
                        raise ValueError(f"{where}{found[0]}: {_CREDENTIAL_HINT}")
            # A missing adapter section is reported key by key (e.g. servicenow.instanceUrl).
            if data.get("kind") in ITSM_KINDS and data.get(data["kind"]) is None:
                data = {**data, data["kind"]: {}}
        return data

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in ITSM_KINDS:
            raise ValueError(f"unknown ITSM kind '{value}'; allowed: {', '.join(ITSM_KINDS)}")
        return value

    @model_validator(mode="after")
    def _adapter(self) -> ItsmConfig:
        other = "webhook" if self.kind == "servicenow" else "servicenow"
        if getattr(self, other) is not None:
            raise ValueError(f"a {other} section does not belong with kind {self.kind}; allowed: the {self.kind} section only")
        return self

