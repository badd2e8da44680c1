"""Firestore behind the `UnitOfWork` port: one real transaction per use case.

`FirestoreUnitOfWork.run(work)` wraps `work` with
`google.cloud.firestore.transactional` on `client.transaction(max_attempts=N)`:
the client begins a transaction, runs `work`, commits, and on an `Aborted`
commit (another writer touched what we read) re-runs `work` in a transaction
that keeps its place in line, up to N attempts. When they are exhausted the
client raises `ValueError("Failed to commit transaction in N attempts.")` from
the last `Aborted`; an `Aborted` raised by a *read* (lock contention) is not
retried by the client, so this adapter re-runs the whole transaction for it,
within the same budget. Either way the caller finally sees
`TransactionContended` (→ 503 with Retry-After, or a Pub/Sub redelivery).

Other translations, so no Google exception leaks into a use case:
`AlreadyExists` at commit (a `create` on an existing document) → `Conflict`;
`NotFound` (an `update` of a missing document) → `NotFound`; an unreachable
or overloaded service → `StoreUnavailable`.

Events emitted in `work` are written to `outbox/<event_id>` in the same
transaction and published after the commit; `published_at` is then set on the
outbox document (see shared/platform/outbox.py for the recovery contract).

`read_only=True` (listings, lookups) and `read_snapshot` read without a transaction,
over Firestore's gRPC API directly (`shared/adapters/firestore_rpc.py`), not through the
client library: `google.cloud.firestore` is imported on an instance's first transaction,
never for a read and never when this module is imported (docs/architecture.md#cold-start).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from shared.domain.errors import Conflict, NotFound
from shared.platform.clock import Clock, SystemClock
from shared.platform.errors import StoreUnavailable, TransactionContended
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

    from shared.adapters.firestore_rpc import FirestoreRpc
    from shared.settings import PlatformSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

_EXHAUSTED_PREFIX = "Failed to commit transaction in"
SNAPSHOT_LAG = timedelta(seconds=1)
_FIRESTORE_OPERATORS = {
    "==": "==",
    "!=": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "in": "in",
    "array_contains": "array_contains",
}


def firestore_client(settings: PlatformSettings) -> firestore.Client:
    """A Firestore client for `settings` (the emulator when FIRESTORE_EMULATOR_HOST is set).

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


