"""Where a customer's logs are stored: the workspace topology and the customer's data residency.

Two topologies, chosen per customer stack (docs/topologies.md):
- `central` (the default, the original design): the customer's diagnostic settings send to the MSSP's
  workspace in the MSSP tenant (platform.workspace);
- `customer`: the stack creates a Log Analytics workspace with Microsoft Sentinel in a subscription of
  the customer's own tenant, managed by the MSSP through Azure Lighthouse, and points the customer's
  settings at it. Microsoft's guidance for service providers is at least one workspace per Microsoft
  Entra tenant (MicrosoftDocs azure-docs articles/sentinel/prepare-multiple-workspaces.md;
  articles/lighthouse/how-to/manage-sentinel-workspaces.md).

`dataResidency.allowedRegions` says where the customer's logs may be stored; the mandatory guardrail
`data-residency` (policies/rules.py) refuses a workspace outside it, central or customer.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from components.config.base import Guid, Model, Region, ResourceGroupName, WorkspaceName
from components.facts import roles

# Workspace-level retention of a PerGB2018 workspace: 30 days by default, up to two years (MicrosoftDocs
# azure-monitor-docs articles/azure-monitor/logs/data-retention-configure.md: "You can change the default
# analytics retention of a workspace ... up to two years"; below 31 days costs no less). Microsoft Sentinel
# includes 90 days of analytics retention in its price (MicrosoftDocs azure-docs
# articles/sentinel/billing.md), hence the default.
RETENTION_MIN_DAYS, RETENTION_MAX_DAYS, RETENTION_DEFAULT_DAYS = 30, 730, 90

# The roles the MSSP's SOC principals may hold on a customer workspace's resource group through Lighthouse:
# the Sentinel roles and Log Analytics Reader (issue #26), Reader (for "My customers"), and the two Sentinel
# automation roles. All built-in, delegable (no DataActions, no Microsoft.Authorization writes: MicrosoftDocs
# azure-management-docs articles/lighthouse/concepts/tenants-users-roles.md) and monitoring-scoped
# (roles.MONITORING_SCOPED).
WORKSPACE_SOC_ROLES: tuple[roles.Role, ...] = tuple(roles.BY_NAME[n] for n in (
    "reader", "log analytics reader", "microsoft sentinel reader", "microsoft sentinel responder",
    "microsoft sentinel contributor", "microsoft sentinel automation contributor",
    "microsoft sentinel playbook operator",
))


class WorkspaceAuthorization(Model):
    """An MSSP principal (a SOC security group) with a Sentinel role on the customer workspace's resource group."""

    principal_id: Guid
    """Object id of the MSSP-tenant principal (a security group, preferably)."""
    display_name: Annotated[str, Field(min_length=1, max_length=256)]
    """Shown to the customer under "Service providers" and in every plan."""
    role: str
    """Built-in role name or GUID: Reader, Log Analytics Reader, Microsoft Sentinel Reader, Responder, Contributor,
    Automation Contributor or Playbook Operator."""
    principal_type: Literal["group", "user", "servicePrincipal"] = "group"
    """What the principal is; a group is recommended."""

    @field_validator("role")
    @classmethod
    def _workspace_role(cls, value: str) -> str:
        role = roles.resolve(value)
        allowed = ", ".join(r.name for r in WORKSPACE_SOC_ROLES)
        if role is None:
            raise ValueError(f"unknown role '{value}'; allowed on the customer workspace: {allowed}")
        if role not in WORKSPACE_SOC_ROLES:
            why = (role.delegable.value if role.delegable is not roles.Delegable.YES
                   else "it is not a Sentinel or Log Analytics reading role")
            raise ValueError(f"role '{role.name}' is not granted on the customer workspace ({why}); allowed: {allowed}")
        return role.guid

    @property
    def role_name(self) -> str:
        return roles.BY_GUID[self.role].name


