"""Configuration of the platform stack (the MSSP tenant): workspace, multitenant identity."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, model_validator

from components.config.base import Guid, Model, Region, ResourceGroupName, WorkspaceName
from components.config.itsm import ItsmConfig
from components.config.splunk import SplunkPlatformConfig
from components.facts import naming

_FIC_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$"


class WorkspaceConfig(Model):
    """The MSSP's existing Log Analytics workspace (with Sentinel). Give resourceGroup + name, or resourceId."""

    resource_group: ResourceGroupName | None = None
    name: WorkspaceName | None = None
    resource_id: str | None = None
    subscription_id: Guid | None = None  # defaults to the platform subscription

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


# The audience Microsoft recommends for Entra workload identity federation (Microsoft Entra docs
# "Workload identity federation", audiences: "api://AzureADTokenExchange").
DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
# Issuers the project knows the subject grammar of. GitHub Actions OIDC: docs.github.com "About security
# hardening with OpenID Connect" (issuer https://token.actions.githubusercontent.com; subjects
# repo:<owner>/<repo>:environment:<name>, :pull_request, :ref:refs/heads/<branch>, :ref:refs/tags/<tag>).
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
KNOWN_ISSUERS: frozenset[str] = frozenset({GITHUB_ISSUER})
# The only GitHub subject the deploy identity accepts: a deployment environment. An environment can be
# limited to protected branches and require reviewers (docs/design/identities.md "Branch protection and environments");
# `pull_request`, branch and tag subjects can be obtained by code nobody reviewed (a pull request's
# workflow, a pushed branch, a pushed tag), and wildcards match whatever comes.
_GITHUB_ENVIRONMENT_SUBJECT = re.compile(r"^repo:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:environment:([A-Za-z0-9_.-]+)$")
_WILDCARD = re.compile(r"[*?\[\]{}]")


class FederatedCredential(Model):
    """A workload identity federation trust (e.g. GitHub Actions OIDC): no secret to leak or rotate."""

    name: Annotated[str, Field(pattern=_FIC_NAME)]
    issuer: Annotated[str, Field(pattern=r"^https://\S+$")]
    subject: Annotated[str, Field(min_length=1, max_length=600)]
    audiences: list[str] = [DEFAULT_AUDIENCE]
    description: str | None = None


class ClientSecretConfig(Model):
    """A client secret, only when explicitly enabled; it is a Pulumi secret output, never plain text."""

    enabled: bool = False
    # Short-lived by default: the secret is rotated by changing rotationKey (or after this many hours).
    lifetime_hours: Annotated[int, Field(ge=24, le=8760)] = 4380
    rotation_key: str = "1"


class IdentityConfig(Model):
    display_name: Annotated[str, Field(min_length=1, max_length=120)]
    federated_credentials: list[FederatedCredential] = []
    client_secret: ClientSecretConfig = ClientSecretConfig()
    # Explicit, reviewed exceptions: issuers other than KNOWN_ISSUERS and audiences other than
    # DEFAULT_AUDIENCE are refused unless listed here.
    allowed_issuers: list[Annotated[str, Field(pattern=r"^https://\S+$")]] = []
    allowed_audiences: list[Annotated[str, Field(min_length=1)]] = []

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
    """Federated credential problems of one identity, by key path.

    Every identity: issuers from KNOWN_ISSUERS or `allowedIssuers`; audiences DEFAULT_AUDIENCE or
    `allowedAudiences`. The deploy identity also: no wildcard, and for GitHub only
    `repo:<owner>/<repo>:environment:<name>` subjects (see _GITHUB_ENVIRONMENT_SUBJECT).
    """
    issues: list[tuple[str, str]] = []
    issuers = KNOWN_ISSUERS | set(identity.allowed_issuers)
    audiences = {DEFAULT_AUDIENCE, *identity.allowed_audiences}
    for i, fic in enumerate(identity.federated_credentials):
        at = f"{path}.federatedCredentials[{i}]"
        if fic.issuer not in issuers:
            issues.append((f"{at}.issuer", f"'{fic.issuer}' ({fic.name}) is not a known issuer ({', '.join(sorted(KNOWN_ISSUERS))}); "
                           f"list it in {path}.allowedIssuers if this trust is intended"))
        for j, aud in enumerate(fic.audiences):
            if aud not in audiences:
                issues.append((f"{at}.audiences[{j}]", f"'{aud}' ({fic.name}): use {DEFAULT_AUDIENCE}, or list the "
                               f"audience in {path}.allowedAudiences if it is intended"))
        if not deploy:
            continue
        if _WILDCARD.search(fic.subject):
            issues.append((f"{at}.subject", f"'{fic.subject}' ({fic.name}): no wildcards on the deploy identity; "
                           "name one protected environment: repo:<owner>/<repo>:environment:<name> (pull requests and "
                           "drift use the readOnlyIdentity)"))
        elif fic.issuer == GITHUB_ISSUER and not _GITHUB_ENVIRONMENT_SUBJECT.match(fic.subject):
            reason = ("pull requests can obtain it" if fic.subject.endswith(":pull_request")
                      else "anyone who can push a branch or tag can obtain it" if ":ref:" in fic.subject
                      else "it is not a deployment-environment subject")
            issues.append((f"{at}.subject", f"'{fic.subject}' ({fic.name}) is refused on the deploy identity: {reason}. "
                           "Allowed: repo:<owner>/<repo>:environment:<name> of a protected environment (required "
                           "reviewers, deployment branches limited to main); give pull requests and drift the "
                           "readOnlyIdentity instead"))
    return issues


class PlatformConfig(Model):
    tenant_id: Guid
    subscription_id: Guid
    location: Region  # the workspace's region; DCRs must live there too
    resource_group: ResourceGroupName  # where the platform's own resources (DCR, playbooks) go; must exist
    workspace: WorkspaceConfig
    # The deploy identity (`pulumi up` only): writes diagnostic settings in customer subscriptions.
    identity: IdentityConfig
    # The read-only identity (PR previews, scheduled drift): Reader in customers, Reader on the platform
    # resource group, the workspace's configuration (never its logs); never any write.
    read_only_identity: IdentityConfig | None = None
    itsm: ItsmConfig | None = None  # the ITSM sync for redirected incidents (docs/operations/itsm.md)
    splunk: SplunkPlatformConfig | None = None  # Splunk alert ingestion (table, DCR, analytics rule)

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
