"""Tell ops when the entity's budget crosses a threshold: once per threshold per period.

`alert_ops_of_budget(uow, notification, channel=..., clock=..., entity=...)` takes one
Cloud Billing budget notification (shared/domain/budget_alerts.py) and:

1. lists the thresholds it reports crossed (none: nothing to tell — most notifications
   are routine updates);
2. reads which of them ops were already told of (`budget_alerts/<key>`, one document
   per budget, period, basis and threshold);
3. sends each new one to the ops channel, outside any transaction (a send is not
   repeatable, and a transaction may run twice);
4. records the crossings it sent, in one transaction.

A send that fails raises `OpsChannelUnavailable` before anything is recorded, so the
notification is redelivered and the crossing told then. The record is written after the
send, so a crash between the two tells the crossing again on redelivery: at least once,
never zero times (`ops_alerts` runs one delivery at a time, so two notifications of one
threshold never both pass step 2).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from shared.domain.budget_alerts import BudgetCrossing, BudgetNotification, crossings
from shared.platform.clock import Clock
from shared.platform.ops_notifications import OpsChannel, OpsMessage
from shared.platform.store import DocumentTransaction, UnitOfWork
from shared.records.budget_alerts import BudgetAlertRecord, BudgetAlerts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BudgetAlertReport:
    """What became of a notification's crossings: told now, or told before."""

    notified: tuple[str, ...]
    already_notified: tuple[str, ...]


def alert_ops_of_budget(
    uow: UnitOfWork,
    notification: BudgetNotification,
    *,
    channel: OpsChannel,
    clock: Clock,
    entity: str,
) -> BudgetAlertReport:
    """Tell ops of every threshold `notification` crosses that they were not told of yet."""
    crossed = {crossing.key: crossing for crossing in crossings(notification)}
    if not crossed:
        return BudgetAlertReport((), ())
    told = uow.run(
        lambda tx: {k for k, v in BudgetAlerts(tx).get_many(list(crossed)).items() if v},
        read_only=True,
    )
    new = [crossing for key, crossing in crossed.items() if key not in told]
    for crossing in new:
        channel.notify(ops_message(crossing, entity))
        logger.info(
            "budget alert sent to ops",
            extra={"alert": crossing.key, "severity": crossing.severity},
        )
    if new:
        now = clock.now()

        def record(tx: DocumentTransaction) -> None:
            alerts = BudgetAlerts(tx)
            present = alerts.get_many([c.key for c in new])
            for crossing in new:
                if present[crossing.key] is None:
                    alerts.add(_record(crossing, now))

        uow.run(record)
    return BudgetAlertReport(tuple(c.key for c in new), tuple(k for k in crossed if k in told))


def ops_message(crossing: BudgetCrossing, entity: str) -> OpsMessage:
    return OpsMessage(
        title=f"[{entity}] {crossing.title}",
        text=crossing.text(entity),
        severity=crossing.severity,
        key=f"budget:{crossing.key}",
    )


def _record(crossing: BudgetCrossing, now: datetime) -> BudgetAlertRecord:
    n = crossing.notification
    return BudgetAlertRecord(
        id=crossing.key,
        budget_id=n.budget_id,
        billing_account_id=n.billing_account_id,
        period_start=n.cost_interval_start,
        basis=crossing.basis,
        threshold=crossing.threshold,
        cost_amount=n.cost_amount,
        budget_amount=n.budget_amount,
        currency=n.currency_code,
        severity=crossing.severity,
        notified_at=now,
    )
