"""Failures of the infrastructure, as opposed to refusals by a rule.

A `TransientFailure` may succeed if asked again shortly: the HTTP edge answers 503 with
`Retry-After`, an event consumer raises so Pub/Sub redelivers. Rules refuse with a
`shared.domain.errors.DomainError` instead.
"""

from __future__ import annotations


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
