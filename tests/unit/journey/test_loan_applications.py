"""Submitting, reading, accepting, cancelling and documenting an application (services, fakes)."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.domain.errors import (
    CapExceeded,
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from shared.domain.loan import LoanState
from shared.domain.products import LoanProduct
from shared.platform.callers import Caller
from shared.platform.store import UnitOfWork
from shared.services.loan_applications import (
    AcceptOffer,
    ApplicationQuery,
    CancelApplication,
    DocumentUploadRequest,
    accept_offer,
    cancel_application,
    list_applications,
    read_application,
    request_document_upload,
)
from shared.services.offers import AGREEMENT_VERSION
from tests.unit.journey.world import JourneyWorld

SITI = Caller("strong_msme", "borrower")
RUDI = Caller("thin_file", "borrower")
CREDIT_ADMIN = Caller("admin-credit-1", "admin.credit")


@pytest.fixture
def world() -> JourneyWorld:
    world = JourneyWorld()
    world.register("strong_msme")
    world.register("thin_file")
    return world


def test_a_submission_is_stored_and_announced(world):
    loan_id = world.submit("strong_msme")
    loan = world.loan(loan_id)
    assert loan.state is LoanState.SUBMITTED
    assert (loan.principal, loan.tenor, loan.tenor_unit) == (150_000_000, 12, "month")
    assert loan.borrower_outstanding == 0
    (event,) = world.events("loan.submitted")
    assert event["entity"] == "p2p"
    assert event["data"] == {
        "loan_id": loan_id,
        "borrower_id": "strong_msme",
        "product_id": "working-capital-annuity",
        "principal": 150_000_000,
        "tenor": 12,
    }


def test_only_registered_borrowers_apply(world):
    with pytest.raises(Forbidden, match="register as a borrower"):
        world.submit("strong_msme", user_id="stranger")
    world.uow.run(
        lambda tx: tx.update("users", "thin_file", {"role": "lender"})
    )  # an admin made Rudi a lender
    with pytest.raises(Forbidden):
        world.submit("thin_file")
    assert world.events("loan.submitted") == []


def test_an_unverified_identity_cannot_apply(world):
    world.uow.run(lambda tx: tx.update("users", "strong_msme", {"identity_verified_at": None}))
    with pytest.raises(Forbidden, match="identity"):
        world.submit("strong_msme")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"product_id": "payday-loan"}, "product_id"),
        ({"principal": 9_999_999}, "principal"),  # working capital lends from Rp 10 m
        ({"principal": 500_000_001}, "principal"),
        ({"tenor": 24}, "tenor"),  # 3, 6, 9 or 12 months
    ],
)
def test_the_request_must_fit_the_product(world, overrides, field):
    with pytest.raises(ValidationFailed) as refused:
        world.submit("strong_msme", **overrides)
    assert field in refused.value.field_errors
    assert world.uow.documents("loans") == {}


def test_a_product_whose_cheapest_terms_break_the_caps_takes_no_applications(world):
    usurious = world.uow.run(
        lambda tx: tx.get("products", "working-capital-annuity"), read_only=True
    )["product"]
    world.put_product(
        LoanProduct.model_validate(
            {**usurious, "id": "usurious", "min_rate": "0.05", "max_rate": "0.06"}
        )
    )
    with pytest.raises(CapExceeded, match="per day"):
        world.submit("strong_msme", product_id="usurious")


def test_one_open_application_per_borrower(world):
    first = world.submit("strong_msme")
    with pytest.raises(Conflict, match=first):
        world.submit("strong_msme")
    cancel_application(world.uow, SITI, first, CancelApplication(), origin=world.origin)
    assert world.submit("strong_msme") != first
    assert world.submit("thin_file")  # other borrowers are not affected


def _active_loan(world: JourneyWorld, principal: int) -> None:
    """A funded and disbursed loan of Siti's, as the later use cases will store it."""
    loan_id = world.submit("strong_msme")
    loan = world.loan(loan_id)
    world.seed_loan(
        loan.model_copy(
            update={
                "id": "loan-active",
                "state": LoanState.ACTIVE,
                "principal": principal,
                "outstanding_principal": principal,
            }
        )
    )
    cancel_application(world.uow, SITI, loan_id, CancelApplication(), origin=world.origin)