class _Reads:
    """A transaction's reads through the client library. Documents read by id are decoded
    straight from the raw BatchGetDocuments responses (`_batch_get`), not through the
    client's snapshots."""

    def __init__(
        self, client: firestore.Client, transaction: Any = None, read_time: Any = None
    ) -> None:
        self._client = client
        self._transaction = transaction
        # A point-in-time reader passes `read_time` to every read (never with a transaction).
        self._at: dict[str, Any] = {"read_time": read_time} if read_time is not None else {}

    def _ref(self, collection: str, doc_id: str) -> Any:
        return self._client.collection(collection).document(doc_id)

    def _read_get(self, collection: str, doc_id: str) -> JsonDict | None:
        return self._read_documents([(collection, doc_id)])[(collection, doc_id)]

    def _read_get_all(self, collection: str, doc_ids: Sequence[str]) -> dict[str, JsonDict | None]:
        found = self._read_documents([(collection, doc_id) for doc_id in doc_ids])
        return {doc_id: data for (_, doc_id), data in found.items()}

    def _read_documents(self, refs: Sequence[DocRef]) -> dict[DocRef, JsonDict | None]:
        found: dict[DocRef, JsonDict | None] = dict.fromkeys(refs)
        if not refs:
            return found
        documents = [self._ref(collection, doc_id) for collection, doc_id in refs]
        read = _batch_get(self._client, documents, self._transaction, self._at)
        if read is not None:
            for ref, document in zip(refs, documents, strict=True):
                found[ref] = read.get(document._document_path)
            return found
        by_path = {f"{collection}/{doc_id}": (collection, doc_id) for collection, doc_id in refs}
        for snapshot in self._client.get_all(documents, transaction=self._transaction, **self._at):
            found[by_path[snapshot.reference.path]] = (
                snapshot.to_dict() if snapshot.exists else None
            )
        return found

    def _read_query(
        self,
        collection: str,
        where: Sequence[Where],
        order_by: Sequence[OrderBy],
        limit: int | None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        query = self._query(collection, where, order_by, limit, fields)
        return [
            Document(snapshot.id, _data_of(snapshot) or {})
            for snapshot in query.stream(transaction=self._transaction, **self._at)
        ]

    def _query(
        self,
        collection: str,
        where: Sequence[Where],
        order_by: Sequence[OrderBy],
        limit: int | None,
        fields: Sequence[str] | None = None,
    ) -> Any:
        from google.cloud import firestore
        from google.cloud.firestore_v1.base_query import FieldFilter

        query: Any = self._client.collection(collection)
        for condition in where:
            query = query.where(
                filter=FieldFilter(
                    condition.field, _FIRESTORE_OPERATORS[condition.op], condition.value
                )
            )
        for order in order_by:
            direction = (
                firestore.Query.DESCENDING if order.descending else firestore.Query.ASCENDING
            )
            query = query.order_by(order.field, direction=direction)
        if limit is not None:
            query = query.limit(limit)
        if fields is not None:
            # Firestore's projection; the client sends `__name__` alone for no fields.
            query = query.select(list(fields))
        return query


def _batch_get(
    client: Any, documents: list[Any], transaction: Any, at: Mapping[str, Any]
) -> dict[str, JsonDict | None] | None:
    """The data of each document (by its full resource name), decoded from the raw
    BatchGetDocuments responses, None for a missing one; None when this client version lacks
    the pieces used (the caller then reads snapshots). A point read of a large document (a
    loan) spent more of its time in `DocumentSnapshot`'s decoding and copying than on the
    wire."""
    try:
        from google.cloud.firestore_v1 import _helpers
        from google.cloud.firestore_v1.types import BatchGetDocumentsRequest

        # Built raw and wrapped: the client's dict of a request is marshalled field by field.
        raw_request = BatchGetDocumentsRequest.pb()(
            database=client._database_string,
            documents=list(dict.fromkeys(d._document_path for d in documents)),
        )
        transaction_id = _helpers.get_transaction_id(transaction)
        if transaction_id is not None:
            raw_request.transaction = transaction_id
        if "read_time" in at:
            raw_request.read_time.FromDatetime(at["read_time"])
        request = BatchGetDocumentsRequest.wrap(raw_request)
        batch_get = client._firestore_api.batch_get_documents
        metadata = client._rpc_metadata
    except AttributeError:
        return None
    found: dict[str, JsonDict | None] = {}
    for response in batch_get(request=request, metadata=metadata):
        raw = response._pb
        result = raw.WhichOneof("result")
        if result == "found":
            document = raw.found
            found[document.name] = {
                name: _decoded(value, client) for name, value in document.fields.items()
            }
        elif result == "missing":
            found[raw.missing] = None
    return found


def _decoded(value: Any, client: Any) -> Any:
    """A raw `google.firestore.v1.Value` as `DocumentSnapshot.to_dict()` gives it; the kinds
    the platform does not store (bytes, references, geo points, vectors) go through the
    client's own decoder."""
    kind = value.WhichOneof("value_type")
    if kind == "string_value":
        return value.string_value
    if kind == "integer_value":
        return value.integer_value
    if kind == "map_value":
        fields = value.map_value.fields
        if "__type__" not in fields:
            return {name: _decoded(item, client) for name, item in fields.items()}
    elif kind == "array_value":
        return [_decoded(item, client) for item in value.array_value.values]
    elif kind == "null_value":
        return None
    elif kind == "boolean_value":
        return value.boolean_value
    elif kind == "double_value":
        return value.double_value
    elif kind == "timestamp_value":
        from google.api_core.datetime_helpers import DatetimeWithNanoseconds

        return DatetimeWithNanoseconds.from_timestamp_pb(value.timestamp_value)  # type: ignore[no-untyped-call]
    from google.cloud.firestore_v1 import _helpers
    from google.cloud.firestore_v1.types import Value

    return _helpers.decode_value(Value.wrap(value), client)


def _data_of(snapshot: Any) -> JsonDict | None:
    """The snapshot's data without `to_dict()`'s deep copy: each snapshot is made for this one
    read and dropped, so nothing else can see the dict we hand out, and the copy was a fifth
    of the CPU of reading a day of ledger entries."""
    if not snapshot.exists:
        return None
    data = getattr(snapshot, "_data", None)
    return data if isinstance(data, dict) else snapshot.to_dict()


class _FirestoreTransaction(_Reads, BufferedTransaction):
    """One attempt of a transaction: reads go through it, writes are buffered until commit."""

    def __init__(self, client: firestore.Client, transaction: Any, operation: str) -> None:
        _Reads.__init__(self, client, transaction)
        BufferedTransaction.__init__(self, operation)

    def get(self, collection: str, doc_id: str) -> JsonDict | None:
        self._before_read()
        self._read(1)
        return self._read_get(collection, doc_id)

    def get_all(self, collection: str, doc_ids: Sequence[str]) -> dict[str, JsonDict | None]:
        self._before_read()
        self._read(len(doc_ids))
        return self._read_get_all(collection, doc_ids)

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
        self._transaction.create(self._ref(collection, doc_id), data)

    def set(self, collection: str, doc_id: str, data: JsonDict) -> None:
        self._before_write(collection, doc_id, data)
        self._transaction.set(self._ref(collection, doc_id), data)

    def update(self, collection: str, doc_id: str, changes: JsonDict) -> None:
        self._top_level(changes)
        self._before_write(collection, doc_id, changes)
        self._transaction.update(self._ref(collection, doc_id), changes)

    def delete(self, collection: str, doc_id: str) -> None:
        self._before_write(collection, doc_id)
        self._transaction.delete(self._ref(collection, doc_id))

    def add_to(
        self,
        collection: str,
        doc_id: str,
        increments: Mapping[str, int],
        fields: JsonDict | None = None,
    ) -> None:
        from google.cloud import firestore

        data: JsonDict = {**(fields or {}), **increments}
        self._before_write(collection, doc_id, data)
        data |= {name: firestore.Increment(amount) for name, amount in increments.items()}
        self._transaction.set(self._ref(collection, doc_id), data, merge=True)


class _FirestoreReader(DocumentTransaction):
    """Non-transactional reads for `run(..., read_only=True)` and `read_snapshot`, straight
    over Firestore's gRPC API (`FirestoreRpc`): a cold instance answering a read never loads
    the client library. Every write is refused."""

    def __init__(self, rpc: FirestoreRpc, read_time: datetime | None = None) -> None:
        self._rpc = rpc
        self._read_time = read_time

    def get(self, collection: str, doc_id: str) -> JsonDict | None:
        return self.get_documents([(collection, doc_id)])[(collection, doc_id)]

    def get_all(self, collection: str, doc_ids: Sequence[str]) -> dict[str, JsonDict | None]:
        found = self.get_documents([(collection, doc_id) for doc_id in doc_ids])
        return {doc_id: data for (_, doc_id), data in found.items()}

    def get_documents(self, refs: Sequence[DocRef]) -> dict[DocRef, JsonDict | None]:
        if not refs:
            return {}
        paths = {ref: self._rpc.document_path(*ref) for ref in refs}
        read = self._rpc.batch_get(list(paths.values()), read_time=self._read_time)
        return {ref: read.get(path) for ref, path in paths.items()}

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        return self._rpc.run_query(
            collection, where, order_by, limit, fields, read_time=self._read_time
        )

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


class FirestoreDatabase:
    """One Firestore database, as a unit of work reaches it: reads outside a transaction
    over gRPC (`rpc`), transactions through the client library (`client`), each built on
    first use, so an instance that only reads never imports the library. `make_client`
    builds the library's client (by default for `project` and `database`)."""

    def __init__(
        self,
        project: str,
        database: str = "(default)",
        emulator_host: str | None = None,
        *,
        make_client: Callable[[], firestore.Client] | None = None,
    ) -> None:
        self.project = project
        self.database = database
        self.emulator_host = emulator_host
        self._make_client = make_client or self._library_client
        self._client: firestore.Client | None = None
        self._rpc: FirestoreRpc | None = None

    @classmethod
    def of(cls, client: firestore.Client) -> FirestoreDatabase:
        """The database `client` talks to (the emulator when FIRESTORE_EMULATOR_HOST is set,
        as the client library itself reads it)."""
        return cls(
            client.project,
            getattr(client, "_database", None) or "(default)",
            os.environ.get("FIRESTORE_EMULATOR_HOST") or None,
            make_client=lambda: client,
        )

    @property
    def rpc(self) -> FirestoreRpc:
        if self._rpc is None:
            from shared.adapters.firestore_rpc import FirestoreRpc

            self._rpc = FirestoreRpc.connect(self.project, self.database, self.emulator_host)
        return self._rpc

    @property
    def client(self) -> firestore.Client:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _library_client(self) -> firestore.Client:
        from google.cloud import firestore

        return firestore.Client(project=self.project, database=self.database)


class FirestoreUnitOfWork(UnitOfWork):
    """The production unit of work (see the module docstring)."""

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

    @property
    def client(self) -> firestore.Client:
        """The client library's client, for transactions (built on first use)."""
        return self.database.client

    def _contended(self, cause: BaseException) -> TransactionContended:
        logger.warning("transaction contended after %s attempts", self.max_attempts)
        return TransactionContended(
            f"too many concurrent changes; the transaction failed {self.max_attempts} times",
            retry_after_s=self.retry_after_s,
        )

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        if read_only:  # the reader raises StoreUnavailable itself
            return work(_FirestoreReader(self.database.rpc))
        from google.api_core import exceptions as google_errors
        from google.cloud import firestore

        attempts: list[_FirestoreTransaction] = []
        operation = operation_name(work)

        def attempt(transaction: Any) -> T:
            scope = _FirestoreTransaction(self.client, transaction, operation)
            attempts.append(scope)
            result = work(scope)
            scope.check_limits()
            now = self.clock.now()
            for message in scope.events:
                transaction.create(
                    self.client.collection(OUTBOX).document(message.event_id),
                    outbox_record(message, now),
                )
            return result

        transactional = firestore.transactional(attempt)
        aborted_reads = 0
        while True:
            transaction = self.client.transaction(max_attempts=self.max_attempts)
            try:
                result: T = transactional(transaction)
                break
            except ValueError as exc:
                if str(exc).startswith(_EXHAUSTED_PREFIX):
                    raise self._contended(exc) from exc
                raise
            except google_errors.Aborted as exc:
                aborted_reads += 1
                if aborted_reads >= self.max_attempts:
                    raise self._contended(exc) from exc
            except google_errors.AlreadyExists as exc:
                raise Conflict(f"{_conflicting_path(exc)} already exists") from exc
            except google_errors.NotFound as exc:
                raise NotFound(
                    f"a document this transaction updates does not exist: {exc}"
                ) from exc
            except _unavailable_errors(google_errors) as exc:
                raise StoreUnavailable("Firestore is unavailable") from exc
        self.last_attempt = attempts[-1]
        self._publish(attempts[-1].events)
        return result

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
            batch = self.client.batch()
            now = self.clock.now()
            for message in messages:
                batch.update(
                    self.client.collection(OUTBOX).document(message.event_id),
                    {"published_at": now},
                )
            batch.commit()
        except Exception:
            # Published but not marked: a later publish_pending publishes them again, and
            # consumers deduplicate by event_id, so this costs a duplicate, never a loss.
            logger.warning("could not mark outbox events as published", exc_info=True)


def _unavailable_errors(google_errors: Any) -> tuple[type[BaseException], ...]:
    return (
        google_errors.ServiceUnavailable,
        google_errors.DeadlineExceeded,
        google_errors.InternalServerError,
        google_errors.ResourceExhausted,
        google_errors.RetryError,
    )


def _conflicting_path(exc: Exception) -> str:
    message = str(exc)
    return message.split("Document already exists:")[-1].strip() or "a document"


def firestore_unit_of_work(
    settings: PlatformSettings, publisher: EventPublisher, clock: Clock | None = None
) -> FirestoreUnitOfWork:
    """The unit of work `settings` describe, publishing through `publisher`. Nothing of
    Google's is imported or connected until its first read or transaction."""
    _check_emulator_host(settings)
    database = FirestoreDatabase(
        settings.gcp_project,
        settings.firestore_database,
        settings.firestore_emulator_host,
        make_client=lambda: firestore_client(settings),
    )
    return FirestoreUnitOfWork(
        database,
        publisher,
        clock,
        max_attempts=settings.transaction_max_attempts,
        retry_after_s=settings.retry_after_s,
    )
