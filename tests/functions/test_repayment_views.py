"""What borrowers (`loan_applications`) and lenders (`lender_wallet`) see of repayments,
through functions-framework: each sees their own and nobody else's, and the totals are the
receipts' to the rupiah (docs/lending-rules.md#payments, docs/lending-rules.md#billing-split)."""

from __future__ import annotations

import jsonschema
import pytest

from shared.http.openapi import build_openapi
from tests.functions.conftest import Platform, problem
from tests.unit.journey.payment_desk import PaymentDesk

SHARES = {"ani": 6_000_000, "budi": 4_000_000}


@pytest.fixture
def repaid_once(desk: PaymentDesk) -> tuple[str, str]:
    """A loan of bora's funded by ani and budi, its first installment paid: (loan, payment)."""
    loan = desk.active_loan(SHARES)
    return loan, desk.pay(loan, desk.installments(loan)[0].total)


def test_a_borrower_sees_their_loans_repayment(
    platform: Platform, desk: PaymentDesk, repaid_once: tuple[str, str]
) -> None:
    loan, _ = repaid_once
    schedule = desk.installments(loan)
    client = platform.client("loan_applications")
    answer = client.get(f"/loans/{loan}/repayment", headers=platform.bearer("bora", "borrower"))
    assert answer.status_code == 200, answer.get_json()
    view = answer.get_json()
    assert view["loan_id"] == loan
    assert view["virtual_account"] == desk.virtual_account(loan)
    assert view["principal"] == 10_000_000
    assert view["outstanding_principal"] == 10_000_000 - schedule[0].principal
    assert view["total_outstanding"] == sum(i.total for i in schedule[1:])
    assert [i["state"] for i in view["installments"]] == ["paid"] + ["due"] * 5
    first = view["installments"][0]
    assert first["paid"]["total"] == first["due"]["total"] == schedule[0].total
    assert first["outstanding"]["total"] == 0


def test_a_borrower_cannot_see_another_borrowers_loan(
    platform: Platform, desk: PaymentDesk, repaid_once: tuple[str, str]
) -> None:
    loan, _ = repaid_once
    desk.borrower("dodi", account_number="6660006666")
    client = platform.client("loan_applications")
    other = client.get(f"/loans/{loan}/repayment", headers=platform.bearer("dodi", "borrower"))
    missing = client.get("/loans/loan-nothing/repayment", headers=platform.bearer("dodi"))
    # Another borrower's loan answers exactly as a loan that does not exist.
    assert problem(other, 404)["detail"] == f"there is no loan {loan!r}"
    assert problem(missing, 404)["detail"] == "there is no loan 'loan-nothing'"
    assert "installments" not in other.get_json()
    problem(client.get(f"/loans/{loan}/repayment", headers=platform.bearer("ani", "lender")), 403)


def test_a_lenders_statement_totals_their_receipts_to_the_rupiah(
    platform: Platform, desk: PaymentDesk, repaid_once: tuple[str, str]
) -> None:
    loan, payment = repaid_once
    wallet = platform.client("lender_wallet")
    month = desk.today().strftime("%Y-%m")
    for lender in SHARES:
        answer = wallet.get(f"/statements/{month}", headers=platform.bearer(lender, "lender"))
        assert answer.status_code == 200, answer.get_json()
        statement = answer.get_json()
        (receipt,) = desk.receipts(lender)
        (line,) = statement["lines"]
        assert (line["payment_id"], line["loan_id"]) == (payment, loan)
        assert (statement["lender_id"], statement["month"]) == (lender, month)
        for part in ("principal", "interest", "platform_fee", "vat", "withholding", "net"):
            assert line[part] == statement["totals"][part] == getattr(receipt, part)
        assert statement["totals"]["gross"] == receipt.gross
        assert statement["complete"] is True
    later = wallet.get("/statements/2040-01", headers=platform.bearer("ani", "lender"))
    assert later.status_code == 200
    assert later.get_json()["lines"] == []
    assert later.get_json()["totals"]["net"] == 0


def test_a_lender_cannot_see_another_lenders_statement(
    platform: Platform, desk: PaymentDesk, repaid_once: tuple[str, str]
) -> None:
    desk.funded_lender("dewi", "4440004444", 1_000_000)
    wallet = platform.client("lender_wallet")
    month = desk.today().strftime("%Y-%m")
    # Only the caller's own statement exists for them: dewi received nothing this month.
    mine = wallet.get(f"/statements/{month}", headers=platform.bearer("dewi", "lender"))
    assert mine.status_code == 200
    assert mine.get_json()["lender_id"] == "dewi"
    assert mine.get_json()["lines"] == []
    # A borrower holds no wallet.
    problem(wallet.get(f"/statements/{month}", headers=platform.bearer("bora", "borrower")), 403)


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "december", "2026-12-01"])
def test_a_malformed_month_is_a_422(platform: Platform, desk: PaymentDesk, month: str) -> None:
    desk.lender("ani", "1110001111")
    wallet = platform.client("lender_wallet")
    refused = problem(
        wallet.get(f"/statements/{month}", headers=platform.bearer("ani", "lender")), 422
    )
    assert "month" in refused["errors"]


@pytest.mark.parametrize("month", ["2026-01", "1999-12", "2026-10", "2026-00", "26-01", "2026-1x"])
def test_a_month_is_accepted_exactly_when_the_document_allows_it(
    platform: Platform, desk: PaymentDesk, month: str
) -> None:
    desk.lender("ani", "1110001111")
    wallet = platform.client("lender_wallet")
    _, module = platform.functions("lender_wallet")
    operation = build_openapi([module.router])["paths"]["/lender_wallet/statements/{month}"]["get"]
    (parameter,) = operation["parameters"]
    documented = jsonschema.Draft202012Validator(parameter["schema"]).is_valid(month)
    answer = wallet.get(f"/statements/{month}", headers=platform.bearer("ani", "lender"))
    assert answer.status_code == (200 if documented else 422), answer.get_json()
    assert "404" not in operation["responses"]  # every well-formed month has a statement


def test_a_lenders_receipts_from_one_loan(
    platform: Platform, desk: PaymentDesk, repaid_once: tuple[str, str]
) -> None:
    loan, _ = repaid_once
    desk.pay(loan, desk.installments(loan)[1].total)
    wallet = platform.client("lender_wallet")
    answer = wallet.get(f"/loans/{loan}/receipts", headers=platform.bearer("ani", "lender"))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    receipts = desk.receipts("ani")
    assert [r["payment_id"] for r in body["receipts"]] == sorted(r.payment_id for r in receipts)
    assert body["totals"]["net"] == sum(r.net for r in receipts)
    assert body["totals"]["principal"] == desk.stakes(loan)["ani"].principal_received
    assert body["principal_funded"] == 6_000_000

    desk.funded_lender("dewi", "4440004444", 1_000_000)
    problem(wallet.get(f"/loans/{loan}/receipts", headers=platform.bearer("dewi", "lender")), 404)
