"""Sign-in failures said in one short paragraph: which credential sources were tried and what to do.

azure-identity's DefaultAzureCredential tries a chain of sources (environment variables, workload identity,
managed identity, the shared token cache, VS Code, the Azure CLI, Azure PowerShell, the Azure Developer CLI,
the broker) and, when none gives a token, logs a 14-line report and raises an error whose text repeats it
(https://learn.microsoft.com/python/api/azure-identity/azure.identity.defaultazurecredential). Every command
that signs in reports that as one paragraph instead, and the chain's own log is kept quiet.
"""

from __future__ import annotations

import logging
import re

# How a source is named in the paragraph (azure-identity's class name -> what a user recognises).
SOURCES: dict[str, str] = {
    "EnvironmentCredential": "environment variables (AZURE_TENANT_ID, AZURE_CLIENT_ID and a secret or certificate)",
    "WorkloadIdentityCredential": "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
    "ManagedIdentityCredential": "managed identity",
    "SharedTokenCacheCredential": "the shared token cache",
    "VisualStudioCodeCredential": "VS Code",
    "AzureCliCredential": "the Azure CLI (`az login`)",
    "AzurePowerShellCredential": "Azure PowerShell",
    "AzureDeveloperCliCredential": "the Azure Developer CLI",
    "BrokerCredential": "the sign-in broker",
}
_SOURCE_LINE = re.compile(r"^\s*(\w+Credential):\s*(.*)$", re.MULTILINE)
_FAILED = re.compile(r"failed to retrieve a token|authentication unavailable|credential.*unavailable", re.IGNORECASE)
HINT = ("Sign in with `az login` (a person; add `--tenant TENANT` for another tenant), or give the pipeline a "
        "service principal or workload identity federation through AZURE_TENANT_ID, AZURE_CLIENT_ID and "
        "AZURE_FEDERATED_TOKEN_FILE (docs/operations/deploy.md); the offline commands (plan, template, diff, "
        "report) need no sign-in.")


def quiet_credential_chain() -> None:
    """Keep azure-identity's own multi-line report of the credential chain out of stderr (the paragraph says it)."""
    for name in ("azure.identity", "azure.identity._credentials.chained", "azure.identity._internal"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_signin_failure(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says that no credential gave a token."""
    for e in _chain(exc):
        if type(e).__name__ in ("ClientAuthenticationError", "CredentialUnavailableError"):
            return True
        if _FAILED.search(str(getattr(e, "message", None) or e)[:2000]):
            return True
    return False


def failure_text(exc: BaseException, what: str = "Azure", tenant: str | None = None) -> str:
    """One paragraph: sign-in failed, the sources tried (with the first words of why), what to do."""
    text = "\n".join(str(getattr(e, "message", None) or e) for e in _chain(exc))
    tried: list[str] = []
    for name, why in _SOURCE_LINE.findall(text):
        if name not in SOURCES or any(t.startswith(SOURCES[name]) for t in tried):
            continue
        reason = why.split(". ")[0].strip().rstrip(".")
        # Only a short reason that says more than "unavailable" (e.g. "Azure CLI not found on path").
        short = reason if len(reason) <= 45 and "unavailable" not in reason.lower() else ""
        tried.append(f"{SOURCES[name]} ({short.lower()})" if short else SOURCES[name])
    where = f" for tenant {tenant}" if tenant else ""
    sources = ", ".join(tried) if tried else ", ".join(SOURCES.values())
    return f"signing in to {what}{where} failed: no credential source gave a token. Tried: {sources}. {HINT}"
