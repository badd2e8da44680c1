"""Payments, allocation and the billing split on the in-memory store: the shared scenarios
(payment_scenarios.py), and what a split writes per lender."""

from __future__ import annotations

import pytest

from scripts.bench.funding import RecordingUnitOfWork
from shared.adapters.memory import MemoryUnitOfWork
from shared.services.billing_split import split_payment
from shared.services.repayments import allocate_payment
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


def _split_writes(shares: dict[str, int], groups: dict[str, str] | None = None) -> int:
    """The documents written by the split of a loan's first installment, over every
    transaction of its plan."""
    desk = PaymentDesk(MemoryUnitOfWork())
    loan = desk.active_loan(shares, groups=groups)
    answer = desk.notify(desk.virtual_account(loan), desk.installments(loan)[0].total)
    allocate_payment(desk.uow, answer.payment_id, origin=desk.origin)
    counted = RecordingUnitOfWork(desk.uow)  # type: ignore[arg-type]
    split_payment(counted, answer.payment_id, origin=desk.origin)
    return sum(t.writes for t in counted.transactions)


def test_a_split_writes_three_documents_per_lender_and_one_more_per_lender_in_a_group() -> None:
    """Per lender: their available balance (their live position changes in the same write),
    their participation, their receipt; a lender in an affiliate group also changes the
    group's position."""
    three = {f"l{n}": 4_000_000 for n in range(3)}
    six = {f"l{n}": 2_000_000 for n in range(6)}
    assert _split_writes(six) - _split_writes(three) == 3 * 3
    assert _split_writes(six, {"l0": "grup-a", "l1": "grup-a"}) - _split_writes(six) == 2
