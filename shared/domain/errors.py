"""The domain's error hierarchy.

Every rule that refuses something raises one of these. The HTTP edge maps each
class to one problem type and status in one place, so a new error is a new
class here, never a string compared somewhere else.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A rule of the lending domain refused the request."""

    code: str = "domain-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(DomainError):
    """Input broke a rule; `field_errors` maps a field path to what is wrong with it."""

    code = "validation-failed"

    def __init__(self, detail: str, field_errors: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.field_errors: dict[str, str] = dict(field_errors or {})


class IllegalTransition(DomainError):
    """A state change that the current state does not allow."""

    code = "illegal-transition"

    def __init__(self, entity: str, current: str, attempted: str) -> None:
        super().__init__(f"{entity} is {current!r}; cannot {attempted}")
        self.entity = entity
        self.current = current
        self.attempted = attempted


class InsufficientFunds(DomainError):
    """A debit larger than the balance it draws on; `available` is what the account holds
    (when known), for the client to show."""

    code = "insufficient-funds"

    def __init__(
        self, detail: str, *, account: str | None = None, available: int | None = None
    ) -> None:
        super().__init__(detail)
        self.account = account
        self.available = available


class CapExceeded(DomainError):
    """A regulatory cap (OJK) or a platform limit would be breached."""

    code = "cap-exceeded"


class Forbidden(DomainError):
    """The caller is known but may not do this: their role, a deactivated account, or
    maker-checker (nobody confirms their own request or decides their own case)."""

    code = "forbidden"


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "not-found"


class Conflict(DomainError):
    """The request conflicts with existing state (a duplicate, an open application)."""

    code = "conflict"
