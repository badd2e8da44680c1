"""Domain events: the envelope every Pub/Sub message carries, and one payload model per type.

Contract (docs/architecture.md#events):
- `Envelope`: `event_id` (a UUID the producer sets once and reuses on every retry; the
  consumer's idempotency key), `type` (equal to the Pub/Sub topic name, e.g.
  `loan.submitted`), `schema_version`, `entity` (the business entity that produced
  it), `occurred_at` (an aware datetime — naive ones are refused), `causation_id` (the
  event or request that caused this one, if any) and `data`.
- `data` is validated by the model registered for `(type, schema_version)` in
  `EVENT_DATA_MODELS`. Every model is frozen and refuses unknown fields; amounts are
  integer rupiah, rates decimal strings.
- `parse_event` is the only way in from the wire: it validates the envelope, then the
  payload, and raises `ValidationFailed` with a message per field (a consumer logs and
  acknowledges it: a bad schema never becomes valid by retrying). `new_event` is the
  way out: ids and time are passed in, so nothing here reads a clock or makes random
  ids.

To change a payload incompatibly, add a model under a new `schema_version` and keep
the old one registered until no producer sends it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self
from uuid import UUID

import pydantic
from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.domain.errors import ValidationFailed
from shared.domain.loan import LoanState, LoanTransition, allowed_transitions
from shared.domain.products import Rate, field_errors
from shared.model import Model

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
"""An id minted by Patungan (loan, user, product): letters, digits and `_.:-`."""

PositiveAmount = Annotated[int, pydantic.Strict(), Field(gt=0)]
Amount = Annotated[int, pydantic.Strict(), Field(ge=0)]
PositiveCount = Annotated[int, pydantic.Strict(), Field(gt=0)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class EventType(StrEnum):
    """Every event type; each value is also the name of the Pub/Sub topic that carries it."""

    LOAN_SUBMITTED = "loan.submitted"
    LOAN_SCORED = "loan.scored"
    LOAN_APPROVED = "loan.approved"
    LOAN_REJECTED = "loan.rejected"
    LOAN_OFFER_ACCEPTED = "loan.offer_accepted"
    LOAN_CANCELLED = "loan.cancelled"
    LOAN_FUNDED = "loan.funded"
    LOAN_DISBURSED = "loan.disbursed"
    LOAN_EXPIRED = "loan.expired"
    LOAN_REPAID = "loan.repaid"
    LOAN_WRITTEN_OFF = "loan.written_off"
    DEPOSIT_DECLARED = "deposit.declared"
    DEPOSIT_CONFIRMED = "deposit.confirmed"
    DEPOSIT_REJECTED = "deposit.rejected"
    WITHDRAWAL_REQUESTED = "withdrawal.requested"
    WITHDRAWAL_CONFIRMED = "withdrawal.confirmed"
    WITHDRAWAL_REJECTED = "withdrawal.rejected"
    WITHDRAWAL_RETURNED = "withdrawal.returned"
    STATEMENT_IMPORTED = "statement.imported"
    LEDGER_ADJUSTED = "ledger.adjusted"
    LEDGER_RECONCILED = "ledger.reconciled"
    PAYMENT_RECEIVED = "payment.received"
    INSTALLMENT_PAID = "installment.paid"
    INSTALLMENT_DUE_SOON = "installment.due_soon"
    INSTALLMENT_OVERDUE = "installment.overdue"
    LOAN_MATURING = "loan.maturing"


class EventData(Model):
    """Base of every payload model: frozen, unknown fields refused."""

    # Built on first use: a function builds only the events it produces or consumes.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class LoanSubmitted(EventData):
    """A borrower submitted an application for a product."""

    loan_id: Identifier
    borrower_id: Identifier
    product_id: Identifier
    principal: PositiveAmount
    tenor: PositiveCount  # in the product's tenor unit (months, or days for bullet)


class LoanScored(EventData):
    """The five-C scorecard decided; the decision drives approve, review or reject."""

    loan_id: Identifier
    model_version: Annotated[str, Field(min_length=1, max_length=64)]
    score: Annotated[int, pydantic.Strict()]
    grade: Annotated[str, Field(min_length=1, max_length=8)]
    decision: Literal["approve", "review", "reject"]
    reasons: tuple[Reason, ...] = ()


class LoanApproved(EventData):
    """Approved and priced; `approved_by` is the reviewer, or None for the scorecard."""

    loan_id: Identifier
    grade: Annotated[str, Field(min_length=1, max_length=8)]
    principal: PositiveAmount
    tenor: PositiveCount
    rate: Rate  # per month for monthly methods, per year for bullet (as the product states)
    approved_by: Identifier | None = None


class LoanRejected(EventData):
    """Rejected with reasons; `rejected_by` is the reviewer, or None for the scorecard."""

    loan_id: Identifier
    reasons: Annotated[tuple[Reason, ...], Field(min_length=1)]
    rejected_by: Identifier | None = None


class LoanOfferAccepted(EventData):
    """The borrower accepted the priced offer and agreement; funding opens until the deadline."""

    loan_id: Identifier
    borrower_id: Identifier
    principal: PositiveAmount
    tenor: PositiveCount
    rate: Rate
    funding_closes_on: date


class LoanCancelled(EventData):
    """The borrower withdrew before funding completed."""

    loan_id: Identifier
    borrower_id: Identifier
    cancelled_from: LoanState
    reason: Reason | None = None

    @model_validator(mode="after")
    def _before_funded(self) -> Self:
        if LoanTransition.CANCEL not in allowed_transitions(self.cancelled_from):
            raise ValueError(f"a loan that is {self.cancelled_from.value!r} cannot be cancelled")
        return self


class LoanFunded(EventData):
    """Lenders committed the whole principal."""

    loan_id: Identifier
    principal: PositiveAmount
    lender_count: PositiveCount


class LoanDisbursed(EventData):
    """The disbursement is booked: the loan is active, its schedule fixed, and the net payout
    in transit to the borrower's bank account (`requested_by` the `admin.finance` who asked;
    a second one confirms the transfer)."""

    loan_id: Identifier
    principal: PositiveAmount
    origination_fee: Amount
    origination_fee_vat: Amount
    net_disbursement: PositiveAmount
    disbursed_on: date
    maturity_date: date
    requested_by: Identifier

    @model_validator(mode="after")
    def _payout_adds_up(self) -> Self:
        expected = self.principal - self.origination_fee - self.origination_fee_vat
        if self.net_disbursement != expected:
            raise ValueError(
                f"net_disbursement must be principal - origination_fee - origination_fee_vat "
                f"= {expected}, got {self.net_disbursement}"
            )
        if self.maturity_date <= self.disbursed_on:
            raise ValueError("maturity_date must be after disbursed_on")
        return self


class LoanExpired(EventData):
    """The funding window closed before the loan was fully funded; commitments are released."""

    loan_id: Identifier
    committed_released: Amount
    lender_count: Annotated[int, pydantic.Strict(), Field(ge=0)]


class LoanRepaid(EventData):
    """Everything owed on the loan has been paid."""

    loan_id: Identifier
    repaid_on: date
    total_paid: PositiveAmount


class LoanWrittenOff(EventData):
    """The loan was written off: its receivables are cleared and each lender's outstanding
    principal is their loss (docs/lending-rules.md#write-off). It still accepts payments."""

    loan_id: Identifier
    written_off_on: date
    principal_written_off: Amount
    lender_count: Annotated[int, pydantic.Strict(), Field(ge=1)]


class DepositDeclared(EventData):
    """A lender declared a bank transfer to the escrow account."""

    deposit_id: Identifier
    lender_id: Identifier
    amount: PositiveAmount


class DepositConfirmed(EventData):
    """A deposit was confirmed against the bank statement (`line_id`), or paid into the
    lender's virtual account (no line; `confirmed_by` the payment gateway); the lender's money
    is available."""

    deposit_id: Identifier
    lender_id: Identifier
    amount: PositiveAmount
    line_id: Identifier | None = None
    entry_id: Identifier
    confirmed_by: Identifier


class DepositRejected(EventData):
    deposit_id: Identifier
    lender_id: Identifier
    amount: PositiveAmount
    reason: Reason
    rejected_by: Identifier


class WithdrawalRequested(EventData):
    """A lender asked to be paid out; the amount is reserved."""

    withdrawal_id: Identifier
    lender_id: Identifier
    amount: PositiveAmount


class WithdrawalConfirmed(EventData):
    """The bank transfer to the lender was made; the money left the escrow account."""

    withdrawal_id: Identifier
    lender_id: Identifier
    amount: PositiveAmount
    bank_reference: Annotated[str, Field(min_length=1, max_length=64)]
    value_date: date
    confirmed_by: Identifier


class WithdrawalRejected(EventData):
    withdrawal_id: Identifier
    lender_id: Identifier
    amount: PositiveAmount
    reason: Reason
    rejected_by: Identifier


class WithdrawalReturned(EventData):
    """The bank returned a transfer; the money is available to the lender again."""

    withdrawal_id: Identifier
    lender_id: Identifier
    amount: PositiveAmount
    returned_on: date
    reason: Reason


class StatementImported(EventData):
    """A bank statement of the escrow account was imported, every line accounted for."""

    statement_id: Identifier
    period_end: date
    lines: Amount
    credits: Amount
    debits: Amount
    closing_balance: Annotated[int, pydantic.Strict()]


class LedgerAdjusted(EventData):
    """A manual adjusting entry was approved and posted."""

    manual_entry_id: Identifier
    entry_id: Identifier
    proposed_by: Identifier
    approved_by: Identifier


class LedgerReconciled(EventData):
    """A reconciliation run finished; `problems` is 0 when everything agreed."""

    run_id: Identifier
    kind: Literal["daily", "on_demand"]
    day: date
    passed: bool
    problems: Amount


class PaymentReceived(EventData):
    """A borrower paid into their loan's virtual account; the money waits, unapplied."""

    payment_id: Identifier
    loan_id: Identifier
    amount: PositiveAmount
    paid_at: AwareDatetime


class PaidParts(EventData):
    late_fee: Amount = 0
    fee: Amount = 0
    fee_vat: Amount = 0
    interest: Amount = 0
    principal: Amount = 0


class InstallmentPaid(EventData):
    """A payment was allocated to a loan's installments (oldest first): what it collected
    of each part, the installments it settled, and the borrower's credit from it."""

    payment_id: Identifier
    loan_id: Identifier
    amount: PositiveAmount
    collected: PaidParts
    installments: tuple[Annotated[int, pydantic.Strict(), Field(ge=1)], ...]
    settled: tuple[Annotated[int, pydantic.Strict(), Field(ge=1)], ...]
    borrower_credit: Amount
    outstanding_principal: Amount
    loan_repaid: bool


class InstallmentDueSoon(EventData):
    """An installment falls due in three days (the borrower is reminded)."""

    loan_id: Identifier
    borrower_id: Identifier
    installment: Annotated[int, pydantic.Strict(), Field(ge=1)]
    due_date: date
    amount_due: Amount


class InstallmentOverdue(EventData):
    """An installment was not paid by its due date (its first day past due)."""

    loan_id: Identifier
    borrower_id: Identifier
    installment: Annotated[int, pydantic.Strict(), Field(ge=1)]
    due_date: date
    amount_overdue: PositiveAmount


class LoanMaturing(EventData):
    """A loan's final installment falls due in three days (its lenders are told)."""

    loan_id: Identifier
    maturity_date: date
    outstanding_principal: Amount


EVENT_DATA_MODELS: Mapping[tuple[EventType, int], type[EventData]] = MappingProxyType(
    {
        (EventType.LOAN_SUBMITTED, 1): LoanSubmitted,
        (EventType.LOAN_SCORED, 1): LoanScored,
        (EventType.LOAN_APPROVED, 1): LoanApproved,
        (EventType.LOAN_REJECTED, 1): LoanRejected,
        (EventType.LOAN_OFFER_ACCEPTED, 1): LoanOfferAccepted,
        (EventType.LOAN_CANCELLED, 1): LoanCancelled,
        (EventType.LOAN_FUNDED, 1): LoanFunded,
        (EventType.LOAN_DISBURSED, 1): LoanDisbursed,
        (EventType.LOAN_EXPIRED, 1): LoanExpired,
        (EventType.LOAN_REPAID, 1): LoanRepaid,
        (EventType.LOAN_WRITTEN_OFF, 1): LoanWrittenOff,
        (EventType.DEPOSIT_DECLARED, 1): DepositDeclared,
        (EventType.DEPOSIT_CONFIRMED, 1): DepositConfirmed,
        (EventType.DEPOSIT_REJECTED, 1): DepositRejected,
        (EventType.WITHDRAWAL_REQUESTED, 1): WithdrawalRequested,
        (EventType.WITHDRAWAL_CONFIRMED, 1): WithdrawalConfirmed,
        (EventType.WITHDRAWAL_REJECTED, 1): WithdrawalRejected,
        (EventType.WITHDRAWAL_RETURNED, 1): WithdrawalReturned,
        (EventType.STATEMENT_IMPORTED, 1): StatementImported,
        (EventType.LEDGER_ADJUSTED, 1): LedgerAdjusted,
        (EventType.LEDGER_RECONCILED, 1): LedgerReconciled,
        (EventType.PAYMENT_RECEIVED, 1): PaymentReceived,
        (EventType.INSTALLMENT_PAID, 1): InstallmentPaid,
        (EventType.INSTALLMENT_DUE_SOON, 1): InstallmentDueSoon,
        (EventType.INSTALLMENT_OVERDUE, 1): InstallmentOverdue,
        (EventType.LOAN_MATURING, 1): LoanMaturing,
    }
)
"""The payload model of each `(type, schema_version)`."""


def latest_schema_version(event_type: EventType) -> int:
    """The schema version producers use today for `event_type`."""
    return max(version for (kind, version) in EVENT_DATA_MODELS if kind is event_type)


Entity = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,29}$")]
"""A business entity's short name (`p2p`, `koperasi`), as in `patungan-<entity>-<env>`."""


