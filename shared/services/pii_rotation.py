"""Re-encrypt the stored personal data under the current PII key (a key rotation).

Personal values are sealed only in `users/<id>`: the NIK, the NPWP, a passport, a
foreign tax id and the bank account number (`SEALED_FIELDS`). `reseal_users(uow, vault,
after=..., limit=...)` takes the next `limit` users by id after `after`, in one
transaction, and rewrites each sealed value the current key did not seal (its
ciphertext names its key) as the same value under the current key; nothing else of the
record changes, the lookup hashes included (their key does not rotate with this one).

Run page after page (`scripts/reencrypt_pii.py`): a page commits on its own, so a run
stopped anywhere resumes from the last id it reported, and running it again re-encrypts
nothing that is already current. `check=True` reads without writing and counts what is
left. A value no configured key can open (a wrong `PATUNGAN_PII_KEY_PREVIOUS`) stops the
page with `UnreadableValue`, naming the user and the field, never the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.platform.personal_data import PersonalDataVault, PiiKind
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.users import USERS

# (top-level field, field of the nested map or None, kind the value was sealed as)
SEALED_FIELDS: tuple[tuple[str, str | None, PiiKind], ...] = (
    ("nik_encrypted", None, "nik"),
    ("npwp_encrypted", None, "npwp"),
    ("passport", "encrypted", "passport"),
    ("foreign_tax_id", "encrypted", "foreign_tax_id"),
    ("bank_account", "account_number_encrypted", "account_number"),
)
# Users per transaction: a user is one small write, so a page stays far below Firestore's
# 10 MiB commit and its 270-second transaction.
MAX_PAGE = 500


class UnreadableValue(ValueError):
    """A sealed value that neither the current nor the previous key opens."""


@dataclass(frozen=True)
class ResealedPage:
    """One page: the users read, the values found under another key (re-encrypted unless
    checking), and the last user id (None: there were no more users)."""

    users: int
    values: int
    last_id: str | None


def reseal_users(
    uow: UnitOfWork,
    vault: PersonalDataVault,
    *,
    after: str | None = None,
    limit: int = 200,
    check: bool = False,
) -> ResealedPage:
    """Re-encrypt (or, with `check`, count) the stale values of the next `limit` users."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"a page is 1 to {MAX_PAGE} users, not {limit}")
    where = [Where("id", ">", after)] if after is not None else []

    def page(tx: DocumentTransaction) -> ResealedPage:
        users = tx.query(USERS, where, [OrderBy("id")], limit)
        values = 0
        for user in users:
            changes = _resealed(vault, user.id, user.data)
            values += len(changes)
            if changes and not check:
                tx.update(USERS, user.id, changes)
        return ResealedPage(len(users), values, users[-1].id if users else None)

    return uow.run(page, read_only=check)


def _resealed(vault: PersonalDataVault, user_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Each top-level field holding a stale value (one per field), with its new content."""
    changes: dict[str, Any] = {}
    for field, inner, kind in SEALED_FIELDS:
        holder = data.get(field)
        if inner is None:
            fresh = _reseal(vault, kind, holder, user_id, field)
            if fresh is not None:
                changes[field] = fresh
        elif isinstance(holder, dict):
            fresh = _reseal(vault, kind, holder.get(inner), user_id, f"{field}.{inner}")
            if fresh is not None:
                changes[field] = {**holder, inner: fresh}
    return changes


def _reseal(
    vault: PersonalDataVault, kind: PiiKind, sealed: Any, user_id: str, name: str
) -> str | None:
    if not isinstance(sealed, str):
        return None
    try:
        return vault.reseal(kind, sealed)
    except ValueError as error:
        raise UnreadableValue(f"users/{user_id} {name}: {error}") from None
