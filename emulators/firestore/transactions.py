"""Transactions, document locks and predicate locks with wound-wait.

Contract (what makes read-write transactions serializable):

- A read-write transaction takes an *exclusive* lock on every document it
  reads by name (found or missing). For every query (and aggregation) it
  takes an exclusive lock on the query's scope (the collection or collection
  group, so read-write transactions querying it take turns) and a *predicate
  lock*: the scope and filters. At Commit it also locks every document it
  writes. Locks are held until Commit or Rollback.
- A write (a transaction's commit, a plain commit, or a batch write) conflicts
  with another transaction's exclusive lock on the written document, and with
  another transaction's predicate lock when the document matches that query
  before or after the write (an update, a delete or a phantom insert).
- Conflicts resolve by age (wound-wait): the older transaction never waits for
  a younger one, it *wounds* it (the younger loses its locks at once and learns
  it at Commit, which answers ABORTED); a younger transaction waits for an
  older one. Age is the begin order of a transaction's first attempt: a retry
  (`BeginTransaction.options.read_write.retry_transaction`) inherits it, so a
  transaction that keeps losing becomes the oldest and then wins. A freed
  lock goes to the oldest waiter.
- A retry also keeps its place in line: it *reserves* every lock its earlier
  attempts asked for (their "intents"), so younger transactions queue behind
  it instead of taking those documents and being wounded a moment later.
  Two transactions locking the same documents in opposite orders therefore
  cost at most one aborted attempt, not a cascade.
- Waits are bounded (`lock_wait_seconds`):
  after that a read proceeds without the lock (the transaction then aborts at
  Commit), a commit answers ABORTED, a plain write wounds the holders; a holder
  idle for that long is treated as abandoned and wounded.
- Besides locks, Commit re-validates every recorded read (document versions
  and query result sets) atomically with installing the writes, so even a
  wounded transaction can never commit stale reads.
- Read-only transactions take no locks and keep no server state: their id
  carries their snapshot time.
- Idle or overlong read-write transactions expire (their locks are released),
  as production's do after 60 s idle or 270 s in all; using an expired id is
  INVALID_ARGUMENT ("The referenced transaction has expired or is no longer
  valid."), which the client does not retry, unlike a wounded one's ABORTED.

Nothing here is thread-safe by itself: every method runs with the engine's
condition variable held; waits release it through `Condition.wait`.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field

from emulators.firestore.errors import invalid_argument
from emulators.firestore.queries import CompiledQuery
from emulators.firestore.resources import DatabaseId
from emulators.firestore.writes import AppliedWrite

logger = logging.getLogger(__name__)

_READ_WRITE = b"W"
_READ_ONLY = b"R"
_ID_LENGTH = 17


@dataclass(frozen=True, slots=True)
class TransactionSettings:
    lock_wait_seconds: float = 10.0
    idle_timeout_seconds: float = 60.0
    max_lifetime_seconds: float = 270.0


@dataclass(frozen=True, slots=True)
class ParsedTransactionId:
    read_only: bool
    # Read-write: the age (smaller is older). Read-only: the snapshot time in µs.
    number: int
    serial: int


def encode_id(read_only: bool, number: int, serial: int) -> bytes:
    return (
        (_READ_ONLY if read_only else _READ_WRITE)
        + number.to_bytes(8, "big")
        + serial.to_bytes(8, "big")
    )


def parse_id(raw: bytes) -> ParsedTransactionId:
    if len(raw) != _ID_LENGTH or raw[:1] not in (_READ_ONLY, _READ_WRITE):
        raise invalid_argument("Invalid transaction id: it was not issued by this emulator.")
    return ParsedTransactionId(
        raw[:1] == _READ_ONLY, int.from_bytes(raw[1:9], "big"), int.from_bytes(raw[9:], "big")
    )


@dataclass(eq=False)
class Transaction:
    """A live read-write transaction (see module doc)."""

    id: bytes
    database: DatabaseId
    priority: int
    begun_at: float
    last_active: float
    active_calls: int = 0
    doomed: str | None = None
    doc_locks: set[str] = field(default_factory=set)
    reserved: set[str] = field(default_factory=set)
    reads: dict[str, int | None] = field(default_factory=dict)
    query_reads: list[tuple[CompiledQuery, tuple[tuple[str, int], ...]]] = field(
        default_factory=list
    )

    def idle_for(self, now: float) -> float:
        return 0.0 if self.active_calls else now - self.last_active


@dataclass
class _Intent:
    """The lock keys every attempt of one logical transaction asked for."""

    keys: set[str]
    touched_at: float


@dataclass
class LockTable:
    """The locks held in one database."""

    owners: dict[str, Transaction] = field(default_factory=dict)
    waiters: dict[str, set[Transaction]] = field(default_factory=dict)
    predicates: dict[Transaction, list[CompiledQuery]] = field(default_factory=dict)


class TransactionManager:
    def __init__(self, condition: threading.Condition, settings: TransactionSettings) -> None:
        self._cv = condition
        self.settings = settings
        self._live: dict[bytes, Transaction] = {}
        self._tables: dict[DatabaseId, LockTable] = {}
        self._intents: dict[tuple[DatabaseId, int], _Intent] = {}
        self._serials = itertools.count(1)
        self._expired: dict[bytes, float] = {}  # id -> when it expired (monotonic)
        # Ages keep increasing across restarts (a client may retry an old id).
        self._ages = itertools.count(time.time_ns() // 1000)

    # ------------------------------------------------------------ lifecycle

    def table(self, database: DatabaseId) -> LockTable:
        table = self._tables.get(database)
        if table is None:
            table = self._tables[database] = LockTable()
        return table

    def begin_read_write(self, database: DatabaseId, retry_of: bytes | None) -> Transaction:
        if retry_of:
            previous = parse_id(retry_of)
            if previous.read_only:
                raise invalid_argument("retry_transaction must name a read-write transaction.")
            priority = previous.number
            for stale in [t for t in self._live.values() if t.priority == priority]:
                self.finish(stale, completed=False)  # an earlier attempt left open
        else:
            priority = next(self._ages)
        now = time.monotonic()
        txn = Transaction(
            id=encode_id(False, priority, next(self._serials)),
            database=database,
            priority=priority,
            begun_at=now,
            last_active=now,
        )
        self._live[txn.id] = txn
        intent = self._intents.get((database, priority)) if retry_of else None
        if intent is not None:
            table = self.table(database)
            for key in intent.keys:
                table.waiters.setdefault(key, set()).add(txn)
                txn.reserved.add(key)
        return txn

    def note_intent(self, database: DatabaseId, priority: int, key: str) -> None:
        """Remember that the logical transaction of this age asked for `key`."""
        intent = self._intents.get((database, priority))
        if intent is None:
            intent = self._intents[(database, priority)] = _Intent(set(), 0.0)
        intent.keys.add(key)
        intent.touched_at = time.monotonic()

    def read_only_id(self, snapshot_micros: int) -> bytes:
        return encode_id(True, snapshot_micros, next(self._serials))

    def live(self, raw_id: bytes) -> Transaction | None:
        """The live read-write transaction with this id, or None if it ended or expired."""
        txn = self._live.get(raw_id)
        if txn is not None and self._past_time_limit(txn, time.monotonic()):
            self._expire(txn, time.monotonic())
            return None
        return txn

    def has_expired(self, raw_id: bytes) -> bool:
        """Whether this id named a transaction that ended by running out of time."""
        return raw_id in self._expired

    def _past_time_limit(self, txn: Transaction, now: float) -> bool:
        settings = self.settings
        return (
            txn.idle_for(now) > settings.idle_timeout_seconds
            or now - txn.begun_at > settings.max_lifetime_seconds
        )

    def _expire(self, txn: Transaction, now: float) -> None:
        self._expired[txn.id] = now
        self.doom(txn, "expired: idle, or past the transaction time limit")

    def finish(self, txn: Transaction, *, completed: bool) -> None:
        """End an attempt and release its locks.

        `completed`: the logical transaction is over (committed, rolled back,
        failed for good), so its intents are forgotten; otherwise (aborted,
        wounded, expired) a retry will reserve them.
        """
        if txn.doomed is None:
            txn.doomed = "ended"  # a call of it still waiting for a lock gives up
        self._release(txn)
        self._live.pop(txn.id, None)
        if completed:
            self._intents.pop((txn.database, txn.priority), None)

    def doom(self, txn: Transaction, reason: str) -> None:
        """Wound or expire `txn`: it loses its locks now and aborts at Commit."""
        if txn.doomed is None:
            txn.doomed = reason
            logger.debug("transaction %s doomed: %s", txn.id.hex(), reason)
        self.finish(txn, completed=False)

    def _release(self, txn: Transaction) -> None:
        table = self._tables.get(txn.database)
        if table is not None:
            for path in txn.doc_locks:
                if table.owners.get(path) is txn:
                    del table.owners[path]
            for key in txn.reserved:
                self._unqueue(table, key, txn)
            table.predicates.pop(txn, None)
        txn.doc_locks.clear()
        txn.reserved.clear()
        self._cv.notify_all()

    @staticmethod
    def _unqueue(table: LockTable, key: str, txn: Transaction) -> None:
        queue = table.waiters.get(key)
        if queue is not None:
            queue.discard(txn)
            if not queue:
                del table.waiters[key]

    def transactions_of(self, database: DatabaseId) -> list[Transaction]:
        return [txn for txn in self._live.values() if txn.database == database]

    def expire(self, now: float) -> None:
        settings = self.settings
        for txn in list(self._live.values()):
            if self._past_time_limit(txn, now):
                self._expire(txn, now)
        forgotten = now - settings.max_lifetime_seconds
        for key in [key for key, intent in self._intents.items() if intent.touched_at < forgotten]:
            del self._intents[key]
        # Expired ids are remembered for an hour: a client may come back long after.
        for raw_id in [raw_id for raw_id, at in self._expired.items() if at < now - 3600]:
            del self._expired[raw_id]

    def forget(self, database: DatabaseId) -> None:
        """Drop every transaction and intent of a database (it was reset)."""
        for txn in self.transactions_of(database):
            self.doom(txn, "the database was reset")
        for key in [key for key in self._intents if key[0] == database]:
            del self._intents[key]

    # ------------------------------------------------------------ locks

    def lock_document(self, txn: Transaction, path: str, deadline: float) -> bool:
        """Take `txn`'s exclusive lock on `path`, waiting for older holders.

        A retry takes `path` together with every lock it reserved, all at once
        (so it never holds half of them while an older transaction holds the
        rest). Returns False when `txn` is, or becomes, doomed: the caller then
        reads without a lock and the transaction aborts at Commit.
        """
        table = self.table(txn.database)
        self.note_intent(txn.database, txn.priority, path)
        try:
            while True:
                if txn.doomed is not None:
                    return False
                if path in txn.doc_locks:
                    return True
                wanted = [path, *(key for key in txn.reserved if key != path)]
                blocker = self._first_blocker(table, txn, wanted)
                if blocker is None:
                    for key in wanted:
                        table.owners[key] = txn
                        txn.doc_locks.add(key)
                        self._unqueue(table, key, txn)
                    txn.reserved.clear()
                    return True
                key, blocking = blocker
                now = time.monotonic()
                if now >= deadline:
                    if blocking.idle_for(now) >= self.settings.lock_wait_seconds:
                        self.doom(blocking, f"wounded: idle while others waited for {key}")
                        continue
                    self.doom(txn, f"gave up waiting for the lock on {key}")
                    return False
                table.waiters.setdefault(path, set()).add(txn)
                self._cv.wait(deadline - now)
        finally:
            if path not in txn.reserved:
                self._unqueue(table, path, txn)

    def _first_blocker(
        self, table: LockTable, txn: Transaction, keys: list[str]
    ) -> tuple[str, Transaction] | None:
        """The first key `txn` cannot take now and who blocks it; younger holders are wounded."""
        for key in keys:
            owner = table.owners.get(key)
            if owner is not None and owner is not txn and txn.priority < owner.priority:
                self.doom(owner, f"wounded: an older transaction needed {key}")
                owner = None
            if owner is not None and owner is not txn:
                return key, owner
            older = [
                other
                for other in table.waiters.get(key, ())
                if other.priority < txn.priority and other.doomed is None
            ]
            if older:
                return key, min(older, key=lambda other: other.priority)
        return None

    def add_predicate(self, txn: Transaction, query: CompiledQuery) -> None:
        if txn.doomed is None:
            self.table(txn.database).predicates.setdefault(txn, []).append(query)

    def holders_in_conflict(
        self, database: DatabaseId, writer: Transaction | None, applied: list[AppliedWrite]
    ) -> set[Transaction]:
        """Other transactions whose locks the given (tentative) writes would violate."""
        table = self._tables.get(database)
        if table is None:
            return set()
        holders: set[Transaction] = set()
        for write in applied:
            if not write.changed:
                continue  # a write that changes nothing invalidates no read
            owner = table.owners.get(write.path)
            if owner is not None and owner is not writer:
                holders.add(owner)
            for txn, queries in table.predicates.items():
                if txn is writer or txn in holders:
                    continue
                touched = (write.before, write.after)
                if any(query.accepts(write.path, doc) for query in queries for doc in touched):
                    holders.add(txn)
        return holders
