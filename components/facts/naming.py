"""Stable names: deterministic GUIDs and logical names derived from stable inputs.

Re-running a stack, or exporting the same delegation as a template, must give the same ids, so
nothing here depends on time or randomness. Azure Verified Modules derive the Lighthouse definition
name from (managing tenant, customer tenant, subscription) the same way (guid() in their Bicep).
"""

from __future__ import annotations

import hashlib
import re
import uuid

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
