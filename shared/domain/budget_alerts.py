"""Budget alerts: what a Cloud Billing budget notification says, and what ops are told.

Cloud Billing publishes a notification about the entity's budget to its budget topic
several times a day, whether or not a threshold was crossed (Google's "budget
notification format", schema 1.0):

- attributes: `billingAccountId`, `budgetId`, `schemaVersion` ("1.0");
- data (JSON): `budgetDisplayName`, `costAmount` (spend so far in the period),
  `costIntervalStart` (when the period began), `budgetAmount`, `budgetAmountType`,
  `currencyCode`, and — only once spend has crossed one — `alertThresholdExceeded`
  (the highest threshold of actual spend crossed) and `forecastThresholdExceeded`
  (the highest threshold the month's forecast crosses), as fractions (`0.9` is 90%).

`crossings(notification)` lists the thresholds a notification reports, at most one per
basis. Each is told to ops once per budget, period, basis and threshold
(`BudgetCrossing.key`); a notification that crosses nothing tells nothing. Actual spend
at or over the whole budget is critical, anything else a warning. Pure: amounts are
Decimals as the notification gives them (a budget's currency, not rupiah arithmetic).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, ValidationError

from shared.domain.errors import ValidationFailed
from shared.model import Model

Basis = Literal["actual", "forecast"]
Severity = Literal["warning", "critical"]

# A fraction of the budget (thresholds go up to 10 = 1000%), and an amount of money: bounded
# so that no input can make the formatting or the keys below unbounded.
Fraction = Annotated[
    Decimal, Field(ge=0, le=100, max_digits=9, decimal_places=6, allow_inf_nan=False)
]
Amount = Annotated[Decimal, Field(ge=-(10**15), le=10**15, allow_inf_nan=False)]
# Currencies whose amounts are told in whole units (the budget's, usually IDR).
_WHOLE_UNIT_CURRENCIES = frozenset({"IDR", "JPY", "KRW", "VND", "CLP", "ISK"})


class BudgetNotification(Model):
    """One Cloud Billing budget notification: its attributes and its data, validated."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    budget_id: str = Field(alias="budgetId", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    billing_account_id: str = Field(
        alias="billingAccountId", pattern=r"^[0-9A-Z]{6}-[0-9A-Z]{6}-[0-9A-Z]{6}$"
    )
    schema_version: Literal["1.0"] = Field(alias="schemaVersion")
    budget_display_name: str = Field(alias="budgetDisplayName", min_length=1, max_length=60)
    cost_amount: Amount = Field(alias="costAmount")
    cost_interval_start: AwareDatetime = Field(alias="costIntervalStart")
    budget_amount: Decimal = Field(
        alias="budgetAmount", ge=Decimal("0.01"), le=10**15, allow_inf_nan=False
    )
    budget_amount_type: str = Field(alias="budgetAmountType", max_length=40)
    currency_code: str = Field(alias="currencyCode", pattern=r"^[A-Z]{3}$")
    alert_threshold_exceeded: Fraction | None = Field(default=None, alias="alertThresholdExceeded")
    forecast_threshold_exceeded: Fraction | None = Field(
        default=None, alias="forecastThresholdExceeded"
    )

    @classmethod
    def from_message(cls, data: bytes, attributes: Mapping[str, str]) -> BudgetNotification:
        """The notification a Pub/Sub message carries; `ValidationFailed` naming each bad
        field when it is not one (never echoing values)."""
        try:
            decoded = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValidationFailed(
                "a budget notification is JSON", {"(root)": "not JSON"}
            ) from error
        if not isinstance(decoded, dict):
            raise ValidationFailed(
                "a budget notification is a JSON object", {"(root)": type(decoded).__name__}
            )
        labelled = {
            **decoded,
            **{
                name: attributes[name]
                for name in ("budgetId", "billingAccountId", "schemaVersion")
                if name in attributes
            },
        }
        try:
            return cls.model_validate(labelled)
        except ValidationError as error:
            invalid = {
                ".".join(str(part) for part in e["loc"]) or "(root)": e["msg"]
                for e in error.errors(include_input=False, include_url=False)
            }
            raise ValidationFailed(
                f"{len(invalid)} field(s) of the budget notification are invalid", invalid
            ) from None

    @property
    def period(self) -> str:
        """The budget period the spend is counted in, by its start (`20261201T080000Z`)."""
        return self.cost_interval_start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class BudgetCrossing:
    """One threshold a notification reports crossed, on one basis."""

    notification: BudgetNotification
    basis: Basis
    threshold: Decimal

    @property
    def key(self) -> str:
        """The same for every notification of this threshold in this budget period."""
        n = self.notification
        return f"{n.budget_id}:{n.period}:{self.basis}:{_plain(self.threshold)}"

    @property
    def severity(self) -> Severity:
        return "critical" if self.basis == "actual" and self.threshold >= 1 else "warning"

    @property
    def title(self) -> str:
        n = self.notification
        percent = _percent(self.threshold)
        if self.basis == "actual":
            return f"Budget {n.budget_display_name!r} has passed {percent} of its amount"
        return f"Budget {n.budget_display_name!r} is forecast to pass {percent} of its amount"

    def text(self, entity: str) -> str:
        """What ops read: the entity, the spend against the budget, where to look."""
        n = self.notification
        spent = _money(n.cost_amount, n.currency_code)
        budget = _money(n.budget_amount, n.currency_code)
        used = _percent(n.cost_amount / n.budget_amount)
        start = n.cost_interval_start.astimezone(UTC).date().isoformat()
        return (
            f"Entity {entity}: {spent} spent of {budget} ({used}) in the period from {start}"
            f" ({self.basis} spend threshold {_percent(self.threshold)}).\n"
            f"Budget {n.budget_id} on billing account {n.billing_account_id}: "
            f"https://console.cloud.google.com/billing/{n.billing_account_id}/budgets/"
            f"{n.budget_id}"
        )


def crossings(notification: BudgetNotification) -> tuple[BudgetCrossing, ...]:
    """The thresholds `notification` reports crossed: actual spend first, then forecast."""
    reported: tuple[tuple[Basis, Decimal | None], ...] = (
        ("actual", notification.alert_threshold_exceeded),
        ("forecast", notification.forecast_threshold_exceeded),
    )
    return tuple(
        BudgetCrossing(notification, basis, threshold)
        for basis, threshold in reported
        if threshold is not None and threshold > 0
    )


def _plain(value: Decimal) -> str:
    """`0.90` → `0.9`, `1.0` → `1`: one spelling per threshold."""
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(fraction: Decimal) -> str:
    return f"{_plain((fraction * 100).quantize(Decimal('0.1')))}%"


def _money(amount: Decimal, currency: str) -> str:
    places = 0 if currency in _WHOLE_UNIT_CURRENCIES else 2
    return f"{currency} {amount:,.{places}f}"
