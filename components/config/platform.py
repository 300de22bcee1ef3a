"""Configuration of the platform stack (the MSSP tenant): workspace, multitenant identity."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, model_validator

from components.config.base import Guid, Model, Region, ResourceGroupName, WorkspaceName
from components.config.itsm import ItsmConfig
from components.config.splunk import SplunkPlatformConfig
from components.facts import naming, trust

_FIC_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$"


class WorkspaceConfig(Model):
    """The MSSP's existing Log Analytics workspace (with Sentinel). Give resourceGroup + name, or resourceId."""

    resource_group: ResourceGroupName | None = None
    """Resource group of the existing Sentinel workspace (with `name`; or give `resourceId` instead)."""
    name: WorkspaceName | None = None
    """Name of the existing Log Analytics workspace that has Microsoft Sentinel (with `resourceGroup`)."""
    resource_id: str | None = None
    """ARM id of the workspace,
    `/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name>`, instead
    of `resourceGroup` + `name`.
    """
    subscription_id: Guid | None = None  # defaults to the platform subscription
    """Subscription of the workspace, when it is not the platform's `subscriptionId` (only with `resourceGroup` +
    `name`).
    """

    @model_validator(mode="after")
    def _one_form(self) -> WorkspaceConfig:
        if self.resource_id:
            if self.resource_group or self.name or self.subscription_id:
                raise ValueError("give either resourceId or resourceGroup + name, not both; allowed: one of the two forms")
            m = re.fullmatch(
                r"/subscriptions/([0-9a-fA-F-]{36})/resourceGroups/([^/]+)/providers/"
                r"Microsoft\.OperationalInsights/workspaces/([^/]+)",
                self.resource_id,
                flags=re.IGNORECASE,
            )
            if not m:
                raise ValueError(
                    "resourceId must look like /subscriptions/<guid>/resourceGroups/<rg>/providers/"
                    "Microsoft.OperationalInsights/workspaces/<name> (allowed: that form)"
                )
            problem = naming.name_problem("resourceGroup", m[2]) or naming.name_problem("workspace", m[3])
            if problem:
                raise ValueError(f"resourceId: {problem}")
        elif not (self.resource_group and self.name):
            raise ValueError("give resourceGroup and name (or resourceId) of the MSSP workspace; allowed: "
                             "resourceGroup + name, or resourceId")
        return self

    def parts(self, default_subscription: str) -> tuple[str, str, str]:
        """(subscription id, resource group, workspace name)."""
        if self.resource_id:
            segs = self.resource_id.split("/")
            return segs[2].lower(), segs[4], segs[8]
        assert self.resource_group and self.name
        return (self.subscription_id or default_subscription), self.resource_group, self.name


# Trust anchors of the two identities (issuer, audience, repository, environments) are reviewed data in
# components/facts/trust.py, with their sources; the guardrail federated-credential-trust checks the same.
DEFAULT_AUDIENCE = trust.TOKEN_EXCHANGE_AUDIENCE
GITHUB_ISSUER = trust.GITHUB_ISSUER
KNOWN_ISSUERS: frozenset[str] = frozenset({GITHUB_ISSUER})


class FederatedCredential(Model):
    """A workload identity federation trust (e.g. GitHub Actions OIDC): no secret to leak or rotate."""

    name: Annotated[str, Field(pattern=_FIC_NAME)]
    """Name of the federated identity credential on the application: letters, digits, `-` and `_`, at most 120
    characters.
    """
    issuer: Annotated[str, Field(pattern=r"^https://\S+$")]
    """Token issuer the application trusts; only GitHub Actions', `https://token.actions.githubusercontent.com`
    (the trusted issuers are reviewed data in `components/facts/trust.py`).
    """
    subject: Annotated[str, Field(min_length=1, max_length=600)]
    """Subject the token must carry, e.g. `repo:<owner>/<repo>:environment:production`, of the repository in
    `components/facts/trust.py`, no wildcards; the deploy identity accepts only its production environment.
    """
    audiences: list[str] = [DEFAULT_AUDIENCE]
    """Audiences the token must carry; only `api://AzureADTokenExchange`."""
    description: str | None = None
    """Free text shown on the credential in Entra."""


