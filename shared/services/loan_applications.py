"""The borrower's side of an application: submit, read, accept the offer, cancel, upload.

Submission (`submit_application`) is one transaction that reads the borrower's
record, the product, their open and outstanding loans, then refuses with a
precise error or writes the loan and emits `loan.submitted`:
- the caller must be a registered borrower whose identity the civil registry
  confirmed (403 otherwise) and who has a business profile (422);
- principal and tenor must fit the product (422 naming the field), and the
  product's cheapest terms must meet the caps on today's date (422 `cap-exceeded`:
  no offer could ever be made);
- the borrower's outstanding principal plus this one may not exceed
  Rp 2,000,000,000 (POJK 10/POJK.05/2022; 422 `cap-exceeded`);
- a borrower has at most one open application (`OPEN_STATES`; 409 naming it);
- a borrower with a written-off loan, or an active one 90 or more days past due, may not
  apply (409 `borrower-in-default`; docs/lending-rules.md#write-off).
  Concurrent submissions are serialised by `borrower_positions/<borrower>`, which
  every submission reads and writes, so two can never both pass the check.
Outstanding principal is read from the borrower's `funded`/`active` loans: a
loan's `outstanding_principal` field when the repayment use cases keep one,
its principal otherwise.

After approval the borrower accepts the priced offer (`accept_offer`, naming
the agreement version they read): the loan goes `approved → offer_accepted →
funding` in one transaction, with a funding deadline of the product's funding
window in Jakarta days, and `loan.offer_accepted` is published. Before it is
funded the borrower may cancel (`cancel_application`, `loan.cancelled`).

Another borrower's loan is indistinguishable from a missing one (404); admins
read every loan. Every state change is checked against the current state in
its transaction (409 with the current state otherwise).

Document uploads (`request_document_upload`): the loan must still be open;
the URL is signed before the transaction (signing may call IAM and has no
effect on the store) and the transaction records the document. A replay of the
same `Idempotency-Key` answers the same document with a freshly signed URL for the
same object (`refresh_document_upload`): the first URL may have expired.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import ConfigDict, Field, Strict, model_validator

from shared.domain.errors import Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from shared.domain.loan import LoanState, LoanTransition
from shared.domain.permissions import Permission
from shared.domain.product_terms import BorrowerSegment, TenorUnit
from shared.fields import DocumentId, FileName, PlainStr, PositiveRupiah, ProseStr
from shared.model import Model
from shared.platform.callers import Caller
from shared.platform.clock import jakarta_date
from shared.platform.ids import require_document_id
from shared.platform.store import DocumentTransaction, JsonDict, UnitOfWork, Where
from shared.records.loans import (
    MAX_DOCUMENTS_PER_LOAN,
    OPEN_STATES,
    OUTSTANDING_STATES,
    BusinessCapital,
    Collateral,
    DecisionSummary,
    Listing,
    LoanDocument,
    LoanPurpose,
    LoanRecord,
    Loans,
    OfferRecord,
    ReviewNote,
    StateChange,
)
from shared.records.quotes import CapCheckView
from shared.records.user_directory import USERS

if TYPE_CHECKING:
    from shared.domain.caps import CapTable
    from shared.domain.products import LoanProduct
    from shared.platform.documents import DocumentStorage
    from shared.platform.event_origin import EventOrigin
    from shared.records.borrowers import BorrowerPosition

# What only submitting, accepting or cancelling needs (the caps tables, the event models,
# scoring's limits, the write-off rules) is imported by those use cases, not with the views
# every read answers with (docs/architecture.md#cold-start).

MAX_OUTSTANDING_LOANS_READ = 100
# A borrower with a loan this many days past due may not apply (docs/lending-rules.md#write-off).
BLOCKING_DAYS_PAST_DUE = 90

DocumentKind = Literal["ktp", "invoice", "collateral_photo"]
DocumentContentType = Literal["image/jpeg", "image/png", "application/pdf"]
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}


class SubmitApplication(Model):
    """`POST /applications`. `tenor` is in the product's unit (months, or days for bullet)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: DocumentId
    principal: PositiveRupiah
    tenor: Annotated[int, Strict(), Field(gt=0, le=366)]
    purpose: LoanPurpose
    collateral: Collateral | None = None
    capital: BusinessCapital = Field(default_factory=BusinessCapital)
    borrower_segment: BorrowerSegment | None = None  # the product's, when it fixes one

    @model_validator(mode="after")
    def _declared_figures_are_plausible(self) -> Self:
        from shared.domain.scoring.features import MAX_DECLARED_TO_PRINCIPAL

        limit = MAX_DECLARED_TO_PRINCIPAL * self.principal
        declared = {
            "capital.inventory_value": self.capital.inventory_value,
            "capital.account_balances": self.capital.account_balances,
            "capital.owner_equity": self.capital.owner_equity,
            "collateral.value": self.collateral.value if self.collateral else None,
        }
        too_large = [name for name, value in declared.items() if value and abs(value) > limit]
        if too_large:
            raise ValueError(
                f"{', '.join(too_large)} cannot exceed {MAX_DECLARED_TO_PRINCIPAL} times the "
                f"principal (Rp {limit:,})"
            )
        return self


