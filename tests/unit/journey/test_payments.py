"""Payments, allocation and the billing split on the in-memory store: the shared scenarios
(payment_scenarios.py)."""

from __future__ import annotations

import pytest

from shared.adapters.memory import MemoryUnitOfWork
from tests.unit.journey.payment_desk import PaymentDesk
from tests.unit.journey.payment_scenarios import SCENARIOS


@pytest.fixture
def desk() -> PaymentDesk:
    desk = PaymentDesk(MemoryUnitOfWork(max_attempts=10))  # as the emulator runs use
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_payment_scenario(name: str, desk: PaymentDesk) -> None:
    SCENARIOS[name](desk)
