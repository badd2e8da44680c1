"""What the store keeps about a loan application, and the repositories that read it.

Collections (one document per loan or decision; nothing here is a hot document):
- `loans/<loan id>`: a `LoanRecord` — the application as submitted, its state
  (`shared.domain.loan.LoanState`), every state change with who made it, the
  scorecard's decision summary, the reviewer's note, the priced offer and the
  documents requested for upload. Other use cases (funding, disbursement) add
  their own fields later: the model keeps fields it does not know
  (`extra="allow"`), so writing a record back never drops them.
- `credit_decisions/<loan id>`: the scorecard's full decision, in
  `shared/services/credit_decisions.py` (kept apart so that functions which
  never read it do not import the scoring engine).

Every state change goes through `LoanRecord.moved(...)`, which applies a named
transition of the domain's state machine (an illegal one raises
`IllegalTransition` → 409 with the current state) and appends the change to
`history`. Events are built with `EventOrigin.event(...)` and emitted with
`tx.emit` in the same transaction as the change they announce; a function's
services get their `origin` by mixing in `EventProducer`.

Dates the borrower sees (offer dates, funding deadlines) are Jakarta calendar
dates: `shared.services.ports.jakarta_date(instant)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.domain.events import Envelope, EventData, EventType, new_event
from shared.domain.loan import LoanState, LoanTransition, transition
from shared.domain.products import Purpose, TenorUnit
from shared.services.ports import Clock, IdGenerator, Repository
from shared.services.quotes import QuoteResponse

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


Amount = Annotated[int, Field(ge=0, strict=True)]


class Collateral(BaseModel):
    """A warranty or collateral offered with the application (its estimated value in rupiah)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: Annotated[str, Field(min_length=1, max_length=500)]
    value: Amount


class BusinessCapital(BaseModel):
    """The applicant's declared capital (the scorecard's capital C); every figure is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inventory_value: Amount | None = None
    account_balances: Amount | None = None
    owner_equity: Annotated[int, Field(strict=True)] | None = None  # negative when insolvent


class StateChange(BaseModel):
    """One step of a loan's life: when, from which state to which, and by whom."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: AwareDatetime
    from_state: LoanState | None  # None: the submission itself
    to_state: LoanState
    transition: str
    by: str | None  # a user id; None for the automated scorecard


class DecisionSummary(BaseModel):
    """The scorecard's decision as the application shows it (details in credit_decisions)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    decision: Literal["approve", "review", "reject"]
    grade: str
    score: int
    model_version: str
    reasons: tuple[str, ...]
    decided_at: AwareDatetime


class ReviewNote(BaseModel):
    """What the `admin.credit` reviewer decided and why (the narrative is required)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    outcome: Literal["approved", "rejected"]
    reviewer_id: str
    narrative: str
    reviewed_at: AwareDatetime


class OfferRecord(BaseModel):
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
    terms: QuoteResponse


class LoanDocument(BaseModel):
    """A document the borrower was given an upload URL for (the object may not exist yet)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    document_id: str
    kind: Literal["ktp", "invoice", "collateral_photo"]
    content_type: str
    object_name: str
    file_name: str | None = None
    requested_at: AwareDatetime


class LoanRecord(BaseModel):
    """`loans/<id>`: one application and everything that happened to it."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    entity: str
    borrower_id: str
    product_id: str
    product_purpose: Purpose
    principal: int
    tenor: int
    tenor_unit: TenorUnit
    purpose: LoanPurpose
    collateral: Collateral | None = None
    capital: BusinessCapital = BusinessCapital()
    borrower_outstanding: int = 0  # the borrower's outstanding principal when submitted
    state: LoanState
    submitted_at: AwareDatetime
    updated_at: AwareDatetime
    history: tuple[StateChange, ...] = ()
    decision: DecisionSummary | None = None
    review: ReviewNote | None = None
    offer: OfferRecord | None = None
    offer_accepted_at: AwareDatetime | None = None
    funding_closes_on: date | None = None
    cancellation_reason: str | None = None
    documents: tuple[LoanDocument, ...] = ()

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


