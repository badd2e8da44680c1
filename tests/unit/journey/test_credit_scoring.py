"""Scoring a submitted application: the three personas, provider outages, duplicates."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from shared.domain.events import parse_event
from shared.domain.loan import LoanState
from shared.domain.products import LoanProduct
from shared.http.events import EventConsumer, EventServices, Outcome
from shared.platform.callers import Caller
from shared.services.credit_scoring import ScoringOutcome, score_submitted_loan
from shared.services.loan_applications import CancelApplication, cancel_application
from shared.services.offers import AGREEMENT_VERSION
from tests.unit.journey.world import DEFAULT_ROUTING, SCORECARD, SCORECARDS, JourneyWorld
from tests.unit.plumbing.support import push_issuer


@pytest.fixture
def world() -> JourneyWorld:
    world = JourneyWorld()
    for persona in ("strong_msme", "thin_file", "risky"):
        world.register(persona)
    return world


def test_the_strong_msme_is_approved_and_priced_within_the_product_and_the_caps(world):
    loan_id = world.submit("strong_msme")
    result = world.score(loan_id)

    assert result.outcome is ScoringOutcome.APPROVED
    loan = world.loan(loan_id)
    assert loan.state is LoanState.APPROVED
    assert [s.to_state for s in loan.history] == ["scored", "approved"]
    assert loan.decision is not None
    # Siti's declared capital and collateral are not verified yet: they earn what leaving
    # them out earns, grade B rather than A (docs/lending-rules.md#credit-scoring).
    assert (loan.decision.decision, loan.decision.grade) == ("approve", "B")
    offer = loan.offer
    assert offer is not None
    # Grade B's 1.15% a month is below the product's floor of 1.25%: the floor applies.
    assert offer.rate == Decimal("0.0125")
    assert offer.agreement_version == AGREEMENT_VERSION
    assert offer.terms.cap_check.compliant
    assert offer.terms.installments[-1].balance_after == 0
    assert offer.priced_by is None  # the scorecard
    (scored,) = world.events("loan.scored")
    assert scored["data"]["decision"] == "approve"
    assert scored["causation_id"] == str(world.submitted_event(loan_id).event_id)
    (approved,) = world.events("loan.approved")
    assert approved["data"]["grade"] == "B"
    assert approved["data"]["approved_by"] is None
    assert world.events("loan.rejected") == []


def test_the_decision_keeps_the_model_version_each_c_and_the_reasons(world):
    loan_id = world.submit("strong_msme")
    record = world.score(loan_id).decision
    assert record is not None
    stored = world.uow.documents("credit_decisions")[loan_id]
    assert stored["model_version"] == SCORECARD.model_version
    assert set(stored["points"]) == {"character", "capacity", "capital", "collateral", "condition"}
    assert stored["total_score"] == SCORECARD.base_points + sum(stored["points"].values())
    assert stored["event_id"] == str(world.submitted_event(loan_id).event_id)
    assert stored["providers_unavailable"] == {}


def test_the_providers_are_asked_about_the_borrower_with_the_decrypted_nik(world):
    world.score(world.submit("strong_msme"))
    (query,) = world.providers.queries
    assert query.nik == "3174054507850001"
    assert query.store_ids == ("grow-sambal-bu-siti",)
    assert str(query.applied_on) == "2026-11-20"
    assert "3174054507850001" not in repr(query)


def test_a_thin_file_goes_to_review(world):
    loan_id = world.submit("thin_file")
    assert world.score(loan_id).outcome is ScoringOutcome.IN_REVIEW
    loan = world.loan(loan_id)
    assert loan.state is LoanState.IN_REVIEW
    assert loan.offer is None
    assert any("thin file" in reason for reason in loan.decision.reasons)  # type: ignore[union-attr]
    assert [e["data"]["decision"] for e in world.events("loan.scored")] == ["review"]
    assert world.events("loan.approved") == world.events("loan.rejected") == []


def test_the_risky_borrower_is_rejected_with_reasons(world):
    loan_id = world.submit("risky")
    assert world.score(loan_id).outcome is ScoringOutcome.REJECTED
    assert world.loan(loan_id).state is LoanState.REJECTED
    (rejected,) = world.events("loan.rejected")
    assert rejected["data"]["rejected_by"] is None
    assert rejected["data"]["reasons"]
    assert rejected["data"]["reasons"] == world.events("loan.scored")[0]["data"]["reasons"]


def test_a_provider_outage_sends_even_the_strongest_applicant_to_review_with_the_reason(world):
    world.providers.down = {"credit_bureau"}
    loan_id = world.submit("strong_msme")
    assert world.score(loan_id).outcome is ScoringOutcome.IN_REVIEW
    stored = world.uow.documents("credit_decisions")[loan_id]
    assert stored["providers_unavailable"] == {"credit_bureau": "timed out after 3 attempts"}
    assert any(
        "credit bureau unavailable: timed out" in reason
        for reason in world.loan(loan_id).decision.reasons  # type: ignore[union-attr]
    )


def test_an_approval_no_price_can_make_within_the_caps_goes_to_review_instead(world):
    loan_id = world.submit("strong_msme")
    product = world.uow.run(
        lambda tx: tx.get("products", "working-capital-annuity"), read_only=True
    )["product"]
    # The version Siti's loan is priced with allows only rates the caps no longer allow:
    # even its floor breaks the daily cap in force when it is scored.
    version = world.put_product(
        LoanProduct.model_validate({**product, "min_rate": "0.05", "max_rate": "0.06"})
    )
    world.seed_loan(world.loan(loan_id).model_copy(update={"product_version": version}))
    assert world.score(loan_id).outcome is ScoringOutcome.IN_REVIEW
    loan = world.loan(loan_id)
    assert loan.decision is not None
    assert loan.decision.decision == "review"
    assert loan.decision.reasons[0].startswith("no offer could be priced")
    assert world.events("loan.approved") == []


def test_a_loan_cancelled_before_scoring_is_left_alone(world):
    loan_id = world.submit("strong_msme")
    cancel_application(
        world.uow,
        Caller("strong_msme", "borrower"),
        loan_id,
        CancelApplication(),
        origin=world.origin,
    )
    assert world.score(loan_id).outcome is ScoringOutcome.SKIPPED
    assert world.loan(loan_id).state is LoanState.CANCELLED
    assert world.providers.queries == []
    assert world.events("loan.scored") == []


def _consumer(world: JourneyWorld) -> tuple[EventConsumer, EventServices]:
    def handle(delivery):
        score_submitted_loan(
            delivery.uow,
            delivery.event,
            providers=world.providers,
            vault=world.vault,
            scorecards=SCORECARDS,
            default_routing=DEFAULT_ROUTING,
            origin=world.origin,
        )

    consumer = EventConsumer("scoring", handle, parse=parse_event, accepts={"loan.submitted"})
    services = EventServices(
        uow=world.uow, push_auth=push_issuer().authenticator(), clock=world.clock, entity="p2p"
    )
    return consumer, services


def test_the_same_event_delivered_three_times_yields_one_decision(world):
    loan_id = world.submit("strong_msme")
    consumer, services = _consumer(world)
    push = world.push_body(loan_id)
    outcomes = [consumer.deliver(push, services, headers=push_issuer().headers()) for _ in range(3)]
    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert list(world.uow.documents("credit_decisions")) == [loan_id]
    assert len(world.events("loan.scored")) == len(world.events("loan.approved")) == 1
    assert len(world.providers.queries) == 1  # a known duplicate does not even ask


def test_a_store_conflict_is_raised_for_redelivery_and_the_retry_decides_once(world):
    loan_id = world.submit("strong_msme")
    consumer, services = _consumer(world)
    push = world.push_body(loan_id)
    world.uow.contend(world.uow.max_attempts)
    with pytest.raises(Exception, match="conflicted"):
        consumer.deliver(push, services, headers=push_issuer().headers())
    assert world.loan(loan_id).state is LoanState.SUBMITTED
    assert consumer.deliver(push, services, headers=push_issuer().headers()) is Outcome.APPLIED
    assert world.loan(loan_id).state is LoanState.APPROVED


def test_an_event_for_a_loan_that_does_not_exist_is_acknowledged_without_effect(world):
    loan_id = world.submit("strong_msme")
    event = world.submitted_event(loan_id)
    forged = event.model_copy(update={"data": event.data.model_copy(update={"loan_id": "loan-x"})})
    consumer, services = _consumer(world)
    push = {"message": {"data": base64.b64encode(forged.to_json_bytes()).decode()}}
    assert consumer.deliver(push, services, headers=push_issuer().headers()) is Outcome.REJECTED
    assert world.uow.documents("credit_decisions") == {}
