"""The rules around an offer (docs/lending-rules.md#loan-lifecycle): re-checked against the
caps at acceptance, valid for the product's days, and borrowers who are rejected or keep
cancelling wait before applying again."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.domain.caps import OJK_CAPS, CapTable
from shared.domain.caps_table import CapRow, CapRule
from shared.domain.loan import LoanState
from shared.domain.products import Purpose
from shared.platform.callers import Caller
from shared.services.loan_applications import (
    AcceptOffer,
    ApplicationQuery,
    CancelApplication,
    CoolingOff,
    OfferExpired,
    accept_offer,
    cancel_application,
    list_applications,
)
from shared.services.offers import AGREEMENT_VERSION
from tests.unit.journey.world import JourneyWorld

SITI = Caller("strong_msme", "borrower")
DEDI = Caller("risky", "borrower")


@pytest.fixture
def world() -> JourneyWorld:
    world = JourneyWorld()
    for persona in ("strong_msme", "risky", "thin_file"):
        world.register(persona)
    return world


def approved_offer(world: JourneyWorld) -> str:
    loan_id = world.submit("strong_msme")
    world.score(loan_id)  # Siti is approved by the scorecard
    assert world.loan(loan_id).state is LoanState.APPROVED
    return loan_id


def accept(world: JourneyWorld, loan_id: str, caps: CapTable = OJK_CAPS):  # type: ignore[no-untyped-def]
    command = AcceptOffer(agreement_version=AGREEMENT_VERSION)
    return accept_offer(world.uow, SITI, loan_id, command, origin=world.origin, caps=caps)


def test_an_offer_is_valid_for_the_products_days(world):
    loan_id = approved_offer(world)
    offer = world.loan(loan_id).offer
    assert offer is not None
    assert offer.valid_until == offer.priced_on + timedelta(days=7)


def test_an_offer_a_stricter_cap_row_now_forbids_goes_back_to_review(world):
    """A cap row effective between approval and acceptance: the offer is re-priced by a
    reviewer, with the failing rule, and nothing opens for funding."""
    loan_id = approved_offer(world)
    world.clock.advance(days=2)
    stricter = CapTable(
        rows=(
            *OJK_CAPS.rows,
            CapRow(
                rule=CapRule.DAILY_COST,
                purpose=Purpose.PRODUCTIVE,
                effective_from=date(2026, 11, 21),  # approved on the 20th, accepted the 22nd
                limit=Decimal("0.0001"),
                source="a stricter row, for this test",
            ),
        )
    )
    view = accept(world, loan_id, caps=stricter)

    assert view.state is LoanState.IN_REVIEW
    assert view.offer_recheck is not None and not view.offer_recheck.compliant
    (violation,) = view.offer_recheck.violations
    assert violation.rule == "daily_cost" and violation.source == "a stricter row, for this test"
    assert world.events("loan.offer_accepted") == []
    assert [step.transition for step in world.loan(loan_id).history][-1] == "reprice"


def test_the_same_offer_is_accepted_under_the_caps_it_was_priced_under(world):
    loan_id = approved_offer(world)
    world.clock.advance(days=2)
    assert accept(world, loan_id).state is LoanState.FUNDING


def test_an_expired_offer_cannot_be_accepted_and_the_borrower_may_apply_again(world):
    loan_id = approved_offer(world)
    world.clock.advance(days=8)
    with pytest.raises(OfferExpired, match="expired on 2026-11-27"):
        accept(world, loan_id)
    assert world.events("loan.offer_accepted") == []

    again = world.submit("strong_msme")  # the lapsed offer no longer counts as open

    assert world.loan(loan_id).state is LoanState.EXPIRED
    assert world.loan(again).state is LoanState.SUBMITTED


def test_a_rejected_borrower_waits_the_cooling_off_period(world):
    first = world.submit("risky")
    world.score(first)
    assert world.loan(first).state is LoanState.REJECTED
    world.clock.advance(days=29)
    with pytest.raises(CoolingOff, match="apply again from 2026-12-20"):
        world.submit("risky")
    world.clock.advance(days=1)
    assert world.submit("risky")


def test_cancelling_and_resubmitting_is_limited(world):
    for _ in range(3):
        loan_id = world.submit("strong_msme")
        cancel_application(world.uow, SITI, loan_id, CancelApplication(), origin=world.origin)
        world.clock.advance(days=1)
    with pytest.raises(CoolingOff, match="cancelled 3 applications"):
        world.submit("strong_msme")
    world.clock.advance(days=28)  # the first cancellation leaves the 30-day window
    assert world.submit("strong_msme")


def test_applications_list_in_submission_order_within_a_second(world):
    """Stored instants are fixed-width text, so a whole second sorts before its fractions."""
    admin = Caller("reviewer-1", "admin.credit")
    whole = world.submit("strong_msme")
    world.clock.advance(microseconds=500_000)
    half = world.submit("thin_file")

    listed = list_applications(world.uow, admin, ApplicationQuery())

    assert [view.id for view in listed.applications][:2] == [half, whole]
