"""Funding and disbursement on the Firestore emulator, through the real client: the same
scenarios as on the in-memory store (tests/unit/journey/funding_scenarios.py), and a
disbursement plan over 1,000 lenders that a commit fault interrupts and a second run
finishes exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import RecordingPublisher
from shared.domain.ledger import AccountId, AccountType
from shared.domain.loan import LoanState
from shared.domain.movements import commitment, deposit_credit, line_in
from shared.platform.errors import StoreUnavailable
from shared.platform.store import DocumentTransaction
from shared.records.ledger import LedgerBook, balance_ref
from shared.records.loans import LOANS
from shared.records.participations import (
    Commitment,
    ParticipationRecord,
    Participations,
    participation_id,
)
from shared.records.users import USERS
from tests.unit.journey.funding_desk import FundingDesk
from tests.unit.journey.funding_scenarios import SCENARIOS
from tests.unit.journey.money_scenarios import assert_reconciles

pytestmark = pytest.mark.emulator


@pytest.fixture
def desk(firestore_client) -> FundingDesk:
    uow = FirestoreUnitOfWork(
        firestore_client, RecordingPublisher(), max_attempts=10, snapshot_lag=timedelta(0)
    )
    desk = FundingDesk(uow)
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    return desk


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_funding_scenario_on_the_emulator(name: str, desk: FundingDesk) -> None:
    SCENARIOS[name](desk)


def test_a_disbursement_to_1000_lenders_interrupted_after_a_chunk_resumes_and_ends_exact(
    desk: FundingDesk, firestore_emulator, firestore_client, monkeypatch
) -> None:
    lenders = [f"l{n:04d}" for n in range(1000)]
    desk.rules = desk.rules.model_copy(update={"max_lenders_per_loan": 1000})
    loan = desk.loan(100_000_000)
    # 1,000 funded lenders, seeded straight into the store (deposits are tested elsewhere):
    # each has Rp 100,000 available, and the escrow cash and suspense that came with it.
    seed_funders(desk, lenders, 100_000, loan=loan)
    desk.commit("l0000", loan, 100_000)  # the last commitment, through the service
    assert desk.loan_record(loan).state is LoanState.FUNDED

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
            desk.disburse(loan)
    finally:
        firestore_emulator.clear_commit_faults()
    monkeypatch.setattr(desk.uow, "run", run)
    assert desk.loan_record(loan).money_plan == f"disburse-{loan}"
    active = [s for s in desk.stakes(loan).values() if s.state == "active"]
    assert len(active) == 200  # exactly the first chunk

    booked = desk.disburse(loan)  # asked again: resumes after the first chunk
    assert booked.loan_state is LoanState.ACTIVE
    stakes = desk.stakes(loan)
    assert {s.state for s in stakes.values()} == {"active"}
    assert sum(s.principal_funded for s in stakes.values()) == 100_000_000
    assert (
        desk.balance(f"borrower_payout_in_transit:{loan}") == booked.disbursement.net_disbursement
    )
    assert_reconciles(desk)


def seed_funders(desk: FundingDesk, lenders: list[str], amount: int, *, loan: str) -> None:
    """Lenders with the agreements accepted, each with `amount` deposited and (all but the
    first) committed to `loan`: the records, entries and balances those steps leave, written
    100 lenders a transaction (the steps themselves are tested one by one elsewhere)."""
    desk.funder(lenders[0], "1230001230")  # a complete lender record to copy
    template = desk.uow.run(lambda tx: tx.get(USERS, lenders[0]), read_only=True)
    assert template is not None
    at = desk.clock.now()
    for start in range(0, len(lenders), 100):

        def seed(tx: DocumentTransaction, chunk: list[str] = lenders[start : start + 100]) -> None:
            available = [
                balance_ref(AccountId(AccountType.LENDER_AVAILABLE, lender)) for lender in chunk
            ]
            read = tx.get_documents(available)
            with LedgerBook(tx) as book:
                for lender in chunk:
                    tx.set(USERS, lender, {**template, "id": lender})
                    moves = [
                        line_in(f"seed-{lender}", amount, at),
                        deposit_credit(f"seed-{lender}", lender, amount, at),
                    ]
                    if lender != lenders[0]:
                        moves.append(commitment(f"seed-{lender}", lender, loan, amount, at))
                        stake = ParticipationRecord(
                            id=participation_id(loan, lender),
                            loan_id=loan,
                            lender_id=lender,
                            committed=amount,
                            commitments=(
                                Commitment(id=f"seed-{lender}", amount=amount, at=at, via="manual"),
                            ),
                            created_at=at,
                            updated_at=at,
                        )
                        Participations(tx).put(stake)
                    for entry in moves:
                        book.post(entry, read, source="seed", value_date=desk.today())

        desk.uow.run(seed)
    committed = amount * (len(lenders) - 1)
    desk.uow.run(
        lambda tx: tx.update(
            LOANS, loan, {"funded_amount": committed, "lender_count": len(lenders) - 1}
        )
    )
