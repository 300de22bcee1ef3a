"""The local Azure enforces each type's published contract: every rule below, sent against a resource
the real engine deployed, is refused, and the same body without the violation is accepted.

The rules are listed here on their own, from the REST specs (the same sources testing/contracts.py
cites), so removing a rule from the local Azure makes its case fail instead of silently vanishing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from realengine_support import (  # noqa: F401 (fixtures)
    Deployment,
    deployment,
    engine_bin_dir,
    local_azure,
)

from testing.fake_azure import MAX_DIAGNOSTIC_SETTINGS

pytestmark = pytest.mark.realengine

SETTINGS = "Microsoft.Insights/diagnosticSettings"
DEFINITION = "Microsoft.ManagedServices/registrationDefinitions"
ASSIGNMENT = "Microsoft.ManagedServices/registrationAssignments"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
WORKFLOW = "Microsoft.Logic/workflows"
DCR = "Microsoft.Insights/dataCollectionRules"
TABLE = "Microsoft.OperationalInsights/workspaces/tables"
AUTOMATION = "Microsoft.SecurityInsights/automationRules"
ALERT = "Microsoft.SecurityInsights/alertRules"
AUDITING = "Microsoft.Sql/servers/auditingSettings"
CONNECTION = "Microsoft.Web/connections"

# (type, rule, path[, value]): required = the property removed; enum/range/read-only = set to `value`.
RULES: list[tuple[str, str, str, Any]] = [
    # monitor 2021-05-01-preview diagnosticsSettings_API.json: LogSettings/MetricSettings.enabled, RetentionPolicy
    (SETTINGS, "required", "properties.logs[].enabled", None),
    (SETTINGS, "required", "properties.metrics[].enabled", None),
    (SETTINGS, "required", "properties.logs[].retentionPolicy.days", None),
    (SETTINGS, "range", "properties.logs[].retentionPolicy.days", 366),
    (SETTINGS, "enum", "properties.logAnalyticsDestinationType", "Shared"),
    (SETTINGS, "read-only", "systemData", {"createdBy": "x"}),
    # managedservices 2022-10-01 managedservices.json
    (DEFINITION, "required", "properties.managedByTenantId", None),
    (DEFINITION, "required", "properties.authorizations", None),
    (DEFINITION, "required", "properties.authorizations[].principalId", None),
    (DEFINITION, "required", "properties.authorizations[].roleDefinitionId", None),
    (DEFINITION, "required", "properties.eligibleAuthorizations[].justInTimeAccessPolicy.multiFactorAuthProvider", None),
    (DEFINITION, "enum", "properties.eligibleAuthorizations[].justInTimeAccessPolicy.multiFactorAuthProvider", "Sms"),
    (DEFINITION, "read-only", "properties.provisioningState", "Succeeded"),
    (ASSIGNMENT, "required", "properties.registrationDefinitionId", None),
    (ASSIGNMENT, "read-only", "properties.provisioningState", "Succeeded"),
    # authorization 2022-04-01 RoleAssignmentProperties
    (ROLE_ASSIGNMENT, "required", "properties.principalId", None),
    (ROLE_ASSIGNMENT, "required", "properties.roleDefinitionId", None),
    (ROLE_ASSIGNMENT, "enum", "properties.principalType", "Robot"),
    (ROLE_ASSIGNMENT, "read-only", "properties.createdOn", "2024-01-01T00:00:00Z"),
    # logic 2019-05-01 logic.json WorkflowProperties.state, ManagedServiceIdentity
    (WORKFLOW, "enum", "properties.state", "Paused"),
    (WORKFLOW, "enum", "identity.type", "Automatic"),
    (WORKFLOW, "read-only", "properties.accessEndpoint", "https://x"),
    (WORKFLOW, "read-only", "identity.principalId", "00000000-0000-0000-0000-000000000000"),
    # monitor 2022-06-01 dataCollectionRules_API.json (TrackedResource.location; readOnly immutableId)
    (DCR, "required", "location", None),
    (DCR, "read-only", "properties.immutableId", "dcr-0"),
    # operationalinsights 2023-09-01 Tables.json
    (TABLE, "range", "properties.retentionInDays", 731),
    (TABLE, "range", "properties.totalRetentionInDays", 4384),
    (TABLE, "required", "properties.schema.columns[].name", None),
    (TABLE, "read-only", "properties.schema.tableType", "CustomLog"),
    # securityinsights 2024-09-01 AutomationRules.json
    (AUTOMATION, "required", "properties.displayName", None),
    (AUTOMATION, "required", "properties.triggeringLogic.triggersOn", None),
    (AUTOMATION, "range", "properties.order", 1001),
    (AUTOMATION, "required", "properties.actions[].order", None),
    # securityinsights 2024-09-01 AlertRules.json ScheduledAlertRuleProperties
    (ALERT, "required", "properties.query", None),
    (ALERT, "required", "properties.queryFrequency", None),
    (ALERT, "enum", "properties.severity", "Critical"),
    (ALERT, "enum", "properties.triggerOperator", "Above"),
    # sql 2023-08-01 BlobAuditing.json ServerBlobAuditingPolicyProperties.state
    (AUDITING, "required", "properties.state", None),
    (AUDITING, "enum", "properties.state", "On"),
    # web 2016-06-01 apiConnections.json
    (CONNECTION, "required", "properties.api.id", None),
]


def _example(deployment: Deployment, rtype: str) -> tuple[str, dict[str, Any]]:
    """(path, body) of a resource of `rtype` the engine deployed, as its client would PUT it again."""
    if rtype == SETTINGS:
        scope = next(k for k, v in deployment.arm.settings.items() if v and "/providers/" in k)
        s = deployment.arm.settings[scope][0]
        return f"{scope}/providers/Microsoft.Insights/diagnosticSettings/{s['name']}", {"properties": copy.deepcopy(s["properties"])}
    stored = next(r for r in deployment.arm.store.resources.values() if r["type"].lower() == rtype.lower())
    readonly_free = {k: copy.deepcopy(v) for k, v in stored.items() if k not in ("id", "name", "type") and not k.startswith("_")}
    return stored["id"], _without_read_only(rtype, readonly_free)


def _without_read_only(rtype: str, body: dict[str, Any]) -> dict[str, Any]:
    from testing import contracts

    contract = contracts.for_type(rtype)
    assert contract is not None
    for path in contract.read_only:
        keys = path.split(".")
        target: Any = body
        for k in keys[:-1]:
            target = target.get(k) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(keys[-1], None)
    return body


def _apply(body: dict[str, Any], path: str, value: Any, remove: bool) -> None:
    """Set (or remove) `path` in body, creating what is missing; `[]` means the list's first item."""
    keys = path.split(".")
    target: Any = body
    for k in keys[:-1]:
        if k.endswith("[]"):
            items = target.setdefault(k[:-2], [])
            if not items:
                items.append({"category": "AllMetrics", "enabled": True} if k == "metrics[]" else {})
            target = items[0]
        else:
            target = target.setdefault(k, {})
    last = keys[-1]
    if last.endswith("[]"):
        last = last[:-2]
    if remove:
        target.pop(last, None)
        if last not in ("enabled",) and not target:  # keep the entry non-empty so only this property is missing
            target["x-placeholder"] = "present"
    else:
        target[last] = value


