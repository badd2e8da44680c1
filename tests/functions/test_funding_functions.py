"""`loan_funding`, `auto_invest`, `funding_release`, `funding_expiry` and `disbursements`
through functions-framework: what a lender sees, who may move the money, and the events
that release it, each delivered more than once."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import pytest

from shared.domain.events import EventType, LoanOfferAccepted
from shared.domain.loan import LoanState
from shared.http.openapi import build_openapi, load_routers
from shared.platform.escrow import FundingRules
from shared.platform.outbox import OutboundMessage
from tests.functions.conftest import FUNDING_EXPIRY_SCHEDULER, Platform, idempotent, problem
from tests.functions.test_outbox_relay import scheduler_token
from tests.unit.journey.funding_desk import FundingDesk
from tests.unit.journey.money_scenarios import assert_reconciles


@pytest.fixture
def desk(platform: Platform) -> FundingDesk:
    w = platform.world
    return FundingDesk(
        w.uow, clock=w.clock, ids=w.ids, vault=w.vault, storage=w.storage, bank=platform.bank
    )


def lender(platform: Platform, user: str, key: str | None = None) -> dict[str, str]:
    headers = platform.bearer(user, "lender")
    return idempotent(key, headers) if key else headers


def admin(platform: Platform, user: str, key: str | None = None) -> dict[str, str]:
    headers = platform.bearer(user, "admin.finance")
    return idempotent(key, headers) if key else headers


def push(platform: Platform, topic: str, loan_id: str) -> dict[str, Any]:
    """The Pub/Sub push of the event published on `topic` for `loan_id`."""
    [message] = [
        m
        for m in platform.world.publisher.messages
        if m.topic == topic and loan_id.encode() in m.data
    ]
    return {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": dict(message.attributes),
            "messageId": f"m-{topic}-{loan_id}",
        },
        "subscription": f"projects/patungan-local/subscriptions/push.x.{topic}",
    }


def test_a_lender_funds_a_loan_and_sees_no_more_of_the_borrower_than_allowed(
    platform: Platform, desk: FundingDesk
) -> None:
    funding = platform.client("loan_funding")
    desk.funded_lender("ani", "1110001111", 5_000_000, agreed=False)
    loan = desk.loan(10_000_000)

    old = funding.post(
        "/agreements",
        json={"lender_agreement": "v0", "risk_disclosure": "v0"},
        headers=lender(platform, "ani"),
    )
    current = problem(old, 409)["detail"]
    assert "patungan-perjanjian-pendana" in current
    shown = funding.get("/agreements", headers=lender(platform, "ani")).get_json()
    accepted = funding.post(
        "/agreements",
        json={
            "lender_agreement": shown["current_lender_agreement"],
            "risk_disclosure": shown["current_risk_disclosure"],
        },
        headers=lender(platform, "ani"),
    )
    assert accepted.status_code == 200 and accepted.get_json()["accepted"] is not None

    listed = funding.get("/loans?grade=B", headers=lender(platform, "ani")).get_json()
    [offered] = listed["loans"]
    assert offered["loan_id"] == loan and offered["remaining"] == 10_000_000
    # Sector, province, grade and purpose; never who the borrower is.
    assert not {"borrower_id", "full_name", "business_name", "nik"} & set(offered)
    assert funding.get("/loans?grade=A", headers=lender(platform, "ani")).get_json()["loans"] == []

    made = funding.post(
        f"/loans/{loan}/commitments",
        json={"amount": 3_000_000},
        headers=lender(platform, "ani", "commit-1"),
    )
    assert made.status_code == 201 and made.get_json()["stake"] == 3_000_000
    again = funding.post(
        f"/loans/{loan}/commitments",
        json={"amount": 3_000_000},
        headers=lender(platform, "ani", "commit-1"),
    )
    assert again.headers.get("Idempotent-Replayed") == "true"
    mine = funding.get("/portfolio", headers=lender(platform, "ani")).get_json()
    assert mine["balance"]["committed"] == 3_000_000
    assert [(s["loan_id"], s["committed"]) for s in mine["stakes"]] == [(loan, 3_000_000)]
    # Borrowers do not reach the lenders' side; nobody commits more than they hold.
    problem(funding.get("/loans", headers=platform.bearer("bora", "borrower")), 403)
    short = funding.post(
        f"/loans/{loan}/commitments",
        json={"amount": 5_000_000},
        headers=lender(platform, "ani", "commit-2"),
    )
    assert problem(short, 409)["available"] == 2_000_000
    assert_reconciles(desk)


def test_a_disbursement_is_requested_by_one_admin_and_its_payout_confirmed_by_another(
    platform: Platform, desk: FundingDesk
) -> None:
    disbursements = platform.client("disbursements")
    desk.funded_lender("ani", "1110001111", 10_000_000)
    loan = desk.loan(10_000_000)
    desk.commit("ani", loan, 10_000_000)

    problem(disbursements.post(f"/loans/{loan}", headers=lender(platform, "ani")), 403)
    booked = disbursements.post(f"/loans/{loan}", headers=admin(platform, "fin-1"))
    assert booked.status_code == 200, booked.get_data(as_text=True)
    assert booked.get_json()["loan_state"] == "active"
    assert booked.get_json()["disbursement"]["net_disbursement"] == 9_778_000
    assert len(platform.world.publisher.envelopes("loan.disbursed")) == 1
    payout = {"bank_reference": "PAYOUT-1", "value_date": desk.today().isoformat()}
    refused = disbursements.post(
        f"/loans/{loan}/confirm", json=payout, headers=admin(platform, "fin-1", "p-1")
    )
    assert "maker-checker" in problem(refused, 403)["detail"]
    paid = disbursements.post(
        f"/loans/{loan}/confirm", json=payout, headers=admin(platform, "fin-2", "p-2")
    )
    assert paid.get_json()["disbursement"]["state"] == "paid"
    assert_reconciles(desk)


def test_a_payout_account_the_bank_names_another_holder_of_is_refused_and_nothing_booked(
    platform: Platform, desk: FundingDesk
) -> None:
    disbursements = platform.client("disbursements")
    desk.funded_lender("ani", "1110001111", 10_000_000)
    loan = desk.loan(10_000_000)
    desk.commit("ani", loan, 10_000_000)
    platform.bank.open("008", "5550005555", "SOMEONE ELSE")

    refused = disbursements.post(f"/loans/{loan}", headers=admin(platform, "fin-1"))
    assert "the bank names another holder" in problem(refused, 409)["detail"]
    assert problem(disbursements.get(f"/loans/{loan}", headers=admin(platform, "fin-1")), 404)
    assert not platform.world.publisher.envelopes("loan.disbursed")
    platform.bank.down = True
    problem(disbursements.post(f"/loans/{loan}", headers=admin(platform, "fin-1")), 503)

    platform.bank.down = False
    platform.bank.open("008", "5550005555", "BORA")
    booked = disbursements.post(f"/loans/{loan}", headers=admin(platform, "fin-1"))
    assert booked.status_code == 200 and booked.get_json()["loan_state"] == "active"
    assert_reconciles(desk)


def test_the_non_professional_share_refuses_a_commitment_naming_the_rule_and_its_source(
    platform: Platform, desk: FundingDesk
) -> None:
    desk.clock.advance(days=(date(2028, 1, 3) - desk.today()).days)
    pros = [desk.funded_lender(f"pro{n}", f"44400{n:05d}", 26_000_000) for n in range(4)]
    big = desk.loan(100_000_000)
    for pro in pros:  # professional lenders (no placement limit binds their income)
        desk.commit(pro, big, 25_000_000)
    loan = desk.loan(50_000_000, borrower="bori")
    desk.funded_lender("ani", "1110001111", 30_000_000, income=300_000_000)
    desk.commit("ani", loan, 25_000_000)  # non-professional: 25 of 125 outstanding
    assert desk.reconcile("daily").state == "passed"
    desk.next_day()
    platform.funding_rules = FundingRules(concentration_floor=0)
    funding = platform.client("loan_funding")
    desk.funded_lender("budi", "2220002222", 30_000_000, income=300_000_000)

    refused = funding.post(
        f"/loans/{loan}/commitments",
        json={"amount": 1_000_000},
        headers=lender(platform, "budi", "commit-1"),
    )
    detail = problem(refused, 422)["detail"]
    assert detail.startswith("non_professional_share (SEOJK 19/SEOJK.06/2025")
    assert "over the 20% cap" in detail
    pro = funding.post(
        f"/loans/{loan}/commitments",
        json={"amount": 1_000_000},
        headers=lender(platform, "pro0", "commit-2"),
    )
    assert pro.status_code == 201, pro.get_json()


def test_a_cooperative_takes_commitments_from_members_to_members_loans_only(
    platform: Platform, desk: FundingDesk
) -> None:
    platform.funding_rules = FundingRules(members_only=True, cap_table="koperasi")
    funding, users = platform.client("loan_funding"), platform.client("users")
    platform.world.staff("super-1", "admin.super")
    platform.world.staff("super-2", "admin.super")
    desk.funded_lender("ani", "1110001111", 5_000_000)
    loan = desk.loan(10_000_000)

    def commit(key: str) -> Any:
        return funding.post(
            f"/loans/{loan}/commitments",
            json={"amount": 1_000_000},
            headers=lender(platform, "ani", key),
        )

    def member(user: str, number: str) -> None:
        recorded = users.put(
            f"/{user}/membership",
            json={"member_number": number},
            headers=idempotent(f"m-{user}", platform.bearer("super-1")),
        )
        assert recorded.get_json()["approved"] is False
        own = users.post(
            f"/{user}/membership/approve",
            headers=idempotent(f"a1-{user}", platform.bearer("super-1")),
        )
        assert "maker-checker" in problem(own, 403)["detail"]
        approved = users.post(
            f"/{user}/membership/approve",
            headers=idempotent(f"a2-{user}", platform.bearer("super-2")),
        )
        assert approved.get_json()["approved"] is True

    assert "cooperative members only" in problem(commit("c-1"), 403)["detail"]
    member("ani", "KSP-0001")
    assert "is not an approved member" in problem(commit("c-2"), 409)["detail"]
    member("bora", "KSP-0002")
    assert commit("c-3").status_code == 201
    assert_reconciles(desk)


def test_an_expired_loan_releases_its_commitments_once_however_often_the_event_arrives(
    platform: Platform, desk: FundingDesk
) -> None:
    desk.funded_lender("ani", "1110001111", 3_000_000)
    loan = desk.loan(10_000_000)
    desk.commit("ani", loan, 2_000_000)
    expiry = platform.client("funding_expiry")
    release = platform.client("funding_release")
    desk.clock.advance(days=15)

    problem(expiry.post("/", json={}, headers=admin(platform, "fin-1")), 403)
    ran = expiry.post("/", json={}, headers=scheduler_token(platform, FUNDING_EXPIRY_SCHEDULER))
    assert ran.get_json() == {"expired": [loan]}
    delivery = push(platform, "loan.expired", loan)
    assert [
        release.post("/", json=delivery, headers=platform.pushed()).status_code for _ in range(3)
    ] == [200] * 3
    assert desk.wallet("ani").available == 3_000_000
    assert desk.wallet("ani").committed == 0
    assert_reconciles(desk)


def test_auto_invest_commits_once_for_an_offer_delivered_three_times(
    platform: Platform, desk: FundingDesk
) -> None:
    desk.funded_lender("ani", "1110001111", 5_000_000)
    desk.auto_rules("ani", max_per_loan=2_000_000, max_total=5_000_000)
    loan = desk.loan(10_000_000)
    record = desk.loan_record(loan)
    assert record.offer is not None and record.funding_closes_on is not None
    event = desk.origin.event(
        EventType.LOAN_OFFER_ACCEPTED,
        LoanOfferAccepted(
            loan_id=loan,
            borrower_id=record.borrower_id,
            principal=record.principal,
            tenor=record.tenor,
            rate=record.offer.rate,
            funding_closes_on=record.funding_closes_on,
        ),
    )
    platform.world.publisher.publish([OutboundMessage.from_event(event)])
    auto = platform.client("auto_invest")
    delivery = push(platform, "loan.offer_accepted", loan)
    assert [
        auto.post("/", json=delivery, headers=platform.pushed()).status_code for _ in range(3)
    ] == [200] * 3
    assert desk.wallet("ani").committed == 2_000_000
    assert desk.loan_record(loan).state is LoanState.FUNDING
    assert_reconciles(desk)


def test_auto_invest_rules_under_the_smallest_commitment_are_refused_naming_the_field(
    platform: Platform, desk: FundingDesk
) -> None:
    funding = platform.client("loan_funding")
    desk.funded_lender("ani", "1110001111", 5_000_000)
    ani = lender(platform, "ani")
    assert (
        "no auto-invest rules" in problem(funding.get("/auto-invest", headers=ani), 404)["detail"]
    )
    rules = {"enabled": True, "grades": ["A"], "tenors": [6], "max_total": 5_000_000}
    refused = funding.put("/auto-invest", json={**rules, "max_per_loan": 1}, headers=ani)
    assert "Rp 100,000" in problem(refused, 422)["errors"]["max_per_loan"]
    accepted = funding.put("/auto-invest", json={**rules, "max_per_loan": 100_000}, headers=ani)
    assert accepted.status_code == 200, accepted.get_data(as_text=True)


def test_the_document_describes_the_refusals_a_lender_meets() -> None:
    paths = build_openapi(load_routers())["paths"]
    assert "409" in paths["/loan_funding/agreements"]["post"]["responses"]  # superseded versions
    assert "404" in paths["/loan_funding/auto-invest"]["get"]["responses"]  # no rules yet
