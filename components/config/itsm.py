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
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from components.config.base import Model, ObjectId

ITSM_KINDS = ("servicenow", "webhook")
# Poll interval bounds: at least 5 minutes (Graph security API throttling and Logic Apps run cost),
# at most a day (a longer gap leaves ITSM tickets stale for longer than a shift).
POLL_MIN_MINUTES, POLL_MAX_MINUTES = 5, 1440
# Keys that would put a credential in plain config; named here so the error says what to do instead.
_CREDENTIAL_KEYS = ("password", "secret", "sharedSecret", "token", "apiKey", "credentialValue")
_CREDENTIAL_HINT = ("credentials are not allowed in plain config: set the secret key itsmCredential with "
                    "`pulumi config set --secret itsmCredential <value>`, or give credential.keyVaultSecretUri")


# Static headers that may be written into a workflow definition in plain text: names that carry routing
# or descriptive data, never a credential. An allowlist, so a new credential header name (X-Api-Key,
# X-Auth-Token, Ocp-Apim-Subscription-Key, ...) is refused instead of slipping past a denylist;
# credentials go in itsmCredential and are sent in webhook.headerName.
ALLOWED_EXTRA_HEADERS: frozenset[str] = frozenset(h.lower() for h in (
    "Accept", "Accept-Language", "User-Agent", "X-Source", "X-Source-System", "X-Routing-Key", "X-Queue",
    "X-Assignment-Group", "X-Category", "X-Environment", "X-Tenant", "X-Customer", "X-Event-Type",
    "X-Integration", "X-Request-Source",
))


def url_problem(value: str) -> str | None:
    """Why a URL cannot be an ITSM endpoint (None when it can). Never quotes the URL: a webhook URL given
    through itsmCredential is a secret."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "is not a valid URL"
    if any(ch.isspace() or ord(ch) < 0x20 for ch in value):
        return "must not contain whitespace or control characters"
    if parts.scheme != "https" or not parts.hostname:
        return "must be an https:// URL"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        # user:password@host would sit in plain text in the workflow definition.
        return "must not carry user info (user:password@); " + _CREDENTIAL_HINT
    return None


def _https_url(value: str) -> str:
    problem = url_problem(value)
    if problem:
        # A plain url (not the secret) may be quoted, except its user info.
        shown = value.split("@")[-1] if "@" in value else value
        raise ValueError(f"'{shown}' {problem} (allowed: https://host/...)" if "user info" not in problem
                         else f"the URL {problem}")
    return value.rstrip("/")


# A ServiceNow choice value as the workflows send it: letters, digits, spaces and a few punctuation marks
# (no quotes or `@`, which the Logic Apps expression language would read as code).
CHOICE_VALUE = r"^[A-Za-z0-9][A-Za-z0-9 ()/_.,-]*$"


# Where the ITSM credential may be sent. ServiceNow instances are `https://<instance>.service-now.com`
# (ServiceNow docs, "Table API": "https://instance.service-now.com/api/now/table/{tableName}",
# https://www.servicenow.com/docs/r/api-reference/rest-apis/c_TableAPI.html): one DNS label under this suffix
# is accepted without listing it. Any other host (a webhook receiver, a custom ServiceNow domain) must be
# listed in platform.itsm.allowedHosts, which the stack file's reviewers approve and every plan diff shows as an
# access change ("ITSM credential may be sent to").
SERVICENOW_HOST_SUFFIX = "service-now.com"
# A host name as DNS writes it: ASCII letters, digits and hyphens, dot-separated labels, a letter in the last
# label (so not an IP address), no trailing dot. Unicode look-alikes and punycode (xn--) labels are not
# accepted: they are how a look-alike of a listed host is spelled.
_HOST = re.compile(r"^(?!.*\bxn--)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_INSTANCE_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def host_of(url: str) -> str | None:
    """The host of an https URL, lower-cased, when it is a plain DNS name without port or user info (else None)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    netloc = parts.netloc
    if port is not None or "@" in netloc or ":" in netloc or not parts.hostname:
        return None
    host = netloc.lower()
    return host if _HOST.match(host) else None


