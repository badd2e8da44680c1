"""Every function publishes only to the topics its topology entry names: deployed, its
service account may publish to those alone (docs/architecture.md#events). The platform
fixture refuses any other emit (`GrantedUnitOfWork` in conftest.py); these tests drive the
two paths that publish a payment from outside the webhook: the overdue sweep, when the
borrower's credit pays an installment on its due date, and treasury, when two admins
assign a payment in suspense to its loan (docs/lending-rules.md#payments)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from shared.domain.events import EventType, PaymentReceived
from tests.functions.conftest import (
    OVERDUE_SWEEP_SCHEDULER,
    GrantedUnitOfWork,
    Platform,
    idempotent,
    problem,
)
from tests.unit.journey.payment_desk import PaymentDesk

SHARES = {"ani": 6_000_000, "budi": 4_000_000}


def payments_received(platform: Platform) -> list[dict[str, object]]:
    return [e["data"] for e in platform.world.events("payment.received")]


def test_a_function_emitting_beyond_its_topics_is_caught(platform: Platform) -> None:
    granted = GrantedUnitOfWork(platform.world.uow, "products")  # publishes nothing
    event = platform.world.origin.event(
        EventType.PAYMENT_RECEIVED,
        PaymentReceived(
            payment_id="p-1", loan_id="loan-1", amount=1, paid_at=platform.world.clock.now()
        ),
    )
    with pytest.raises(AssertionError, match=r"products emits payment\.received"):
        granted.run(lambda tx: tx.emit(event))
    assert payments_received(platform) == []


def test_the_sweep_publishes_the_payment_the_borrowers_credit_makes(
    platform: Platform, desk: PaymentDesk
) -> None:
    loan = desk.active_loan(SHARES)
    schedule = desk.installments(loan)
    desk.pay(loan, schedule[0].total + 50_000)  # 50,000 of credit
    before = len(payments_received(platform))
    desk.clock.set(datetime.combine(schedule[1].due_date, time(3), tzinfo=UTC))
    sweep = platform.client("overdue_sweep")
    token = platform.token("1234567890", None, email=OVERDUE_SWEEP_SCHEDULER, email_verified=True)
    problem(sweep.post("/", headers=platform.bearer("fin-1", None)), 403)  # its job alone

    answer = sweep.post("/", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["loans_swept"] == 1
    published = payments_received(platform)[before:]
    assert [(p["loan_id"], p["amount"]) for p in published] == [(loan, 50_000)]
    assert desk.balance("borrower_credit:bora") == 0
    again = sweep.post("/", headers={"Authorization": f"Bearer {token}"})
    assert again.get_json()["loans_swept"] == 0  # once a day
    assert len(payments_received(platform)) == before + 1


def test_treasury_publishes_a_payment_in_suspense_assigned_to_its_loan(
    platform: Platform, desk: PaymentDesk
) -> None:
    loan = desk.active_loan(SHARES)
    amount = desk.installments(loan)[0].total
    stray = desk.notify("8808777777777777", amount).payment_id  # an account not ours
    treasury = platform.client("treasury")
    path = f"/gateway-payments/{stray}/resolution"
    proposal = {"action": "loan", "loan_id": loan, "reason": "the borrower's own payment"}
    proposed = treasury.post(
        path, json=proposal, headers=idempotent("res-1", platform.bearer("fin-1", None))
    )
    assert proposed.status_code == 200, proposed.get_json()
    approve = f"{path}/approve"
    problem(
        treasury.post(approve, json={}, headers=idempotent("ok-1", platform.bearer("fin-1", None))),
        403,
    )  # the maker does not approve

    approved = treasury.post(
        approve, json={}, headers=idempotent("ok-2", platform.bearer("fin-2", None))
    )
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["state"] == "unapplied"
    published = [p for p in payments_received(platform) if p["payment_id"] == stray]
    assert [(p["loan_id"], p["amount"]) for p in published] == [(loan, amount)]
    assert desk.balance(f"unapplied_receipts:{loan}") == amount
    assert desk.balance("suspense") == 0
