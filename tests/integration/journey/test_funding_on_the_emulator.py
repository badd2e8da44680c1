"""Funding and disbursement on the Firestore emulator, through the real client: the same
scenarios as on the in-memory store (tests/unit/journey/funding_scenarios.py), and a
disbursement plan over 1,000 lenders that a commit fault interrupts and a second run
finishes exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import RecordingPublisher
from shared.domain.loan import LoanState
from shared.platform.errors import StoreUnavailable
from tests.unit.journey.funding_desk import FundingDesk, seed_funders
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