class ClientSecretConfig(Model):
    """A client secret, only when explicitly enabled; it is a Pulumi secret output, never plain text."""

    enabled: bool = False
    """Create a client secret for the application; only where workload identity federation is impossible. Exported as a
    Pulumi secret.
    """
    # Short-lived by default: the secret is rotated by changing rotationKey (or after this many hours).
    lifetime_hours: Annotated[int, Field(ge=24, le=8760)] = 4380
    """Hours until the secret expires (24 to 8760)."""
    rotation_key: str = "1"
    """Change this value to rotate the secret (a new one is created, the old one removed)."""


class IdentityConfig(Model):
    display_name: Annotated[str, Field(min_length=1, max_length=120)]
    """Display name of the multitenant Entra application (1 to 120 characters)."""
    federated_credentials: list[FederatedCredential] = []
    """Workload identity federation trusts (no secret); at least one of these or `clientSecret.enabled`."""
    client_secret: ClientSecretConfig = ClientSecretConfig()
    """A client secret, off unless enabled."""
    # No longer accepted (issue 20): which issuers and audiences the identities trust is reviewed data in
    # components/facts/trust.py, judged by the base branch, not a stack file's choice. Kept as keys so a stack
    # that still sets them gets that answer rather than "unknown key".
    allowed_issuers: list[str] = []
    """No longer accepted: the trusted issuers are reviewed data in `components/facts/trust.py`; setting it is an error."""
    allowed_audiences: list[str] = []
    """No longer accepted: the trusted audiences are reviewed data in `components/facts/trust.py`; setting it is an error."""

    @model_validator(mode="after")
    def _can_sign_in(self) -> IdentityConfig:
        if not self.federated_credentials and not self.client_secret.enabled:
            raise ValueError(
                "the identity needs a way to sign in: add federatedCredentials (preferred) "
                "or set clientSecret.enabled: true (allowed: either or both)"
            )
        names = [f.name for f in self.federated_credentials]
        if len(names) != len(set(names)):
            raise ValueError("federatedCredentials names must be unique; allowed: each name once")
        return self


def identity_issues(identity: IdentityConfig, path: str, *, deploy: bool) -> list[tuple[str, str]]:
    """Federated credential problems of one identity, by key path (components/facts/trust.py holds the anchors).

    Every identity: issuer GitHub Actions, audience api://AzureADTokenExchange only, a subject of the pinned
    repository without wildcards (Entra matches subjects exactly). The deploy identity: only the production
    environment's subject; the read-only identity: its environments (preview, drift) or pull_request.
    """
    issues: list[tuple[str, str]] = []
    for key in ("allowedIssuers", "allowedAudiences"):
        if getattr(identity, "allowed_issuers" if key == "allowedIssuers" else "allowed_audiences"):
            issues.append((f"{path}.{key}", "no longer accepted: the issuers and audiences the identities trust are "
                           "reviewed data in components/facts/trust.py (judged by the base branch), not a stack "
                           f"setting; allowed: remove {key}"))
    for i, fic in enumerate(identity.federated_credentials):
        at = f"{path}.federatedCredentials[{i}]"
        if fic.issuer != GITHUB_ISSUER:
            issues.append((f"{at}.issuer", f"'{fic.issuer}' ({fic.name}) is not an issuer the identities trust; "
                           f"allowed: {GITHUB_ISSUER} (components/facts/trust.py)"))
        for j, aud in enumerate(fic.audiences):
            if aud != DEFAULT_AUDIENCE:
                issues.append((f"{at}.audiences[{j}]", f"'{aud}' ({fic.name}) is refused; allowed: {DEFAULT_AUDIENCE} "
                               "only (components/facts/trust.py)"))
        if not fic.audiences:
            issues.append((f"{at}.audiences", f"({fic.name}) is empty; allowed: [{DEFAULT_AUDIENCE}]"))
        problem = trust.subject_problem(fic.subject, deploy=deploy)
        if problem is None:
            continue
        if deploy:
            issues.append((f"{at}.subject", f"'{fic.subject}' ({fic.name}) is refused on the deploy identity: {problem}. "
                           f"Allowed: {trust.deploy_subject()} (repo:<owner>/<repo>:environment:<name> of the protected "
                           "production environment: required reviewers, deployment branches limited to main); give "
                           "pull requests and drift the readOnlyIdentity instead"))
        else:
            issues.append((f"{at}.subject", f"'{fic.subject}' ({fic.name}) is refused on the read-only identity: "
                           f"{problem}. Allowed: {', '.join(trust.read_only_subjects())}"))
    return issues


