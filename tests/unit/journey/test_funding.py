"""Funding and disbursement on the in-memory store: the shared scenarios
(funding_scenarios.py), each operation's Firestore budget, and a plan over 1,000 lenders."""

from __future__ import annotations

import pytest

from shared.adapters.memory import MemoryUnitOfWork
from tests.unit.journey.funding_desk import FundingDesk
from tests.unit.journey.funding_scenarios import SCENARIOS


@pytest.fixture
def desk() -> FundingDesk:
    desk = FundingDesk(MemoryUnitOfWork(max_attempts=5))
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_funding_scenario(name: str, desk: FundingDesk) -> None:
    SCENARIOS[name](desk)
