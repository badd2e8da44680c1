"""A miniature HTTP function built on the shared plumbing, shaped like a real one.

The plumbing tests drive it through `functions_framework.create_app(...)`, as
the platform's own function tests do: a borrower submits a loan draft
(idempotent, emits `loan.submitted`), reads and lists loans, cancels one
(an illegal second cancel is a 409), a signed-in person registers, and anyone
may ask for a quote.
"""

from __future__ import annotations

from typing import Any

import functions_framework
from pydantic import BaseModel, ConfigDict, Field

from shared.domain import loan as lifecycle
from shared.domain.errors import NotFound
from shared.domain.events import EventType, new_event
from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.http.wiring import http_services
from shared.platform.store import DocumentTransaction, OrderBy, Repository, UnitOfWork, Where
from shared.settings import HttpSettings, load_settings


class LoanDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principal: int = Field(gt=0, le=2_000_000_000, strict=True)
    tenor: int = Field(ge=1, le=24, strict=True)


class LoanView(BaseModel):
    loan_id: str
    borrower_id: str
    principal: int
    tenor: int
    state: lifecycle.LoanState


class LoanFilter(BaseModel):
    state: lifecycle.LoanState | None = None
    limit: int = Field(default=20, ge=1, le=100)


class LoanList(BaseModel):
    loans: list[LoanView]


class Quote(BaseModel):
    principal: int
    interest: int


class Registration(BaseModel):
    role: str


class Loans(Repository[LoanView]):
    collection = "loans"
    model = LoanView
    key_field = "loan_id"


# --- the "service layer" of the sample --------------------------------------------------------


def submit_loan(
    uow: UnitOfWork, services: HttpServices, borrower: str, draft: LoanDraft
) -> LoanView:
    loan_id = services.ids.new_id("loan")
    event_id = services.ids.new_uuid()

    def work(tx: DocumentTransaction) -> LoanView:
        loan = LoanView(
            loan_id=loan_id,
            borrower_id=borrower,
            principal=draft.principal,
            tenor=draft.tenor,
            state=lifecycle.LoanState.SUBMITTED,
        )
        Loans(tx).add(loan)
        tx.emit(
            new_event(
                EventType.LOAN_SUBMITTED,
                {
                    "loan_id": loan_id,
                    "borrower_id": borrower,
                    "product_id": "umkm-productive",
                    "principal": draft.principal,
                    "tenor": draft.tenor,
                },
                entity="p2p",
                occurred_at=services.clock.now(),
                event_id=event_id,
            )
        )
        return loan

    return uow.run(work)


def cancel_loan(uow: UnitOfWork, borrower: str, loan_id: str) -> LoanView:
    def work(tx: DocumentTransaction) -> LoanView:
        loans = Loans(tx)
        loan = loans.require(loan_id)
        if loan.borrower_id != borrower:
            raise NotFound(f"loan {loan_id!r} does not exist")
        cancelled = loan.model_copy(update={"state": lifecycle.cancel(loan.state, loan_id)})
        loans.put(cancelled)
        return cancelled

    return uow.run(work)


# --- the function -----------------------------------------------------------------------------

router: Router[HttpServices] = Router("sample_loans", description="Loan drafts (a test sample).")


@router.post(
    "/loans",
    body=LoanDraft,
    response=LoanView,
    status=202,
    permission=Permission.LOAN_APPLY,
    idempotent=True,
)
def submit(call: Call[LoanDraft, HttpServices]) -> LoanView:
    """Submit a loan draft.

    Answers 202 with the loan; publishes loan.submitted.
    """
    return submit_loan(call.uow, call.services, call.caller.user_id, call.body)


@router.get("/loans", query=LoanFilter, response=LoanList, permission=Permission.LOAN_READ)
def list_loans(call: Call[None, HttpServices]) -> LoanList:
    """List loans (a borrower sees their own)."""
    query: LoanFilter = call.query
    where = [] if call.caller.is_admin else [Where("borrower_id", "==", call.caller.user_id)]
    if query.state is not None:
        where.append(Where("state", "==", query.state.value))

    def read(tx: DocumentTransaction) -> LoanList:
        return LoanList(
            loans=Loans(tx).find(*where, order_by=[OrderBy("loan_id")], limit=query.limit)
        )

    return call.uow.run(read, read_only=True)


@router.get("/loans/{loan_id}", response=LoanView, permission=Permission.LOAN_READ)
def read_loan(call: Call[None, HttpServices]) -> LoanView:
    """Read one loan."""
    loan = call.uow.run(lambda tx: Loans(tx).get(call.path["loan_id"]), read_only=True)
    if loan is None or (not call.caller.is_admin and loan.borrower_id != call.caller.user_id):
        raise NotFound(f"loan {call.path['loan_id']!r} does not exist")
    return loan


@router.post(
    "/loans/{loan_id}/cancel", response=LoanView, permission=Permission.LOAN_APPLY, idempotent=True
)
def cancel(call: Call[None, HttpServices]) -> LoanView:
    """Cancel a loan before funding."""
    return cancel_loan(call.uow, call.caller.user_id, call.path["loan_id"])


@router.post("/registrations", body=Registration, response=Registration, signed_in=True)
def register(call: Call[Registration, HttpServices]) -> Registration:
    """Register (any signed-in person, with or without a role yet)."""
    return call.body


@router.get("/quote", response=Quote, public=True)
def quote(call: Call[None, HttpServices]) -> Quote:
    """A public quote: no token needed."""
    return Quote(principal=1_000_000, interest=20_000)


services: Lazy[HttpServices] = Lazy(lambda: http_services(load_settings(HttpSettings)))


@functions_framework.http
def sample_loans(request: Any) -> Any:
    return router.handle(request, services.get())
