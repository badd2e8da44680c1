"""The payment gateway sandbox over HTTP, with a small local payment_callbacks playing the platform.

A VA is issued once per loan or lender (the same number again); a payment is notified
at once with a callback whose signature a re-computation here verifies (the recipe the
platform's `payment_webhook` follows, README.md of the sandbox); a callback the platform
did not take is retried; a redelivery sends the same body and external id with a fresh
signature; a rotated key signs the next callback; the settlement report adds up; the
platform's API needs its key; the process stops cleanly on SIGTERM.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from emulators.launcher import EmulatorProcess
from tests.fixtures.payment_gateway_sandbox import (
    CALLBACK_PATH,
    PAYMENT_GATEWAY_API_KEY,
    PAYMENT_GATEWAY_MAX_ATTEMPTS,
    PAYMENT_GATEWAY_SIGNING_KEY,
)

pytestmark = pytest.mark.emulator


@pytest.fixture
def api(payment_gateway_sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=payment_gateway_sandbox,
        headers={"X-API-Key": PAYMENT_GATEWAY_API_KEY},
        trust_env=False,
    ) as client:
        yield client


def issue(api: httpx.Client, kind: str, reference: str, name: str = "Siti Rahmawati") -> str:
    answer = api.post(
        "/v1/virtual-accounts", json={"kind": kind, "reference": reference, "name": name}
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["virtualAccountNo"]


def expected_signature(key: str, path: str, body: bytes, timestamp: str) -> str:
    """The SNAP recipe, computed here independently of the sandbox's code."""
    digest = hashlib.sha256(body).hexdigest()
    string_to_sign = f"POST:{path}:{digest}:{timestamp}".encode()
    return base64.b64encode(
        hmac.new(key.encode(), string_to_sign, hashlib.sha512).digest()
    ).decode()


def wait_for_delivery(payment_gateway, payment_id: str, status: str) -> dict:
    for _ in range(200):
        payment = payment_gateway.payment(payment_id)
        if payment["delivery"]["status"] == status:
            return payment
        time.sleep(0.05)
    raise AssertionError(f"payment {payment_id} never became {status}: {payment}")


def test_issuing_a_virtual_account_twice_gives_the_same_number(payment_gateway, api):
    first = api.post(
        "/v1/virtual-accounts", json={"kind": "loan", "reference": "loan-1", "name": "Siti"}
    )
    again = api.post(
        "/v1/virtual-accounts", json={"kind": "loan", "reference": "loan-1", "name": "Siti"}
    )
    lender = api.post(
        "/v1/virtual-accounts", json={"kind": "lender", "reference": "loan-1", "name": "Budi"}
    )

    assert (first.status_code, again.status_code, lender.status_code) == (201, 200, 201)
    number = first.json()["virtualAccountNo"]
    assert again.json() == first.json()
    assert first.json() == {
        "virtualAccountNo": number,
        "kind": "loan",
        "reference": "loan-1",
        "name": "Siti",
    }
    assert len(number) == 16 and number.isdigit() and number.startswith("8808")
    assert lender.json()["virtualAccountNo"] != number
    assert api.get(f"/v1/virtual-accounts/{number}").json() == first.json()
    assert api.get("/v1/virtual-accounts/8808000000000000").status_code == 404


def test_the_platform_api_needs_the_key(payment_gateway, payment_gateway_sandbox, api):
    number = issue(api, "loan", "loan-2")
    anonymous = httpx.Client(base_url=payment_gateway_sandbox, trust_env=False)
    wrong = {"X-API-Key": "not-the-key"}

    assert (
        anonymous.post(
            "/v1/virtual-accounts", json={"kind": "loan", "reference": "x", "name": "x"}
        ).status_code
        == 401
    )
    assert anonymous.get(f"/v1/virtual-accounts/{number}", headers=wrong).status_code == 401
    assert anonymous.get("/v1/settlements/2026-12-04").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "borrower", "reference": "loan-1", "name": "Siti"},
        {"kind": "loan", "reference": "", "name": "Siti"},
        {"kind": "loan", "reference": "loan-1"},
        {"kind": "loan", "reference": "loan-1", "name": 5},
    ],
)
def test_a_malformed_virtual_account_request_is_a_400(payment_gateway, api, body):
    answer = api.post("/v1/virtual-accounts", json=body)

    assert answer.status_code == 400
    assert answer.json()["error"]


