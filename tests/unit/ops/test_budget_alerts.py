"""Ops hear of each budget threshold once per budget period (shared/services/budget_alerts.py),
however many notifications Cloud Billing sends about it, and never lose one to an outage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.adapters.memory import (
    FixedClock,
    MemoryUnitOfWork,
    RecordingOpsChannel,
    RecordingPublisher,
)
from shared.domain.budget_alerts import BudgetNotification
from shared.platform.ops_notifications import OpsChannelUnavailable
from shared.services.budget_alerts import alert_ops_of_budget

ATTRIBUTES = {
    "budgetId": "8c1b0a2e-5d3f-4f7a-9e21-0c6b7d8e9f10",
    "billingAccountId": "01ABCD-23EF45-6789AB",
    "schemaVersion": "1.0",
}


# A notification of the entity's budget, as Cloud Billing sends it (before any threshold).
SAMPLE_DATA: dict[str, Any] = {
    "budgetDisplayName": "patungan-p2p-lending-prod monthly",
    "costAmount": 27_345_678,
    "costIntervalStart": "2026-12-01T08:00:00Z",
    "budgetAmount": 30_000_000,
    "budgetAmountType": "SPECIFIED_AMOUNT",
    "currencyCode": "IDR",
}


def notification(**changes: Any) -> BudgetNotification:
    data = {**SAMPLE_DATA, **changes}
    return BudgetNotification.from_message(json.dumps(data).encode(), ATTRIBUTES)


class World:
    def __init__(self) -> None:
        self.clock = FixedClock()
        self.uow = MemoryUnitOfWork(RecordingPublisher(), self.clock)
        self.channel = RecordingOpsChannel()

    def receive(self, n: BudgetNotification) -> Any:
        return alert_ops_of_budget(
            self.uow, n, channel=self.channel, clock=self.clock, entity="p2p-lending"
        )


@pytest.fixture
def world() -> World:
    return World()


def test_a_threshold_is_told_once_however_often_it_is_reported(world):
    first = world.receive(notification(alertThresholdExceeded=0.9))
    again = world.receive(notification(alertThresholdExceeded=0.9, costAmount=27_900_000))
    assert len(first.notified) == 1 and again.notified == ()
    assert again.already_notified == first.notified
    (message,) = world.channel.messages
    assert message.title == (
        "[p2p-lending] Budget 'patungan-p2p-lending-prod monthly' has passed 90% of its amount"
    )
    assert message.severity == "warning"
    assert message.key == f"budget:{first.notified[0]}"
    record = world.uow.documents("budget_alerts")[first.notified[0]]
    assert (record["basis"], record["threshold"], record["currency"]) == ("actual", "0.9", "IDR")


def test_the_next_threshold_and_the_next_period_are_told_again(world):
    world.receive(notification(alertThresholdExceeded=0.9))
    world.receive(notification(alertThresholdExceeded=1.0, costAmount=30_100_000))
    world.receive(
        notification(alertThresholdExceeded=0.9, costIntervalStart="2027-01-01T08:00:00Z")
    )
    assert [m.severity for m in world.channel.messages] == ["warning", "critical", "warning"]
    assert len(world.uow.documents("budget_alerts")) == 3


def test_actual_and_forecast_thresholds_are_told_apart(world):
    report = world.receive(notification(alertThresholdExceeded=0.5, forecastThresholdExceeded=1.0))
    assert [m.title.split(" has ")[-1].split(" is ")[-1] for m in world.channel.messages] == [
        "passed 50% of its amount",
        "forecast to pass 100% of its amount",
    ]
    assert len(report.notified) == 2


def test_a_routine_update_tells_nothing_and_stores_nothing(world):
    report = world.receive(notification())
    assert (report.notified, report.already_notified) == ((), ())
    assert world.channel.messages == [] and world.uow.documents("budget_alerts") == {}
    assert world.uow.commits == 0


def test_a_channel_outage_records_nothing_so_the_redelivery_tells_it(world):
    world.channel.fail_next(1)
    with pytest.raises(OpsChannelUnavailable):
        world.receive(notification(alertThresholdExceeded=0.9))
    assert world.uow.documents("budget_alerts") == {}  # not marked told: it was not

    world.receive(notification(alertThresholdExceeded=0.9))
    assert len(world.channel.messages) == 1


def test_an_outage_between_two_sends_repeats_the_first_rather_than_drop_the_second(world):
    """At least once: the record comes after the sends, so nothing sent-but-unrecorded is lost."""

    class FailsSecond(RecordingOpsChannel):
        def notify(self, message: Any) -> None:
            if len(self.messages) == 1 and not self.retried:
                self.retried = True
                raise OpsChannelUnavailable("down")
            super().notify(message)

    world.channel = FailsSecond()
    world.channel.retried = False  # type: ignore[attr-defined]
    both = notification(alertThresholdExceeded=0.9, forecastThresholdExceeded=1.0)
    with pytest.raises(OpsChannelUnavailable):
        world.receive(both)
    world.receive(both)
    assert [m.key.split(":")[-2] for m in world.channel.messages] == [
        "actual",
        "actual",
        "forecast",
    ]
    assert world.receive(both).notified == ()  # and from then on, told
