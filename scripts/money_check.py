"""A lender's top-up and a loan funded through the running platform.

`python3 dev.py up --check` runs it after the borrower journey: a new lender registers
(`users`) and declares a transfer (`lender_wallet`); the local `admin.finance` uploads
today's escrow statement carrying that transfer to the Storage emulator through the
signed URL `finance` hands out, imports it, and matches the line to the declaration; the
second `admin.finance` confirms it (`scripts.local_staff`); the lender's available
balance then shows the money (`deposit_round_trip`).

Then (`funding_round_trip`) the lender accepts the lender agreements and sets auto-invest
rules, the borrower of an approved application accepts the offer, `loan.offer_accepted` is
pushed to `auto_invest`, which commits for the lender; the lender adds a commitment by hand.
`virtual_account_top_up`: the lender tops up through their virtual account, paid at the
payment gateway sandbox, whose signed notice `payment_webhook` verifies and credits.
Every call goes over HTTP to the functions, exactly as a client app's would.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from scripts.local_staff import GRANTED
from scripts.platform_client import PlatformCallFailed, PlatformClient, sandbox_applicant
from shared.domain.bank_statements import BankStatement, Direction, Movement, statement_csv

JAKARTA = ZoneInfo("Asia/Jakarta")
MAKER, CHECKER = (member.sub for member in GRANTED if member.role == "admin.finance")
AMOUNT = 2_500_000
ANNUAL_INCOME = 600_000_000  # a placement limit far above these amounts
AUTO_PER_LOAN = 1_000_000
BY_HAND = 500_000
TOP_UP = 750_000


def _expect(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise PlatformCallFailed(what, response)
    body: dict[str, Any] = response.json()
    return body


def deposit_round_trip(client: PlatformClient, rng: random.Random | None = None) -> tuple[str, str]:
    """One deposit from declaration to the lender's balance: the lender, and a line saying
    what happened."""
    applicant = sandbox_applicant(rng or random.SystemRandom())
    registration = {
        key: value for key, value in applicant.registration.items() if key != "borrower_profile"
    }
    registration.update(
        role="lender", lender_profile={"residency": "resident", "annual_income": ANNUAL_INCOME}
    )
    sub = f"check-lender-{registration['nik']}"
    _expect(
        client.call(
            "users",
            "POST",
            sub=sub,
            role="lender",
            json=registration,
            idempotency_key=f"register-{sub}",
        ),
        201,
        "register a lender",
    )
    sender = registration["bank_account"]
    reference = f"TOPUP-{uuid.uuid4().hex[:10].upper()}"
    declared = _expect(
        client.call(
            "lender_wallet",
            "POST",
            "/deposits",
            sub=sub,
            role="lender",
            json={"amount": AMOUNT, "sender_account": sender, "transfer_reference": reference},
            idempotency_key=f"declare-{reference}",
        ),
        201,
        "declare a deposit",
    )
    deposit_id = declared["deposit"]["id"]

    today = datetime.now(JAKARTA).date()
    statement = BankStatement.create(
        account_number=declared["pay_to"]["account_number"],
        opening_date=today,
        opening_balance=0,
        closing_date=today,
        closing_balance=AMOUNT,
        movements=[
            Movement(
                booking_date=today,
                value_date=today,
                direction=Direction.CREDIT,
                amount=AMOUNT,
                bank_reference=f"IN-{reference}",
                sender_reference=reference,
                description=f"TRF {reference}",
                counterparty_account=sender["account_number"],
                counterparty_bank_code=sender["bank_code"],
                counterparty_name=sender["account_holder"],
            )
        ],
    )

    def finance(
        who: str, method: str, path: str, status: int, what: str, **kwargs: Any
    ) -> dict[str, Any]:
        response = client.call("finance", method, path, sub=who, role="admin.finance", **kwargs)
        return _expect(response, status, what)

    upload = finance(MAKER, "POST", "/statements/uploads", 201, "ask for an upload URL",
                     json={"format": "csv"})  # fmt: skip
    put = httpx.put(
        upload["upload_url"],
        content=statement_csv(statement),
        headers=upload["upload_headers"],
        trust_env=False,
    )
    if put.status_code not in (200, 201):
        raise PlatformCallFailed("upload the statement", put)
    finance(MAKER, "POST", "/statements", 200, "import the statement",
            json={"upload_id": upload["upload_id"]})  # fmt: skip
    lines = finance(MAKER, "GET", "/lines?state=in_suspense", 200, "list lines in suspense")
    [line] = [line for line in lines["lines"] if line["sender_reference"] == reference]
    finance(MAKER, "POST", f"/deposits/{deposit_id}/match", 200, "match the line",
            json={"line_id": line["id"]}, idempotency_key=f"match-{deposit_id}")  # fmt: skip
    finance(CHECKER, "POST", f"/deposits/{deposit_id}/confirm", 200, "confirm the deposit",
            idempotency_key=f"confirm-{deposit_id}")  # fmt: skip
    balance = _expect(
        client.call("lender_wallet", "GET", "/balance", sub=sub, role="lender"),
        200,
        "read the lender's balance",
    )
    if balance["available"] != AMOUNT:
        raise RuntimeError(f"the lender's available balance is Rp {balance['available']:,}")
    return sub, (
        f"Rp {AMOUNT:,} declared, imported, matched by {MAKER}, confirmed by {CHECKER}; "
        f"available Rp {balance['available']:,}"
    )


def virtual_account_top_up(
    client: PlatformClient, lender: str, gateway_url: str, *, timeout_s: float = 20.0
) -> str:
    """`lender` asks for their virtual account (`virtual_accounts`, issued by the gateway
    sandbox) and pays into it as a payer would: the sandbox's signed notice reaches
    `payment_webhook`, which verifies it and credits the lender at once."""
    issued = client.call("virtual_accounts", "POST", "/me", sub=lender, role="lender")
    number = _expect(issued, 200, "issue the lender's virtual account")["virtual_account"]
    before = client.call("lender_wallet", "GET", "/balance", sub=lender, role="lender")
    available = _expect(before, 200, "read the balance")["available"]
    paid = httpx.post(
        f"{gateway_url}/v1/payments",
        json={"virtualAccountNo": number, "amount": TOP_UP},
        timeout=timeout_s,
        trust_env=False,
    )
    delivery = _expect(paid, 201, "pay into the virtual account")["delivery"]
    if delivery["status"] != "delivered":
        raise RuntimeError(f"the gateway's notice was not delivered: {delivery}")
    after = client.call("lender_wallet", "GET", "/balance", sub=lender, role="lender")
    now = _expect(after, 200, "read the balance")["available"]
    if now - available != TOP_UP:
        raise RuntimeError(f"the balance moved by Rp {now - available:,}, not Rp {TOP_UP:,}")
    return f"Rp {TOP_UP:,} paid into {number} through the gateway sandbox, credited at once"


def funding_round_trip(
    client: PlatformClient, lender: str, borrower: str, loan_id: str, *, timeout_s: float = 20.0
) -> str:
    """`lender` (with money available) funds the approved `loan_id` of `borrower`: through
    auto-invest when the borrower accepts the offer, then by hand."""

    def funding(method: str, path: str, status: int, what: str, **kwargs: Any) -> dict[str, Any]:
        response = client.call("loan_funding", method, path, sub=lender, role="lender", **kwargs)
        return _expect(response, status, what)

    current = funding("GET", "/agreements", 200, "read the lender agreements")
    funding("POST", "/agreements", 200, "accept the lender agreements",
            json={"lender_agreement": current["current_lender_agreement"],
                  "risk_disclosure": current["current_risk_disclosure"]})  # fmt: skip
    funding("PUT", "/auto-invest", 200, "set auto-invest rules",
            json={"enabled": True, "max_per_loan": AUTO_PER_LOAN, "max_total": AMOUNT})  # fmt: skip
    offer = client.application(borrower, loan_id)["offer"]
    client.accept(borrower, loan_id, offer["agreement_version"])
    deadline = time.monotonic() + timeout_s
    while True:  # auto_invest runs on the loan.offer_accepted push
        stakes = funding("GET", "/portfolio", 200, "read the portfolio")["stakes"]
        if any(stake["loan_id"] == loan_id for stake in stakes):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"auto-invest did not fund {loan_id} within {timeout_s:.0f} s")
        time.sleep(0.05)
    made = funding("POST", f"/loans/{loan_id}/commitments", 201, "commit by hand",
                   json={"amount": BY_HAND}, idempotency_key=f"commit-{loan_id}")  # fmt: skip
    if made["stake"] != AUTO_PER_LOAN + BY_HAND:
        raise RuntimeError(f"the lender's stake is Rp {made['stake']:,}")
    return (
        f"auto-invest committed Rp {AUTO_PER_LOAN:,} on the loan.offer_accepted push, "
        f"Rp {BY_HAND:,} more by hand; Rp {made['remaining']:,} remains"
    )