def test_the_borrower_limit_of_two_billion_rupiah_counts_what_is_outstanding(world):
    _active_loan(world, 1_900_000_000)
    with pytest.raises(CapExceeded, match="per-borrower limit"):
        world.submit("strong_msme", principal=100_000_001)
    loan_id = world.submit("strong_msme", principal=100_000_000)  # exactly Rp 2,000,000,000
    assert world.loan(loan_id).borrower_outstanding == 1_900_000_000


def test_two_concurrent_submissions_of_one_borrower_store_one_application(world):
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def submit(key: str) -> None:
        barrier.wait()
        try:
            outcomes.append(world.submit("strong_msme", principal=100_000_000 + len(key)))
        except Conflict as conflict:
            outcomes.append(conflict)

    threads = [threading.Thread(target=submit, args=(key,)) for key in ("a", "bb")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "str"]
    assert len(world.uow.documents("loans")) == 1
    assert len(world.events("loan.submitted")) == 1


def test_a_transaction_that_conflicts_is_retried_and_stores_one_loan(world):
    world.uow.contend(2)
    loan_id = world.submit("strong_msme")
    assert list(world.uow.documents("loans")) == [loan_id]
    assert len(world.events("loan.submitted")) == 1


def test_a_borrower_reads_their_own_application_and_nobody_elses(world):
    loan_id = world.submit("strong_msme")
    assert read_application(world.uow, SITI, loan_id).principal == 150_000_000
    with pytest.raises(NotFound):
        read_application(world.uow, RUDI, loan_id)
    with pytest.raises(NotFound):
        read_application(world.uow, SITI, "loan-9999")
    assert read_application(world.uow, CREDIT_ADMIN, loan_id).borrower_id == "strong_msme"


def test_listing_shows_a_borrower_their_own_newest_first_and_admins_everyone(world):
    first = world.submit("strong_msme")
    cancel_application(world.uow, SITI, first, CancelApplication(), origin=world.origin)
    world.clock.advance(minutes=5)
    second = world.submit("strong_msme")
    world.clock.advance(minutes=5)
    rudis = world.submit("thin_file")

    mine = list_applications(world.uow, SITI, ApplicationQuery())
    assert [a.id for a in mine.applications] == [second, first]
    cancelled = list_applications(world.uow, SITI, ApplicationQuery(state=LoanState.CANCELLED))
    assert [a.id for a in cancelled.applications] == [first]
    everyone = list_applications(world.uow, CREDIT_ADMIN, ApplicationQuery(limit=2))
    assert [a.id for a in everyone.applications] == [rudis, second]


def test_accepting_the_offer_opens_funding_until_the_products_window_closes(world):
    loan_id = world.submit("strong_msme")
    world.score(loan_id)  # Siti is approved by the scorecard
    world.clock.advance(days=1)
    view = accept_offer(
        world.uow,
        SITI,
        loan_id,
        AcceptOffer(agreement_version=AGREEMENT_VERSION),
        origin=world.origin,
    )
    assert view.state is LoanState.FUNDING
    assert view.funding_closes_on == date(2026, 11, 21) + timedelta(days=14)
    assert [step.to_state for step in view.history[-2:]] == ["offer_accepted", "funding"]
    (event,) = world.events("loan.offer_accepted")
    assert event["data"]["funding_closes_on"] == "2026-12-05"
    assert Decimal(event["data"]["rate"]) == view.offer.rate  # type: ignore[union-attr]


