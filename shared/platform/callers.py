"""Who is calling: roles, the verified caller, and the ports that establish them.

The HTTP edge turns a bearer token into a `Caller` through a `TokenVerifier`
(`shared/adapters/auth.py`), then asks a `CallerDirectory` (the user records, in
`shared/services/users.py`) for the caller's current role and status: the stored record,
not the token, decides what a caller may do (docs/architecture.md#authentication).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.domain.permissions import ADMIN_ROLES, ROLES, Permission, Role, permissions_of

__all__ = ["ADMIN_ROLES", "ROLES", "Caller", "CallerDirectory", "CallerRecord", "Role"]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the verified token's subject, and the role their stored record gives
    them (None: signed in, not registered — a token's own role claim grants nothing)."""

    user_id: str
    role: Role | None
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.role)

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions


class TokenVerifier(ABC):
    @abstractmethod
    def verify(self, token: str) -> Caller:
        """The caller a bearer token proves, or `shared.http.errors.Unauthenticated` saying
        why not."""


@dataclass(frozen=True)
class CallerRecord:
    """What the platform's user records say about a caller right now."""

    user_id: str
    role: Role
    active: bool


class CallerDirectory(ABC):
    """Looks up the caller's user record (deactivation and role changes take effect at once)."""

    @abstractmethod
    def lookup(self, user_id: str) -> CallerRecord | None:
        """The record, or None when the user has not registered yet."""
