"""Failures of the infrastructure, as opposed to refusals by a rule; and the two refusals of
the idempotency protocol.

A `TransientFailure` may succeed if asked again shortly: the HTTP edge answers 503 with
`Retry-After`, an event consumer raises so Pub/Sub redelivers. Rules refuse with a
`shared.domain.errors.DomainError` instead.

`IdempotencyKeyReused` and `RequestInFlight` are raised by shared/platform/idempotency.py
(and importable from there); they are declared here so that the edge maps them to
problems without loading the protocol, which only a request with an `Idempotency-Key`
runs (docs/architecture.md#cold-start).
"""

from __future__ import annotations

from shared.domain.errors import Conflict, DomainError


class TransientFailure(Exception):
    """Infrastructure that may work if asked again shortly; `retry_after_s` says when."""

    def __init__(self, detail: str, retry_after_s: int = 1) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s


class TransactionContended(TransientFailure):
    """A transaction still conflicted with concurrent writers after all its attempts."""


class StoreUnavailable(TransientFailure):
    """The document store could not be reached or timed out."""


class Busy(TransientFailure):
    """What the work needs is held by another operation that is still running (a loan's money
    plan); asked again after it finishes, the work proceeds."""


class PublishFailed(TransientFailure):
    """State was committed but its events could not be published yet (they stay pending)."""


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was already used for a different request body (422)."""

    code = "idempotency-key-reused"


class RequestInFlight(Conflict):
    """A request with this Idempotency-Key is still being processed (409)."""

    code = "request-in-flight"
