"""The offline plan's placeholder ids are unique where Azure's are: the real engine found the collision.

Under the real engine (tests/realengine) two subscriptions' Activity-log settings of the same name are two
resources with two ids; the mocks once gave both `/subscriptions/(from-provider)/...`, one id for two
resources, so anything keyed by id (the state, `pulumi import`, a diff) would have merged them.
"""

from __future__ import annotations

import pulumi

from mssp.plan.mock_azure import OfflineMocks

SETTING = "azure-native:monitor:SubscriptionDiagnosticSetting"


def _provider(subscription: str) -> str:
    mocks = OfflineMocks()
    urn = f"urn:pulumi:s::p::pulumi:providers:azure-native::forward-{subscription}"
    pid, _ = mocks.new_resource(pulumi.runtime.MockResourceArgs("pulumi:providers:azure-native", f"forward-{subscription}",
                                                                {"subscriptionId": subscription}))
    return f"{urn}::{pid}"


def test_subscription_settings_of_two_subscriptions_get_two_ids() -> None:
    mocks = OfflineMocks()
    ids = {
        mocks.new_resource(pulumi.runtime.MockResourceArgs(SETTING, f"activity-{sub}", {"name": "mssp-sentinel"},
                                                           provider=_provider(sub)))[0]
        for sub in ("3c8d0e5f-6a7b-4c9d-8e1f-2a3b4c5d6e7f", "4d9e1f6a-7b8c-4d0e-9f2a-3b4c5d6e7f80")
    }
    assert len(ids) == 2
    assert all(i.startswith(("/subscriptions/3c8d0e5f", "/subscriptions/4d9e1f6a")) for i in ids), ids