def _put(deployment: Deployment, path: str, rtype: str, body: dict[str, Any]) -> Any:
    from testing import contracts

    contract = contracts.for_type(rtype)
    assert contract is not None
    tenant = deployment.arm.home_tenants.get(path.split("/")[2].lower(), "")
    return deployment.arm.store.handle("PUT", path, f"api-version={contract.api_versions[0]}", body, tenant)


@pytest.mark.parametrize(("rtype", "rule", "path", "value"), RULES, ids=[f"{t.rsplit('/', 1)[-1]}-{r}-{p}" for t, r, p, _ in RULES])
def test_each_contract_rule_refuses_its_violation(deployment: Deployment, rtype: str, rule: str, path: str, value: Any) -> None:
    target, valid = _example(deployment, rtype)
    accepted = _put(deployment, target, rtype, copy.deepcopy(valid))
    assert accepted.status in (200, 201), accepted.body  # the unmodified body is fine: the refusal is the rule's
    bad = copy.deepcopy(valid)
    _apply(bad, path, value, remove=rule == "required")
    refused = _put(deployment, target, rtype, bad)
    assert refused.status == 400, f"{rule} {path}: accepted {bad}"
    leaf = path.rsplit(".", 1)[-1].removesuffix("[]")
    assert leaf in refused.body["error"]["message"], refused.body
    assert _put(deployment, target, rtype, copy.deepcopy(valid)).status in (200, 201)  # put back