def host_problem(url: str, allowed_hosts: Sequence[str]) -> str | None:
    """Why the ITSM credential may not be sent to this URL's host (None when it may). Never quotes the URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "is not a valid URL"
    if parts.port is not None or (parts.netloc.rsplit("@", 1)[-1].count(":") and not parts.netloc.startswith("[")):
        return "must not name a port (allowed: https://<host>/... on the default port 443)"
    host = host_of(url)
    if host is None:
        return ("must name its host as a plain DNS name (ASCII letters, digits, hyphens; no IP address, port, user "
                "info, trailing dot, or internationalised/punycode name)")
    if host in {h.lower() for h in allowed_hosts}:
        return None
    label, dot, suffix = host.partition(".")
    if dot and suffix == SERVICENOW_HOST_SUFFIX and _INSTANCE_LABEL.match(label):
        return None
    return (f"names host {host}, which is neither <instance>.{SERVICENOW_HOST_SUFFIX} nor listed in "
            "platform.itsm.allowedHosts; the ITSM credential is sent there, so a host must be listed (and "
            "reviewed) before it is used")


class ServiceNowConfig(Model):
    """A ServiceNow instance reached through its Table API with basic authentication."""

    instance_url: str  # https://<instance>.service-now.com
    """The instance root, e.g. `https://acme.service-now.com`."""
    table: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = "incident"
    """Table API table the incidents live in."""
    user_name: Annotated[str, Field(min_length=1)]
    """User for basic authentication; its password is the secret key `itsmCredential` or `credential`."""
    # The field the MSSP's Sentinel->ServiceNow integration stores the Defender incident id in.
    correlation_field: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = "correlation_id"
    """Field where the MSSP's Sentinel-to-ServiceNow integration stores the Defender incident id."""
    # Incident state "Closed" is 7 on the stock incident table. Source: Azure/Azure-Sentinel
    # Solutions/Servicenow/Playbooks/ServiceNow-CreateAndUpdateIncident/azuredeploy.json.
    closed_state: Annotated[str, Field(min_length=1, max_length=40, pattern=CHOICE_VALUE)] = "7"
    """Value of `state` that closes a ticket (7 is Closed on the stock incident table)."""
    # "Duplicate": "Incident is a duplicate of an existing incident and should be closed", one of the
    # incident resolution codes of current releases (Duplicate, Known error, No resolution provided,
    # Resolved by caller, Resolved by change, Resolved by problem, Resolved by request, Solution provided,
    # Workaround provided). Source: ServiceNow/ServiceNowDocs, release australia,
    # markdown/it-service-management/service-operations-workspace/resolve-close-mim-sow.md and
    # markdown/operational-technology/operational-technology-incident-management/resolve-and-close-ot-incident.md.
    # The older "Closed/Resolved by Caller" (t_CreatingAUIAction.md) is legacy: newer instances may refuse it.
    close_code: Annotated[str, Field(min_length=1, max_length=80, pattern=CHOICE_VALUE)] = "Duplicate"
    """Close code (resolution code) set when a redirected incident's ticket is closed; it must be one of the
    instance's incident close codes (current releases: Duplicate, Known error, No resolution provided,
    Resolved by caller, Resolved by change, Resolved by problem, Resolved by request, Solution provided,
    Workaround provided). A ticket ServiceNow does not close fails the workflow run with the reason."""

    @field_validator("instance_url")
    @classmethod
    def _instance(cls, value: str) -> str:
        url = _https_url(value)
        if urlsplit(url).path or urlsplit(url).query:
            raise ValueError(f"'{value}' must be the instance root; allowed: e.g. https://acme.service-now.com")
        return url


