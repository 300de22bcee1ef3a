"""Every built-in role of components/facts/roles.py against the permissions Microsoft publishes for it.

The fixture (tests/fixtures/builtin-role-permissions.json) copies each role's `id` and `permissions` from
stored MicrosoftDocs/azure-docs `built-in-roles/<category>.md` pages, with path and commit. What roles.py
derives from those permissions is pinned here: the GUID, `includes_reader` (which decides the
"My customers" advisory) and the part of the Lighthouse `delegable` verdict that permissions decide.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from components.facts import roles

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "builtin-role-permissions.json"
DOCS_DIR = "articles/role-based-access-control/built-in-roles/"

# Roles of roles.py that no stored copy of Microsoft's pages holds. Every role was found; a role added to
# roles.py without its published permissions must either be added to the fixture or named here.
EXPECTED_NOT_FOUND: list[dict[str, Any]] = []

# Verdicts that refuse a role for a reason other than DataActions. Which of them applies to a role that
# writes Microsoft.Authorization is not in its permissions: Lighthouse's page names Owner and User Access
# Administrator by name (tenants-users-roles.md), so the fixture only decides that the verdict is a refusal.
_AUTHORIZATION_REFUSALS = frozenset({
    roles.Delegable.NO_OWNER, roles.Delegable.NO_AUTHORIZATION_WRITE, roles.Delegable.ONLY_WITH_DELEGATED_ROLES,
})


def _fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def _published() -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in _fixture()["roles"]}


def _includes_reader(published: dict[str, Any]) -> bool:
    # Reader is exactly `*/read`, and `*` covers it; no role of the fixture lists `*/read` among its notActions.
    return any(a in ("*", "*/read") for a in published["actions"])


def _writes_authorization(published: dict[str, Any]) -> bool:
    """Whether the actions reach a Microsoft.Authorization write or delete that the notActions do not take away.

    `*` and any Microsoft.Authorization action that is not a read (`Microsoft.Authorization/*`,
    `.../policyAssignments/*`, `.../roleAssignments/write`) count; Contributor's notActions
    `Microsoft.Authorization/*/Delete` and `Microsoft.Authorization/*/Write` take all of them away again.
    Action strings are case-insensitive in Azure RBAC, and the pages mix cases (`policyassignments`).
    """
    not_actions = {a.lower() for a in published["notActions"]}
    if {"microsoft.authorization/*/write", "microsoft.authorization/*/delete"} <= not_actions:
        return False
    return any(a == "*" or (a.lower().startswith("microsoft.authorization/") and not a.lower().endswith("/read"))
               for a in published["actions"])


def test_the_fixture_holds_every_role_of_roles_py_once_and_names_its_source() -> None:
    data = _fixture()
    assert data["not_found"] == EXPECTED_NOT_FOUND
    names = [r["name"] for r in data["roles"]]
    assert sorted(names) == sorted(r.name for r in roles._ROLES)
    assert len(set(names)) == len(names)
    for r in data["roles"]:
        source = r["source"]
        assert source["repo"] == "MicrosoftDocs/azure-docs" and source["path"].startswith(DOCS_DIR), r["name"]
        assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]), r["name"]


@pytest.mark.parametrize("role", roles._ROLES, ids=lambda r: r.name)
def test_role_guid_is_the_published_id(role: roles.Role) -> None:
    published = _published()[role.name]
    assert published["id"] == f"/providers/Microsoft.Authorization/roleDefinitions/{published['guid']}"
    assert role.guid == published["guid"]


@pytest.mark.parametrize("role", roles._ROLES, ids=lambda r: r.name)
def test_includes_reader_is_what_the_published_actions_say(role: roles.Role) -> None:
    assert role.includes_reader == _includes_reader(_published()[role.name])


@pytest.mark.parametrize("role", roles._ROLES, ids=lambda r: r.name)
def test_delegable_agrees_with_the_published_permissions(role: roles.Role) -> None:
    """Lighthouse refuses roles with DataActions and roles writing Microsoft.Authorization/*; built-in roles
    with neither (and not Owner, which holds `*`) are accepted (tenants-users-roles.md, "Role support for Azure
    Lighthouse")."""
    published = _published()[role.name]
    if published["dataActions"]:
        assert role.delegable is roles.Delegable.NO_DATA_ACTIONS
    elif _writes_authorization(published):
        assert role.delegable in _AUTHORIZATION_REFUSALS
    else:
        assert role.delegable is roles.Delegable.YES


def test_the_read_only_identitys_roles_only_read() -> None:
    # roles.py keeps Monitoring Reader out of READ_ONLY_ROLES because it also holds search/action and
    # Microsoft.Support/*; whatever the tuple holds must publish nothing but reads.
    published = _published()
    for role in roles.READ_ONLY_ROLES:
        p = published[role.name]
        assert all(a.lower().endswith("/read") for a in p["actions"]), role.name
        assert not p["dataActions"], role.name