def test_a_sixth_diagnostic_setting_on_a_resource_is_refused(deployment: Deployment) -> None:
    """diagnostic-settings.md: "You can create up to five diagnostic settings per resource"."""
    scope = next(k for k, v in deployment.arm.settings.items() if v and "/vaults/" in k)
    body = {"properties": copy.deepcopy(deployment.arm.settings[scope][0]["properties"])}
    path = f"{scope}/providers/Microsoft.Insights/diagnosticSettings/extra-"
    made = []
    try:
        for i in range(MAX_DIAGNOSTIC_SETTINGS - len(deployment.arm.settings[scope])):
            assert _put(deployment, f"{path}{i}", SETTINGS, body).status == 200
            made.append(f"extra-{i}")
        refused = _put(deployment, f"{path}last", SETTINGS, body)
        assert refused.status == 400 and "maximum of 5" in refused.body["error"]["message"]
    finally:
        deployment.arm.settings[scope] = [s for s in deployment.arm.settings[scope] if s["name"] not in made]


def test_lighthouse_refuses_owner_and_an_assignment_without_its_definition(deployment: Deployment) -> None:
    """tenants-users-roles: Owner is not supported; an assignment names an existing definition."""
    target, valid = _example(deployment, DEFINITION)
    owner = copy.deepcopy(valid)
    owner["properties"]["authorizations"][0]["roleDefinitionId"] = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    refused = _put(deployment, target, DEFINITION, owner)
    assert refused.status == 400 and "Owner" in refused.body["error"]["message"]
    path, assignment = _example(deployment, ASSIGNMENT)
    orphan = copy.deepcopy(assignment)
    orphan["properties"]["registrationDefinitionId"] = target.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    refused = _put(deployment, path.rsplit("/", 1)[0] + "/11111111-1111-1111-1111-111111111111", ASSIGNMENT, orphan)
    assert (refused.status, refused.body["error"]["code"]) == (400, "RegistrationDefinitionNotFound")


def test_a_custom_role_name_is_taken_once(deployment: Deployment) -> None:
    target, valid = _example(deployment, "Microsoft.Authorization/roleDefinitions")
    twin = target.rsplit("/", 1)[0] + "/22222222-2222-2222-2222-222222222222"
    refused = _put(deployment, twin, "Microsoft.Authorization/roleDefinitions", copy.deepcopy(valid))
    assert (refused.status, refused.body["error"]["code"]) == (409, "RoleDefinitionWithSameNameExists")


def test_a_role_assignment_cannot_change_its_role(deployment: Deployment) -> None:
    target, valid = _example(deployment, ROLE_ASSIGNMENT)
    moved = copy.deepcopy(valid)
    moved["properties"]["roleDefinitionId"] = moved["properties"]["roleDefinitionId"].rsplit("/", 1)[0] + \
        "/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    refused = _put(deployment, target, ROLE_ASSIGNMENT, moved)
    assert (refused.status, refused.body["error"]["code"]) == (400, "RoleAssignmentUpdateNotPermitted")