class OffboardingGroup(Model):
    """A small group of people in the MSSP tenant who may remove a customer's Lighthouse delegation."""

    principal_id: Guid
    """Object id of the group in the MSSP tenant."""
    display_name: Annotated[str, Field(min_length=1, max_length=120)]
    """Its name, as the offboarding runbook and the plan show it."""


class PlatformConfig(Model):
    tenant_id: Guid
    """The MSSP's Entra tenant (GUID)."""
    subscription_id: Guid
    """Subscription of the MSSP's Sentinel workspace and platform resources (GUID)."""
    location: Region  # the workspace's region; DCRs must live there too
    """ARM region of the workspace, e.g. `westeurope`; data collection rules are created there too."""
    resource_group: ResourceGroupName  # where the platform's own resources (DCR, playbooks) go; must exist
    """Existing resource group for the platform's own resources (data collection rule, Logic Apps)."""
    workspace: WorkspaceConfig
    """The existing Sentinel workspace every customer's logs go to."""
    # The deploy identity (`pulumi up` only): writes diagnostic settings in customer subscriptions.
    identity: IdentityConfig
    """The deploy identity: used by `pulumi up` only; writes diagnostic settings in customer subscriptions."""
    # The read-only identity (PR previews, scheduled drift): Reader in customers, Reader on the platform
    # resource group, the workspace's configuration (never its logs); never any write.
    read_only_identity: IdentityConfig | None = None
    """The read-only identity for pull-request previews and drift checks: Reader in customers, never any write."""
    # Holds the Managed Services Registration assignment Delete Role in every customer's delegation (Microsoft
    # recommends an authorization with it so the managing tenant can remove the delegation: MicrosoftDocs
    # azure-management-docs articles/lighthouse/how-to/remove-delegation.md and concepts/tenants-users-roles.md).
    # A small human group, not the CI deploy identity: `pulumi destroy` removes a delegation with the
    # customer-Owner provider and never needed it (docs/security.md "Offboarding").
    offboarding_group: OffboardingGroup | None = None
    """The MSSP group (people) holding the Managed Services Registration assignment Delete Role in every customer's
    delegation; the CI deploy identity never holds it."""
    itsm: ItsmConfig | None = None  # the ITSM sync for redirected incidents (docs/operations/itsm.md)
    """The ITSM sync for redirected incidents; off when left out."""
    splunk: SplunkPlatformConfig | None = None  # Splunk alert ingestion (table, DCR, analytics rule)
    """Splunk alert ingestion (custom table, data collection rule, analytics rule); off when left out."""

    def identity_issues(self) -> list[tuple[str, str]]:
        """The federated credential rules of both identities, and that they share no subject."""
        issues = identity_issues(self.identity, "platform.identity", deploy=True)
        if self.read_only_identity is not None:
            issues += identity_issues(self.read_only_identity, "platform.readOnlyIdentity", deploy=False)
            deploy_subjects = {(f.issuer, f.subject) for f in self.identity.federated_credentials}
            for i, fic in enumerate(self.read_only_identity.federated_credentials):
                if (fic.issuer, fic.subject) in deploy_subjects:
                    issues.append((f"platform.readOnlyIdentity.federatedCredentials[{i}].subject",
                                   f"'{fic.subject}' is also a subject of the deploy identity: a job that gets the "
                                   "read-only identity would get the deploy identity too; use a separate "
                                   "environment (e.g. environment:drift) or pull_request"))
        return issues

    @property
    def workspace_id(self) -> str:
        sub, rg, name = self.workspace.parts(self.subscription_id)
        return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}"

    @property
    def workspace_name(self) -> str:
        return self.workspace.parts(self.subscription_id)[2]

    @property
    def workspace_resource_group(self) -> str:
        return self.workspace.parts(self.subscription_id)[1]
