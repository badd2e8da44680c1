"""What the store keeps about a loan, and the repository that reads it.

`loans/<loan id>` is a `LoanRecord`: the application as submitted, its state
(`shared.domain.loan.LoanState`), every state change with who made it, the scorecard's
decision summary, the reviewer's note, the priced offer and the documents requested for
upload. Later use cases (funding, disbursement) add their own fields: the model keeps
fields it does not know (`extra="allow"`), so writing a record back never drops them. The
scorecard's full decision is `credit_decisions/<loan id>` (`shared/records/credit_decisions.py`),
kept apart so that functions which never read it do not import the scoring engine.

Every state change goes through `LoanRecord.moved(...)`, which applies a named transition
of the domain's state machine (an illegal one raises `IllegalTransition` → 409 with the
current state) and appends the change to `history`. Dates the borrower sees (offer dates,
funding deadlines) are Jakarta calendar dates (`shared.platform.clock.jakarta_date`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from shared.domain.delinquency import delinquent_since
from shared.domain.loan import LoanState, LoanTransition, transition
from shared.domain.maker_checker import Checked, Made
from shared.domain.product_terms import BorrowerSegment, Purpose, TenorUnit
from shared.fields import Instant, PlainStr, Rupiah, SignedRupiah
from shared.model import Model
from shared.platform.store import Repository
from shared.records.deposits import BankAccountRef
from shared.records.quotes import CapCheckView, QuoteResponse

LOANS = "loans"

OPEN_STATES: tuple[LoanState, ...] = (
    LoanState.SUBMITTED,
    LoanState.SCORED,
    LoanState.IN_REVIEW,
    LoanState.APPROVED,
    LoanState.OFFER_ACCEPTED,
    LoanState.FUNDING,
)
"""An application in one of these states is open: a borrower has at most one."""

OUTSTANDING_STATES: tuple[LoanState, ...] = (LoanState.FUNDED, LoanState.ACTIVE)
"""Loans whose principal counts towards the borrower limit (funded, or disbursed and unpaid)."""

MAX_DOCUMENTS_PER_LOAN = 20


class LoanPurpose(StrEnum):
    """What the borrower will use the money for (the scorecard's purpose categories)."""

    WORKING_CAPITAL = "working_capital"
    INVENTORY = "inventory"
    INVOICE_FINANCING = "invoice_financing"
    EQUIPMENT = "equipment"
    EXPANSION = "expansion"
    REFINANCING = "refinancing"
    OTHER = "other"


class Collateral(Model):
    """A warranty or collateral offered with the application (its estimated value in rupiah)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: Annotated[PlainStr, Field(min_length=1, max_length=500)]
    value: Rupiah


class BusinessCapital(Model):
    """The applicant's declared capital (the scorecard's capital C); every figure is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inventory_value: Rupiah | None = None
    account_balances: Rupiah | None = None
    owner_equity: SignedRupiah | None = None  # negative when insolvent


class StateChange(Model):
    """One step of a loan's life: when, from which state to which, and by whom."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: AwareDatetime
    from_state: LoanState | None  # None: the submission itself
    to_state: LoanState
    transition: str
    by: str | None  # a user id; None for the automated scorecard


class DecisionSummary(Model):
    """The scorecard's decision as the application shows it (details in credit_decisions)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    decision: Literal["approve", "review", "reject"]
    grade: str
    score: int
    model_version: str
    reasons: tuple[str, ...]
    decided_at: AwareDatetime


class ReviewNote(Model):
    """What the `admin.credit` reviewer decided and why (the narrative is required)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    outcome: Literal["approved", "rejected"]
    reviewer_id: str
    narrative: str
    reviewed_at: AwareDatetime


class OfferRecord(Model):
    """The priced offer the borrower may accept: rate, fees, schedule and agreement version.

    The schedule is indicative — priced as if disbursed on `priced_on` — and is
    fixed for good at disbursement with the same terms.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    grade: str
    rate: Decimal
    rate_period: Literal["month", "year"]
    agreement_version: str
    priced_on: date
    priced_by: str | None  # the reviewer, or None for the scorecard
    funding_window_days: int
    valid_until: date | None = None  # Jakarta date; after it the offer can no longer be accepted
    terms: QuoteResponse


class LoanDocument(Model):
    """A document the borrower was given an upload URL for (the object may not exist yet)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    document_id: str
    kind: Literal["ktp", "invoice", "collateral_photo"]
    content_type: str
    object_name: str
    file_name: str | None = None
    requested_at: AwareDatetime


class Listing(Model):
    """What the lenders' marketplace shows of the borrower and sorts by, set when funding
    opens: nothing that identifies the borrower."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sector: str
    province_code: str
    sort_key: str  # "<funding closes on>|<loan id>": the marketplace's order and page token


class Disbursement(Model):
    """The loan's payout (docs/lending-rules.md#disbursement): requested by one
    `admin.finance`, booked by the disbursement plan (the loan becomes `active`, the payout
    in transit), its bank transfer confirmed by another; a returned transfer puts the payout
    back in transit, to be sent again."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    state: Literal["booking", "in_transit", "paid"]
    requested: Made
    disbursed_on: date
    maturity_date: date
    origination_fee: int
    origination_fee_vat: int
    net_disbursement: int
    to_account: BankAccountRef
    payouts: int = 0  # transfers confirmed so far (a returned one is sent again)
    confirmed: Checked | None = None
    bank_reference: str | None = None
    value_date: date | None = None
    line_id: str | None = None  # the statement line showing the payout leave
    # The schedule's interest and fees as fixed at disbursement, part of the total-cost cap's
    # base; kept so the overdue sweep need not read the whole schedule. None on a loan
    # disbursed before it was kept, until the sweep has read its whole schedule once.
    schedule_costs: int | None = None


class PayoffRecord(Model):
    """The borrower's latest early-settlement quote (docs/lending-rules.md#early-settlement):
    its parts, the last day a payment settles by it, and what the loan owed when it was
    made (a payment since then makes it stale)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    quote_id: str
    settle_on: date  # the payment must be made by this Jakarta date
    overdue: int
    principal: int
    interest: int
    total: int
    owed_when_quoted: int
    quoted_at: AwareDatetime
    settled_by: str | None = None  # the payment that settled the loan by it