class _EnvelopeFields(Model):
    """What every envelope carries besides its payload."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    event_id: UUID
    type: EventType
    schema_version: Annotated[int, pydantic.Strict(), Field(ge=1)]
    entity: Entity
    occurred_at: AwareDatetime
    causation_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None


_PAYLOAD_MODEL = "payload_model"  # the key of parse_event's validation context


class _Header(_EnvelopeFields):
    """The envelope with its payload still unparsed (the first stage of `parse_event`)."""

    data: dict[str, Any]


class Envelope(_EnvelopeFields):
    """One domain event on Pub/Sub: build it with `new_event`, read it with `parse_event`."""

    data: SerializeAsAny[EventData]

    @field_validator("data", mode="before")
    @classmethod
    def _payload_from_the_wire(cls, value: Any, info: ValidationInfo) -> Any:
        # `parse_event` names the payload model it looked up in its validation context; from
        # the wire the payload is a JSON object (what `new_event` passes is already a model).
        model = info.context.get(_PAYLOAD_MODEL) if isinstance(info.context, dict) else None
        if model is None:
            return value
        if not isinstance(value, Mapping):
            raise ValueError("the payload of an event is a JSON object")
        return model.model_validate(value)

    @model_validator(mode="after")
    def _data_fits_type(self) -> Self:
        model = EVENT_DATA_MODELS.get((self.type, self.schema_version))
        if model is None:
            raise ValueError(f"no schema {self.schema_version} is registered for {self.type}")
        if type(self.data) is not model:
            raise ValueError(
                f"{self.type} v{self.schema_version} carries {model.__name__}, "
                f"not {type(self.data).__name__}"
            )
        return self

    def to_json_bytes(self) -> bytes:
        """The wire form published to the topic named `type`."""
        return self.model_dump_json().encode()


def parse_event(raw: bytes | str | Mapping[str, Any]) -> Envelope:
    """Validate an event from the wire: the envelope first, then its payload.

    Raises `ValidationFailed` naming each bad field (`occurred_at`, `data.principal`, ...).
    A valid event (every event consumed, bar the odd broken one) is validated in one
    pass; only one that fails it is checked again in stages, to say what is wrong.
    """
    if isinstance(raw, bytes | str):
        try:
            decoded: object = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValidationFailed("the event is not JSON", {"(root)": str(error)}) from error
    else:
        decoded = raw
    if not isinstance(decoded, Mapping):
        raise ValidationFailed(
            "an event is a JSON object", {"(root)": f"got {type(decoded).__name__}"}
        )
    model = _payload_model_named_in(decoded)
    if model is not None:
        try:
            return Envelope.model_validate(decoded, context={_PAYLOAD_MODEL: model})
        except pydantic.ValidationError:
            pass  # the stages below say what is wrong
    return _parse_in_stages(decoded)


def _payload_model_named_in(decoded: Mapping[str, Any]) -> type[EventData] | None:
    """The payload model registered for the event's `type` and `schema_version` as sent."""
    kind, version = decoded.get("type"), decoded.get("schema_version")
    if not isinstance(kind, str) or type(version) is not int:
        return None
    try:
        return EVENT_DATA_MODELS.get((EventType(kind), version))
    except ValueError:  # not an event type: the stages say so
        return None


