"""Cloud Billing's budget notifications read as documented, and the thresholds they report
(shared/domain/budget_alerts.py): worked examples, and the malformed ones next to them."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.budget_alerts import BudgetNotification, crossings
from shared.domain.errors import ValidationFailed

ATTRIBUTES = {
    "budgetId": "8c1b0a2e-5d3f-4f7a-9e21-0c6b7d8e9f10",
    "billingAccountId": "01ABCD-23EF45-6789AB",
    "schemaVersion": "1.0",
}


def message(**changes: Any) -> bytes:
    """A notification as Cloud Billing sends it: Rp 30 million a month, Rp 27.3 million spent."""
    data: dict[str, Any] = {
        "budgetDisplayName": "patungan-p2p-lending-prod monthly",
        "costAmount": 27_345_678.9,
        "costIntervalStart": "2026-12-01T08:00:00Z",
        "budgetAmount": 30_000_000,
        "budgetAmountType": "SPECIFIED_AMOUNT",
        "currencyCode": "IDR",
    }
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


def parsed(**changes: Any) -> BudgetNotification:
    return BudgetNotification.from_message(message(**changes), ATTRIBUTES)


def test_a_routine_update_crosses_nothing():
    notification = parsed()
    assert notification.cost_amount == Decimal("27345678.9")
    assert notification.budget_id == ATTRIBUTES["budgetId"]
    assert crossings(notification) == ()


def test_ninety_percent_of_actual_spend_is_a_warning_with_the_figures_ops_need():
    (crossing,) = crossings(parsed(alertThresholdExceeded=0.9))
    assert (crossing.basis, crossing.threshold, crossing.severity) == (
        "actual",
        Decimal("0.9"),
        "warning",
    )
    assert crossing.title == (
        "Budget 'patungan-p2p-lending-prod monthly' has passed 90% of its amount"
    )
    text = crossing.text("p2p-lending")
    assert "Entity p2p-lending: IDR 27,345,679 spent of IDR 30,000,000 (91.2%)" in text
    assert "in the period from 2026-12-01" in text
    assert (
        "https://console.cloud.google.com/billing/01ABCD-23EF45-6789AB/budgets/"
        "8c1b0a2e-5d3f-4f7a-9e21-0c6b7d8e9f10"
    ) in text


def test_the_whole_budget_spent_is_critical_a_forecast_only_a_warning():
    actual, forecast = crossings(
        parsed(costAmount=30_150_000, alertThresholdExceeded=1.0, forecastThresholdExceeded=1.2)
    )
    assert (actual.basis, actual.severity) == ("actual", "critical")
    assert (forecast.basis, forecast.severity) == ("forecast", "warning")
    assert forecast.title.endswith("is forecast to pass 120% of its amount")


def test_one_threshold_of_one_period_has_one_key_however_it_is_spelled():
    (a,) = crossings(parsed(alertThresholdExceeded=0.9))
    (b,) = crossings(parsed(alertThresholdExceeded=0.90, costAmount=28_000_000))
    (c,) = crossings(parsed(alertThresholdExceeded=1.0))
    (d,) = crossings(parsed(alertThresholdExceeded=0.9, costIntervalStart="2027-01-01T08:00:00Z"))
    (e,) = crossings(parsed(forecastThresholdExceeded=0.9))
    assert a.key == b.key == f"{ATTRIBUTES['budgetId']}:20261201T080000Z:actual:0.9"
    assert c.key.endswith(":actual:1")
    assert len({a.key, c.key, d.key, e.key}) == 4  # another threshold, period or basis


def test_amounts_in_a_currency_with_cents_keep_them():
    (crossing,) = crossings(
        parsed(currencyCode="USD", costAmount=123.456, budgetAmount=100, alertThresholdExceeded=1)
    )
    assert "USD 123.46 spent of USD 100.00 (123.5%)" in crossing.text("p2p-lending")


@pytest.mark.parametrize(
    ("data", "attributes", "field"),
    [
        (b"{not json", ATTRIBUTES, "(root)"),
        (b"[1, 2]", ATTRIBUTES, "(root)"),
        (message(), {**ATTRIBUTES, "schemaVersion": "2.0"}, "schemaVersion"),
        (message(), {k: v for k, v in ATTRIBUTES.items() if k != "budgetId"}, "budgetId"),
        (message(), {**ATTRIBUTES, "budgetId": "../x"}, "budgetId"),
        (message(costAmount="a lot"), ATTRIBUTES, "costAmount"),
        (message(costAmount=1e20), ATTRIBUTES, "costAmount"),
        (message(budgetAmount=0), ATTRIBUTES, "budgetAmount"),
        (message(costIntervalStart="2026-12-01T08:00:00"), ATTRIBUTES, "costIntervalStart"),
        (message(alertThresholdExceeded=-0.5), ATTRIBUTES, "alertThresholdExceeded"),
        (message(alertThresholdExceeded=0.123456789), ATTRIBUTES, "alertThresholdExceeded"),
        (message(currencyCode="rupiah"), ATTRIBUTES, "currencyCode"),
        (message(budgetDisplayName="x" * 61), ATTRIBUTES, "budgetDisplayName"),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "another-schema",
        "no-budget-id",
        "budget-id-not-an-id",
        "cost-not-a-number",
        "cost-out-of-bounds",
        "budget-zero",
        "naive-period-start",
        "negative-threshold",
        "threshold-too-precise",
        "currency-not-iso",
        "name-too-long",
    ],
)
def test_a_message_that_is_not_a_budget_notification_is_refused_naming_the_field(
    data, attributes, field
):
    with pytest.raises(ValidationFailed) as refused:
        BudgetNotification.from_message(data, attributes)
    assert field in refused.value.field_errors


def test_values_are_never_echoed_in_the_refusal():
    with pytest.raises(ValidationFailed) as refused:
        BudgetNotification.from_message(message(costAmount="secret-ish 123"), ATTRIBUTES)
    assert "secret-ish" not in str(refused.value) + json.dumps(refused.value.field_errors)
