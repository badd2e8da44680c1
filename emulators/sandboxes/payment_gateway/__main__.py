"""``python -m emulators.sandboxes.payment_gateway``: run the payment gateway sandbox until stopped.

Stops on SIGTERM, Ctrl-C, or when the process that started it exits.
Prints ``READY payment_gateway http://HOST:PORT`` once it accepts connections, and
``STOPPED payment_gateway`` after a clean shutdown. See README.md in this folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

from emulators.sandboxes.payment_gateway import (
    DEFAULT_API_KEY,
    DEFAULT_FEE,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_PARTNER_ID,
    DEFAULT_PORT,
    DEFAULT_SIGNING_KEY,
)
from emulators.sandboxes.payment_gateway.server import (
    Gateway,
    PaymentGatewaySandbox,
    check_callback_url,
)
from emulators.supervisor import stop_requested

CALLBACK_JOIN_S = 11.0  # a callback in flight ends within its 10 s timeout


def _callback_url(value: str) -> str:
    try:
        return check_callback_url(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {number}")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.sandboxes.payment_gateway", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("PAYMENT_GATEWAY_API_KEY", DEFAULT_API_KEY),
        help="the key the platform's API accepts in X-API-Key (env PAYMENT_GATEWAY_API_KEY)",
    )
    parser.add_argument(
        "--signing-key",
        default=os.environ.get("PAYMENT_GATEWAY_SIGNING_KEY", DEFAULT_SIGNING_KEY),
        help="the HMAC-SHA512 key signing callbacks (env PAYMENT_GATEWAY_SIGNING_KEY)",
    )
    parser.add_argument(
        "--callback-url",
        type=_callback_url,
        default=_callback_url(os.environ.get("PAYMENT_GATEWAY_CALLBACK_URL", "")),
        help="where payments are notified (env PAYMENT_GATEWAY_CALLBACK_URL); empty: kept "
        "until one is set with PUT /admin/callback-url",
    )
    parser.add_argument("--partner-id", default=DEFAULT_PARTNER_ID, help="X-PARTNER-ID")
    parser.add_argument(
        "--fee", type=_non_negative, default=DEFAULT_FEE, help="flat fee per payment, rupiah"
    )
    parser.add_argument(
        "--max-attempts",
        type=_positive,
        default=DEFAULT_MAX_ATTEMPTS,
        help="callback attempts per payment, the first included",
    )
    parser.add_argument(
        "--retry-backoff-ms",
        type=_positive,
        default=1000,
        help="wait before the first retry of a callback, doubling after each",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    gateway = Gateway(
        signing_key=args.signing_key,
        callback_url=args.callback_url,
        partner_id=args.partner_id,
        fee=args.fee,
        max_attempts=args.max_attempts,
        backoff_s=args.retry_backoff_ms / 1000,
    )
    server = PaymentGatewaySandbox(
        (args.host, args.port), api_key=args.api_key, gateway=gateway, verbose=args.verbose
    )
    stop = stop_requested()
    serving = threading.Thread(
        target=server.serve_forever, name="payment-gateway-sandbox", daemon=True
    )
    retrying = threading.Thread(
        target=gateway.run_retries, name="payment-gateway-retries", daemon=True
    )
    serving.start()
    retrying.start()
    print(f"READY payment_gateway {server.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        gateway.stop()  # ends the retry thread and releases requests held by delays
        server.shutdown()
        server.server_close()
        retrying.join(timeout=CALLBACK_JOIN_S)
        print("STOPPED payment_gateway", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
