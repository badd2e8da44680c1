"""Lenders' live positions, for the caps a commitment is checked against
(docs/lending-rules.md#funding).

`lender_positions/lender~<lender id>` and `lender_positions/group~<affiliate group id>`
hold `live`: what the lender (or every lender of the group together) has out, committed to
loans in funding or lent and not yet repaid. A commitment reads the lender's and the group's
documents and adds to them; a release subtracts, by increments that never read them, so a
check costs two reads however many stakes the lender has.
"""

from __future__ import annotations

from shared.platform.store import DocRef, DocumentTransaction

POSITIONS = "lender_positions"


def position_refs(lender_id: str, group_id: str | None) -> list[DocRef]:
    """The lender's position document, and their group's when they have one."""
    refs = [(POSITIONS, f"lender~{lender_id}")]
    if group_id is not None:
        refs.append((POSITIONS, f"group~{group_id}"))
    return refs


def add_to_positions(
    tx: DocumentTransaction, lender_id: str, group_id: str | None, change: int
) -> None:
    """Add `change` to the lender's (and their group's) live position, without reading it."""
    for collection, doc_id in position_refs(lender_id, group_id):
        tx.add_to(collection, doc_id, {"live": change})
