"""`python -m scripts.pay`: play a payer paying into a virtual account of the payment gateway.

    python -m scripts.pay --va 8808123456789012 --amount 150000
        [--paid-at 2026-12-04T09:30:00+07:00] [--gateway http://127.0.0.1:8092]

Pays `--amount` whole rupiah into the virtual account (VA) through the payment gateway
sandbox's payer endpoint (`POST /v1/payments`), as a borrower repaying or a lender topping
up at their bank would. The gateway notifies the platform at once with its signed
callback; this command prints the payment's reference and what became of that callback.

Exit code: 0 when the platform took the callback, 1 when it did not (refused, no answer,
no callback URL set yet: the gateway keeps retrying or waiting, see
`GET /v1/payments/<reference>`) or the gateway could not take the payment (not running,
the VA never issued), 2 for bad arguments.

The gateway is `--gateway`, else `$PATUNGAN_PAYMENT_GATEWAY_URL` (which `python3 dev.py up`
prints among its exports), else the sandbox's default port on this machine: a platform
started with `python3 dev.py up` on default ports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from typing import Any

import httpx

from emulators.sandboxes.payment_gateway import DEFAULT_PORT

DEFAULT_GATEWAY = f"http://127.0.0.1:{DEFAULT_PORT}"


def _virtual_account(text: str) -> str:
    if not (len(text) == 16 and text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"a virtual account number is 16 digits, got {text!r}")
    return text


def _rupiah(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) <= 0:
        raise argparse.ArgumentTypeError(
            f"the amount must be a positive whole number of rupiah (e.g. 150000), got {text!r}"
        )
    return int(text)


def _moment(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in text.upper():
        raise argparse.ArgumentTypeError(
            f"--paid-at must be an RFC 3339 date-time with an offset "
            f"(e.g. 2026-12-04T09:30:00+07:00), got {text!r}"
        )
    return text


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.pay",
        description="Pay into a virtual account of the local payment gateway sandbox.",
    )
    parser.add_argument("--va", required=True, type=_virtual_account, help="16 digits")
    parser.add_argument("--amount", required=True, type=_rupiah, help="whole rupiah, e.g. 150000")
    parser.add_argument(
        "--paid-at", type=_moment, help="when it was paid, RFC 3339 with an offset (default: now)"
    )
    parser.add_argument(
        "--gateway",
        default=os.environ.get("PATUNGAN_PAYMENT_GATEWAY_URL") or DEFAULT_GATEWAY,
        help=f"the sandbox's URL (default: $PATUNGAN_PAYMENT_GATEWAY_URL or {DEFAULT_GATEWAY})",
    )
    return parser.parse_args(argv)


def describe_delivery(delivery: dict[str, Any]) -> str:
    """What became of the payment's callback, in a sentence."""
    status, attempts = delivery["status"], delivery["attempts"]
    tries = f"{attempts} attempt{'' if attempts == 1 else 's'}"
    answer = _answer(delivery)
    if status == "delivered":
        return f"delivered to the platform ({tries}); it answered {answer}"
    if attempts == 0:
        return (
            "not sent: the gateway has no callback URL yet; it sends the callback once the "
            "platform sets one (PUT /admin/callback-url)"
        )
    if status == "pending":
        return f"NOT delivered yet ({tries}, the last {answer}); the gateway retries with backoff"
    return f"NOT delivered: every attempt failed ({tries}, the last {answer})"


def _answer(delivery: dict[str, Any]) -> str:
    if delivery["lastStatus"] is None:
        return delivery.get("lastError") or "no answer"
    body = delivery["lastBody"]
    shown = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return f"HTTP {delivery['lastStatus']} {shown[:300]}".rstrip()


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    gateway = args.gateway.rstrip("/")
    body: dict[str, Any] = {"virtualAccountNo": args.va, "amount": args.amount}
    if args.paid_at:
        body["paidAt"] = args.paid_at
    try:
        answer = httpx.post(f"{gateway}/v1/payments", json=body, trust_env=False, timeout=30)
    except httpx.TransportError as exc:
        print(
            f"error: no payment gateway answered at {gateway} ({type(exc).__name__}); "
            "is the platform up (`python3 dev.py up`), or is it elsewhere (--gateway URL)?",
            file=sys.stderr,
        )
        return 1
    if answer.status_code == httpx.codes.NOT_FOUND:
        print(
            f"error: the gateway at {gateway} never issued virtual account {args.va}",
            file=sys.stderr,
        )
        return 1
    if answer.status_code != httpx.codes.CREATED:
        print(
            f"error: the gateway refused the payment: HTTP {answer.status_code} {answer.text}",
            file=sys.stderr,
        )
        return 2 if answer.status_code == httpx.codes.BAD_REQUEST else 1
    payment = answer.json()
    print(f"Paid Rp {payment['amount']:,} into {payment['virtualAccountNo']}")
    print(f"  payment reference: {payment['paymentRequestId']}")
    print(f"  paid at:           {payment['paidAt']}")
    print(f"  callback:          {describe_delivery(payment['delivery'])}")
    return 0 if payment["delivery"]["status"] == "delivered" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
