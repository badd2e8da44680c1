"""Errors of the HTTP edge: the request could not be read or its caller not identified.

They are not `DomainError`s: no lending rule refused anything, and an event consumer never
sees them. `shared/http/problems.py` maps each to its status.
"""

from __future__ import annotations


class EdgeError(Exception):
    """A request the edge refuses before any use case runs."""

    code = "bad-request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class MalformedRequest(EdgeError):
    """The request cannot be read at all: unparseable JSON, a missing required header."""

    code = "malformed-request"


class UnsupportedMediaType(EdgeError):
    code = "unsupported-media-type"


class PayloadTooLarge(EdgeError):
    code = "payload-too-large"


class HeaderTooLarge(EdgeError):
    """A header longer than any the platform accepts (431)."""

    code = "header-too-large"


class RouteNotFound(EdgeError):
    code = "route-not-found"


class MethodNotAllowed(EdgeError):
    code = "method-not-allowed"

    def __init__(self, detail: str, allowed: tuple[str, ...]) -> None:
        super().__init__(detail)
        self.allowed = allowed


class Unauthenticated(EdgeError):
    """No valid bearer token: missing, malformed, expired, wrong issuer/audience or signature."""

    code = "unauthenticated"


class MissingToken(Unauthenticated):
    """No `Authorization: Bearer` header at all (RFC 6750: the challenge carries no error)."""
