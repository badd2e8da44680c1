"""The admin.credit review queue: what waits, approving with a priced offer, rejecting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.domain.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from shared.domain.loan import LoanState
from shared.domain.products import LoanProduct
from shared.platform.callers import Caller
from shared.services.loan_applications import (
    DocumentUploadRequest,
    read_application,
    request_document_upload,
)
from shared.services.loan_review import (
    ApproveApplication,
    FigureVerification,
    RejectApplication,
    ReviewQueueQuery,
    approve_application,
    reject_application,
    review_case,
    review_queue,
    verify_declared_figure,
)
from tests.unit.journey.world import JourneyWorld

REVIEWER = "admin-credit-1"
NARRATIVE = "Sales grew for four months; visited the cart, stock and permits in order."


@pytest.fixture
def world() -> JourneyWorld:
    world = JourneyWorld()
    for persona in ("strong_msme", "thin_file", "risky"):
        world.register(persona)
    return world


def in_review(world: JourneyWorld) -> str:
    loan_id = world.submit("thin_file")
    world.score(loan_id)
    return loan_id


def approve(world: JourneyWorld, loan_id: str, **fields: object):
    command = ApproveApplication.model_validate({"narrative": NARRATIVE, **fields})
    return approve_application(world.uow, loan_id, command, REVIEWER, origin=world.origin)


def test_the_queue_holds_loans_in_review_oldest_first(world):
    world.providers.down = {"ecommerce_sales"}
    siti = world.submit("strong_msme")
    world.score(siti)  # the marketplace was down: a reviewer decides
    world.providers.down = set()
    world.clock.advance(minutes=1)
    rudi = in_review(world)
    world.score(world.submit("risky"))  # decided by the scorecard: not in the queue
    queue = review_queue(world.uow, ReviewQueueQuery())
    assert [a.id for a in queue.applications] == [siti, rudi]
    assert [a.id for a in review_queue(world.uow, ReviewQueueQuery(limit=1)).applications] == [siti]


def test_a_case_shows_the_full_five_c_decision(world):
    loan_id = in_review(world)
    case = review_case(world.uow, loan_id)
    assert case.application.state is LoanState.IN_REVIEW
    assert case.decision is not None
    assert case.decision.decision == "review"
    assert {line.c for line in case.decision.characteristics} == {
        "character",
        "capacity",
        "capital",
        "collateral",
        "condition",
    }
    with pytest.raises(NotFound):
        review_case(world.uow, "loan-9999")


def test_approving_prices_the_offer_at_the_grade_within_the_products_bounds(world):
    loan_id = in_review(world)
    view = approve(world, loan_id)
    assert view.state is LoanState.APPROVED
    assert view.offer is not None
    # Grade E's 1.75% a month is above the product's ceiling of 1.6%: the ceiling applies.
    assert view.offer.rate == Decimal("0.016")
    assert view.offer.priced_by == REVIEWER
    assert view.offer.terms.cap_check.compliant
    assert view.review is not None
    assert (view.review.outcome, view.review.narrative) == ("approved", NARRATIVE)
    (event,) = world.events("loan.approved")
    assert event["data"] == {
        "loan_id": loan_id,
        "grade": "E",
        "principal": 10_000_000,
        "tenor": 6,
        "rate": "0.016",
        "approved_by": REVIEWER,
    }


def test_the_stored_offer_bills_each_service_fee_with_its_vat(world):
    """The product charges Rp 10,000 a month: each installment also bills its VAT,
    10,000 × 11/12 × 12% = 1,100, and the offer's payable counts 6 × 1,100 = 6,600 plus
    the VAT on the origination fee taken from the payout."""
    stored = world.uow.run(
        lambda tx: tx.get("products", "working-capital-annuity"), read_only=True
    )["product"]
    world.put_product(LoanProduct.model_validate({**stored, "service_fee_per_installment": 10_000}))
    loan_id = in_review(world)
    approve(world, loan_id)
    offer = world.loan(loan_id).offer  # read back from the store
    assert offer is not None
    first = offer.terms.installments[0]
    assert (first.fees, first.fee_vat) == (10_000, 1_100)
    assert first.total == first.principal + first.interest + 10_000 + 1_100
    totals = offer.terms.totals
    assert totals.fee_vat == 6 * 1_100 + offer.terms.origination_fee_vat
    assert offer.terms.origination_fee_vat == offer.terms.origination_fee * 11 // 100
    assert totals.fees == offer.terms.origination_fee + 6 * 10_000
    assert totals.payable == 10_000_000 + totals.interest + totals.fees + totals.fee_vat
    seen = read_application(world.uow, Caller("thin_file", "borrower"), loan_id)
    assert seen.offer is not None
    assert seen.offer.terms.totals.payable == totals.payable


def test_the_borrower_sees_the_offer_but_not_the_reviewer_or_their_narrative(world):
    loan_id = in_review(world)
    approve(world, loan_id)
    seen = read_application(world.uow, Caller("thin_file", "borrower"), loan_id)
    assert seen.offer is not None
    assert seen.review is None
    assert seen.offer.priced_by is None
    assert REVIEWER not in seen.model_dump_json()


def test_a_reviewer_may_set_the_rate_within_the_products_bounds(world):
    loan_id = in_review(world)
    assert approve(world, loan_id, rate="0.014").offer.rate == Decimal("0.014")  # type: ignore[union-attr]


def test_a_rate_outside_the_products_bounds_is_refused(world):
    loan_id = in_review(world)
    with pytest.raises(ValidationFailed) as refused:
        approve(world, loan_id, rate="0.02")
    assert "rate" in refused.value.field_errors
    assert world.loan(loan_id).state is LoanState.IN_REVIEW


def test_a_loan_is_decided_once(world):
    loan_id = in_review(world)
    approve(world, loan_id)
    with pytest.raises(IllegalTransition) as refused:
        approve(world, loan_id)
    assert refused.value.current == "approved"
    with pytest.raises(IllegalTransition):
        reject_application(
            world.uow,
            loan_id,
            RejectApplication(narrative=NARRATIVE),
            REVIEWER,
            origin=world.origin,
        )
    assert len(world.events("loan.approved")) == 1


def test_a_loan_the_scorecard_has_not_decided_cannot_be_reviewed(world):
    loan_id = world.submit("thin_file")
    with pytest.raises(IllegalTransition) as refused:
        approve(world, loan_id)
    assert refused.value.current == "submitted"


def test_rejecting_gives_the_borrower_reasons_and_keeps_the_narrative_internal(world):
    loan_id = in_review(world)
    view = reject_application(
        world.uow,
        loan_id,
        RejectApplication(narrative=NARRATIVE, reasons=("sales history too short",)),
        REVIEWER,
        origin=world.origin,
    )
    assert view.state is LoanState.REJECTED
    (event,) = world.events("loan.rejected")
    assert event["data"] == {
        "loan_id": loan_id,
        "reasons": ["sales history too short"],
        "rejected_by": REVIEWER,
    }
    assert NARRATIVE not in str(event)


@pytest.mark.parametrize("narrative", ["", "   ", "ok"])
def test_a_decision_needs_a_narrative(narrative):
    with pytest.raises(ValidationError):
        ApproveApplication(narrative=narrative)
    with pytest.raises(ValidationError):
        RejectApplication(narrative=narrative)


def siti_in_review_with_a_document(world: JourneyWorld) -> tuple[str, str]:
    """Siti's application, sent to review (the marketplace was down), with an invoice."""
    world.providers.down = {"ecommerce_sales"}
    loan_id = world.submit("strong_msme")
    world.score(loan_id)
    world.providers.down = set()
    upload = request_document_upload(
        world.uow,
        world.storage,
        Caller("strong_msme", "borrower"),
        loan_id,
        DocumentUploadRequest(kind="collateral_photo", content_type="image/jpeg"),
        origin=world.origin,
    )
    return loan_id, upload.document_id


