"""Stored plans for money operations over many lenders (docs/architecture.md#money).

A release of a loan's commitments or a disbursement touches every participation of the
loan: up to `max_lenders_per_loan` of them. Such an operation runs as a plan stored at
`money_plans/<plan id>`, where the plan id is the operation's name (`release-<loan id>`,
`disburse-<loan id>`, `split-<payment id>`, `write-off-<loan id>`), so the same request or
event always finds the same plan:

- the lenders, in order, and so the chunks and their entry ids (`<plan id>-<chunk>`), are
  fixed when the plan is made;
- `cursor` is the next chunk to run; each chunk is one transaction that posts its entry,
  updates its participations and advances the cursor, so a chunk runs once;
- a crash between chunks leaves the cursor where it stopped, and running the plan again
  resumes there;
- while a plan runs, the loan names it (`LoanRecord.money_plan`), which blocks every other
  money action on the loan.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from shared.fields import Instant
from shared.model import Model
from shared.platform.store import Repository

MONEY_PLANS = "money_plans"

PlanKind = Literal["release", "disburse", "auto_invest", "split", "write_off"]


class SplitLine(Model):
    """One lender's part of a repayment, fixed when the split's plan is made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lender_id: str
    principal: int
    interest: int
    late_fee: int
    platform_fee: int
    vat: int
    withholding: int
    withholding_article: str
    net: int


class MoneyPlanRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    kind: PlanKind
    loan_id: str
    lenders: tuple[str, ...]
    chunk_size: int
    cursor: int = 0  # the next chunk to run
    state: Literal["running", "done"] = "running"
    created_at: Instant
    updated_at: Instant
    # A split: the payment it splits, and every lender's line (in `lenders` order).
    payment_id: str | None = None
    lines: tuple[SplitLine, ...] = ()
    recovery: bool = False  # a split of a written-off loan's payment (its receipts say so)
    # A write-off: each lender's loss (their outstanding principal), in `lenders` order.
    losses: tuple[int, ...] = ()

    @property
    def chunk_count(self) -> int:
        return -(-len(self.lenders) // self.chunk_size)

    def chunk(self, index: int) -> tuple[str, ...]:
        return self.lenders[index * self.chunk_size : (index + 1) * self.chunk_size]

    def entry_id(self, index: int) -> str:
        return f"{self.id}-{index:04d}"


class MoneyPlans(Repository[MoneyPlanRecord]):
    collection = MONEY_PLANS
    model = MoneyPlanRecord
