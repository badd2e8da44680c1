"""Properties of the whole payment chain (notice → allocation → split) on the in-memory store,
for 1 to 1,000 lenders with random shares and random partial payments
(docs/lending-rules.md#billing-split):

- every payment's split adds up: the lenders' receipts (net + fee + VAT + withholding) plus the
  borrower's fees and their VAT are exactly what the payment collected;
- no lender's net is ever negative;
- once the loan is repaid, every lender has received exactly the principal they funded, and
  nothing is left unapplied or waiting to be split.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.adapters.memory import MemoryUnitOfWork
from shared.domain.loan import LoanState
from shared.platform.store import Where
from shared.records.payments import LenderReceipts
from tests.unit.journey.funding_desk import seed_funders
from tests.unit.journey.money_scenarios import assert_reconciles
from tests.unit.journey.payment_desk import PaymentDesk

UNIT = 100_000  # the smallest commitment
SMALLEST_LOAN = 10_000_000  # the working-capital product's minimum principal


@settings(
    max_examples=8,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    units=st.one_of(
        st.lists(st.integers(1, 40), min_size=1, max_size=25),
        st.lists(st.integers(1, 3), min_size=900, max_size=1000),
    ),
    fractions=st.lists(st.integers(1, 100), min_size=1, max_size=6),
)
@example(units=[1] * 1000, fractions=[37, 100])
@example(units=[7], fractions=[1, 1, 100])
def test_every_split_adds_up_and_a_repaid_loan_returns_every_lenders_principal(
    units: list[int], fractions: list[int]
) -> None:
    desk = PaymentDesk(MemoryUnitOfWork(max_attempts=10))
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    lenders = [f"l{n:04d}" for n in range(len(units))]
    shares = {lender: unit * UNIT for lender, unit in zip(lenders, units, strict=True)}
    desk.rules = desk.rules.model_copy(update={"max_lenders_per_loan": 1000})
    if sum(shares.values()) < SMALLEST_LOAN:  # the product's smallest: one more takes the rest
        lenders.append("topup")
        shares["topup"] = SMALLEST_LOAN - sum(shares.values())
    loan = desk.loan(sum(shares.values()))
    seed_funders(desk, lenders, shares, loan=loan)
    desk.commit(lenders[0], loan, shares[lenders[0]])
    assert desk.loan_record(loan).state is LoanState.FUNDED
    desk.disburse(loan)
    desk.confirm_payout(loan, "PAYOUT-P")
    schedule = desk.installments(loan)
    # Every installment is due: each payment may reach any of them.
    desk.clock.set(datetime.combine(schedule[-1].due_date, time(3), tzinfo=UTC))
    owed = sum(i.total for i in schedule)
    payments = []
    for fraction in fractions:
        left = sum(i.outstanding.total for i in desk.installments(loan))
        if left == 0:
            break
        payments.append(desk.pay(loan, max(1, left * fraction // 100)))
    left = sum(i.outstanding.total for i in desk.installments(loan))
    if left:
        payments.append(desk.pay(loan, left))

    for payment_id in payments:
        allocation = desk.payment(payment_id).allocation
        assert allocation is not None
        receipts = desk.uow.run(
            lambda tx, p=payment_id: LenderReceipts(tx).find(  # type: ignore[misc]
                Where("payment_id", "==", p), limit=2000
            ),
            read_only=True,
        )
        collected = allocation.collected
        lenders_side = sum(r.net + r.platform_fee + r.vat + r.withholding for r in receipts)
        assert lenders_side + collected.fee + collected.fee_vat == (
            collected.late_fee + collected.fee + collected.fee_vat + collected.interest
            + collected.principal
        )  # fmt: skip
        assert all(r.net >= 0 for r in receipts)
    assert sum(desk.payment(p).amount for p in payments) == owed
    assert desk.loan_record(loan).state is LoanState.REPAID
    stakes = desk.stakes(loan)
    assert {lender: s.principal_received for lender, s in stakes.items()} == shares
    assert desk.balance(f"unapplied_receipts:{loan}") == 0
    assert desk.balance(f"pending_split:{loan}") == 0
    assert_reconciles(desk)
