"""The money scenarios on the Firestore emulator, through the real client: the same checks
as on the in-memory store (tests/unit/journey/money_scenarios.py), with real transactions,
real contention and point-in-time reads; and production's limits refusing a commit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import RecordingPublisher
from tests.unit.journey.money_desk import MoneyDesk
from tests.unit.journey.money_scenarios import SCENARIOS

pytestmark = pytest.mark.emulator


@pytest.fixture
def desk(firestore_client) -> MoneyDesk:
    # Snapshots at the moment of reading: each step reconciles what the one before wrote.
    uow = FirestoreUnitOfWork(
        firestore_client, RecordingPublisher(), max_attempts=5, snapshot_lag=timedelta(0)
    )
    desk = MoneyDesk(uow)
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_money_scenario_on_the_emulator(name: str, desk: MoneyDesk) -> None:
    SCENARIOS[name](desk)