class WebhookConfig(Model):
    """A generic HTTPS endpoint receiving a documented JSON event (docs/operations/itsm.md)."""

    # Leave out when the URL itself is secret (a SAS signature): itsmCredential then holds the whole URL.
    url: str | None = None
    """HTTPS endpoint without a query string; leave out when the URL itself is secret, then `itsmCredential` holds the
    whole URL.
    """
    # When url is given, the credential (if any) is sent in this header.
    header_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$")] = "Authorization"
    """Header the credential is sent in, when `url` is given."""
    # Static, NON-secret headers sent with every event (a routing key, a source tag), from the allowlist
    # ALLOWED_EXTRA_HEADERS. They are written into the workflow definition in plain text; the mandatory
    # guardrail `workflow-no-credentials` still checks their values. Credentials go in itsmCredential.
    extra_headers: dict[str, str] = {}
    """Static, non-secret headers sent with every event, from an allowlist; written in plain text into the workflow."""

    @field_validator("extra_headers")
    @classmethod
    def _allowed_headers(cls, values: dict[str, str]) -> dict[str, str]:
        bad = sorted(k for k in values if k.lower() not in ALLOWED_EXTRA_HEADERS)
        if bad:
            allowed = ", ".join(sorted({h.title() for h in ALLOWED_EXTRA_HEADERS}))
            raise ValueError(f"header(s) {', '.join(bad)} not allowed as static (plain-text) headers; allowed: "
                             f"{allowed}. A credential header goes in itsmCredential with webhook.headerName")
        return values

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
    """Run the Graph poller: a safety net, and the path for ITSMs fed from Defender rather than Sentinel."""
    interval_minutes: int = 15
    """Minutes between polls."""

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
    """The secret, `https://<vault>.vault.azure.net/secrets/<name>[/<version>]`, read by the workflows at run time."""
    key_vault_id: str  # the vault's ARM id: its identities get Key Vault Secrets User on it, nothing above
    """ARM id of the vault holding it; the workflows' identities get Key Vault Secrets User on that one secret."""

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

    @model_validator(mode="after")
    def _same_vault(self) -> CredentialConfig:
        # The role is granted on keyVaultId; the workflows read keyVaultSecretUri: they must be one vault.
        if self.vault_name.lower() != self.key_vault_id.rsplit("/", 1)[-1].lower():
            raise ValueError(f"keyVaultSecretUri names vault '{self.vault_name}' but keyVaultId is vault "
                             f"'{self.key_vault_id.rsplit('/', 1)[-1]}': give the id of the vault that holds the secret")
        return self

    @property
    def vault_name(self) -> str:
        return urlsplit(self.key_vault_secret_uri).hostname.split(".", 1)[0]  # type: ignore[union-attr]

    @property
    def secret_name(self) -> str:
        return self.key_vault_secret_uri.split("/secrets/", 1)[1].split("/", 1)[0]

    @property
    def secret_scope(self) -> str:
        """The ARM id of the one secret: the only scope Key Vault Secrets User is granted on (Key Vault RBAC
        supports secret-level scopes: MicrosoftDocs azure-docs articles/key-vault/general/rbac-guide.md)."""
        return f"{self.key_vault_id}/secrets/{self.secret_name}"


class ItsmConfig(Model):
    kind: str
    """The ITSM adapter: `servicenow` or `webhook`; its section of the same name configures it."""
    servicenow: ServiceNowConfig | None = None
    """ServiceNow settings (with `kind: servicenow`)."""
    webhook: WebhookConfig | None = None
    """Generic webhook settings (with `kind: webhook`)."""
    # Raise the target ticket's priority when the absorbed (source) incident was more severe.
    raise_priority_on_merge: bool = True
    """Raise the target ticket's priority when the absorbed incident was more severe."""
    poller: PollerConfig = PollerConfig()
    """The Graph poller."""
    credential: CredentialConfig | None = None
    """The ITSM credential in Key Vault, instead of the secret key `itsmCredential`."""
    # Object id of the "Azure Security Insights" service principal in the MSSP tenant; looked up by its
    # well-known application id when not given (the lookup needs Application.Read.All).
    sentinel_service_principal_object_id: ObjectId | None = None
    """Object id of the "Azure Security Insights" service principal in the MSSP tenant; looked up when left out (needs
    Application.Read.All).
    """

    # Hosts the ITSM credential may be sent to besides <instance>.service-now.com (SERVICENOW_HOST_SUFFIX):
    # a webhook receiver, a ServiceNow custom domain. Exact host names, compared case-insensitively.
    allowed_hosts: list[str] = []
    """Hosts the ITSM credential may be sent to besides `<instance>.service-now.com`: exact DNS names (a webhook
    receiver, a ServiceNow custom domain). Every plan diff shows a change here as an access change.
    """

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, values: list[str]) -> list[str]:
        out: list[str] = []
        for i, value in enumerate(values):
            host = value.strip().lower() if isinstance(value, str) else ""
            if not _HOST.match(host) or host != value.strip().lower():
                raise ValueError(f"[{i}]: '{value}' is not a host name; allowed: an exact ASCII DNS name such as "
                                 "itsm.example.com (no scheme, port, wildcard, IP address or punycode)")
            out.append(host)
        return sorted(set(out))

    def credential_hosts(self) -> list[str]:
        """Where the credential may go: the configured endpoint's host and the listed hosts (for the plan's review)."""
        url = (self.servicenow.instance_url if self.servicenow is not None
               else self.webhook.url if self.webhook is not None else None)
        hosts = set(self.allowed_hosts)
        if url and (host := host_of(url)):
            hosts.add(host)
        return sorted(hosts)

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

    @model_validator(mode="after")
    def _allowed_host(self) -> ItsmConfig:
        for key, url in (("servicenow.instanceUrl", self.servicenow.instance_url if self.servicenow else None),
                         ("webhook.url", self.webhook.url if self.webhook else None)):
            problem = host_problem(url, self.allowed_hosts) if url else None
            if problem:
                raise ValueError(f"{key} {problem}")
        return self