def verify(world: JourneyWorld, loan_id: str, figure: str, document_id: str, by: str = REVIEWER):
    command = FigureVerification(document_id=document_id, narrative=NARRATIVE)
    return verify_declared_figure(world.uow, loan_id, figure, command, by, clock=world.clock)


def test_a_verified_declared_figure_counts_in_full_and_the_loan_is_rescored(world):
    loan_id, document_id = siti_in_review_with_a_document(world)
    before = world.uow.documents("credit_decisions")[loan_id]
    assert before["features"]["collateral_coverage"] is not None  # every feature is kept
    assert "ecommerce_sales" not in before["features_as_of"]  # it did not answer

    case = verify(world, loan_id, "collateral_value", document_id)

    assert case.decision is not None
    assert case.decision.verified_figures == ("collateral_value",)
    assert case.decision.total_score > before["total_score"]
    assert case.application.decision is not None
    assert case.application.decision.score == case.decision.total_score
    still = next(r for r in case.decision.reasons if r.code == "declared.unverified")
    assert "collateral" not in still.message and "inventory value" in still.message
    stored = world.loan(loan_id).model_extra or {}
    assert stored["verified_figures"]["collateral_value"]["document_id"] == document_id


def test_a_figure_is_verified_only_against_this_loans_documents_and_never_by_its_borrower(world):
    loan_id, document_id = siti_in_review_with_a_document(world)
    with pytest.raises(ValidationFailed, match="uploaded for this loan"):
        verify(world, loan_id, "collateral_value", "doc-elsewhere")
    with pytest.raises(NotFound, match="no declared figure"):
        verify(world, loan_id, "annual_income", document_id)
    with pytest.raises(Forbidden, match="you are the subject"):
        verify(world, loan_id, "collateral_value", document_id, by="strong_msme")