class OverdueRecord(Model):
    """What the daily overdue sweep keeps of a loan (docs/lending-rules.md#overdue-and-collection):
    the last day it swept (a second sweep that day changes nothing), the late fees accrued
    so far, and how late the loan is; and the first installment the next sweep reads
    (`read_from`: every earlier one was settled when this sweep read it, and a settled
    installment stays settled). `delinquent_since` is the day the loan first reached 31
    days past due (out of the `current` bucket), kept when it is brought back under them:
    the early delinquency a scorecard comparison counts."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    last_swept_on: date
    late_fees: int = 0
    days_past_due: int = 0
    bucket: str = "current"
    collectability: int = 1
    read_from: int = 1
    delinquent_since: date | None = None

    def first_delinquent_on(self) -> date | None:
        """`delinquent_since`; for a loan last swept before the sweep kept it, derived from
        the days past due as of `last_swept_on` (a cured loan then shows none)."""
        return self.delinquent_since or delinquent_since(self.last_swept_on, self.days_past_due)


class CreditRefundRecord(Model):
    """A refund of the borrower's credit left on a repaid loan (maker-checker)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    number: int  # the loan's refunds so far, this one included
    amount: int
    reason: str
    proposed: Made
    decided: Checked | None = None
    bank_reference: str | None = None


class WriteOffRecord(Model):
    """A proposal to write the loan off and its outcome (maker-checker;
    docs/lending-rules.md#write-off): `admin.credit` proposes with a narrative and the days
    past due on that day, `admin.finance` confirms (or rejects with a reason)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    narrative: str
    days_past_due: int  # on the Jakarta day it was proposed
    outstanding_principal: int  # what the borrower owed of the principal when proposed
    proposed: Made
    decided: Checked | None = None
    outcome: Literal["confirmed", "rejected"] | None = None
    rejection_reason: str | None = None
    plan_id: str | None = None  # the money plan a confirmation runs (`write-off-<loan>`)


class LoanRecord(Model):
    """`loans/<id>`: one application and everything that happened to it."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    entity: str
    borrower_id: str
    product_id: str
    product_version: int | None = None  # the catalogue version it was priced with
    product_purpose: Purpose
    borrower_segment: BorrowerSegment | None = None
    principal: int
    tenor: int
    tenor_unit: TenorUnit
    purpose: LoanPurpose
    collateral: Collateral | None = None
    capital: BusinessCapital = Field(default_factory=BusinessCapital)
    borrower_outstanding: int = 0  # the borrower's outstanding principal when submitted
    state: LoanState
    submitted_at: Instant
    updated_at: Instant
    history: tuple[StateChange, ...] = ()
    decision: DecisionSummary | None = None
    review: ReviewNote | None = None
    offer: OfferRecord | None = None
    offer_accepted_at: AwareDatetime | None = None
    funding_closes_on: date | None = None
    cancellation_reason: str | None = None
    offer_recheck: CapCheckView | None = None  # why an accepted offer went back to review
    documents: tuple[LoanDocument, ...] = ()
    listing: Listing | None = None
    funded_amount: int = 0  # committed by lenders so far (docs/lending-rules.md#funding)
    lender_count: int = 0
    money_plan: str | None = None  # a running money plan blocks every other money action
    disbursement: Disbursement | None = None
    virtual_account: str | None = None  # where the borrower repays (the payment gateway's)
    outstanding_principal: int | None = None  # set at disbursement, kept by repayments
    payoff: PayoffRecord | None = None  # the latest early-settlement quote
    credit_refund: CreditRefundRecord | None = None  # the latest refund of borrower credit
    overdue: OverdueRecord | None = None  # kept by the daily overdue sweep
    # The next Jakarta day the overdue sweep has anything to do for this active loan (never
    # later; earlier is harmless): set at disbursement, moved by each sweep of the loan
    # (docs/lending-rules.md#overdue-and-collection). None until the loan is disbursed; a
    # loan disbursed before the field existed is given one by the sweep's one-time backfill.
    sweep_on: date | None = None
    write_off: WriteOffRecord | None = None  # the latest write-off proposal and its outcome

    @property
    def remaining(self) -> int:
        """What lenders may still commit."""
        return self.principal - self.funded_amount

    def moved(
        self, action: LoanTransition, *, at: datetime, by: str | None, **changes: Any
    ) -> LoanRecord:
        """This loan after `action` (checked against its current state) and `changes`."""
        target = transition(self.state, action, self.id)
        step = StateChange(
            at=at, from_state=self.state, to_state=target, transition=action.value, by=by
        )
        return self.model_copy(
            update={
                **changes,
                "state": target,
                "updated_at": at,
                "history": (*self.history, step),
            }
        )


class Loans(Repository[LoanRecord]):
    collection = LOANS
    model = LoanRecord