def test_a_payment_is_notified_at_once_with_a_signature_the_platform_can_verify(
    payment_gateway, api, payment_callbacks
):
    payment_gateway.set_callback_url(payment_callbacks.url)
    number = issue(api, "loan", "loan-3", name="Siti Rahmawati")

    payment = payment_gateway.pay(number, 150_000, paid_at="2026-12-04T02:30:00Z")

    assert payment["delivery"] == {
        "status": "delivered",
        "attempts": 1,
        "lastStatus": 200,
        "lastBody": {"responseCode": "200"},
        "lastError": None,
        "deliveredAt": payment["delivery"]["deliveredAt"],
        "externalId": payment["delivery"]["externalId"],
    }
    assert payment["paidAt"] == "2026-12-04T09:30:00+07:00"
    [callback] = payment_callbacks.received
    assert callback.path == CALLBACK_PATH
    assert json.loads(callback.body) == {
        "partnerServiceId": "8808",
        "customerNo": number[4:],
        "virtualAccountNo": number,
        "virtualAccountName": "Siti Rahmawati",
        "paymentRequestId": payment["paymentRequestId"],
        "paidAmount": {"value": "150000.00", "currency": "IDR"},
        "trxDateTime": "2026-12-04T09:30:00+07:00",
    }
    assert b" " not in callback.body.replace(b"Siti Rahmawati", b"")  # compact JSON
    headers = callback.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-PARTNER-ID"] == "PATUNGAN-SANDBOX"
    assert headers["X-EXTERNAL-ID"].isdigit()
    timestamp = headers["X-TIMESTAMP"]
    assert timestamp.endswith("+07:00") and datetime.fromisoformat(timestamp).microsecond == 0
    assert headers["X-SIGNATURE"] == expected_signature(
        PAYMENT_GATEWAY_SIGNING_KEY, CALLBACK_PATH, callback.body, timestamp
    )


def test_every_payment_has_its_own_reference_and_external_id(
    payment_gateway, api, payment_callbacks
):
    payment_gateway.set_callback_url(payment_callbacks.url)
    number = issue(api, "lender", "lender-1")

    first = payment_gateway.pay(number, 1_000_000)
    second = payment_gateway.pay(number, 1_000_000)

    assert first["paymentRequestId"] != second["paymentRequestId"]
    [one, two] = payment_callbacks.received
    assert one.headers["X-EXTERNAL-ID"] != two.headers["X-EXTERNAL-ID"]


def test_a_callback_the_platform_did_not_take_is_retried_until_it_is(
    payment_gateway, api, payment_callbacks
):
    payment_gateway.set_callback_url(payment_callbacks.url)
    payment_callbacks.statuses = [503, 500]
    number = issue(api, "loan", "loan-4")

    payment = payment_gateway.pay(number, 200_000)

    assert payment["delivery"]["status"] == "pending"
    assert payment["delivery"]["lastStatus"] == 503
    delivered = wait_for_delivery(payment_gateway, payment["paymentRequestId"], "delivered")
    assert delivered["delivery"]["attempts"] == 3
    first, second, third = payment_callbacks.wait_for(3)
    assert first.body == second.body == third.body
    assert len({r.headers["X-EXTERNAL-ID"] for r in (first, second, third)}) == 1


def test_a_callback_refused_every_time_ends_failed_after_the_last_attempt(
    payment_gateway, api, payment_callbacks
):
    payment_gateway.set_callback_url(payment_callbacks.url)
    payment_callbacks.statuses = [500] * PAYMENT_GATEWAY_MAX_ATTEMPTS
    number = issue(api, "loan", "loan-5")

    payment = payment_gateway.pay(number, 200_000)

    failed = wait_for_delivery(payment_gateway, payment["paymentRequestId"], "failed")
    assert failed["delivery"]["attempts"] == PAYMENT_GATEWAY_MAX_ATTEMPTS
    assert len(payment_callbacks.received) == PAYMENT_GATEWAY_MAX_ATTEMPTS


