"""`write_offs` through functions-framework: only `admin.credit` proposes, only
`admin.finance` confirms, the proposer never confirms, and borrowers and lenders can do
neither (docs/lending-rules.md#write-off)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from shared.domain.loan import LoanState
from tests.functions.conftest import Platform, idempotent, problem
from tests.unit.journey.payment_desk import PaymentDesk

SHARES = {"ani": 6_000_000, "budi": 4_000_000}
NARRATIVE = {"narrative": "The shop closed in January; the borrower cannot be reached."}


@pytest.fixture
def late_loan(desk: PaymentDesk) -> str:
    """bora's loan funded by ani and budi: installment 1 paid, installment 2 90 days late."""
    loan = desk.active_loan(SHARES)
    desk.pay(loan, desk.installments(loan)[0].total)
    due = desk.installments(loan)[1].due_date
    desk.clock.set(datetime.combine(due + timedelta(days=90), time(3), tzinfo=UTC))  # 10:00 WIB
    return loan


def test_credit_proposes_and_another_admin_in_finance_confirms(
    platform: Platform, desk: PaymentDesk, late_loan: str
) -> None:
    client = platform.client("write_offs")
    path = f"/loans/{late_loan}/write-off"
    proposed = client.post(
        path, json=NARRATIVE, headers=idempotent("wo-1", platform.bearer("reviewer-1", None))
    )
    assert proposed.status_code == 201, proposed.get_json()
    assert proposed.get_json()["write_off"]["days_past_due"] == 90

    confirmed = client.post(f"{path}/confirm", headers=platform.bearer("fin-1", None))
    assert confirmed.status_code == 200, confirmed.get_json()
    body = confirmed.get_json()
    assert body["loan_state"] == "written_off"
    outstanding = {
        k: s.principal_funded - s.principal_received for k, s in desk.stakes(late_loan).items()
    }
    assert body["principal_written_off"] == sum(outstanding.values())
    again = client.post(f"{path}/confirm", headers=platform.bearer("fin-2", None))
    assert again.get_json() == body  # one effect
    read = client.get(path, headers=platform.bearer("fin-2", None))
    assert read.get_json() == body
    assert desk.loan_record(late_loan).state is LoanState.WRITTEN_OFF


def test_borrowers_and_lenders_can_neither_propose_nor_confirm(
    platform: Platform, desk: PaymentDesk, late_loan: str
) -> None:
    client = platform.client("write_offs")
    path = f"/loans/{late_loan}/write-off"
    for who, role in (("bora", "borrower"), ("ani", "lender")):
        headers = platform.bearer(who, role)
        problem(client.post(path, json=NARRATIVE, headers=idempotent(f"wo-{who}", headers)), 403)
        problem(client.post(f"{path}/confirm", headers=headers), 403)
        problem(client.get(path, headers=headers), 403)
    assert desk.loan_record(late_loan).write_off is None


def test_the_proposer_cannot_confirm_and_finance_cannot_propose(
    platform: Platform, desk: PaymentDesk, late_loan: str
) -> None:
    client = platform.client("write_offs")
    path = f"/loans/{late_loan}/write-off"
    problem(
        client.post(
            path, json=NARRATIVE, headers=idempotent("wo-f", platform.bearer("fin-1", None))
        ),
        403,
    )
    client.post(
        path, json=NARRATIVE, headers=idempotent("wo-r", platform.bearer("reviewer-1", None))
    )
    problem(client.post(f"{path}/confirm", headers=platform.bearer("reviewer-1", None)), 403)
    assert desk.loan_record(late_loan).state is LoanState.ACTIVE


def test_a_loan_short_of_its_threshold_is_a_409(platform: Platform, desk: PaymentDesk) -> None:
    loan = desk.active_loan(SHARES)
    client = platform.client("write_offs")
    answer = client.post(
        f"/loans/{loan}/write-off",
        json=NARRATIVE,
        headers=idempotent("wo-early", platform.bearer("reviewer-1", None)),
    )
    assert "0 days past due" in problem(answer, 409)["detail"]
    problem(
        client.post("/loans/nope/write-off/confirm", headers=platform.bearer("fin-1", None)), 404
    )
