"""Firestore behind the `UnitOfWork` port: one real transaction per use case.

It speaks Firestore's gRPC API itself (`shared/adapters/firestore_rpc.py`), not through the
client library, which costs a cold instance more than the rest of its first request
(docs/architecture.md#cold-start). The transaction protocol is the library's own:

- `run(work)` begins a read-write transaction, runs `work` against it (reads carry the
  transaction id, so Firestore locks what was read; writes are buffered), and commits the
  writes, with one `outbox/<event_id>` document per emitted event, in one `Commit`.
- A transaction Firestore aborts, at a read (lock contention) or at the commit (another
  writer touched what was read), is run again in a new transaction that names the first
  (`retry_transaction`, so it keeps its place in line), up to `max_attempts` runs in all;
  then `TransactionContended` (→ 503 with Retry-After, or a Pub/Sub redelivery).
- A transaction that ends any other way is rolled back (best effort: Firestore also ends an
  abandoned one itself), and the error is translated so that no gRPC error reaches a use
  case: `ALREADY_EXISTS` at commit (a `create` of an existing document) → `Conflict`;
  `NOT_FOUND` (an `update` of a missing document) → `NotFound`; an unreachable or
  overloaded service → `StoreUnavailable`; anything else → `FirestoreCallFailed` (a 500).
- A commit is sent again only on the statuses that say it was not applied (`UNAVAILABLE`,
  `RESOURCE_EXHAUSTED`); a commit that timed out is `StoreUnavailable`, and the request's
  idempotency key or the event's redelivery decides what happens next.

Events emitted in `work` are published after the commit; `published_at` is then set on
their outbox documents (see shared/platform/outbox.py for the recovery contract).

`read_only=True` (listings, lookups) and `read_snapshot` (a consistent past moment, for
reports) read without a transaction.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import grpc

from shared.adapters import firestore_rpc as wire
from shared.adapters.firestore_rpc import FirestoreCallFailed, FirestoreRpc
from shared.domain.errors import Conflict, NotFound
from shared.platform.clock import Clock, SystemClock
from shared.platform.errors import TransactionContended
from shared.platform.outbox import (
    OUTBOX,
    EventPublisher,
    OutboundMessage,
    PublishableEvent,
    message_from_outbox,
    outbox_record,
)
from shared.platform.store import (
    BufferedTransaction,
    DocRef,
    Document,
    DocumentTransaction,
    JsonDict,
    OrderBy,
    UnitOfWork,
    Where,
    operation_name,
)

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.settings import PlatformSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

SNAPSHOT_LAG = timedelta(seconds=1)


def firestore_client(settings: PlatformSettings) -> firestore.Client:
    """The client library's Firestore client for `settings` (the emulator when
    FIRESTORE_EMULATOR_HOST is set), for the tools that use the library (the trainer's
    export); the platform's own reads and writes go through `FirestoreUnitOfWork`.

    The client library reads the emulator host from the environment itself; the
    settings read the same variable, and this refuses to build a client if the two
    were made to disagree.
    """
    from google.cloud import firestore

    _check_emulator_host(settings)
    return firestore.Client(project=settings.gcp_project, database=settings.firestore_database)


def _check_emulator_host(settings: PlatformSettings) -> None:
    from shared.settings import ConfigurationError

    if os.environ.get("FIRESTORE_EMULATOR_HOST") != settings.firestore_emulator_host:
        raise ConfigurationError(
            "FIRESTORE_EMULATOR_HOST in the environment differs from the settings; "
            "set it in the environment the process starts with"
        )


class FirestoreDatabase:
    """One Firestore database and the channel to it (gRPC connects on the first call)."""

    def __init__(
        self, project: str, database: str = "(default)", emulator_host: str | None = None
    ) -> None:
        self.project = project
        self.database = database
        self.emulator_host = emulator_host
        self.rpc = FirestoreRpc.connect(project, database, emulator_host)

    @classmethod
    def of(cls, client: firestore.Client) -> FirestoreDatabase:
        """The database a client library's `client` talks to: its project, database and
        emulator (which the library read from FIRESTORE_EMULATOR_HOST when the client was
        made, perhaps in an environment that is gone)."""
        return cls(client.project, client._database, client._emulator_host)


class _Reads:
    """Reads by id and by query: in a transaction, at a past moment, or as of now."""

    def __init__(
        self, rpc: FirestoreRpc, transaction: bytes | None = None, read_time: datetime | None = None
    ) -> None:
        self._rpc = rpc
        self._transaction = transaction
        self._read_time = read_time

    def _read_documents(self, refs: Sequence[DocRef]) -> dict[DocRef, JsonDict | None]:
        if not refs:
            return {}
        paths = {ref: self._rpc.document_path(*ref) for ref in refs}
        read = self._rpc.batch_get(
            list(paths.values()), transaction=self._transaction, read_time=self._read_time
        )
        return {ref: read.get(path) for ref, path in paths.items()}

    def _read_query(
        self,
        collection: str,
        where: Sequence[Where],
        order_by: Sequence[OrderBy],
        limit: int | None,
        fields: Sequence[str] | None,
    ) -> list[Document]:
        return self._rpc.run_query(
            collection,
            where,
            order_by,
            limit,
            fields,
            transaction=self._transaction,
            read_time=self._read_time,
        )


def _by_id(found: dict[DocRef, JsonDict | None]) -> dict[str, JsonDict | None]:
    return {doc_id: data for (_, doc_id), data in found.items()}


class _FirestoreTransaction(_Reads, BufferedTransaction):
    """One attempt of a transaction: reads go through it, writes are buffered until commit."""

    def __init__(self, rpc: FirestoreRpc, transaction: bytes, operation: str) -> None:
        _Reads.__init__(self, rpc, transaction)
        BufferedTransaction.__init__(self, operation)
        self.pending: list[Any] = []  # the `Write`s the commit sends, in order

    def get(self, collection: str, doc_id: str) -> JsonDict | None:
        return self.get_documents([(collection, doc_id)])[(collection, doc_id)]

    def get_all(self, collection: str, doc_ids: Sequence[str]) -> dict[str, JsonDict | None]:
        return _by_id(self.get_documents([(collection, doc_id) for doc_id in doc_ids]))

    def get_documents(self, refs: Sequence[DocRef]) -> dict[DocRef, JsonDict | None]:
        self._before_read()
        self._read(len(refs))
        return self._read_documents(refs)

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        self._before_read()
        found = self._read_query(collection, where, order_by, limit, fields)
        self._read(len(found))
        return found

    def create(self, collection: str, doc_id: str, data: JsonDict) -> None:
        self._before_write(collection, doc_id, data)
        self.pending.append(wire.create_write(self._rpc.document_path(collection, doc_id), data))

    def set(self, collection: str, doc_id: str, data: JsonDict) -> None:
        self._before_write(collection, doc_id, data)
        self.pending.append(wire.set_write(self._rpc.document_path(collection, doc_id), data))

    def update(self, collection: str, doc_id: str, changes: JsonDict) -> None:
        self._top_level(changes)
        if not changes:
            raise ValueError("update takes at least one field")
        self._before_write(collection, doc_id, changes)
        name = self._rpc.document_path(collection, doc_id)
        self.pending.append(wire.update_write(name, changes))

    def delete(self, collection: str, doc_id: str) -> None:
        self._before_write(collection, doc_id)
        self.pending.append(wire.delete_write(self._rpc.document_path(collection, doc_id)))

    def add_to(
        self,
        collection: str,
        doc_id: str,
        increments: Mapping[str, int],
        fields: JsonDict | None = None,
    ) -> None:
        self._before_write(collection, doc_id, {**(fields or {}), **increments})
        name = self._rpc.document_path(collection, doc_id)
        self.pending.append(wire.merge_write(name, fields or {}, increments))


class _FirestoreReader(_Reads, DocumentTransaction):
    """Reads outside a transaction, for `run(..., read_only=True)` and `read_snapshot`;
    every write is refused."""

    def get(self, collection: str, doc_id: str) -> JsonDict | None:
        return self._read_documents([(collection, doc_id)])[(collection, doc_id)]

    def get_all(self, collection: str, doc_ids: Sequence[str]) -> dict[str, JsonDict | None]:
        return _by_id(self._read_documents([(collection, doc_id) for doc_id in doc_ids]))

    def get_documents(self, refs: Sequence[DocRef]) -> dict[DocRef, JsonDict | None]:
        return self._read_documents(refs)

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        return self._read_query(collection, where, order_by, limit, fields)

    def _refuse(self, *_: Any) -> None:
        raise RuntimeError("this unit of work was opened read-only")

    def create(self, collection: str, doc_id: str, data: JsonDict) -> None:
        self._refuse()

    def set(self, collection: str, doc_id: str, data: JsonDict) -> None:
        self._refuse()

    def update(self, collection: str, doc_id: str, changes: JsonDict) -> None:
        self._refuse()

    def delete(self, collection: str, doc_id: str) -> None:
        self._refuse()

    def add_to(
        self,
        collection: str,
        doc_id: str,
        increments: Mapping[str, int],
        fields: JsonDict | None = None,
    ) -> None:
        self._refuse()

    def emit(self, event: PublishableEvent) -> None:
        self._refuse()

    @property
    def emitted(self) -> tuple[str, ...]:
        return ()


class FirestoreUnitOfWork(UnitOfWork):
    """The production unit of work (see the module docstring). `database` may be a client
    library `Client` (tests and tools hold one): the unit of work then talks to the same
    database over its own channel."""

    def __init__(
        self,
        database: FirestoreDatabase | firestore.Client,
        publisher: EventPublisher,
        clock: Clock | None = None,
        *,
        max_attempts: int = 5,
        retry_after_s: int = 1,
        snapshot_lag: timedelta = SNAPSHOT_LAG,
    ) -> None:
        self.database = (
            database if isinstance(database, FirestoreDatabase) else FirestoreDatabase.of(database)
        )
        self.publisher = publisher
        self.clock = clock or SystemClock()
        self.max_attempts = max_attempts
        self.retry_after_s = retry_after_s
        self.snapshot_lag = snapshot_lag
        self.last_attempt: BufferedTransaction | None = None  # what the last commit cost

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        rpc = self.database.rpc
        if read_only:
            return work(_FirestoreReader(rpc))
        operation = operation_name(work)
        first: bytes | None = None
        for _ in range(self.max_attempts):
            transaction = rpc.begin_transaction(retrying=first)
            first = first or transaction
            scope = _FirestoreTransaction(rpc, transaction, operation)
            try:
                result = work(scope)
                scope.check_limits()
                rpc.commit([*scope.pending, *self._outbox(scope)], transaction)
            except FirestoreCallFailed as exc:
                aborted = exc.code == grpc.StatusCode.ABORTED
                if not (aborted and exc.method == "Commit"):  # an aborted commit ended it
                    self._roll_back(transaction)
                if aborted:  # a read lost a lock, or another writer won: run it again
                    continue
                raise _translated(exc) from exc
            except BaseException:
                self._roll_back(transaction)
                raise
            self.last_attempt = scope
            self._publish(scope.events)
            return result
        logger.warning("transaction contended after %s attempts", self.max_attempts)
        raise TransactionContended(
            f"too many concurrent changes; the transaction failed {self.max_attempts} times",
            retry_after_s=self.retry_after_s,
        )

    def _outbox(self, scope: _FirestoreTransaction) -> list[Any]:
        """One `outbox/<event_id>` document per event emitted, created with the commit."""
        now = self.clock.now()
        return [
            wire.create_write(
                self.database.rpc.document_path(OUTBOX, message.event_id),
                outbox_record(message, now),
            )
            for message in scope.events
        ]

    def _roll_back(self, transaction: bytes) -> None:
        """Release the transaction's locks now rather than when Firestore times it out; a
        failure here changes nothing that happened, so it is only logged."""
        try:
            self.database.rpc.rollback(transaction)
        except Exception:
            logger.info("could not roll back a failed transaction", exc_info=True)

    def read_snapshot(self, work: Callable[[DocumentTransaction], T]) -> tuple[T, datetime]:
        # A moment ago on the wall clock: never ahead of Firestore's own clock, and well
        # inside the hour of versions it keeps.
        read_time = datetime.now(UTC) - self.snapshot_lag
        return work(_FirestoreReader(self.database.rpc, read_time=read_time)), read_time

    def publish_pending(self, event_ids: Sequence[str]) -> None:
        if not event_ids:
            return
        records = _FirestoreReader(self.database.rpc).get_all(OUTBOX, list(event_ids))
        pending = [
            message_from_outbox(event_id, record)
            for event_id, record in records.items()
            if record is not None and record.get("published_at") is None
        ]
        self._publish(pending)

    def _publish(self, messages: Sequence[OutboundMessage]) -> None:
        if not messages:
            return
        self.publisher.publish(messages)
        try:
            rpc = self.database.rpc
            now = self.clock.now()
            rpc.commit(
                [
                    wire.update_write(
                        rpc.document_path(OUTBOX, message.event_id), {"published_at": now}
                    )
                    for message in messages
                ]
            )
        except Exception:
            # Published but not marked: a later publish_pending publishes them again, and
            # consumers deduplicate by event_id, so this costs a duplicate, never a loss.
            logger.warning("could not mark outbox events as published", exc_info=True)


def _translated(exc: FirestoreCallFailed) -> Exception:
    if exc.code == grpc.StatusCode.ALREADY_EXISTS:
        path = exc.details.split("Document already exists:")[-1].strip() or "a document"
        return Conflict(f"{path} already exists")
    if exc.code == grpc.StatusCode.NOT_FOUND:
        return NotFound(f"a document this transaction updates does not exist: {exc.details}")
    return exc


def firestore_unit_of_work(
    settings: PlatformSettings, publisher: EventPublisher, clock: Clock | None = None
) -> FirestoreUnitOfWork:
    """The unit of work `settings` describe, publishing through `publisher`; its channel
    opens with its first read or transaction."""
    _check_emulator_host(settings)
    database = FirestoreDatabase(
        settings.gcp_project, settings.firestore_database, settings.firestore_emulator_host
    )
    return FirestoreUnitOfWork(
        database,
        publisher,
        clock,
        max_attempts=settings.transaction_max_attempts,
        retry_after_s=settings.retry_after_s,
    )
