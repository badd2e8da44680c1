"""A write-off on the Firestore emulator, through the real client: a loan of 1,000 lenders
whose write-off a commit fault interrupts after its first chunk, and a second confirmation
finishes exactly (shared/services/write_offs.py, docs/lending-rules.md#write-off)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import RecordingPublisher
from shared.domain.loan import LoanState
from shared.platform.errors import StoreUnavailable
from tests.unit.journey.funding_desk import seed_funders
from tests.unit.journey.money_scenarios import assert_reconciles
from tests.unit.journey.payment_desk import PaymentDesk

pytestmark = pytest.mark.emulator


@pytest.fixture
def desk(firestore_client) -> PaymentDesk:
    uow = FirestoreUnitOfWork(
        firestore_client, RecordingPublisher(), max_attempts=10, snapshot_lag=timedelta(0)
    )
    desk = PaymentDesk(uow)
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


def test_a_write_off_of_1000_lenders_interrupted_after_a_chunk_resumes_and_ends_exact(
    desk: PaymentDesk, firestore_emulator, firestore_client, monkeypatch
) -> None:
    lenders = [f"l{n:04d}" for n in range(1000)]
    desk.rules = desk.rules.model_copy(update={"max_lenders_per_loan": 1000})
    loan = desk.loan(100_000_000)
    seed_funders(desk, lenders, 100_000, loan=loan)
    desk.commit("l0000", loan, 100_000)
    desk.disburse(loan)
    desk.confirm_payout(loan, "PAYOUT-1000")  # (the seeded money was never on a statement)
    first_due = desk.installments(loan)[0].due_date
    desk.clock.set(datetime.combine(first_due + timedelta(days=90), time(3), tzinfo=UTC))
    desk.propose_write_off(loan)

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
            desk.confirm_write_off(loan)
    finally:
        firestore_emulator.clear_commit_faults()
    monkeypatch.setattr(desk.uow, "run", run)
    recorded = [s for s in desk.stakes(loan).values() if s.principal_written_off]
    assert len(recorded) == 200  # exactly the first chunk
    assert desk.loan_record(loan).state is LoanState.ACTIVE  # the receivable is not cleared yet

    view = desk.confirm_write_off(loan)  # asked again: resumes
    assert view.principal_written_off == 100_000_000 and view.lender_count == 1000
    stakes = desk.stakes(loan)
    assert all(s.principal_written_off == 100_000 for s in stakes.values())
    assert len(desk.receipts("l0999")) == 1 and len(desk.receipts("l0000")) == 1
    assert desk.balance(f"loan_principal:{loan}") == 0
    assert desk.balance(f"loan_lenders_claim:{loan}") == 0
    assert desk.loan_record(loan).state is LoanState.WRITTEN_OFF
    assert_reconciles(desk)
