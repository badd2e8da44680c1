"""Fee sweeps, tax payments and the withholding summary on `treasury` through
functions-framework: only `admin.finance` reaches them, the maker never approves, and a
request sent again takes effect once (docs/lending-rules.md#fee-sweep-and-tax-remittance)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.ledger import (
    ESCROW_CASH,
    PLATFORM_FEE_INCOME,
    VAT_PAYABLE,
    WITHHOLDING_TAX_PAYABLE,
    AccountId,
    JournalEntry,
    Posting,
)
from shared.platform.clock import jakarta_date
from shared.records.ledger import post_entry, read_balances
from shared.records.payments import LenderReceiptRecord, LenderReceipts
from tests.functions.conftest import Platform, idempotent, problem

FEES, VAT, WITHHELD = 900_000, 99_000, 150_000
MONTH = "2026-11"


@pytest.fixture
def finance(platform: Platform) -> Any:
    """`treasury`, over a ledger holding fees, VAT and withholding a repayment left in escrow,
    and that repayment's receipt."""
    w = platform.world
    now = w.clock.now()
    entry = JournalEntry(
        "seed-fees",
        now,
        (
            Posting.debit(ESCROW_CASH, FEES + VAT + WITHHELD),
            Posting.credit(PLATFORM_FEE_INCOME, FEES),
            Posting.credit(VAT_PAYABLE, VAT),
            Posting.credit(WITHHOLDING_TAX_PAYABLE, WITHHELD),
        ),
        "fees and taxes of the repayments so far",
    )
    receipt = LenderReceiptRecord(
        id="pay-1~ani",
        payment_id="pay-1",
        loan_id="loan-1",
        lender_id="ani",
        on=jakarta_date(now),
        month=MONTH,
        principal=1_000_000,
        interest=1_000_000,
        late_fee=0,
        platform_fee=FEES,
        vat=VAT,
        withholding=WITHHELD,
        withholding_article="pph23",
        net=1_000_000 - FEES - VAT - WITHHELD + 1_000_000,
    )

    def seed(tx: Any) -> None:
        post_entry(tx, entry, {}, source="seed", value_date=jakarta_date(now))
        LenderReceipts(tx).add(receipt)

    w.uow.run(seed)
    return platform.client("treasury")


def balance(platform: Platform, account: AccountId) -> int:
    return platform.world.uow.run(lambda tx: read_balances(tx, [account]), read_only=True)[account]


def admin(platform: Platform, user: str, key: str | None = None) -> dict[str, str]:
    headers = platform.bearer(user, "admin.finance")
    return idempotent(key, headers) if key else headers


SWEEP = {"fee_amount": FEES, "vat_amount": VAT, "reason": "November's fees"}
TAX = {
    "amount": WITHHELD,
    "article": "pph23",
    "tax_period": MONTH,
    "billing_code": "123456789012345",
    "reason": "PPh 23 of November",
}
SENT = {"bank_reference": "OUT-SWEEP-1", "value_date": "2026-11-20"}


@pytest.mark.parametrize("role", ["borrower", "lender"])
def test_borrowers_and_lenders_reach_none_of_it(
    platform: Platform, finance: Any, role: str
) -> None:
    headers = idempotent("k-1", platform.bearer("ani", role))
    problem(finance.get("/remittance-balances", headers=headers), 403)
    problem(finance.get(f"/withholding/{MONTH}", headers=headers), 403)
    problem(finance.post("/fee-sweeps", json=SWEEP, headers=headers), 403)
    problem(finance.post("/tax-payments", json=TAX, headers=headers), 403)
    problem(finance.post("/remittances/sweep-1/approve", json=SENT, headers=headers), 403)
    assert balance(platform, ESCROW_CASH) == FEES + VAT + WITHHELD


def test_a_sweep_proposed_approved_and_sent_again_moves_the_money_once(
    platform: Platform, finance: Any
) -> None:
    held = finance.get("/remittance-balances", headers=admin(platform, "fin-1")).get_json()
    assert (held["sweepable_fees"], held["vat_payable"]) == (FEES, VAT)
    proposed = finance.post("/fee-sweeps", json=SWEEP, headers=admin(platform, "fin-1", "p-1"))
    assert proposed.status_code == 201, proposed.get_data(as_text=True)
    sweep_id = proposed.get_json()["id"]
    replayed = finance.post("/fee-sweeps", json=SWEEP, headers=admin(platform, "fin-1", "p-1"))
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.get_json()["id"] == sweep_id  # one proposal, not two
    problem(finance.post("/fee-sweeps", json=SWEEP, headers=admin(platform, "fin-1")), 400)

    approve = f"/remittances/{sweep_id}/approve"
    problem(finance.post(approve, json=SENT, headers=admin(platform, "fin-1", "a-1")), 403)
    posted = finance.post(approve, json=SENT, headers=admin(platform, "fin-2", "a-2"))
    assert posted.status_code == 200, posted.get_data(as_text=True)
    assert posted.get_json()["state"] == "posted"
    for key in ("a-2", "a-3"):  # the same key replayed, or the same approval under a new key
        again = finance.post(approve, json=SENT, headers=admin(platform, "fin-2", key))
        assert again.status_code == 200 and again.get_json() == posted.get_json()
    assert balance(platform, ESCROW_CASH) == WITHHELD
    assert balance(platform, PLATFORM_FEE_INCOME) == balance(platform, VAT_PAYABLE) == 0
    other = {**SENT, "bank_reference": "OUT-SWEEP-2"}
    problem(finance.post(approve, json=other, headers=admin(platform, "fin-2", "a-4")), 409)
    shown = finance.get(f"/remittances/{sweep_id}", headers=admin(platform, "fin-1"))
    assert shown.get_json()["bank_reference"] == "OUT-SWEEP-1"


def test_withholding_is_paid_and_summarized_for_the_month(platform: Platform, finance: Any) -> None:
    summary = finance.get(f"/withholding/{MONTH}", headers=admin(platform, "fin-1")).get_json()
    assert [(x["lender_id"], x["article"], x["base"], x["withheld"]) for x in summary["lines"]] == [
        ("ani", "pph23", 1_000_000, WITHHELD)
    ]
    assert summary["withheld"] == WITHHELD
    problem(finance.get("/withholding/november", headers=admin(platform, "fin-1")), 422)

    too_much = {**TAX, "amount": WITHHELD + 1}
    problem(
        finance.post("/tax-payments", json=too_much, headers=admin(platform, "fin-1", "t-0")), 422
    )
    proposed = finance.post("/tax-payments", json=TAX, headers=admin(platform, "fin-1", "t-1"))
    assert proposed.status_code == 201, proposed.get_data(as_text=True)
    paid = {"bank_reference": "NTPN0123456789AB", "value_date": "2026-11-20"}
    approve = f"/remittances/{proposed.get_json()['id']}/approve"
    assert (
        finance.post(approve, json=paid, headers=admin(platform, "fin-2", "t-2")).status_code == 200
    )
    assert balance(platform, WITHHOLDING_TAX_PAYABLE) == 0
    assert balance(platform, ESCROW_CASH) == FEES + VAT
    problem(
        finance.post(
            "/remittances/no-such/approve", json=paid, headers=admin(platform, "fin-2", "t-3")
        ),
        404,
    )
