"""The payment gateway client's contract, against scripted HTTP answers (httpx.MockTransport).

A typed answer or a typed error: 5xx, 429, timeouts and connection errors are retried up
to the attempts and then `PaymentGatewayUnavailable`; other 4xx are `PaymentGatewayRefused`
at once; an answer that is not the documented shape (or whose amounts do not add up) is
unavailable, never a half-read report. The sleep is a fake, so no test waits.
"""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from shared.adapters.payment_gateway import (
    PaymentGatewayClient,
    PaymentGatewayRefused,
    PaymentGatewayUnavailable,
    VirtualAccount,
)

VA = {"virtualAccountNo": "8808123456789012", "kind": "loan", "reference": "loan-1", "name": "Siti"}
ITEM = {
    "paymentRequestId": "pgw-1",
    "virtualAccountNo": "8808123456789012",
    "paidAt": "2026-12-04T10:00:00+07:00",
    "amount": 150_000,
    "fee": 4_000,
    "net": 146_000,
}
REPORT = {
    "settlementDate": "2026-12-04",
    "currency": "IDR",
    "items": [ITEM],
    "totalAmount": 150_000,
    "totalFee": 4_000,
    "totalNet": 146_000,
}


def scripted(*answers):
    """A client whose requests get `answers` in turn (an exception is raised, not answered)."""
    seen: list[httpx.Request] = []
    sleeps: list[float] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return httpx.Response(status, json=body)

    client = PaymentGatewayClient(
        "http://gateway.test/", "key-1", transport=httpx.MockTransport(handle), sleep=sleeps.append
    )
    return client, seen, sleeps


def test_issuing_a_virtual_account_sends_the_key_and_the_loan():
    client, seen, _ = scripted((201, VA))

    account = client.issue_virtual_account("loan", "loan-1", "Siti")

    assert account == VirtualAccount(
        number="8808123456789012", kind="loan", reference="loan-1", name="Siti"
    )
    [request] = seen
    assert (request.method, str(request.url)) == ("POST", "http://gateway.test/v1/virtual-accounts")
    assert request.headers["X-API-Key"] == "key-1"
    assert json.loads(request.content) == {"kind": "loan", "reference": "loan-1", "name": "Siti"}


def test_5xx_timeouts_and_dropped_connections_are_retried_with_backoff():
    client, seen, sleeps = scripted(
        (503, {"error": "busy"}), httpx.ReadTimeout("slow"), (200, REPORT)
    )

    report = client.settlement_report(date(2026, 12, 4))

    assert report.total_net == 146_000
    assert [str(r.url) for r in seen] == ["http://gateway.test/v1/settlements/2026-12-04"] * 3
    # 0.2 s then 0.4 s, each plus up to 0.2 s of jitter
    assert 0.2 <= sleeps[0] <= 0.4 and 0.4 <= sleeps[1] <= 0.6


def test_a_gateway_failing_every_attempt_is_unavailable():
    client, seen, _ = scripted(*[httpx.ConnectError("refused")] * 3)

    with pytest.raises(PaymentGatewayUnavailable, match=r"connection failed.*after 3 attempts"):
        client.settlement_report(date(2026, 12, 4))
    assert len(seen) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_a_4xx_is_a_refusal_asked_once(status):
    client, seen, _ = scripted((status, {"error": "kind must be one of ['loan', 'lender']"}))

    with pytest.raises(PaymentGatewayRefused, match=f"HTTP {status} kind must be") as refused:
        client.issue_virtual_account("loan", "loan-1", "Siti")
    assert refused.value.status == status
    assert len(seen) == 1


@pytest.mark.parametrize(
    "report",
    [
        {**REPORT, "totalNet": 146_001},
        {**REPORT, "items": [{**ITEM, "net": 140_000}], "totalNet": 140_000},
        {**REPORT, "items": [{**ITEM, "amount": 150_000.5}]},
        {**REPORT, "items": [{**ITEM, "paidAt": "2026-12-04T10:00:00"}]},
        {**REPORT, "currency": "USD"},
        [],
    ],
)
def test_a_report_that_is_not_the_documented_shape_is_unavailable(report):
    client, _, _ = scripted((200, report))

    with pytest.raises(PaymentGatewayUnavailable, match="malformed response"):
        client.settlement_report(date(2026, 12, 4))


def test_a_virtual_account_number_that_is_not_16_digits_is_malformed():
    client, _, _ = scripted((201, {**VA, "virtualAccountNo": "8808-1234"}))

    with pytest.raises(PaymentGatewayUnavailable, match="virtualAccountNo"):
        client.issue_virtual_account("loan", "loan-1", "Siti")