class WorkspaceTopology(Model):
    """Where this customer's logs go: the MSSP's central workspace, or a workspace in the customer's tenant."""

    mode: Literal["central", "customer"] = "central"
    """`central`: the MSSP's workspace (`platform.workspace`); `customer`: a workspace with Sentinel that this stack
    creates in the customer's tenant, managed through Lighthouse."""
    subscription_id: Guid | None = None
    """Customer mode: the customer subscription for the workspace; not one of `subscriptions` (Lighthouse cannot
    delegate a resource group inside a subscription delegated whole)."""
    resource_group: ResourceGroupName | None = None
    """Customer mode: the workspace's resource group, holding it alone and delegated to the MSSP on its own."""
    name: WorkspaceName | None = None
    """Customer mode: the Log Analytics workspace's name."""
    location: Region | None = None
    """Customer mode: the workspace's ARM region, e.g. `northeurope`."""
    retention_in_days: Annotated[int, Field(ge=RETENTION_MIN_DAYS, le=RETENTION_MAX_DAYS)] | None = None
    """Customer mode: analytics retention, 30 to 730 days; default 90 (included in Microsoft Sentinel's price)."""
    daily_quota_gb: Annotated[float, Field(gt=0, le=1_000_000)] | None = None
    """Customer mode: daily ingestion cap in GB; no cap when left out."""
    authorizations: list[WorkspaceAuthorization] = []
    """Customer mode: the SOC's roles on the workspace's resource group (and nowhere else)."""
    on_offboard: Literal["retain", "delete"] = "retain"
    """Customer mode: `retain` keeps the workspace and its data when the customer leaves (retained on
    delete); `delete` needs `deleteDecision`."""
    delete_decision: Annotated[str, Field(min_length=10, max_length=300)] | None = None
    """With `onOffboard: delete`: who decided, when, which ticket; shown in every plan."""

    @model_validator(mode="after")
    def _fits_mode(self) -> WorkspaceTopology:
        given = sorted(type(self).model_fields[f].alias or f for f in self.model_fields_set if f != "mode")
        if self.mode == "central":
            if given:
                raise ValueError(f"{', '.join(given)}: only with mode customer (mode central sends to the MSSP's "
                                 "workspace, platform.workspace); allowed: mode: customer, or remove these keys")
            return self
        missing = [k for k, v in (("subscriptionId", self.subscription_id), ("resourceGroup", self.resource_group),
                                  ("name", self.name), ("location", self.location)) if v is None]
        if missing:
            raise ValueError(f"mode customer needs {', '.join(missing)} (where the customer's workspace is created); "
                             "allowed: all four of subscriptionId, resourceGroup, name, location")
        if self.on_offboard == "delete" and self.delete_decision is None:
            raise ValueError("onOffboard: delete removes the customer's workspace and all its logs; it needs "
                             "deleteDecision: '<who decided, when, ticket>'; allowed: onOffboard: retain (default), "
                             "or delete with deleteDecision")
        if self.delete_decision is not None and self.on_offboard != "delete":
            raise ValueError("deleteDecision: only with onOffboard: delete; allowed: remove it, or onOffboard: delete")
        seen: dict[tuple[str, str], int] = {}
        for i, auth in enumerate(self.authorizations):
            key = (auth.principal_id, auth.role)
            if key in seen:
                raise ValueError(f"authorizations[{i}]: principal {auth.principal_id} with role '{auth.role_name}' is "
                                 f"listed twice (entries {seen[key]} and {i}); allowed: each principal and role once")
            seen[key] = i
        return self

    @property
    def customer_mode(self) -> bool:
        return self.mode == "customer"

    @property
    def retention(self) -> int:
        return self.retention_in_days if self.retention_in_days is not None else RETENTION_DEFAULT_DAYS

    @property
    def resource_id(self) -> str | None:
        """The customer workspace's ARM id (None in central mode)."""
        if not self.customer_mode:
            return None
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/"
                f"Microsoft.OperationalInsights/workspaces/{self.name}")

    @property
    def resource_group_id(self) -> str | None:
        if not self.customer_mode:
            return None
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"


class DataResidency(Model):
    """Where the customer's logs may be stored: ARM region names (e.g. westeurope, northeurope)."""

    allowed_regions: Annotated[list[Region], Field(min_length=1, max_length=100)]
    """ARM region names (e.g. `westeurope`) the customer's logs may be stored in."""

    @field_validator("allowed_regions")
    @classmethod
    def _once(cls, values: list[str]) -> list[str]:
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} listed twice; allowed: each region once")
        return values
