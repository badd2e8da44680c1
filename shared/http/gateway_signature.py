"""The payment gateway's signed callbacks, checked before anything is read from them
(docs/lending-rules.md#payments).

The gateway signs each notification in the style of Bank Indonesia's SNAP standard:

    stringToSign = METHOD ":" PATH ":" lowercase hex SHA-256(body bytes as sent) ":" X-TIMESTAMP
    X-SIGNATURE  = base64(HMAC-SHA512(key, stringToSign))

PATH is the path the gateway called (with `?query` when it has one). The body is hashed
exactly as it arrived, before any parsing, so a body altered after signing never verifies.
`X-TIMESTAMP` is RFC 3339 with an offset; one outside `WINDOW` of the platform's clock is
refused, so a captured notification cannot be replayed later. Two keys verify at once, the
current and the previous one, so that ops can rotate the key without refusing what the
gateway signed just before it switched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.http.errors import Unauthenticated

WINDOW = timedelta(minutes=5)
TIMESTAMP_HEADER = "X-TIMESTAMP"
SIGNATURE_HEADER = "X-SIGNATURE"
EXTERNAL_ID_HEADER = "X-EXTERNAL-ID"


def string_to_sign(method: str, path: str, body: bytes, timestamp: str) -> str:
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}:{path}:{digest}:{timestamp}"


def sign(key: str, method: str, path: str, body: bytes, timestamp: str) -> str:
    """The `X-SIGNATURE` the gateway sends (also how tests and the sandbox's callers sign)."""
    mac = hmac.new(key.encode(), string_to_sign(method, path, body, timestamp).encode(), "sha512")
    return base64.b64encode(mac.digest()).decode()


@dataclass(frozen=True)
class GatewaySignature:
    """Verifies a callback against every key still valid (current first, then previous)."""

    keys: Sequence[str]

    def __post_init__(self) -> None:
        if not any(self.keys):
            raise ValueError("the gateway signature needs at least one key")

    def verify(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> None:
        """Return if the callback is signed by a valid key within the window; else
        `Unauthenticated` (401) saying what is wrong, never which key was tried."""
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if not timestamp or not signature:
            raise Unauthenticated(
                f"a gateway notification carries {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}"
            )
        try:
            signed_at = datetime.fromisoformat(timestamp)
        except ValueError:
            raise Unauthenticated(f"{TIMESTAMP_HEADER} is not an RFC 3339 time") from None
        if signed_at.tzinfo is None:
            raise Unauthenticated(f"{TIMESTAMP_HEADER} must carry its UTC offset")
        if abs(now - signed_at) > WINDOW:
            raise Unauthenticated(
                f"{TIMESTAMP_HEADER} is more than {int(WINDOW.total_seconds() // 60)} minutes "
                "from now: the notification is stale or the clocks disagree"
            )
        try:
            given = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise Unauthenticated(f"{SIGNATURE_HEADER} is not base64") from None
        message = string_to_sign(method, path, body, timestamp).encode()
        for key in self.keys:
            if key and hmac.compare_digest(
                hmac.new(key.encode(), message, "sha512").digest(), given
            ):
                return
        raise Unauthenticated("the gateway signature does not verify")
