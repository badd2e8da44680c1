"""The loan lifecycle as a state machine: which named transition may follow which state.

```
submitted ─score─▶ scored ─approve─▶ approved ─accept_offer─▶ offer_accepted ─open_funding─▶
          scored ─reject─▶ rejected
          scored ─send_to_review─▶ in_review ─approve/reject─▶ approved / rejected
approved ─reprice─▶ in_review       (the offer failed its cap re-check at acceptance)
approved ─expire_offer─▶ expired    (the offer's validity passed unaccepted)
funding ─complete_funding─▶ funded ─disburse─▶ active ─repay─▶ repaid
                                              active ─write_off─▶ written_off
funding ─expire─▶ expired            (the funding window passed; commitments are released)
any state before funded ─cancel─▶ cancelled   (the borrower withdraws)
```

`active` is the disbursed loan. Every function here is pure: it takes the current
state and returns the next one, or raises `IllegalTransition` naming the current state
and the attempted transition (the HTTP edge answers 409 with it). Use cases call it
inside the transaction that reads the loan, so the check and the write see the same
state.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from shared.domain.errors import IllegalTransition


class LoanState(StrEnum):
    """Where a loan is in its life."""

    SUBMITTED = "submitted"
    SCORED = "scored"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    OFFER_ACCEPTED = "offer_accepted"
    FUNDING = "funding"
    FUNDED = "funded"
    ACTIVE = "active"  # disbursed, being repaid
    REPAID = "repaid"
    WRITTEN_OFF = "written_off"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """No transition leaves a terminal state."""
        return not allowed_transitions(self)


class LoanTransition(StrEnum):
    """The named things that can happen to a loan."""

    SCORE = "score"
    SEND_TO_REVIEW = "send_to_review"
    APPROVE = "approve"
    REJECT = "reject"
    ACCEPT_OFFER = "accept_offer"
    OPEN_FUNDING = "open_funding"
    COMPLETE_FUNDING = "complete_funding"
    DISBURSE = "disburse"
    REPAY = "repay"
    WRITE_OFF = "write_off"
    EXPIRE = "expire"
    CANCEL = "cancel"
    REPRICE = "reprice"
    EXPIRE_OFFER = "expire_offer"


_S = LoanState
_BEFORE_FUNDED = frozenset(
    {_S.SUBMITTED, _S.SCORED, _S.IN_REVIEW, _S.APPROVED, _S.OFFER_ACCEPTED, _S.FUNDING}
)

TRANSITIONS: Mapping[LoanTransition, tuple[frozenset[LoanState], LoanState]] = MappingProxyType(
    {
        LoanTransition.SCORE: (frozenset({_S.SUBMITTED}), _S.SCORED),
        LoanTransition.SEND_TO_REVIEW: (frozenset({_S.SCORED}), _S.IN_REVIEW),
        LoanTransition.APPROVE: (frozenset({_S.SCORED, _S.IN_REVIEW}), _S.APPROVED),
        LoanTransition.REJECT: (frozenset({_S.SCORED, _S.IN_REVIEW}), _S.REJECTED),
        LoanTransition.ACCEPT_OFFER: (frozenset({_S.APPROVED}), _S.OFFER_ACCEPTED),
        LoanTransition.OPEN_FUNDING: (frozenset({_S.OFFER_ACCEPTED}), _S.FUNDING),
        LoanTransition.COMPLETE_FUNDING: (frozenset({_S.FUNDING}), _S.FUNDED),
        LoanTransition.DISBURSE: (frozenset({_S.FUNDED}), _S.ACTIVE),
        LoanTransition.REPAY: (frozenset({_S.ACTIVE}), _S.REPAID),
        LoanTransition.WRITE_OFF: (frozenset({_S.ACTIVE}), _S.WRITTEN_OFF),
        LoanTransition.EXPIRE: (frozenset({_S.FUNDING}), _S.EXPIRED),
        LoanTransition.CANCEL: (_BEFORE_FUNDED, _S.CANCELLED),
        LoanTransition.REPRICE: (frozenset({_S.APPROVED}), _S.IN_REVIEW),
        LoanTransition.EXPIRE_OFFER: (frozenset({_S.APPROVED}), _S.EXPIRED),
    }
)
"""Each transition: the states it may start from, and the state it leads to."""


def allowed_transitions(state: LoanState) -> frozenset[LoanTransition]:
    """The transitions a loan in `state` may take."""
    return frozenset(name for name, (sources, _) in TRANSITIONS.items() if state in sources)


def transition(state: LoanState, action: LoanTransition, loan_id: str | None = None) -> LoanState:
    """The state after `action`, or `IllegalTransition` naming the current state."""
    sources, target = TRANSITIONS[action]
    if state not in sources:
        entity = "loan" if loan_id is None else f"loan {loan_id}"
        raise IllegalTransition(entity, state.value, action.value)
    return target


def score(state: LoanState, loan_id: str | None = None) -> LoanState:
    """The scorecard decided: submitted → scored."""
    return transition(state, LoanTransition.SCORE, loan_id)


def send_to_review(state: LoanState, loan_id: str | None = None) -> LoanState:
    """The decision needs `admin.credit`: scored → in_review."""
    return transition(state, LoanTransition.SEND_TO_REVIEW, loan_id)


def approve(state: LoanState, loan_id: str | None = None) -> LoanState:
    """Approved and priced, by the scorecard or a reviewer: scored | in_review → approved."""
    return transition(state, LoanTransition.APPROVE, loan_id)


def reject(state: LoanState, loan_id: str | None = None) -> LoanState:
    """Rejected, by the scorecard or a reviewer: scored | in_review → rejected."""
    return transition(state, LoanTransition.REJECT, loan_id)


def accept_offer(state: LoanState, loan_id: str | None = None) -> LoanState:
    """The borrower accepted the priced offer and agreement: approved → offer_accepted."""
    return transition(state, LoanTransition.ACCEPT_OFFER, loan_id)


def open_funding(state: LoanState, loan_id: str | None = None) -> LoanState:
    """Listed in the marketplace for lenders: offer_accepted → funding."""
    return transition(state, LoanTransition.OPEN_FUNDING, loan_id)


def complete_funding(state: LoanState, loan_id: str | None = None) -> LoanState:
    """Lenders committed the whole principal: funding → funded."""
    return transition(state, LoanTransition.COMPLETE_FUNDING, loan_id)


def disburse(state: LoanState, loan_id: str | None = None) -> LoanState:
    """`admin.finance` confirmed the payout: funded → active."""
    return transition(state, LoanTransition.DISBURSE, loan_id)


def repay(state: LoanState, loan_id: str | None = None) -> LoanState:
    """Everything owed is paid: active → repaid."""
    return transition(state, LoanTransition.REPAY, loan_id)


def write_off(state: LoanState, loan_id: str | None = None) -> LoanState:
    """The loan is written off as uncollectable: active → written_off."""
    return transition(state, LoanTransition.WRITE_OFF, loan_id)


def expire(state: LoanState, loan_id: str | None = None) -> LoanState:
    """The funding window passed before the loan was fully funded: funding → expired."""
    return transition(state, LoanTransition.EXPIRE, loan_id)


def cancel(state: LoanState, loan_id: str | None = None) -> LoanState:
    """The borrower withdrew before funding completed: any state before funded → cancelled."""
    return transition(state, LoanTransition.CANCEL, loan_id)
