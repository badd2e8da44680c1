"""What the store keeps about the budget alerts ops were told of.

`budget_alerts/<budget id>:<period>:<basis>:<threshold>` (`BudgetCrossing.key`): one
document per threshold of a budget period that ops were notified of, so that the many
notifications Cloud Billing sends about the same crossing are told once
(shared/services/budget_alerts.py). A handful a month per entity.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, ConfigDict

from shared.model import Model
from shared.platform.store import Repository

BUDGET_ALERTS = "budget_alerts"


class BudgetAlertRecord(Model):
    """`budget_alerts/<key>`: a crossing ops were told of, and the spend when they were."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    budget_id: str
    billing_account_id: str
    period_start: AwareDatetime
    basis: Literal["actual", "forecast"]
    threshold: Decimal
    cost_amount: Decimal
    budget_amount: Decimal
    currency: str
    severity: Literal["warning", "critical"]
    notified_at: AwareDatetime


class BudgetAlerts(Repository[BudgetAlertRecord]):
    collection = BUDGET_ALERTS
    model = BudgetAlertRecord
