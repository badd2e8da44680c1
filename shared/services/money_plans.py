"""Running a stored money plan over many lenders, chunk by chunk
(`shared/records/money_plans.py` says what a plan is).

`run_plan` runs every chunk from the plan's cursor, each in its own transaction, and then the
plan's last step. A chunk transaction reads the plan and does nothing if its cursor has moved
past the chunk (another run did it), so running a plan twice, or two runs at once, posts each
chunk once. The chunk's entry id is fixed by the plan, so even a chunk whose commit reached
Firestore but whose answer was lost cannot post twice.

Every chunk moves each of its lenders' stakes at once: one journal entry with a pair of
postings per lender, which keeps a chunk of 200 lenders far inside Firestore's limits
(about 200 reads and 600 writes, well under 10 MiB). A plan that changes the lenders' live
positions (a release, a split: `positions`) changes each lender's in the write of their
available balance that the chunk's entry makes anyway (`shared/records/positions.py`), and
a group's in one more write per lender in a group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from shared.domain.errors import Conflict
from shared.domain.ledger import AccountId, AccountType, JournalEntry, Posting
from shared.domain.movements import lender_account
from shared.platform.store import DocRef, DocumentTransaction, JsonDict, UnitOfWork
from shared.records.ledger import LedgerBook
from shared.records.money_plans import MONEY_PLANS, MoneyPlanRecord, MoneyPlans
from shared.records.participations import (
    PARTICIPATIONS,
    ParticipationRecord,
    Participations,
    participation_id,
)
from shared.records.positions import add_to_positions

CHUNK_LENDERS = 200

Stakes = Mapping[str, ParticipationRecord]
# Builds a chunk's entry from its stakes (lender id -> participation), or None for a chunk
# that only records something per lender (a write-off's losses).
ChunkEntry = Callable[[MoneyPlanRecord, str, Stakes, datetime], JournalEntry | None]
StakeChange = Callable[[ParticipationRecord, datetime], ParticipationRecord]
Finish = Callable[[DocumentTransaction, MoneyPlanRecord], None]
# What else a chunk writes for its lenders (a split's per-lender receipts).
ChunkRecord = Callable[[DocumentTransaction, MoneyPlanRecord, Stakes, datetime], None]
# What a chunk adds to each of its lenders' live positions (negative: takes from them).
PositionChanges = Callable[[MoneyPlanRecord, Stakes], Mapping[str, int]]


def stakes_moved(
    plan: MoneyPlanRecord,
    entry_id: str,
    stakes: Stakes,
    at: datetime,
    *,
    to: AccountId | None,
    memo: str,
) -> JournalEntry:
    """Each lender's committed stake moved: back to their available balance (`to=None`), or
    all of them to one account of the loan (`to`)."""
    postings: list[Posting] = []
    for lender_id, stake in stakes.items():
        committed = lender_account(AccountType.LENDER_COMMITTED, lender_id)
        postings.append(Posting.debit(committed, stake.committed))
        if to is None:
            available = lender_account(AccountType.LENDER_AVAILABLE, lender_id)
            postings.append(Posting.credit(available, stake.committed))
    if to is not None:
        postings.append(Posting.credit(to, sum(s.committed for s in stakes.values())))
    return JournalEntry(entry_id, at, tuple(postings), memo)


def run_plan(
    uow: UnitOfWork,
    plan_id: str,
    *,
    entry: ChunkEntry,
    change: StakeChange | None,
    finish: Finish,
    now: Callable[[], datetime],
    positions: PositionChanges | None = None,
    record: ChunkRecord | None = None,
) -> MoneyPlanRecord:
    """Run the plan from its cursor to the end, then its last step; the plan as it ends.
    `positions` says what each lender's live position gains or loses (a release: the stake
    committed; a split: the principal returned). `change` rewrites each stake (None:
    `record` writes the stakes itself, each document once)."""
    plan = uow.run(lambda tx: _plan(tx, plan_id), read_only=True)
    for index in range(plan.cursor, plan.chunk_count):

        def chunk(tx: DocumentTransaction, index: int = index) -> None:
            _chunk(tx, plan_id, index, entry, change, now(), positions=positions, record=record)

        uow.run(chunk)

    def last(tx: DocumentTransaction) -> MoneyPlanRecord:
        current = _plan(tx, plan_id)
        if current.state == "done":
            return current
        if current.cursor < current.chunk_count:
            raise Conflict(f"plan {plan_id} has chunks left to run; run it again")
        finish(tx, current)
        done = current.model_copy(update={"state": "done", "updated_at": now()})
        MoneyPlans(tx).put(done)
        return done

    return uow.run(last)


def _plan(tx: DocumentTransaction, plan_id: str) -> MoneyPlanRecord:
    plan = MoneyPlans(tx).get(plan_id)
    if plan is None:
        raise Conflict(f"there is no money plan {plan_id!r}")
    return plan


def _chunk(
    tx: DocumentTransaction,
    plan_id: str,
    index: int,
    entry: ChunkEntry,
    change: StakeChange | None,
    at: datetime,
    *,
    positions: PositionChanges | None,
    record: ChunkRecord | None,
) -> None:
    plan = _plan(tx, plan_id)
    if plan.cursor != index:
        return  # another run did this chunk
    lenders = plan.chunk(index)
    ids = [participation_id(plan.loan_id, lender) for lender in lenders]
    found_stakes = tx.get_all(PARTICIPATIONS, ids)
    stakes = {
        lender: ParticipationRecord.model_validate(_required(found_stakes[pid], pid))
        for lender, pid in zip(lenders, ids, strict=True)
    }
    posted = entry(plan, plan.entry_id(index), stakes, at)
    refs = LedgerBook.refs_to_read([posted]) if posted is not None else []
    balances: Mapping[DocRef, JsonDict | None] = tx.get_documents(refs) if refs else {}
    with LedgerBook(tx) as book:
        if posted is not None:
            book.post(posted, balances, source=f"{MONEY_PLANS}/{plan_id}")
        changes = positions(plan, stakes) if positions is not None else {}
        for lender_id, amount in changes.items():
            add_to_positions(book, lender_id, stakes[lender_id].affiliate_group_id, amount)
    participations = Participations(tx)
    for stake in stakes.values():
        if change is not None:
            participations.put(change(stake, at))
    if record is not None:
        record(tx, plan, stakes, at)
    MoneyPlans(tx).put(plan.model_copy(update={"cursor": index + 1, "updated_at": at}))


def _required(data: JsonDict | None, participation: str) -> JsonDict:
    if data is None:
        raise Conflict(f"participation {participation} of a money plan is missing")
    return data