def test_the_offer_is_accepted_only_under_its_agreement_version(world):
    loan_id = world.submit("strong_msme")
    world.score(loan_id)
    with pytest.raises(Conflict, match="agreement"):
        accept_offer(
            world.uow, SITI, loan_id, AcceptOffer(agreement_version="v0"), origin=world.origin
        )
    assert world.loan(loan_id).state is LoanState.APPROVED
    assert world.events("loan.offer_accepted") == []


def test_there_is_no_offer_to_accept_before_approval(world):
    loan_id = world.submit("strong_msme")
    with pytest.raises(IllegalTransition) as refused:
        accept_offer(
            world.uow,
            SITI,
            loan_id,
            AcceptOffer(agreement_version=AGREEMENT_VERSION),
            origin=world.origin,
        )
    assert refused.value.current == "submitted"


def test_cancelling_before_funding_and_never_twice(world):
    loan_id = world.submit("strong_msme")
    view = cancel_application(
        world.uow, SITI, loan_id, CancelApplication(reason="found cheaper"), origin=world.origin
    )
    assert view.state is LoanState.CANCELLED
    assert view.cancellation_reason == "found cheaper"
    (event,) = world.events("loan.cancelled")
    assert event["data"]["cancelled_from"] == "submitted"
    with pytest.raises(IllegalTransition) as refused:
        cancel_application(world.uow, SITI, loan_id, CancelApplication(), origin=world.origin)
    assert refused.value.current == "cancelled"


def test_only_the_borrower_cancels_their_application(world):
    loan_id = world.submit("strong_msme")
    with pytest.raises(NotFound):
        cancel_application(world.uow, RUDI, loan_id, CancelApplication(), origin=world.origin)
    with pytest.raises(Forbidden):
        cancel_application(
            world.uow, CREDIT_ADMIN, loan_id, CancelApplication(), origin=world.origin
        )


def test_a_document_upload_url_is_signed_for_the_declared_type_and_recorded(world):
    loan_id = world.submit("strong_msme")
    upload = request_document_upload(
        world.uow,
        world.storage,
        SITI,
        loan_id,
        DocumentUploadRequest(kind="ktp", content_type="image/jpeg", file_name="ktp.jpg"),
        origin=world.origin,
    )
    assert upload.upload.method == "PUT"
    assert upload.upload.headers == {"Content-Type": "image/jpeg"}
    assert upload.upload.expires_at > world.clock.now()
    assert f"loans/{loan_id}/ktp/{upload.document_id}.jpg" in upload.upload.url
    (document,) = world.loan(loan_id).documents
    assert (document.document_id, document.kind) == (upload.document_id, "ktp")


def test_documents_belong_to_open_applications_of_their_borrower(world):
    loan_id = world.submit("strong_msme")
    request = DocumentUploadRequest(kind="invoice", content_type="application/pdf")
    with pytest.raises(NotFound):
        request_document_upload(
            world.uow, world.storage, RUDI, loan_id, request, origin=world.origin
        )
    cancel_application(world.uow, SITI, loan_id, CancelApplication(), origin=world.origin)
    with pytest.raises(IllegalTransition) as refused:
        request_document_upload(
            world.uow, world.storage, SITI, loan_id, request, origin=world.origin
        )
    assert refused.value.current == "cancelled"


class _NoStore(UnitOfWork):
    """A store that must not be asked (Firestore refuses ids like `__x__` with an error)."""

    def run(self, work, *, read_only=False):
        raise AssertionError("the store was asked")

    def publish_pending(self, event_ids):
        raise AssertionError("the store was asked")


@pytest.mark.parametrize("loan_id", ["__loan__", ".", "..", "a" * 200, "loan one", "loans/x"])
def test_an_id_no_document_could_have_is_not_found_without_asking_the_store(loan_id):
    with pytest.raises(NotFound):
        read_application(_NoStore(), SITI, loan_id)
    with pytest.raises(NotFound):
        cancel_application(
            _NoStore(), SITI, loan_id, CancelApplication(), origin=JourneyWorld().origin
        )
