"""Errors as RFC 9457 problem documents (`application/problem+json`), mapped in one table.

Every exception that reaches the HTTP edge becomes a `Problem` through
`problem_for(exc)`: the nearest class in `_STATUS` along the exception's MRO
decides status and title, so a new `DomainError` subclass is a 4xx without
touching this file (a plain `DomainError` is a 422: a rule refused the
request). Only exceptions outside the table — bugs — become a 500, whose body
says nothing about the cause (the log has it).

Body members: `type` (`urn:patungan:problem:<code>`), `title`, `status`,
`detail`, plus `errors` (field path → message) for validation problems and
`current_state` / `entity` / `attempted` for an illegal transition.
Headers: `WWW-Authenticate` with a 401, `Allow` with a 405, `Retry-After` with
a 503 and with a 409 for a request still in flight.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shared.domain.errors import (
    CapExceeded,
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    InsufficientFunds,
    NotFound,
    ValidationFailed,
)
from shared.http.errors import (
    EdgeError,
    HeaderTooLarge,
    MalformedRequest,
    MethodNotAllowed,
    MissingToken,
    PayloadTooLarge,
    RouteNotFound,
    Unauthenticated,
    UnsupportedMediaType,
)
from shared.platform.errors import IdempotencyKeyReused, RequestInFlight, TransientFailure

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:patungan:problem:"
_HEADER_UNSAFE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True)
class Problem:
    """One problem document and the headers that go with it."""

    status: int
    code: str
    title: str
    detail: str
    errors: Mapping[str, str] | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.code

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = dict(self.errors)
        body.update(self.extensions)
        return body

    def json(self) -> str:
        return json.dumps(self.body(), ensure_ascii=False)


# The one table: exception class → (status, title). Looked up along the MRO, nearest first.
_STATUS: dict[type[BaseException], tuple[int, str]] = {
    MalformedRequest: (400, "Malformed request"),
    Unauthenticated: (401, "Authentication required"),
    Forbidden: (403, "Forbidden"),
    RouteNotFound: (404, "No such route"),
    NotFound: (404, "Not found"),
    MethodNotAllowed: (405, "Method not allowed"),
    RequestInFlight: (409, "Request in flight"),
    IllegalTransition: (409, "Illegal state transition"),
    InsufficientFunds: (409, "Insufficient funds"),
    Conflict: (409, "Conflict"),
    PayloadTooLarge: (413, "Payload too large"),
    UnsupportedMediaType: (415, "Unsupported media type"),
    HeaderTooLarge: (431, "Request header fields too large"),
    IdempotencyKeyReused: (422, "Idempotency-Key reused"),
    ValidationFailed: (422, "Validation failed"),
    ValidationError: (422, "Validation failed"),
    CapExceeded: (422, "Cap exceeded"),
    DomainError: (422, "Request refused"),
    EdgeError: (400, "Bad request"),
    TransientFailure: (503, "Temporarily unavailable"),
}


def status_for(exc_type: type[BaseException]) -> tuple[int, str] | None:
    """The (status, title) the table gives this exception class, or None (a bug: 500)."""
    for cls in exc_type.__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return None


def field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """Pydantic errors as `{"terms.rate_per_month": "Input should be ..."}` (no input echoed)."""
    errors: dict[str, str] = {}
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        path = ".".join(str(part) for part in error["loc"]) or "body"
        key = f"{prefix}{path}"
        message = error["msg"].removeprefix("Value error, ")
        errors[key] = f"{errors[key]}; {message}" if key in errors else message
    return errors


INTERNAL_ERROR = Problem(
    status=500,
    code="internal-error",
    title="Internal error",
    detail="Something went wrong on our side; it has been logged. Please try again later.",
)


def problem_for(exc: BaseException) -> Problem:
    """The problem document for `exc` (INTERNAL_ERROR for anything outside the table)."""
    mapped = status_for(type(exc))
    if mapped is None:
        return INTERNAL_ERROR
    status, title = mapped
    if isinstance(exc, ValidationError):
        invalid = field_errors(exc)
        return Problem(
            status,
            ValidationFailed.code,
            title,
            f"{len(invalid)} field(s) are invalid; see errors.",
            errors=invalid,
        )
    if isinstance(exc, TransientFailure):
        return Problem(
            status,
            "temporarily-unavailable",
            title,
            f"{exc.detail}. Retry after {exc.retry_after_s} s (same Idempotency-Key).",
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    assert isinstance(exc, DomainError | EdgeError)
    code = exc.code
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    errors: Mapping[str, str] | None = None
    if isinstance(exc, ValidationFailed):
        errors = exc.field_errors
    if isinstance(exc, IllegalTransition):
        extensions = {
            "entity": exc.entity,
            "current_state": exc.current,
            "attempted": exc.attempted,
        }
    if isinstance(exc, InsufficientFunds) and exc.available is not None:
        extensions = {"account": exc.account, "available": exc.available}
    if isinstance(exc, MissingToken):
        headers["WWW-Authenticate"] = 'Bearer realm="patungan"'
    elif isinstance(exc, Unauthenticated):
        # A header carries visible ASCII only (RFC 9110 field values; gunicorn encodes Latin-1).
        description = _HEADER_UNSAFE.sub("?", exc.detail).replace('"', "'")
        headers["WWW-Authenticate"] = (
            f'Bearer realm="patungan", error="invalid_token", error_description="{description}"'
        )
    if isinstance(exc, MethodNotAllowed):
        headers["Allow"] = ", ".join(exc.allowed)
    if isinstance(exc, RequestInFlight):
        headers["Retry-After"] = "1"
    return Problem(
        status, code, title, exc.detail, errors=errors, extensions=extensions, headers=headers
    )