def test_an_unreachable_platform_is_a_pending_delivery_with_the_reason(payment_gateway, api):
    payment_gateway.set_callback_url("http://127.0.0.1:9/closed")
    number = issue(api, "loan", "loan-6")

    payment = payment_gateway.pay(number, 200_000)

    assert payment["delivery"]["status"] == "pending"
    assert payment["delivery"]["lastStatus"] is None
    assert payment["delivery"]["lastError"].startswith("no answer")


def test_payments_made_before_a_callback_url_is_set_are_delivered_once_it_is(
    payment_gateway, api, payment_callbacks
):
    number = issue(api, "lender", "lender-2")
    payment = payment_gateway.pay(number, 500_000)
    assert payment["delivery"] == {**payment["delivery"], "status": "pending", "attempts": 0}

    assert payment_gateway.set_callback_url(payment_callbacks.url)["waitingPayments"] == 1

    wait_for_delivery(payment_gateway, payment["paymentRequestId"], "delivered")
    [callback] = payment_callbacks.wait_for(1)
    assert json.loads(callback.body)["paymentRequestId"] == payment["paymentRequestId"]


def test_a_redelivery_sends_the_same_body_and_external_id_freshly_signed(
    payment_gateway, api, payment_callbacks
):
    payment_gateway.set_callback_url(payment_callbacks.url)
    number = issue(api, "loan", "loan-7")
    payment = payment_gateway.pay(number, 150_000)

    again = payment_gateway.redeliver(payment["paymentRequestId"])

    assert again["delivery"]["status"] == "delivered"
    assert again["delivery"]["attempts"] == 2
    first, duplicate = payment_callbacks.received
    assert duplicate.body == first.body
    assert duplicate.headers["X-EXTERNAL-ID"] == first.headers["X-EXTERNAL-ID"]
    assert duplicate.headers["X-SIGNATURE"] == expected_signature(
        PAYMENT_GATEWAY_SIGNING_KEY, CALLBACK_PATH, duplicate.body, duplicate.headers["X-TIMESTAMP"]
    )


def test_a_rotated_signing_key_signs_the_next_callbacks(payment_gateway, api, payment_callbacks):
    payment_gateway.set_callback_url(payment_callbacks.url)
    number = issue(api, "loan", "loan-8")
    payment_gateway.pay(number, 150_000)

    payment_gateway.rotate_signing_key("rotated-signing-key")
    payment_gateway.pay(number, 150_000)

    before, after = payment_callbacks.received
    for callback, key in ((before, PAYMENT_GATEWAY_SIGNING_KEY), (after, "rotated-signing-key")):
        assert callback.headers["X-SIGNATURE"] == expected_signature(
            key, CALLBACK_PATH, callback.body, callback.headers["X-TIMESTAMP"]
        )
    assert after.headers["X-SIGNATURE"] != expected_signature(
        PAYMENT_GATEWAY_SIGNING_KEY, CALLBACK_PATH, after.body, after.headers["X-TIMESTAMP"]
    )


