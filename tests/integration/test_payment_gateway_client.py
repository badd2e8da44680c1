"""The platform's payment gateway client against the payment gateway sandbox, over HTTP.

A loan's VA is issued once and asked again gets the same number; a day's settlement
report comes back typed and adding up; a wrong key is a refusal, not retried; an
injected 503 is retried; a gateway that keeps failing is unavailable.
"""

from __future__ import annotations

from datetime import date

import pytest

from shared.adapters.payment_gateway import (
    PaymentGatewayClient,
    PaymentGatewayRefused,
    PaymentGatewayUnavailable,
    SettlementItem,
)
from tests.fixtures.payment_gateway_sandbox import PAYMENT_GATEWAY_API_KEY

pytestmark = pytest.mark.emulator


@pytest.fixture
def client(payment_gateway_sandbox):
    with PaymentGatewayClient(
        payment_gateway_sandbox, PAYMENT_GATEWAY_API_KEY, timeout_s=5.0, backoff_s=0.01
    ) as made:
        yield made


def test_a_loan_s_virtual_account_is_issued_once(payment_gateway, client):
    first = client.issue_virtual_account("loan", "loan-1", "Siti Rahmawati")
    again = client.issue_virtual_account("loan", "loan-1", "Siti Rahmawati")
    lender = client.issue_virtual_account("lender", "lender-1", "Budi Santoso")

    assert again == first
    assert (first.kind, first.reference, first.name) == ("loan", "loan-1", "Siti Rahmawati")
    assert first.number.startswith("8808") and len(first.number) == 16
    assert lender.number != first.number


def test_a_day_s_settlement_report_comes_back_typed(payment_gateway, client):
    va = client.issue_virtual_account("loan", "loan-2", "Siti Rahmawati")
    paid = payment_gateway.pay(va.number, 150_000, paid_at="2026-12-04T10:00:00+07:00")
    payment_gateway.pay(va.number, 50_000, paid_at="2026-12-05T10:00:00+07:00")

    report = client.settlement_report(date(2026, 12, 4))

    assert report.settlement_date == date(2026, 12, 4)
    [item] = report.items
    assert item == SettlementItem(
        payment_request_id=paid["paymentRequestId"],
        virtual_account_no=va.number,
        paid_at=item.paid_at,
        amount=150_000,
        fee=4_000,
        net=146_000,
    )
    assert item.paid_at.isoformat() == "2026-12-04T10:00:00+07:00"
    assert (report.total_amount, report.total_fee, report.total_net) == (150_000, 4_000, 146_000)


def test_a_wrong_api_key_is_refused_and_not_retried(payment_gateway, payment_gateway_sandbox):
    with (
        PaymentGatewayClient(payment_gateway_sandbox, "wrong-key") as client,
        pytest.raises(PaymentGatewayRefused, match=r"401.*check the API key") as refused,
    ):
        client.settlement_report(date(2026, 12, 4))
    assert refused.value.status == 401


def test_an_injected_503_is_retried(payment_gateway, client):
    payment_gateway.set_faults(fail_next=2)

    report = client.settlement_report(date(2026, 12, 4))

    assert report.items == ()


def test_a_gateway_that_keeps_failing_is_unavailable(payment_gateway, client):
    payment_gateway.set_faults(fail_next=3)

    with pytest.raises(PaymentGatewayUnavailable, match=r"HTTP 503.*after 3 attempts"):
        client.issue_virtual_account("loan", "loan-3", "Siti Rahmawati")
