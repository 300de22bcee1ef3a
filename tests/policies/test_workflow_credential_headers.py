"""The workflow-credentials guardrail finds a literal credential header whatever the header's spelling,
wherever the HTTP action sits in the definition, and never takes a Logic Apps expression for one.

The header names are the rule's own list (policies.rules._SECRET_HEADERS); HTTP header names compare
case-insensitively (RFC 9110 5.1). Values here match none of the rule's in-text credential patterns, so
only the header check can find them.
"""

from __future__ import annotations

from typing import Any

import pytest

from policies import rules

LITERAL = "k3y-Value-0001"  # no "Bearer", no sig=, no JWT: nothing but the header's name gives it away


def spellings(name: str) -> list[str]:
    title = "-".join(part[:1].upper() + part[1:] for part in name.split("-"))
    return sorted({name, name.upper(), title})


def http(headers: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Http", "inputs": {"method": "GET", "uri": "https://api.example.com/", "headers": headers}}


def placements(action: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The same HTTP action at the top level, inside a Scope, a Foreach, an If's else branch, a Switch case."""
    return {
        "top level": {"actions": {"Send": action}},
        "in a Scope": {"actions": {"Scope": {"type": "Scope", "actions": {"Send": action}}}},
        "in a Foreach": {"actions": {"Each": {"type": "Foreach", "foreach": "@triggerBody()", "actions": {"Send": action}}}},
        "in an If's else": {"actions": {"If": {"type": "If", "expression": {}, "actions": {},
                                                "else": {"actions": {"Send": action}}}}},
        "in a Switch case": {"actions": {"Switch": {"type": "Switch", "expression": "@x",
                                                    "cases": {"a": {"case": "a", "actions": {"Send": action}}}}}},
    }


def findings(definition: dict[str, Any]) -> list[str]:
    definition = {"triggers": {"manual": {"type": "Request", "kind": "Http"}}, **definition}
    view = rules.ResourceView(type=rules.WORKFLOW, props={"definition": definition})
    return rules.check_workflow_credentials(view, rules.PolicyContext())


CASES = [(header, spelled, where)
         for header in sorted(rules._SECRET_HEADERS)
         for spelled in spellings(header)
         for where in placements({})]


@pytest.mark.parametrize("header, spelled, where", CASES)
def test_a_literal_credential_header_is_found_in_any_spelling_and_place(header, spelled, where):
    # Bugs caught: a case-sensitive header comparison, a header missing from the list, a walk that does not
    # descend into nested actions: each lets a literal key or token into a definition anyone can read.
    found = findings(placements(http({spelled: LITERAL}))[where])
    assert any(f"{spelled} is a literal credential header" in message for message in found), found
    assert all(LITERAL not in message for message in found)  # the message names the path, never the value


@pytest.mark.parametrize("expression", ["@parameters('apiKey')", "@{parameters('apiKey')}",
                                        "  @body('Get_secret')?['value']", "Bearer @{parameters('token')}"])
@pytest.mark.parametrize("header", sorted(rules._SECRET_HEADERS))
def test_an_expression_is_not_a_literal_credential(header, expression):
    # Bug caught: the rule refuses the approved pattern (a securestring parameter or a Key Vault read).
    assert findings(placements(http({header: expression}))["top level"]) == []


def test_other_headers_with_plain_values_pass():
    assert findings(placements(http({"Content-Type": "application/json", "X-Request-Id": LITERAL}))["top level"]) == []
