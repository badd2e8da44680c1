"""A local sandbox standing in for the payment gateway that collects Patungan's money.

``python -m emulators.sandboxes.payment_gateway --host 127.0.0.1 --port 8092`` issues
virtual accounts (VA) to the platform, lets a developer or a test play the payer
(``POST /v1/payments``), notifies each payment at once with a signed callback (Bank
Indonesia SNAP style: HMAC-SHA512 over the method, path, body digest and timestamp),
retries a callback the platform did not take, and reports each Jakarta day's
settlement net of the gateway's fee (see README.md in this folder).
"""

from __future__ import annotations

DEFAULT_PORT = 8092
DEFAULT_API_KEY = "sandbox-gateway-key"
DEFAULT_SIGNING_KEY = "sandbox-signing-key"
DEFAULT_PARTNER_ID = "PATUNGAN-SANDBOX"
DEFAULT_FEE = 4000  # rupiah per payment, flat
DEFAULT_MAX_ATTEMPTS = 6
API_KEY_HEADER = "X-API-Key"
PARTNER_SERVICE_ID = "8808"  # the first four digits of every VA number
