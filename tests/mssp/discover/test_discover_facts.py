"""Pins the Azure facts discovery relies on (mssp/azure/arm.py); each value cites its source there."""

from mssp.azure import arm as arm_api


def test_api_versions_and_paths() -> None:
    assert arm_api.RESOURCE_GRAPH_PATH == "/providers/Microsoft.ResourceGraph/resources"
    assert arm_api.RESOURCE_GRAPH_API_VERSION == "2022-10-01"
    assert arm_api.BATCH_PATH == "/batch"
    assert arm_api.BATCH_API_VERSION == "2020-06-01"
    assert arm_api.DIAGNOSTIC_SETTINGS_PROVIDER == "/providers/Microsoft.Insights/diagnosticSettings"
    assert arm_api.DIAGNOSTIC_SETTINGS_API_VERSION == "2021-05-01-preview"
    assert arm_api.ARM_SCOPE == "https://management.azure.com/.default"


def test_limits() -> None:
    assert arm_api.RESOURCE_GRAPH_MAX_PAGE == 1000  # QueryRequestOptions.$top maximum
    assert arm_api.BATCH_MAX_REQUESTS == 20
    assert arm_api.MAX_DIAGNOSTIC_SETTINGS == 5


def test_names_and_types() -> None:
    assert arm_api.POLICY_SETTING_PREFIX == "setbypolicy"
    assert arm_api.SUBSCRIPTION_TYPE == "microsoft.resources/subscriptions"
    assert arm_api.PULUMI_DIAGNOSTIC_SETTING_TYPE == "azure-native:monitor:DiagnosticSetting"
    assert "storageAccountId" in arm_api.OTHER_DESTINATION_PROPERTIES
    assert "eventHubAuthorizationRuleId" in arm_api.OTHER_DESTINATION_PROPERTIES
