"""`python -m scripts.pay` against the payment gateway sandbox: a payer paying into a VA.

It prints the payment's reference and what became of the callback, and exits 0 when the
platform took it, 1 when it did not (or the gateway could not take the payment), 2 for
bad arguments, with a message saying what to fix.
"""

from __future__ import annotations

import httpx
import pytest

from scripts.pay import main
from tests.fixtures.payment_gateway_sandbox import PAYMENT_GATEWAY_API_KEY

pytestmark = pytest.mark.emulator


@pytest.fixture
def va(payment_gateway, payment_gateway_sandbox) -> str:
    answer = httpx.post(
        f"{payment_gateway_sandbox}/v1/virtual-accounts",
        json={"kind": "loan", "reference": "loan-1", "name": "Siti Rahmawati"},
        headers={"X-API-Key": PAYMENT_GATEWAY_API_KEY},
        trust_env=False,
    )
    return str(answer.raise_for_status().json()["virtualAccountNo"])


def test_a_delivered_payment_prints_its_reference_and_exits_0(
    payment_gateway, payment_gateway_sandbox, payment_callbacks, va, capsys
):
    payment_gateway.set_callback_url(payment_callbacks.url)

    code = main(["--va", va, "--amount", "150000", "--gateway", payment_gateway_sandbox])

    assert code == 0
    [payment] = payment_gateway.payments()
    out = capsys.readouterr().out
    assert f"Paid Rp 150,000 into {va}" in out
    assert f"payment reference: {payment['paymentRequestId']}" in out
    assert (
        'delivered to the platform (1 attempt); it answered HTTP 200 {"responseCode": "200"}' in out
    )
    assert len(payment_callbacks.received) == 1


def test_a_refused_callback_exits_1_and_says_the_gateway_retries(
    payment_gateway, payment_gateway_sandbox, payment_callbacks, va, capsys
):
    payment_gateway.set_callback_url(payment_callbacks.url)
    payment_callbacks.statuses = [500]

    code = main(["--va", va, "--amount", "150000", "--gateway", payment_gateway_sandbox])

    assert code == 1
    assert "NOT delivered yet (1 attempt, the last HTTP 500" in capsys.readouterr().out


def test_a_payment_with_no_callback_url_set_exits_1_and_says_why(
    payment_gateway, payment_gateway_sandbox, va, capsys
):
    code = main(["--va", va, "--amount", "150000", "--gateway", payment_gateway_sandbox])

    assert code == 1
    assert "the gateway has no callback URL yet" in capsys.readouterr().out


def test_a_va_never_issued_exits_1(payment_gateway, payment_gateway_sandbox, capsys):
    code = main(
        ["--va", "8808000000000001", "--amount", "150000", "--gateway", payment_gateway_sandbox]
    )

    assert code == 1
    assert "never issued virtual account 8808000000000001" in capsys.readouterr().err
    assert payment_gateway.payments() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--amount", "0"], "the amount must be a positive whole number of rupiah"),
        (["--amount", "-5"], "the amount must be a positive whole number of rupiah"),
        (["--amount", "1500.50"], "the amount must be a positive whole number of rupiah"),
        (["--amount", "1e6"], "the amount must be a positive whole number of rupiah"),
        (["--amount", "1000", "--va", "8808"], "a virtual account number is 16 digits"),
        (["--amount", "1000", "--paid-at", "2026-12-04"], "--paid-at must be an RFC 3339"),
        (["--amount", "1000", "--paid-at", "2026-12-04T09:00:00"], "with an offset"),
    ],
)
def test_bad_arguments_exit_2_with_what_to_fix(
    payment_gateway, payment_gateway_sandbox, va, capsys, args, message
):
    with pytest.raises(SystemExit) as exited:
        main(["--va", va, "--gateway", payment_gateway_sandbox, *args])

    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert payment_gateway.payments() == []


def test_no_gateway_running_exits_1_and_says_where_it_looked(capsys):
    code = main(["--va", "8808000000000001", "--amount", "1000", "--gateway", "http://127.0.0.1:9"])

    assert code == 1
    assert "no payment gateway answered at http://127.0.0.1:9" in capsys.readouterr().err
