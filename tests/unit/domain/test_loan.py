"""The loan lifecycle (docs/lending-rules.md#loan-lifecycle)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain import loan
from shared.domain.errors import IllegalTransition
from shared.domain.loan import LoanState, LoanTransition, allowed_transitions, transition

S, T = LoanState, LoanTransition

# The lifecycle as the rulebook words it, written out pair by pair: every legal
# (state, transition) and where it leads. Every pair not listed must be refused.
RULEBOOK: dict[tuple[LoanState, LoanTransition], LoanState] = {
    (S.SUBMITTED, T.SCORE): S.SCORED,
    (S.SCORED, T.APPROVE): S.APPROVED,
    (S.SCORED, T.REJECT): S.REJECTED,
    (S.SCORED, T.SEND_TO_REVIEW): S.IN_REVIEW,
    (S.IN_REVIEW, T.APPROVE): S.APPROVED,
    (S.IN_REVIEW, T.REJECT): S.REJECTED,
    (S.APPROVED, T.ACCEPT_OFFER): S.OFFER_ACCEPTED,
    (S.OFFER_ACCEPTED, T.OPEN_FUNDING): S.FUNDING,
    (S.FUNDING, T.COMPLETE_FUNDING): S.FUNDED,
    (S.FUNDED, T.DISBURSE): S.ACTIVE,
    (S.ACTIVE, T.REPAY): S.REPAID,
    (S.ACTIVE, T.WRITE_OFF): S.WRITTEN_OFF,
    (S.FUNDING, T.EXPIRE): S.EXPIRED,
    # An offer that fails its cap re-check at acceptance goes back to a reviewer; one
    # left unaccepted past its validity expires.
    (S.APPROVED, T.REPRICE): S.IN_REVIEW,
    (S.APPROVED, T.EXPIRE_OFFER): S.EXPIRED,
    # The borrower may withdraw at any point before funding completes.
    (S.SUBMITTED, T.CANCEL): S.CANCELLED,
    (S.SCORED, T.CANCEL): S.CANCELLED,
    (S.IN_REVIEW, T.CANCEL): S.CANCELLED,
    (S.APPROVED, T.CANCEL): S.CANCELLED,
    (S.OFFER_ACCEPTED, T.CANCEL): S.CANCELLED,
    (S.FUNDING, T.CANCEL): S.CANCELLED,
}


def test_the_automatic_path_from_application_to_repayment():
    state = S.SUBMITTED
    visited = [state]
    for step in (
        loan.score,
        loan.approve,
        loan.accept_offer,
        loan.open_funding,
        loan.complete_funding,
        loan.disburse,
        loan.repay,
    ):
        state = step(state)
        visited.append(state)
    assert visited == [
        S.SUBMITTED,
        S.SCORED,
        S.APPROVED,
        S.OFFER_ACCEPTED,
        S.FUNDING,
        S.FUNDED,
        S.ACTIVE,
        S.REPAID,
    ]


def test_the_review_path():
    in_review = loan.send_to_review(loan.score(S.SUBMITTED))
    assert in_review is S.IN_REVIEW
    assert loan.approve(in_review) is S.APPROVED
    assert loan.reject(in_review) is S.REJECTED


def test_the_other_endings():
    assert loan.write_off(S.ACTIVE) is S.WRITTEN_OFF
    assert loan.expire(S.FUNDING) is S.EXPIRED
    assert loan.cancel(S.OFFER_ACCEPTED) is S.CANCELLED


@pytest.mark.parametrize("state", list(LoanState))
@pytest.mark.parametrize("action", list(LoanTransition))
def test_every_pair_follows_the_rulebook(state, action):
    expected = RULEBOOK.get((state, action))
    if expected is not None:
        assert transition(state, action) is expected
        assert action in allowed_transitions(state)
    else:
        with pytest.raises(IllegalTransition) as raised:
            transition(state, action)
        assert raised.value.current == state.value
        assert raised.value.attempted == action.value
        assert action not in allowed_transitions(state)


@pytest.mark.parametrize(
    ("state", "terminal"),
    [
        (S.REJECTED, True),
        (S.REPAID, True),
        (S.WRITTEN_OFF, True),
        (S.EXPIRED, True),
        (S.CANCELLED, True),
        (S.SUBMITTED, False),
        (S.FUNDING, False),
        (S.ACTIVE, False),
    ],
)
def test_terminal_states(state, terminal):
    assert state.is_terminal is terminal


def test_a_funded_loan_can_no_longer_be_cancelled_and_the_error_names_its_state():
    with pytest.raises(IllegalTransition) as raised:
        loan.cancel(S.FUNDED, "L-42")
    assert raised.value.entity == "loan L-42"
    assert raised.value.detail == "loan L-42 is 'funded'; cannot cancel"


def test_a_loan_is_disbursed_only_once():
    with pytest.raises(IllegalTransition, match="'active'; cannot disburse"):
        loan.disburse(loan.disburse(S.FUNDED))


@given(st.data())
def test_money_leaves_only_after_funding_completes(data):
    """Whatever is attempted, a loan becomes active only from funded, reached by completing
    funding — and an illegal attempt leaves the state unchanged."""
    state = S.SUBMITTED
    history = [state]
    for _ in range(data.draw(st.integers(0, 20))):
        # Mostly legal steps (to walk deep into the lifecycle), sometimes anything at all.
        legal = sorted(allowed_transitions(state))
        choices = st.sampled_from(list(LoanTransition))
        if legal:
            choices = st.one_of(st.sampled_from(legal), choices)
        action = data.draw(choices)
        try:
            state = transition(state, action)
        except IllegalTransition:
            assert history[-1] is state
            continue
        history.append(state)
    if S.ACTIVE in history:
        position = history.index(S.ACTIVE)
        assert history[position - 2 : position] == [S.FUNDING, S.FUNDED]
    if state.is_terminal:
        assert not allowed_transitions(state)
