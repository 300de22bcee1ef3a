"""Documented bounds hold at both ends: the bound itself is accepted, one step beyond it is refused.

Just-in-time activation (Azure Lighthouse eligible authorizations): maximumActivationDuration from
PT30M to PT8H (learn.microsoft.com/azure/lighthouse/how-to/create-eligible-authorizations,
"maximumActivationDuration ... between 30 minutes (PT30M) and 8 hours (PT8H)"); at most 10 approvers.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from components.config.customer import JustInTime

APPROVER = {"principalId": "11111111-2222-4333-8444-555555555555", "displayName": "SOC lead"}


@pytest.mark.parametrize("duration", ["PT30M", "PT8H", "PT480M", "PT7H59M", "PT1H", "PT0H30M"])
def test_activation_durations_inside_the_bounds_are_accepted(duration):
    # Bug caught: an exclusive comparison that refuses the documented minimum or maximum itself.
    assert JustInTime.model_validate({"maximumActivationDuration": duration, "approvers": [APPROVER]})


@pytest.mark.parametrize("duration", ["PT29M", "PT8H1M", "PT481M", "PT9H", "PT0M", "PT", "P1D", "30M", "pt30m "])
def test_activation_durations_outside_the_bounds_are_refused_with_the_range(duration):
    with pytest.raises(ValidationError, match="PT30M to PT8H"):
        JustInTime.model_validate({"maximumActivationDuration": duration, "approvers": [APPROVER]})


def test_approvers_bound_at_both_ends():
    ten = [{"principalId": f"11111111-2222-4333-8444-{i:012d}", "displayName": f"approver {i}"} for i in range(10)]
    assert len(JustInTime.model_validate({"approvers": ten}).approvers) == 10
    with pytest.raises(ValidationError, match="10"):
        JustInTime.model_validate({"approvers": [*ten, {"principalId": "11111111-2222-4333-8444-999999999999", "displayName": "one too many"}]})
