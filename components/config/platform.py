"""Configuration of the platform stack (the MSSP tenant): workspace, multitenant identity."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, model_validator

from components import naming
from components.config.base import Guid, Model, Region, ResourceGroupName, WorkspaceName
from components.config.itsm import ItsmConfig
from components.config.splunk import SplunkPlatformConfig

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


class FederatedCredential(Model):
    """A workload identity federation trust (e.g. GitHub Actions OIDC): no secret to leak or rotate."""

    name: Annotated[str, Field(pattern=_FIC_NAME)]
    issuer: Annotated[str, Field(pattern=r"^https://\S+$")]
    subject: Annotated[str, Field(min_length=1, max_length=600)]
    # The audience Microsoft recommends for Entra workload identity federation.
    audiences: list[str] = ["api://AzureADTokenExchange"]
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


class PlatformConfig(Model):
    tenant_id: Guid
    subscription_id: Guid
    location: Region  # the workspace's region; DCRs must live there too
    resource_group: ResourceGroupName  # where the platform's own resources (DCR, playbooks) go; must exist
    workspace: WorkspaceConfig
    identity: IdentityConfig
    itsm: ItsmConfig | None = None  # the ITSM sync for redirected incidents (README "ITSM sync for redirected incidents")
    splunk: SplunkPlatformConfig | None = None  # Splunk alert ingestion (table, DCR, analytics rule)

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
