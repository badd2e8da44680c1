"""The late-fee caps over any run of missed days and partial payments, through the daily sweep
on the in-memory store (docs/lending-rules.md#overdue-and-collection):

- what a sweep run accrues is never more than each day it covers allows: that day's late-fee
  cap rate (the caps table's row) on the loan's outstanding balance;
- interest, fees and late fees together never pass the total-cost cap (100% of the principal);
- the ledger reconciles: the late-fee receivable is what the lenders are owed.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters.memory import MemoryUnitOfWork
from shared.domain.caps import OJK_CAPS
from shared.domain.caps_table import CapRule
from shared.services.catalogue import sample_catalogue
from shared.services.overdue import sweep_overdue
from tests.unit.journey.money_scenarios import assert_reconciles
from tests.unit.journey.payment_desk import PaymentDesk

SHARES = {"ani": 6_000_000, "budi": 4_000_000}
PRODUCT = next(p for p in sample_catalogue().products if p.id == "working-capital-annuity")


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(st.integers(1, 20), st.integers(0, 100)),  # (days to the next sweep, % paid)
        min_size=1,
        max_size=12,
    )
)
def test_late_fees_never_pass_a_days_cap_or_the_total_cost_cap(
    steps: list[tuple[int, int]],
) -> None:
    desk = PaymentDesk(MemoryUnitOfWork(max_attempts=10))
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    loan = desk.active_loan(SHARES)
    schedule = desk.installments(loan)
    record = desk.loan_record(loan)
    assert record.disbursement is not None
    costs = sum(i.interest + i.fees for i in schedule) + record.disbursement.origination_fee
    tenor_days = (record.disbursement.maturity_date - record.disbursement.disbursed_on).days
    swept_to = desk.today()
    day = schedule[0].due_date  # from the first due date on, unpaid
    for days, percent in steps:
        day += timedelta(days=days)
        desk.clock.set(datetime.combine(day, time(3), tzinfo=UTC))
        balance = desk.loan_record(loan).outstanding_principal
        assert balance is not None
        run = sweep_overdue(desk.uow, origin=desk.origin)
        allowed = 0
        for n in range(1, (day - swept_to).days + 1):
            covered = swept_to + timedelta(days=n)
            row = OJK_CAPS.applicable(
                CapRule.LATE_FEE,
                covered,
                purpose=PRODUCT.purpose,
                segment=PRODUCT.borrower_segment,
                tenor_days=tenor_days,
            )
            assert row is not None
            allowed += int(balance * row.row.limit)
        assert run.late_fees <= allowed
        swept_to = day
        owed = sum(i.outstanding.total for i in desk.installments(loan))
        if percent and owed:
            desk.pay(loan, max(1, owed * percent // 100))
        late_fees = sum(i.late_fee for i in desk.installments(loan))
        assert costs + late_fees <= record.principal
    assert_reconciles(desk)