@dataclass(frozen=True)
class EventOrigin:
    """Who produces events (the business entity) and how they are stamped (time, ids)."""

    entity: str
    clock: Clock
    ids: IdGenerator

    def event(
        self, event_type: EventType, data: EventData, *, causation_id: str | None = None
    ) -> Envelope:
        """A new envelope of `event_type` carrying `data`, ready for `tx.emit`."""
        return new_event(
            event_type,
            data,
            entity=self.entity,
            occurred_at=self.clock.now(),
            event_id=self.ids.new_uuid(),
            causation_id=causation_id,
        )


class EventProducer:
    """Mixed into a function's services dataclass when its use cases emit events.

    The dataclass supplies `entity`, `clock` and `ids`; `origin` stamps every event
    the function produces with them (`submit_application(..., origin=services.origin)`).
    """

    entity: str | None
    clock: Clock
    ids: IdGenerator

    @property
    def origin(self) -> EventOrigin:
        if self.entity is None:
            # Raised, not assumed: an event without its entity would reach the wrong books.
            raise ValueError(f"{type(self).__name__} produces events: it needs PATUNGAN_ENTITY")
        return EventOrigin(self.entity, self.clock, self.ids)


# --- the API's view of a loan ---------------------------------------------------------------


class DocumentView(BaseModel):
    model_config = ConfigDict(frozen=True)

    document_id: str
    kind: str
    content_type: str
    file_name: str | None
    requested_at: datetime


class ApplicationView(BaseModel):
    """A loan application as its borrower (and admins) see it.

    `review` (the reviewer's narrative) and which staff member acted (`by`,
    `priced_by`) are shown to admins only; a borrower sees the decision's
    reasons and the steps they took themselves.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    borrower_id: str
    state: LoanState
    product_id: str
    principal: int
    tenor: int
    tenor_unit: TenorUnit
    purpose: LoanPurpose
    collateral: Collateral | None
    capital: BusinessCapital
    submitted_at: datetime
    updated_at: datetime
    decision: DecisionSummary | None
    review: ReviewNote | None
    offer: OfferRecord | None
    offer_accepted_at: datetime | None
    funding_closes_on: date | None
    cancellation_reason: str | None
    documents: tuple[DocumentView, ...]
    history: tuple[StateChange, ...]

    @classmethod
    def of(cls, loan: LoanRecord, *, for_admin: bool) -> ApplicationView:
        return cls(
            id=loan.id,
            borrower_id=loan.borrower_id,
            state=loan.state,
            product_id=loan.product_id,
            principal=loan.principal,
            tenor=loan.tenor,
            tenor_unit=loan.tenor_unit,
            purpose=loan.purpose,
            collateral=loan.collateral,
            capital=loan.capital,
            submitted_at=loan.submitted_at,
            updated_at=loan.updated_at,
            decision=loan.decision,
            review=loan.review if for_admin else None,
            offer=(
                loan.offer
                if for_admin or loan.offer is None
                else loan.offer.model_copy(update={"priced_by": None})
            ),
            offer_accepted_at=loan.offer_accepted_at,
            funding_closes_on=loan.funding_closes_on,
            cancellation_reason=loan.cancellation_reason,
            documents=tuple(
                DocumentView(
                    document_id=d.document_id,
                    kind=d.kind,
                    content_type=d.content_type,
                    file_name=d.file_name,
                    requested_at=d.requested_at,
                )
                for d in loan.documents
            ),
            history=(
                loan.history
                if for_admin
                else tuple(
                    step.model_copy(update={"by": step.by if step.by == loan.borrower_id else None})
                    for step in loan.history
                )
            ),
        )


class ApplicationList(BaseModel):
    model_config = ConfigDict(frozen=True)

    applications: tuple[ApplicationView, ...]
