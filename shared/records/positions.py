"""Lenders' live positions, for the caps a commitment is checked against
(docs/lending-rules.md#funding).

A live position is what a lender (or every lender of an affiliate group together) has out:
committed to loans in funding, or lent and not yet repaid. A commitment reads it and adds to
it; a release and the principal a split returns take from it, by increments that never read
it, so a check costs the same however many stakes the lender has.

- A lender's own position is the `live` field of their available balance document,
  `ledger_balances/lender_available:<lender id>` (`shared/records/ledger.py`), beside its
  `balance`. Every change of a position posts to that account in the same transaction (a
  commitment debits it, a release and a split credit it), so the position is changed in the
  write the ledger makes anyway (`LedgerBook.add_beside`): it costs a split no write of its
  own, and a commitment no read of its own (it reads the balance to check it). Readers of
  balances read `balance` only, so reconciliation and the escrow identity never see it.
- An affiliate group's position is `lender_positions/group~<affiliate group id>`, since no
  ledger account is the group's: a lender in a group costs one more write wherever their
  position changes, and a commitment one more read.
"""

from __future__ import annotations

from shared.domain.ledger import AccountType
from shared.domain.movements import lender_account
from shared.platform.store import DocRef, JsonDict
from shared.records.ledger import LedgerBook, balance_ref

POSITIONS = "lender_positions"  # the affiliate groups' positions
LIVE = "live"


def position_refs(lender_id: str, group_id: str | None) -> list[DocRef]:
    """The documents holding the lender's position (their available balance) and their
    group's when they have one."""
    refs = [balance_ref(lender_account(AccountType.LENDER_AVAILABLE, lender_id))]
    if group_id is not None:
        refs.append(group_position_ref(group_id))
    return refs


def group_position_ref(group_id: str) -> DocRef:
    return (POSITIONS, f"group~{group_id}")


def live_of(data: JsonDict | None) -> int:
    """The live position a document holds (none yet: 0)."""
    return int((data or {}).get(LIVE, 0))


def add_to_positions(book: LedgerBook, lender_id: str, group_id: str | None, change: int) -> None:
    """Add `change` to the lender's (and their group's) live position, without reading it:
    the lender's in the book's write of their available balance, the group's as a write of
    its own."""
    if not change:
        return
    book.add_beside(lender_account(AccountType.LENDER_AVAILABLE, lender_id), {LIVE: change})
    if group_id is not None:
        book.tx.add_to(*group_position_ref(group_id), {LIVE: change})
