"""`virtual_accounts` and `payment_webhook` through functions-framework: a callback is
recorded only when the gateway signed it, within five minutes, with a key still valid, and
only once (docs/lending-rules.md#payments)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from shared.domain.ledger import AccountId
from shared.http.gateway_signature import sign
from shared.platform.clock import JAKARTA
from shared.records.ledger import read_balances
from tests.functions.conftest import GATEWAY_KEYS, Platform, problem
from tests.unit.journey.money_desk import MoneyDesk

PATH = "/notifications"


@pytest.fixture
def desk(platform: Platform) -> MoneyDesk:
    w = platform.world
    desk = MoneyDesk(w.uow, clock=w.clock, ids=w.ids, vault=w.vault, storage=w.storage)
    desk.lender("ani", "1110001111")
    return desk


def notice(account: str, amount: int, reference: str, platform: Platform) -> bytes:
    return json.dumps(
        {
            "partnerServiceId": "8808",
            "customerNo": account[4:],
            "virtualAccountNo": account,
            "virtualAccountName": "Ani",
            "paymentRequestId": reference,
            "paidAmount": {"value": f"{amount}.00", "currency": "IDR"},
            "trxDateTime": platform.world.clock.now().astimezone(JAKARTA).isoformat(),
        },
        separators=(",", ":"),
    ).encode()


def signed(
    platform: Platform, body: bytes, *, key: str = GATEWAY_KEYS[0], age: timedelta = timedelta()
) -> dict[str, str]:
    stamp = (platform.world.clock.now() - age).astimezone(JAKARTA).isoformat(timespec="seconds")
    return {
        "Content-Type": "application/json",
        "X-TIMESTAMP": stamp,
        "X-SIGNATURE": sign(key, "POST", PATH, body, stamp),
        "X-EXTERNAL-ID": "1234567890",
        "X-PARTNER-ID": "PATUNGAN-SANDBOX",
    }


def balance(platform: Platform, account: str) -> int:
    parsed = AccountId.parse(account)
    return platform.world.uow.run(lambda tx: read_balances(tx, [parsed]), read_only=True)[parsed]


def post(webhook: Any, body: bytes, headers: dict[str, str]) -> Any:
    return webhook.post(PATH, data=body, headers=headers)


def test_a_lenders_top_up_through_their_virtual_account(
    platform: Platform, desk: MoneyDesk
) -> None:
    accounts = platform.client("virtual_accounts")
    webhook = platform.client("payment_webhook")
    issued = accounts.post("/me", headers=platform.bearer("ani", "lender"))
    assert issued.status_code == 200, issued.get_json()
    number = issued.get_json()["virtual_account"]
    again = accounts.post("/me", headers=platform.bearer("ani", "lender")).get_json()
    assert again["virtual_account"] == number
    problem(accounts.post("/me", headers=platform.bearer("bora", "borrower")), 403)

    body = notice(number, 2_000_000, "PAY-1", platform)
    for attempt in range(5):  # the gateway delivers the same notice again: recorded once
        answer = post(webhook, body, signed(platform, body))
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["duplicate"] is (attempt > 0)
    assert balance(platform, "lender_available:ani") == 2_000_000
    assert balance(platform, "gateway_clearing") == 2_000_000


def test_an_unsigned_stale_or_altered_notice_is_refused_and_nothing_recorded(
    platform: Platform, desk: MoneyDesk
) -> None:
    webhook = platform.client("payment_webhook")
    body = notice("8808000000000001", 500_000, "PAY-2", platform)
    good = signed(platform, body)
    refusals = [
        {k: v for k, v in good.items() if k != "X-SIGNATURE"},
        signed(platform, body, key="someone-elses-key-000"),
        signed(platform, body, age=timedelta(minutes=6)),
        {**good, "X-TIMESTAMP": "yesterday"},
        {**good, "X-SIGNATURE": "not base64!"},
    ]
    for headers in refusals:
        problem(post(webhook, body, headers), 401)
    altered = body.replace(b"500000.00", b"900000.00")
    problem(post(webhook, altered, good), 401)  # signed for another body
    problem(webhook.post(PATH + "?x=1", data=body, headers=good), 401)  # another path
    assert balance(platform, "gateway_clearing") == 0
    assert balance(platform, "suspense") == 0
    # Signed with the previous key (a rotation under way): still accepted.
    previous = post(webhook, body, signed(platform, body, key=GATEWAY_KEYS[1]))
    assert previous.status_code == 200
    assert previous.get_json()["state"] == "in_suspense"  # not one of our accounts
    assert balance(platform, "suspense") == 500_000


def test_a_signed_notice_that_is_not_a_payment_is_a_422(
    platform: Platform, desk: MoneyDesk
) -> None:
    webhook = platform.client("payment_webhook")
    body = notice("8808000000000001", 500_000, "PAY-3", platform).replace(
        b"500000.00", b"500000.50"
    )
    problem(post(webhook, body, signed(platform, body)), 422)
    assert balance(platform, "gateway_clearing") == 0
