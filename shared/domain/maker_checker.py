"""Maker-checker: one person makes a request, another confirms it, and nobody decides their
own case (docs/lending-rules.md#roles-and-maker-checker).

Every staff action with weight — granting an admin role, activating a product version,
confirming a deposit, a withdrawal or a disbursement, verifying a declared figure, writing
a loan off — records who made it (`Made`), and its confirmation goes through
`require_checker`, which refuses with `Forbidden` saying why. The same rule refuses an
admin acting on a record where they are the subject: a reviewer who is also the borrower,
an `admin.super` granting themselves a role.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, ConfigDict

from shared.domain.errors import Forbidden
from shared.model import Model


class Made(Model):
    """Who made a request, and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    by: str
    at: AwareDatetime


class Checked(Model):
    """Who confirmed (or refused) a request, and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    by: str
    at: AwareDatetime


def refuse_own_case(actor: str, subject: str | None, action: str) -> None:
    """`Forbidden` when `actor` would `action` on a record whose subject they are."""
    if subject is not None and actor == subject:
        raise Forbidden(f"you cannot {action} where you are the subject; ask another admin")


def require_checker(checker: str, made: Made, *, action: str, subject: str | None = None) -> None:
    """`Forbidden` unless `checker` is neither the maker of the request nor its subject."""
    refuse_own_case(checker, subject, action)
    if checker == made.by:
        raise Forbidden(f"you made this request, so another admin must {action} it (maker-checker)")


def checked(
    checker: str, made: Made, at: datetime, *, action: str, subject: str | None = None
) -> Checked:
    """The confirmation of `made` by `checker` at `at`, once `require_checker` allows it."""
    require_checker(checker, made, action=action, subject=subject)
    return Checked(by=checker, at=at)
