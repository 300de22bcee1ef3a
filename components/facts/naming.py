"""Stable names: deterministic GUIDs and logical names derived from stable inputs.

Re-running a stack, or exporting the same delegation as a template, must give the same ids, so
nothing here depends on time or randomness. Azure Verified Modules derive the Lighthouse definition
name from (managing tenant, customer tenant, subscription) the same way (guid() in their Bicep).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from components.facts.strict_yaml import shown

# A fixed namespace for this project's name-based (v5) UUIDs; changing it would rename everything.
NAMESPACE = uuid.UUID("0f6b8d54-2c1e-5a57-9b0e-6d5c3a1f2e47")


def stable_guid(*parts: str) -> str:
    """A v5 UUID from the lower-cased parts, joined with '/'."""
    return str(uuid.uuid5(NAMESPACE, "/".join(p.lower() for p in parts)))


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.lower().encode()).hexdigest()[:length]


def slug(text: str, length: int = 40) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:length].strip("-")


def resource_logical_name(prefix: str, resource_id: str, name: str) -> str:
    """A readable, unique Pulumi name for something attached to an ARM resource id.

    The hash of the full id keeps two resources with the same name in different groups apart.
    """
    return f"{prefix}-{slug(name)}-{short_hash(resource_id)}"


def registration_definition_guid(managing_tenant: str, customer_tenant: str, subscription_id: str) -> str:
    return stable_guid("lighthouse-definition", managing_tenant, customer_tenant, subscription_id)


def registration_assignment_guid(managing_tenant: str, customer_tenant: str, subscription_id: str) -> str:
    return stable_guid("lighthouse-assignment", managing_tenant, customer_tenant, subscription_id)


# A customer-mode workspace's resource group is delegated on its own (components.workspace.sentinel): its
# ids take the resource group too, as Azure Verified Modules' guid(..., subscriptionId, resourceGroup) does.
def workspace_definition_guid(managing_tenant: str, customer_tenant: str, subscription_id: str, resource_group: str) -> str:
    return stable_guid("lighthouse-definition", managing_tenant, customer_tenant, subscription_id, resource_group)


def workspace_assignment_guid(managing_tenant: str, customer_tenant: str, subscription_id: str, resource_group: str) -> str:
    return stable_guid("lighthouse-assignment", managing_tenant, customer_tenant, subscription_id, resource_group)


# --------------------------------------------------------------------------------------------------
# Azure's naming rules for the names a stack's config hands to Azure, as data.
# Source: Microsoft, "Naming rules and restrictions for Azure resources" (MicrosoftDocs/azure-docs
# articles/azure-resource-manager/management/resource-name-rules.md; learn.microsoft.com/azure/
# azure-resource-manager/management/resource-name-rules): entity, length, valid characters.
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NameRule:
    what: str  # how a message names the thing
    resource_type: str
    min_length: int
    max_length: int
    pattern: str  # the valid characters, as a full-match regex
    allowed: str  # the valid characters in the page's words


# Microsoft.Network's common rule: alphanumerics, underscores, periods and hyphens; start with alphanumeric,
# end with alphanumeric or underscore.
_NETWORK = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
_NETWORK_WORDS = ("letters, digits, underscores, periods and hyphens; starting with a letter or digit, ending with "
                  "a letter, digit or underscore")
_ALNUM_HYPHENS = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ALNUM_HYPHENS_WORDS = "letters, digits and hyphens; starting and ending with a letter or digit"

NAME_RULES: Mapping[str, NameRule] = MappingProxyType({
    # Microsoft.Resources resourcegroups: 1-90, alphanumerics, underscores, parentheses, hyphens,
    # periods and unicode letters/digits; can't end with period.
    "resourceGroup": NameRule(
        "resource group", "Microsoft.Resources/resourceGroups", 1, 90, r"[\w().-]*[\w()-]",
        "letters, digits, underscores, parentheses, hyphens and periods; not ending with a period"),
    # Microsoft.OperationalInsights workspaces: 4-63, alphanumerics and hyphens, start and end with alphanumeric.
    "workspace": NameRule(
        "Log Analytics workspace", "Microsoft.OperationalInsights/workspaces", 4, 63, _ALNUM_HYPHENS, _ALNUM_HYPHENS_WORDS),
    # Microsoft.Logic workflows: 1-80, alphanumerics, hyphens, underscores, periods and parenthesis.
    "workflow": NameRule(
        "Logic App workflow", "Microsoft.Logic/workflows", 1, 80, r"[A-Za-z0-9_.()-]+",
        "letters, digits, hyphens, underscores, periods and parentheses"),
    # The names of the inventoried resources, per catalog type (same page, same table columns).
    "Microsoft.KeyVault/vaults": NameRule(
        "Key Vault", "Microsoft.KeyVault/vaults", 3, 24, r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]",
        "letters, digits and hyphens; starting with a letter, ending with a letter or digit"),
    "Microsoft.Network/networkSecurityGroups": NameRule(
        "network security group", "Microsoft.Network/networkSecurityGroups", 1, 80, _NETWORK, _NETWORK_WORDS),
    "Microsoft.Network/azureFirewalls": NameRule(
        "Azure Firewall", "Microsoft.Network/azureFirewalls", 1, 80, _NETWORK, _NETWORK_WORDS),
    "Microsoft.Network/publicIPAddresses": NameRule(
        "public IP address", "Microsoft.Network/publicIPAddresses", 1, 80, _NETWORK, _NETWORK_WORDS),
    "Microsoft.Network/applicationGateways": NameRule(
        "application gateway", "Microsoft.Network/applicationGateways", 1, 80, _NETWORK, _NETWORK_WORDS),
    "Microsoft.Network/frontDoors": NameRule(
        "Front Door", "Microsoft.Network/frontDoors", 5, 64, _ALNUM_HYPHENS, _ALNUM_HYPHENS_WORDS),
    "Microsoft.Cdn/profiles": NameRule(
        "CDN / Front Door profile", "Microsoft.Cdn/profiles", 1, 260, _ALNUM_HYPHENS, _ALNUM_HYPHENS_WORDS),
    "Microsoft.ContainerService/managedClusters": NameRule(
        "AKS cluster", "Microsoft.ContainerService/managedClusters", 1, 63,
        r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?",
        "letters, digits, underscores and hyphens; starting and ending with a letter or digit"),
    "Microsoft.Sql/servers": NameRule(
        "SQL server", "Microsoft.Sql/servers", 1, 63, r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?",
        "lower-case letters, digits and hyphens; not starting or ending with a hyphen"),
    "Microsoft.Sql/servers/databases": NameRule(
        "SQL database", "Microsoft.Sql/servers/databases", 1, 128, r"[^<>*%&:\\/?]*[^<>*%&:\\/?. ]",
        "any characters but <>*%&:\\/?; not ending with a period or space"),
    "Microsoft.Storage/storageAccounts": NameRule(
        "storage account", "Microsoft.Storage/storageAccounts", 3, 24, r"[a-z0-9]+", "lower-case letters and digits"),
})


def name_problem(rule: str, value: str, *, ignore_case: bool = False) -> str | None:
    """Why `value` cannot be the Azure name of `rule`'s type (None when it can).

    `ignore_case` for names read from resource ids: ARM compares names case-insensitively and may return
    them in another case than they were created in (the page's own note), so "lower-case" rules cannot
    refuse an id's spelling."""
    r = NAME_RULES[rule]
    flags = re.IGNORECASE if ignore_case else 0
    if not (r.min_length <= len(value) <= r.max_length) or not re.fullmatch(r.pattern, value, flags):
        return (f"'{shown(value)}' is not a valid {r.what} name ({r.resource_type}); allowed: {r.min_length}-{r.max_length} "
                f"{r.allowed} (Microsoft: naming rules and restrictions for Azure resources)")
    return None


def check_name(rule: str) -> Callable[[str], str]:
    """A pydantic AfterValidator enforcing `rule`."""
    def _check(value: str) -> str:
        problem = name_problem(rule, value)
        if problem:
            raise ValueError(problem)
        return value
    return _check


def sql_audit_definition_guid(managing_tenant_id: str, customer_tenant_id: str, subscription_id: str,
                              resource_group: str) -> str:
    """The registration definition of a resource group's SQL-auditing delegation (resource group names compare
    case-insensitively in ARM, so the name is lower-cased here)."""
    return stable_guid("lighthouse-sql-audit-definition", managing_tenant_id, customer_tenant_id, subscription_id,
                       resource_group)


def sql_audit_assignment_guid(managing_tenant_id: str, customer_tenant_id: str, subscription_id: str,
                              resource_group: str) -> str:
    return stable_guid("lighthouse-sql-audit-assignment", managing_tenant_id, customer_tenant_id, subscription_id,
                       resource_group)
