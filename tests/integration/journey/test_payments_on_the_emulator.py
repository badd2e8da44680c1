"""Payments on the Firestore emulator, through the real client: the same scenarios as on the
in-memory store (tests/unit/journey/payment_scenarios.py), and a split to 1,000 lenders that a
commit fault interrupts after its first chunk and a second delivery finishes exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import RecordingPublisher
from shared.platform.errors import StoreUnavailable
from shared.services.billing_split import split_payment
from shared.services.repayments import allocate_payment
from tests.unit.journey.funding_desk import seed_funders
from tests.unit.journey.money_scenarios import assert_reconciles
from tests.unit.journey.payment_desk import PaymentDesk
from tests.unit.journey.payment_scenarios import SCENARIOS

pytestmark = pytest.mark.emulator


@pytest.fixture
def desk(firestore_client) -> PaymentDesk:
    uow = FirestoreUnitOfWork(
        firestore_client, RecordingPublisher(), max_attempts=10, snapshot_lag=timedelta(0)
    )
    desk = PaymentDesk(uow)
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_payment_scenario_on_the_emulator(name: str, desk: PaymentDesk) -> None:
    SCENARIOS[name](desk)


def test_a_split_to_1000_lenders_interrupted_after_a_chunk_resumes_and_ends_exact(
    desk: PaymentDesk, firestore_emulator, firestore_client, monkeypatch
) -> None:
    lenders = [f"l{n:04d}" for n in range(1000)]
    desk.rules = desk.rules.model_copy(update={"max_lenders_per_loan": 1000})
    loan = desk.loan(100_000_000)
    seed_funders(desk, lenders, 100_000, loan=loan)
    desk.commit("l0000", loan, 100_000)
    desk.disburse(loan)
    desk.confirm_payout(loan, "PAYOUT-1000")  # (the seeded money was never on a statement)
    first = desk.installments(loan)[0]
    payment = desk.notify(desk.virtual_account(loan), first.total).payment_id
    allocate_payment(desk.uow, payment, origin=desk.origin)

    run = desk.uow.run
    chunks: list[object] = []

    def crash_after_the_first_chunk(work, **kwargs):  # type: ignore[no-untyped-def]
        result = run(work, **kwargs)
        if getattr(work, "__name__", "") == "chunk":
            chunks.append(result)
            if len(chunks) == 1:
                firestore_emulator.fail_commits(
                    firestore_client.project, code="DEADLINE_EXCEEDED", count=None,
                    path_prefix="money_plans/",
                )  # fmt: skip
        return result

    monkeypatch.setattr(desk.uow, "run", crash_after_the_first_chunk)
    try:
        with pytest.raises(StoreUnavailable):
            split_payment(desk.uow, payment, origin=desk.origin)
    finally:
        firestore_emulator.clear_commit_faults()
    monkeypatch.setattr(desk.uow, "run", run)
    paid_so_far = [s for s in desk.stakes(loan).values() if s.principal_received]
    assert len(paid_so_far) == 200  # exactly the first chunk

    split_payment(desk.uow, payment, origin=desk.origin)  # delivered again: resumes
    stakes = desk.stakes(loan)
    assert sum(s.principal_received for s in stakes.values()) == first.principal
    assert sum(s.interest_received for s in stakes.values()) == first.interest
    assert all(s.principal_received > 0 for s in stakes.values())
    assert desk.balance(f"pending_split:{loan}") == 0
    assert desk.payment(payment).state == "split"
    assert_reconciles(desk)