def test_the_settlement_report_lists_a_jakarta_day_and_adds_up(payment_gateway, api):
    loan, lender = issue(api, "loan", "loan-9"), issue(api, "lender", "lender-3")
    # 4 December in Jakarta runs from 3 December 17:00 UTC to 4 December 17:00 UTC.
    on_the_day = [
        payment_gateway.pay(loan, 150_000, paid_at="2026-12-03T17:00:00Z"),
        payment_gateway.pay(lender, 2_500_000, paid_at="2026-12-04T12:00:00+07:00"),
        payment_gateway.pay(loan, 3_000, paid_at="2026-12-04T23:59:59+07:00"),  # below the fee
    ]
    payment_gateway.pay(loan, 99_000, paid_at="2026-12-04T17:00:00Z")  # 5 December in Jakarta

    report = api.get("/v1/settlements/2026-12-04").json()

    assert report["settlementDate"] == "2026-12-04"
    assert report["currency"] == "IDR"
    items = report["items"]
    assert [i["paymentRequestId"] for i in items] == [p["paymentRequestId"] for p in on_the_day]
    assert [(i["amount"], i["fee"], i["net"]) for i in items] == [
        (150_000, 4_000, 146_000),
        (2_500_000, 4_000, 2_496_000),
        (3_000, 3_000, 0),
    ]
    assert all(i["amount"] == i["fee"] + i["net"] for i in items)
    assert report["totalAmount"] == 2_653_000 == sum(i["amount"] for i in items)
    assert report["totalFee"] == 11_000
    assert report["totalNet"] == 2_642_000
    assert report["totalAmount"] == report["totalFee"] + report["totalNet"]
    assert api.get("/v1/settlements/2026-12-06").json()["items"] == []
    assert api.get("/v1/settlements/04-12-2026").status_code == 400


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"virtualAccountNo": "8808000000000000", "amount": 1000}, 404),
        ({"virtualAccountNo": "VA", "amount": 0}, 400),
        ({"virtualAccountNo": "VA", "amount": -5}, 400),
        ({"virtualAccountNo": "VA", "amount": 10.5}, 400),
        ({"virtualAccountNo": "VA", "amount": "1000"}, 400),
        ({"virtualAccountNo": "VA", "amount": 1000, "paidAt": "2026-12-04T09:30:00"}, 400),
        ({"virtualAccountNo": "VA", "amount": 1000, "paidAt": "yesterday"}, 400),
    ],
)
def test_a_payment_into_no_issued_va_or_of_no_positive_amount_is_refused(
    payment_gateway, payment_gateway_sandbox, api, body, status
):
    number = issue(api, "loan", "loan-10")
    body = {**body, "virtualAccountNo": number} if body["virtualAccountNo"] == "VA" else body

    answer = httpx.post(f"{payment_gateway_sandbox}/v1/payments", json=body, trust_env=False)

    assert answer.status_code == status
    assert payment_gateway.payments() == []


def test_an_injected_fault_makes_the_platform_api_answer_503_once(payment_gateway, api):
    payment_gateway.set_faults(fail_next=1)

    assert api.get("/v1/settlements/2026-12-04").status_code == 503
    assert api.get("/v1/settlements/2026-12-04").status_code == 200


def test_the_sandbox_starts_from_its_flags_and_stops_cleanly_on_sigterm(payment_callbacks):
    with EmulatorProcess.python_module(
        "payment_gateway-flags",
        "emulators.sandboxes.payment_gateway",
        "--port", "0",
        "--api-key", "other-key",
        "--signing-key", "other-signing-key",
        "--callback-url", payment_callbacks.url,
        "--partner-id", "PARTNER-2",
        "--fee", "2500",
    ) as process:  # fmt: skip
        url = process.ready_line.split()[2]
        headers = {"X-API-Key": "other-key"}
        number = httpx.post(
            f"{url}/v1/virtual-accounts",
            json={"kind": "loan", "reference": "loan-1", "name": "Siti"},
            headers=headers,
            trust_env=False,
        ).json()["virtualAccountNo"]
        httpx.post(
            f"{url}/v1/payments",
            json={"virtualAccountNo": number, "amount": 10_000},
            trust_env=False,
        ).raise_for_status()
        day = payment_callbacks.received[0].headers["X-TIMESTAMP"][:10]
        report = httpx.get(f"{url}/v1/settlements/{day}", headers=headers, trust_env=False).json()
        returncode = process.stop()

    [callback] = payment_callbacks.received
    assert callback.headers["X-PARTNER-ID"] == "PARTNER-2"
    assert callback.headers["X-SIGNATURE"] == expected_signature(
        "other-signing-key", CALLBACK_PATH, callback.body, callback.headers["X-TIMESTAMP"]
    )
    assert report["totalFee"] == 2_500
    assert returncode == 0
    assert "STOPPED payment_gateway" in process.tail()