class ApplicationAccepted(Model):
    """The 202 answer to a submission: scoring follows asynchronously."""

    model_config = ConfigDict(frozen=True)

    loan_id: str
    state: LoanState
    submitted_at: datetime


class ApplicationQuery(Model):
    """`GET /applications?state=...&limit=...` (newest first)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: LoanState | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class AcceptOffer(Model):
    """The borrower accepts the offer under the agreement version they read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agreement_version: Annotated[PlainStr, Field(min_length=1, max_length=100)]


class CancelApplication(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Annotated[ProseStr, Field(min_length=1, max_length=500)] | None = None


class DocumentUploadRequest(Model):
    """`POST /applications/{loan_id}/documents`: what the borrower is about to upload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DocumentKind
    content_type: DocumentContentType
    file_name: FileName | None = None


class UploadUrl(Model):
    """PUT the file to `url` with exactly these `headers` before `expires_at`."""

    model_config = ConfigDict(frozen=True)

    url: str
    method: Literal["PUT"]
    headers: dict[str, str]
    expires_at: datetime


class DocumentUpload(Model):
    model_config = ConfigDict(frozen=True)

    document_id: str
    loan_id: str
    kind: DocumentKind
    upload: UploadUrl


# --- the API's view of a loan ---------------------------------------------------------------


class DocumentView(Model):
    model_config = ConfigDict(frozen=True)

    document_id: str
    kind: str
    content_type: str
    file_name: str | None
    requested_at: datetime


class ApplicationView(Model):
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
    offer_recheck: CapCheckView | None = None
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
            offer_recheck=loan.offer_recheck,
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


class ApplicationList(Model):
    model_config = ConfigDict(frozen=True)

    applications: tuple[ApplicationView, ...]


# --- submission -------------------------------------------------------------------------------


def _outstanding_principal(loan: LoanRecord) -> int:
    """What the borrower still owes of a loan's principal (repayments keep it)."""
    return loan.principal if loan.outstanding_principal is None else loan.outstanding_principal


class CoolingOff(Conflict):
    """The borrower may not apply again yet (a recent rejection, or too many cancellations)."""

    code = "cooling-off"


class OfferExpired(Conflict):
    """The offer's validity passed before the borrower accepted it."""

    code = "offer-expired"


def _offer_lapsed(loan: LoanRecord, today: date) -> bool:
    offer = loan.offer
    return (
        loan.state is LoanState.APPROVED
        and offer is not None
        and offer.valid_until is not None
        and today > offer.valid_until
    )


def _refuse_while_cooling_off(
    position: BorrowerPosition, product: LoanProduct, today: date
) -> None:
    """A rejected borrower waits the product's cooling-off days; so does one who cancelled
    `max_cancellations` applications within `CANCELLATION_WINDOW_DAYS` (each submission
    asks four paid providers about them)."""
    from shared.domain.products import CANCELLATION_WINDOW_DAYS

    rejected = position.last_rejected_on
    if rejected is not None and today < rejected + timedelta(days=product.cooling_off_days):
        again = rejected + timedelta(days=product.cooling_off_days)
        raise CoolingOff(
            f"your last application was rejected on {rejected.isoformat()}: you may apply "
            f"again from {again.isoformat()}"
        )
    cancelled = position.recent_cancellations(today)
    if len(cancelled) >= product.max_cancellations:
        again = min(cancelled) + timedelta(days=CANCELLATION_WINDOW_DAYS)
        raise CoolingOff(
            f"you cancelled {len(cancelled)} applications in {CANCELLATION_WINDOW_DAYS} days: "
            f"you may apply again from {again.isoformat()}"
        )


class InDefault(Conflict):
    """The borrower has a written-off loan, or one long past due
    (docs/lending-rules.md#write-off)."""

    code = "borrower-in-default"


def _refuse_while_in_default(current: list[LoanRecord], late: dict[str, int]) -> None:
    """No new application while a loan of the borrower is written off or at least
    `BLOCKING_DAYS_PAST_DUE` days past due."""
    for loan in current:
        if loan.state is LoanState.WRITTEN_OFF:
            raise InDefault(f"your loan {loan.id} was written off: settle it before applying again")
        days = late.get(loan.id, 0)
        if days >= BLOCKING_DAYS_PAST_DUE:
            raise InDefault(
                f"your loan {loan.id} is {days} days past due: pay what is overdue before "
                "applying again"
            )


def submit_application(
    uow: UnitOfWork, command: SubmitApplication, borrower_id: str, *, origin: EventOrigin
) -> ApplicationAccepted:
    """Validate and store a new application, and publish `loan.submitted` (see module doc)."""
    from shared.domain.caps import check_borrower_outstanding, check_offer
    from shared.domain.events import EventType, LoanSubmitted
    from shared.domain.products import quote
    from shared.records.borrowers import BORROWER_POSITIONS, BorrowerPosition, BorrowerPositions
    from shared.records.products import PRODUCTS
    from shared.records.users import UserRecord
    from shared.services.catalogue import open_product
    from shared.services.write_offs import loan_days_past_due

    now = origin.clock.now()
    today = jakarta_date(now)
    loan_id = origin.ids.new_id("loan")

    def submit(tx: DocumentTransaction) -> ApplicationAccepted:
        # One round trip for the documents (the position is read so that concurrent
        # submissions conflict), one query for the borrower's open and outstanding loans.
        found = tx.get_documents(
            [
                (USERS, borrower_id),
                (PRODUCTS, command.product_id),
                (BORROWER_POSITIONS, borrower_id),
            ]
        )
        stored_user = found[(USERS, borrower_id)]
        user = None if stored_user is None else UserRecord.model_validate(stored_user)
        stored_position = found[(BORROWER_POSITIONS, borrower_id)]
        position = (
            BorrowerPosition(borrower_id=borrower_id)
            if stored_position is None
            else BorrowerPosition.model_validate(stored_position)
        )
        entry = open_product(found[(PRODUCTS, command.product_id)], command.product_id)
        product = entry.product
        segment = command.borrower_segment
        if segment is not None and segment is not product.borrower_segment:
            raise ValidationFailed(
                f"{product.id} lends to {product.borrower_segment.value} borrowers",
                {"borrower_segment": f"must be {product.borrower_segment.value} for {product.id}"},
            )
        loans = Loans(tx)
        current = loans.find(
            Where("borrower_id", "==", borrower_id),
            Where(
                "state",
                "in",
                [s.value for s in (*OPEN_STATES, *OUTSTANDING_STATES, LoanState.WRITTEN_OFF)],
            ),
            limit=MAX_OUTSTANDING_LOANS_READ + 1,
        )
        late = {
            loan.id: loan_days_past_due(tx, loan, today)
            for loan in current
            if loan.state is LoanState.ACTIVE
        }
        # An offer left unaccepted past its validity closes now, if no sweep closed it yet.
        lapsed = [loan for loan in current if _offer_lapsed(loan, today)]
        open_loans = [loan for loan in current if loan.state in OPEN_STATES and loan not in lapsed]
        outstanding_loans = [loan for loan in current if loan.state in OUTSTANDING_STATES]

        if user is None or user.role != "borrower":
            raise Forbidden("register as a borrower before applying (POST /users)")
        if user.identity_verified_at is None:
            raise Forbidden("your identity has not been verified with the civil registry")
        if user.borrower_profile is None:
            raise ValidationFailed(
                "a borrower profile is needed to apply", {"borrower_profile": "missing"}
            )
        if open_loans:
            raise Conflict(
                f"you already have an open application {open_loans[0].id} "
                f"({open_loans[0].state.value}); cancel it or wait until it closes"
            )
        _refuse_while_in_default(current, late)
        _refuse_while_cooling_off(position, product, today)
        cheapest = quote(product, command.principal, command.tenor, today, product.min_rate)
        check_offer(cheapest, offered_on=today).raise_if_violated()
        outstanding = sum(_outstanding_principal(loan) for loan in outstanding_loans)
        check_borrower_outstanding(
            outstanding=outstanding, new_principal=command.principal, on=today
        ).raise_if_violated()

        loan = LoanRecord(
            id=loan_id,
            entity=origin.entity,
            borrower_id=borrower_id,
            product_id=product.id,
            product_version=entry.version,
            product_purpose=product.purpose,
            borrower_segment=product.borrower_segment,
            principal=command.principal,
            tenor=command.tenor,
            tenor_unit=product.tenor_unit,
            purpose=command.purpose,
            collateral=command.collateral,
            capital=command.capital,
            borrower_outstanding=outstanding,
            state=LoanState.SUBMITTED,
            submitted_at=now,
            updated_at=now,
        )
        for old in lapsed:
            loans.put(old.moved(LoanTransition.EXPIRE_OFFER, at=now, by=None))
        loans.add(loan)
        BorrowerPositions(tx).put(
            position.model_copy(update={"last_application_id": loan_id, "updated_at": now})
        )
        tx.emit(
            origin.event(
                EventType.LOAN_SUBMITTED,
                LoanSubmitted(
                    loan_id=loan_id,
                    borrower_id=borrower_id,
                    product_id=product.id,
                    principal=command.principal,
                    tenor=command.tenor,
                ),
            )
        )
        return ApplicationAccepted(loan_id=loan_id, state=loan.state, submitted_at=now)

    return uow.run(submit)


# --- reading ----------------------------------------------------------------------------------


def _visible(loan: LoanRecord | None, caller: Caller, loan_id: str) -> LoanRecord:
    """The loan if the caller may see it; another borrower's loan looks like a missing one."""
    if loan is None or (
        not caller.may(Permission.LOAN_READ_ANY) and loan.borrower_id != caller.user_id
    ):
        raise NotFound(f"there is no loan application {loan_id!r}")
    return loan


def read_application(uow: UnitOfWork, caller: Caller, loan_id: str) -> ApplicationView:
    require_document_id(loan_id, "loan application")
    loan = uow.run(lambda tx: Loans(tx).get(loan_id), read_only=True)
    return ApplicationView.of(_visible(loan, caller, loan_id), for_admin=caller.is_admin)


def list_applications(uow: UnitOfWork, caller: Caller, query: ApplicationQuery) -> ApplicationList:
    """The caller's applications, newest first (admins: everyone's)."""
    where: list[Where] = []
    if not caller.may(Permission.LOAN_READ_ANY):
        where.append(Where("borrower_id", "==", caller.user_id))
    if query.state is not None:
        where.append(Where("state", "==", query.state.value))
    loans = uow.run(
        lambda tx: Loans(tx).newest(*where, by="submitted_at", limit=query.limit),
        read_only=True,
    )
    return ApplicationList(
        applications=tuple(ApplicationView.of(loan, for_admin=caller.is_admin) for loan in loans)
    )


# --- after approval -------------------------------------------------------------------------


def accept_offer(
    uow: UnitOfWork,
    caller: Caller,
    loan_id: str,
    command: AcceptOffer,
    *,
    origin: EventOrigin,
    caps: CapTable | None = None,
) -> ApplicationView:
    """Accept the priced offer: the loan opens for funding and `loan.offer_accepted` goes out.

    The offer must still be valid (`OfferExpired`, 409) and must meet the caps in force
    today: if it no longer does, the loan goes back to review with the failing rules
    (`offer_recheck`) and nothing opens for funding. `caps` defaults to `OJK_CAPS`."""
    from shared.domain.caps import OJK_CAPS
    from shared.domain.events import EventType, LoanOfferAccepted
    from shared.records.quotes import cap_check_view
    from shared.services.catalogue import product_of
    from shared.services.offers import recheck_offer

    require_document_id(loan_id, "loan application")
    now = origin.clock.now()
    today = jakarta_date(now)
    in_force = OJK_CAPS if caps is None else caps

    def accept(tx: DocumentTransaction) -> ApplicationView:
        loans = Loans(tx)
        loan = _visible(loans.get(loan_id), caller, loan_id)
        product = product_of(tx, loan.product_id, loan.product_version)
        borrower_doc = tx.get(USERS, loan.borrower_id)
        accepted = loan.moved(LoanTransition.ACCEPT_OFFER, at=now, by=caller.user_id)
        offer = loan.offer
        if offer is None:
            raise Conflict(f"loan {loan_id} was approved without an offer; ask support")
        if _offer_lapsed(loan, today):
            raise OfferExpired(
                f"the offer expired on {offer.valid_until}; submit a new application"
            )
        if offer.agreement_version != command.agreement_version:
            raise Conflict(
                f"the offer is made under agreement {offer.agreement_version!r}, not "
                f"{command.agreement_version!r}: read that version and accept it"
            )
        recheck = recheck_offer(product, loan, offer, today, in_force)
        if not recheck.compliant:
            # The caps in force today refuse terms they allowed when priced: a reviewer
            # re-prices the loan; the borrower sees why.
            returned = loan.moved(
                LoanTransition.REPRICE, at=now, by=None, offer_recheck=cap_check_view(recheck)
            )
            loans.put(returned)
            return ApplicationView.of(returned, for_admin=caller.is_admin)
        closes_on = today + timedelta(days=offer.funding_window_days)
        funding = accepted.moved(
            LoanTransition.OPEN_FUNDING,
            at=now,
            by=caller.user_id,
            offer_accepted_at=now,
            funding_closes_on=closes_on,
            listing=_listing(loan_id, borrower_doc, closes_on),
        )
        loans.put(funding)
        tx.emit(
            origin.event(
                EventType.LOAN_OFFER_ACCEPTED,
                LoanOfferAccepted(
                    loan_id=loan.id,
                    borrower_id=loan.borrower_id,
                    principal=loan.principal,
                    tenor=loan.tenor,
                    rate=offer.rate,
                    funding_closes_on=closes_on,
                ),
            )
        )
        return ApplicationView.of(funding, for_admin=caller.is_admin)

    return uow.run(accept)


def _listing(loan_id: str, borrower_doc: JsonDict | None, closes_on: date) -> Listing:
    """What the lenders' marketplace shows of the borrower: sector and province only."""
    from shared.records.users import UserRecord

    profile = UserRecord.model_validate(borrower_doc).borrower_profile if borrower_doc else None
    if profile is None:
        raise Conflict(f"loan {loan_id}'s borrower has no business profile to list")
    return Listing(
        sector=profile.sector,
        province_code=profile.province_code,
        sort_key=f"{closes_on.isoformat()}|{loan_id}",
    )


def cancel_application(
    uow: UnitOfWork,
    caller: Caller,
    loan_id: str,
    command: CancelApplication,
    *,
    origin: EventOrigin,
) -> ApplicationView:
    """The borrower withdraws before funding completes: `loan.cancelled`."""
    from shared.domain.events import EventType, LoanCancelled
    from shared.records.borrowers import BorrowerPositions

    require_document_id(loan_id, "loan application")
    now = origin.clock.now()

    def cancel(tx: DocumentTransaction) -> ApplicationView:
        loans, positions = Loans(tx), BorrowerPositions(tx)
        loan = _visible(loans.get(loan_id), caller, loan_id)
        position = positions.of(loan.borrower_id)
        if loan.borrower_id != caller.user_id:
            raise Forbidden("only the borrower can withdraw their application")
        cancelled = loan.moved(
            LoanTransition.CANCEL, at=now, by=caller.user_id, cancellation_reason=command.reason
        )
        loans.put(cancelled)
        positions.put(position.cancelled(jakarta_date(now)))
        tx.emit(
            origin.event(
                EventType.LOAN_CANCELLED,
                LoanCancelled(
                    loan_id=loan.id,
                    borrower_id=loan.borrower_id,
                    cancelled_from=loan.state,
                    reason=command.reason,
                ),
            )
        )
        return ApplicationView.of(cancelled, for_admin=caller.is_admin)

    return uow.run(cancel)


# --- documents --------------------------------------------------------------------------------


def _open_for_documents(loan: LoanRecord) -> None:
    if loan.state not in OPEN_STATES:
        raise IllegalTransition(f"loan {loan.id}", loan.state.value, "upload documents")


def request_document_upload(
    uow: UnitOfWork,
    storage: DocumentStorage,
    caller: Caller,
    loan_id: str,
    command: DocumentUploadRequest,
    *,
    origin: EventOrigin,
) -> DocumentUpload:
    """A signed upload URL for one document of an open application, recorded on the loan."""
    require_document_id(loan_id, "loan application")
    now = origin.clock.now()
    current = _visible(uow.run(lambda tx: Loans(tx).get(loan_id), read_only=True), caller, loan_id)
    _open_for_documents(current)
    document_id = origin.ids.new_id("doc")
    object_name = f"loans/{loan_id}/{command.kind}/{document_id}{_EXTENSIONS[command.content_type]}"
    signed = storage.upload_url(object_name, command.content_type)

    def record(tx: DocumentTransaction) -> DocumentUpload:
        loans = Loans(tx)
        loan = _visible(loans.get(loan_id), caller, loan_id)
        _open_for_documents(loan)
        if len(loan.documents) >= MAX_DOCUMENTS_PER_LOAN:
            raise Conflict(f"an application holds at most {MAX_DOCUMENTS_PER_LOAN} documents")
        document = LoanDocument(
            document_id=document_id,
            kind=command.kind,
            content_type=command.content_type,
            object_name=object_name,
            file_name=command.file_name,
            requested_at=now,
        )
        loans.put(loan.model_copy(update={"documents": (*loan.documents, document)}))
        return DocumentUpload(
            document_id=document_id,
            loan_id=loan_id,
            kind=command.kind,
            upload=UploadUrl(
                url=signed.url,
                method="PUT",
                headers=dict(signed.headers),
                expires_at=signed.expires_at,
            ),
        )

    return uow.run(record)


def refresh_document_upload(
    uow: UnitOfWork,
    storage: DocumentStorage,
    caller: Caller,
    loan_id: str,
    first: DocumentUpload,
) -> DocumentUpload:
    """A replayed upload request: the same document and object, with a freshly signed URL
    (the first one may have expired since)."""
    require_document_id(loan_id, "loan application")
    loan = _visible(uow.run(lambda tx: Loans(tx).get(loan_id), read_only=True), caller, loan_id)
    document = next((d for d in loan.documents if d.document_id == first.document_id), None)
    if document is None:
        raise NotFound(f"loan {loan_id} has no document {first.document_id!r}")
    signed = storage.upload_url(document.object_name, document.content_type)
    return first.model_copy(
        update={
            "upload": UploadUrl(
                url=signed.url,
                method="PUT",
                headers=dict(signed.headers),
                expires_at=signed.expires_at,
            )
        }
    )