def _parse_in_stages(decoded: Mapping[str, Any]) -> Envelope:
    """The envelope, then the registry, then the payload: `ValidationFailed` from the first
    stage that fails (so a bad header is reported alone, not with its payload's errors)."""
    try:
        header = _Header.model_validate(decoded)
    except pydantic.ValidationError as error:
        raise ValidationFailed("invalid event envelope", field_errors(error)) from error
    model = EVENT_DATA_MODELS.get((header.type, header.schema_version))
    if model is None:
        raise ValidationFailed(
            f"unknown schema version for {header.type}",
            {"schema_version": f"no schema {header.schema_version} is registered"},
        )
    try:
        data = model.model_validate(header.data)
    except pydantic.ValidationError as error:
        raise ValidationFailed(
            f"invalid {header.type} v{header.schema_version} data", field_errors(error, "data")
        ) from error
    return Envelope(**header.model_dump(exclude={"data"}), data=data)


def new_event(
    event_type: EventType,
    data: EventData | Mapping[str, Any],
    *,
    entity: str,
    occurred_at: AwareDatetime,
    event_id: UUID,
    causation_id: str | None = None,
) -> Envelope:
    """A new event at the latest schema version of its type.

    `event_id` and `occurred_at` come from the caller (a UUID the producer stores and
    reuses when it retries the publish; the clock the use case was given). `data` may
    be the payload model or its fields.
    """
    version = latest_schema_version(event_type)
    model = EVENT_DATA_MODELS[(event_type, version)]
    try:
        payload = data if isinstance(data, EventData) else model.model_validate(data)
        return Envelope(
            event_id=event_id,
            type=event_type,
            schema_version=version,
            entity=entity,
            occurred_at=occurred_at,
            causation_id=causation_id,
            data=payload,
        )
    except pydantic.ValidationError as error:
        raise ValidationFailed(f"invalid {event_type} event", field_errors(error)) from error
