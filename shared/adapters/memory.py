"""In-memory fakes of every port, for unit tests of use cases and functions.

They keep the real adapters' contracts, including the uncomfortable parts, so a
unit test fails where production would:

- `MemoryUnitOfWork` is optimistic and thread-safe: each attempt records the
  versions of what it read (documents, and whole collections for queries) and
  the commit fails — and the attempt is retried — when any of them changed
  meanwhile; after `max_attempts` it raises `TransactionContended`.
  `contend(n, writing_to=...)` makes the next `n` commits (that write to a
  collection) fail as if another writer had won.
  It refuses a read after a write inside one attempt (Firestore's rule) and any
  value Firestore cannot store (a Decimal, a date, a naive datetime...), makes
  `create` on an existing document a `Conflict`, copies every document in and
  out (no aliasing; tuples come back as lists, as from Firestore), writes
  emitted events to the outbox in the same commit and publishes them
  afterwards through its publisher.
- `RecordingPublisher` records every message; `fail_next(n)` makes the next
  `n` publish calls raise `PublishFailed`.
- `MemoryDocumentStorage` hands out `memory://` URLs and lets a test `put` the
  object a client would upload.
- `RecordingOpsChannel` keeps every ops message; `fail_next(n)` makes the next `n`
  sends raise `OpsChannelUnavailable`.
- `FixedClock`, `SequentialIds`, `MemoryCallerDirectory` are what they say.
- `fixed_key_vault()` is the real AES-GCM vault with a fixed, public test key.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from shared.adapters.crypto import AesGcmVault
from shared.domain.errors import NotFound
from shared.platform.callers import Caller, CallerDirectory, CallerRecord, Role
from shared.platform.clock import Clock, SystemClock
from shared.platform.documents import DocumentStorage, SignedUrl, StoredObject
from shared.platform.errors import PublishFailed, TransactionContended
from shared.platform.ids import IdGenerator
from shared.platform.notifications import Delivery as NotificationDelivery
from shared.platform.notifications import (
    Notification,
    NotificationRefused,
    NotifierUnavailable,
)
from shared.platform.ops_notifications import OpsChannel, OpsChannelUnavailable, OpsMessage
from shared.platform.outbox import (
    OUTBOX,
    EventPublisher,
    OutboundMessage,
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
    document_exists_conflict,
    operation_name,
)

T = TypeVar("T")


# --- clock and ids ----------------------------------------------------------------------------


class FixedClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, at: datetime | None = None) -> None:
        self._now = at or datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta
        if self._now.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        self._now = at

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


class SequentialIds(IdGenerator):
    """Deterministic ids: UUIDs 00000000-…-000000000001, 2, …; `new_id("loan")` → `loan-0001`."""

    def __init__(self) -> None:
        self._counter = 0
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def new_uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self._next())

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{self._next():04d}"


# --- publisher --------------------------------------------------------------------------------


class RecordingPublisher(EventPublisher):
    """Keeps every published message in `messages`, in order."""

    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []
        self._failures_left = 0
        self._lock = threading.Lock()

    def fail_next(self, calls: int = 1) -> None:
        """The next `calls` publish calls fail (as a Pub/Sub outage would)."""
        self._failures_left = calls

    def publish(self, messages: Sequence[OutboundMessage]) -> None:
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                raise PublishFailed("Pub/Sub unavailable (simulated)")
            self.messages.extend(messages)

    def envelopes(self, topic: str | None = None) -> list[JsonDict]:
        """The published envelopes (parsed JSON), optionally only those on `topic`."""
        return [json.loads(m.data) for m in self.messages if topic is None or m.topic == topic]


# --- unit of work -----------------------------------------------------------------------------


@dataclass
class _Stored:
    version: int
    data: JsonDict


@dataclass
class _Write:
    kind: str  # create | set | update | delete | add
    collection: str
    doc_id: str
    data: JsonDict = field(default_factory=dict)
    increments: dict[str, int] = field(default_factory=dict)


_INT64 = (-(2**63), 2**63 - 1)


def _storable(value: Any, path: str) -> Any:
    """`value` as Firestore would store and return it, or TypeError naming the field.

    Firestore takes None, bool, int64, float, str, bytes, aware datetimes, maps with
    string keys and arrays (tuples and sets come back as lists); a Decimal, a date,
    a UUID or an enum that is not a str is refused by the real client, so here too.
    """
    if value is None or isinstance(value, bool | float | str | bytes):
        return value
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise TypeError(f"{path}: {value} does not fit Firestore's 64-bit integers")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"{path}: store aware datetimes (UTC), not naive ones")
        return value
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{path}: map keys must be strings")
        return {k: _storable(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_storable(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise TypeError(
        f"{path}: Firestore cannot store {type(value).__name__}; use model_dump(mode='json')"
    )


def _document(data: JsonDict, collection: str, doc_id: str) -> JsonDict:
    if not doc_id or "/" in doc_id:
        raise ValueError(f"{collection}: document id {doc_id!r} must be non-empty, without '/'")
    return {key: _storable(value, key) for key, value in data.items()}


def _field(data: JsonDict, path: str) -> tuple[bool, Any]:
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _projected(data: JsonDict, fields: Sequence[str]) -> JsonDict:
    """`data` with only the `fields` (dotted names reach into maps) it has, as Firestore's
    projection returns a document: maps on the way keep only what was selected."""
    projected: JsonDict = {}
    for path in fields:
        if path == "__name__":
            continue
        present, value = _field(data, path)
        if not present:
            continue
        *parents, last = path.split(".")
        target = projected
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return projected


def _matches(data: JsonDict, where: Where) -> bool:
    present, value = _field(data, where.field)
    if not present:  # Firestore leaves out documents without the field, also for `!=`
        return False
    try:
        match where.op:
            case "==":
                return bool(value == where.value)
            case "!=":
                return bool(value != where.value)
            case "<":
                return bool(value < where.value)
            case "<=":
                return bool(value <= where.value)
            case ">":
                return bool(value > where.value)
            case ">=":
                return bool(value >= where.value)
            case "in":
                return value in where.value
            case "array_contains":
                return isinstance(value, list) and where.value in value
    except TypeError:  # values of different types never compare equal in Firestore queries
        return False
    raise ValueError(f"unsupported query operator {where.op!r}")


class _MemoryTransaction(BufferedTransaction):
    def __init__(self, uow: MemoryUnitOfWork, *, read_only: bool, operation: str) -> None:
        super().__init__(operation)
        self._uow = uow
        self._read_only = read_only
        self.read_versions: dict[tuple[str, str], int] = {}
        self.read_collections: dict[str, int] = {}
        self.buffered: list[_Write] = []

    def _before_write(
        self, collection: str = OUTBOX, doc_id: str = "", data: JsonDict | None = None
    ) -> None:
        if self._read_only:
            raise RuntimeError("this unit of work was opened read-only")
        super()._before_write(collection, doc_id, data)

    def _get(self, collection: str, doc_id: str) -> JsonDict | None:
        with self._uow._lock:
            stored = self._uow._documents.get(collection, {}).get(doc_id)
            self.read_versions[(collection, doc_id)] = stored.version if stored else 0
            return copy.deepcopy(stored.data) if stored else None

    def get(self, collection: str, doc_id: str) -> JsonDict | None:
        self._before_read()
        self._read(1)
        return self._get(collection, doc_id)

    def get_all(self, collection: str, doc_ids: Sequence[str]) -> dict[str, JsonDict | None]:
        self._before_read()
        self._read(len(doc_ids))
        return {doc_id: self._get(collection, doc_id) for doc_id in doc_ids}

    def get_documents(self, refs: Sequence[DocRef]) -> dict[DocRef, JsonDict | None]:
        self._before_read()
        self._read(len(refs))
        return {(collection, doc_id): self._get(collection, doc_id) for collection, doc_id in refs}

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        self._before_read()
        with self._uow._lock:
            self.read_collections[collection] = self._uow._collection_versions.get(collection, 0)
            rows = [
                Document(doc_id, copy.deepcopy(stored.data))
                for doc_id, stored in self._uow._documents.get(collection, {}).items()
                if all(_matches(stored.data, w) for w in where)
            ]
        for order in order_by:
            rows = [row for row in rows if _field(row.data, order.field)[0]]
        rows.sort(key=lambda row: row.id)
        for order in reversed(order_by):
            rows.sort(key=lambda row: _field(row.data, order.field)[1], reverse=order.descending)
        found = rows[:limit] if limit is not None else rows
        self._read(len(found))
        if fields is not None:
            return [Document(row.id, _projected(row.data, fields)) for row in found]
        return found

    def _buffer(self, kind: str, collection: str, doc_id: str, data: JsonDict | None) -> None:
        stored = _document(data, collection, doc_id) if data is not None else {}
        self._before_write(collection, doc_id, stored)
        self.buffered.append(_Write(kind, collection, doc_id, stored))

    def create(self, collection: str, doc_id: str, data: JsonDict) -> None:
        self._buffer("create", collection, doc_id, data)

    def set(self, collection: str, doc_id: str, data: JsonDict) -> None:
        self._buffer("set", collection, doc_id, data)

    def update(self, collection: str, doc_id: str, changes: JsonDict) -> None:
        self._top_level(changes)
        self._buffer("update", collection, doc_id, changes)

    def delete(self, collection: str, doc_id: str) -> None:
        self._buffer("delete", collection, doc_id, None)

    def add_to(
        self,
        collection: str,
        doc_id: str,
        increments: Mapping[str, int],
        fields: JsonDict | None = None,
    ) -> None:
        if any(isinstance(v, bool) or not isinstance(v, int) for v in increments.values()):
            raise TypeError(f"{collection}/{doc_id}: increments are integers")
        stored = _document({**(fields or {}), **increments}, collection, doc_id)
        self._before_write(collection, doc_id, stored)
        for name in increments:
            del stored[name]
        self.buffered.append(_Write("add", collection, doc_id, stored, dict(increments)))


class MemoryUnitOfWork(UnitOfWork):
    """An optimistic, thread-safe document store with Firestore's transaction rules."""

    def __init__(
        self,
        publisher: EventPublisher | None = None,
        clock: Clock | None = None,
        *,
        max_attempts: int = 5,
        retry_after_s: int = 1,
    ) -> None:
        self.publisher = publisher or RecordingPublisher()
        self.clock = clock or SystemClock()
        self.max_attempts = max_attempts
        self.retry_after_s = retry_after_s
        self.commits = 0
        self.attempts = 0
        self._documents: dict[str, dict[str, _Stored]] = {}
        self._collection_versions: dict[str, int] = {}
        self._forced_conflicts = 0
        self._contended_collection: str | None = None
        self._lock = threading.RLock()
        self.last_attempt: _MemoryTransaction | None = None

    # -- test helpers --

    def contend(self, commits: int, *, writing_to: str | None = None) -> None:
        """Make the next `commits` commit attempts fail as if a concurrent writer won
        (only attempts that write to collection `writing_to`, when given)."""
        with self._lock:
            self._forced_conflicts = commits
            self._contended_collection = writing_to

    def documents(self, collection: str) -> dict[str, JsonDict]:
        """A copy of every document in `collection`, by id."""
        with self._lock:
            return {
                doc_id: copy.deepcopy(stored.data)
                for doc_id, stored in self._documents.get(collection, {}).items()
            }

    def seed(self, collection: str, doc_id: str, data: JsonDict) -> None:
        """Put a document in place without a transaction (test setup)."""
        with self._lock:
            self._apply(_Write("set", collection, doc_id, _document(data, collection, doc_id)))

    # -- UnitOfWork --

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        operation = operation_name(work)
        if read_only:
            return work(_MemoryTransaction(self, read_only=True, operation=operation))
        for _ in range(self.max_attempts):
            self.attempts += 1
            tx = _MemoryTransaction(self, read_only=False, operation=operation)
            result = work(tx)
            tx.check_limits()
            self.last_attempt = tx
            if self._commit(tx):
                self._publish(tx.events)
                return result
        raise TransactionContended(
            f"transaction still conflicted after {self.max_attempts} attempts",
            retry_after_s=self.retry_after_s,
        )

    def read_snapshot(self, work: Callable[[DocumentTransaction], T]) -> tuple[T, datetime]:
        # No history is kept: holding the store's lock while reading makes one snapshot.
        with self._lock:
            read = _MemoryTransaction(self, read_only=True, operation=operation_name(work))
            return work(read), self.clock.now()

    def publish_pending(self, event_ids: Sequence[str]) -> None:
        pending = []
        with self._lock:
            outbox = self._documents.get(OUTBOX, {})
            for event_id in event_ids:
                stored = outbox.get(event_id)
                if stored is not None and stored.data.get("published_at") is None:
                    pending.append(message_from_outbox(event_id, stored.data))
        self._publish(pending)

    # -- internals --

    def _publish(self, messages: Sequence[OutboundMessage]) -> None:
        if not messages:
            return
        self.publisher.publish(messages)
        now = self.clock.now()
        with self._lock:
            for message in messages:
                stored = self._documents.get(OUTBOX, {}).get(message.event_id)
                if stored is not None:
                    stored.data["published_at"] = now

    def _commit(self, tx: _MemoryTransaction) -> bool:
        with self._lock:
            if self._forced_conflicts > 0 and (
                self._contended_collection is None
                or any(w.collection == self._contended_collection for w in tx.buffered)
            ):
                self._forced_conflicts -= 1
                return False
            for (collection, doc_id), version in tx.read_versions.items():
                stored = self._documents.get(collection, {}).get(doc_id)
                if (stored.version if stored else 0) != version:
                    return False
            for collection, version in tx.read_collections.items():
                if self._collection_versions.get(collection, 0) != version:
                    return False
            # Validate every write before applying any: a commit is all or nothing.
            exists = {
                (w.collection, w.doc_id): w.doc_id in self._documents.get(w.collection, {})
                for w in tx.buffered
            }
            for write in tx.buffered:
                key = (write.collection, write.doc_id)
                if write.kind == "create" and exists[key]:
                    raise document_exists_conflict(write.collection, write.doc_id)
                if write.kind == "update" and not exists[key]:
                    raise NotFound(f"{write.collection}/{write.doc_id} does not exist")
                exists[key] = write.kind != "delete"
            now = self.clock.now()
            for write in tx.buffered:
                self._apply(write)
            for message in tx.events:
                self._apply(_Write("create", OUTBOX, message.event_id, outbox_record(message, now)))
            self.commits += 1
            return True

    def _apply(self, write: _Write) -> None:
        docs = self._documents.setdefault(write.collection, {})
        stored = docs.get(write.doc_id)
        version = (stored.version if stored else 0) + 1
        if write.kind == "delete":
            if write.doc_id in docs:
                del docs[write.doc_id]
        elif write.kind == "update" and stored is not None:
            docs[write.doc_id] = _Stored(version, {**stored.data, **write.data})
        elif write.kind == "add":
            data = {**(stored.data if stored else {}), **write.data}
            for name, amount in write.increments.items():
                current = data.get(name)
                data[name] = (current if isinstance(current, int) else 0) + amount
            docs[write.doc_id] = _Stored(version, data)
        else:
            docs[write.doc_id] = _Stored(version, write.data)
        self._collection_versions[write.collection] = (
            self._collection_versions.get(write.collection, 0) + 1
        )


# --- storage ----------------------------------------------------------------------------------


class MemoryDocumentStorage(DocumentStorage):
    """Signed URLs that point nowhere, and a dict of the objects 'uploaded' with `put`."""

    def __init__(
        self, bucket: str = "documents", clock: Clock | None = None, ttl_s: int = 900
    ) -> None:
        self.bucket = bucket
        self.clock = clock or SystemClock()
        self.ttl_s = ttl_s
        self.objects: dict[str, tuple[bytes, str | None]] = {}

    def _signed(self, object_name: str, method: str, headers: dict[str, str]) -> SignedUrl:
        expires_at = self.clock.now() + timedelta(seconds=self.ttl_s)
        url = (
            f"memory://{self.bucket}/{object_name}"
            f"?X-Method={method}&X-Expires={int(expires_at.timestamp())}"
        )
        return SignedUrl(url=url, method=method, expires_at=expires_at, headers=headers)  # type: ignore[arg-type]

    def upload_url(self, object_name: str, content_type: str) -> SignedUrl:
        return self._signed(object_name, "PUT", {"Content-Type": content_type})

    def download_url(self, object_name: str) -> SignedUrl:
        return self._signed(object_name, "GET", {})

    def put(self, object_name: str, data: bytes, content_type: str | None = None) -> None:
        """What a client does with an upload URL."""
        self.objects[object_name] = (data, content_type)

    def describe(self, object_name: str) -> StoredObject | None:
        found = self.objects.get(object_name)
        if found is None:
            return None
        return StoredObject(object_name, len(found[0]), found[1])

    def read(self, object_name: str, max_bytes: int) -> bytes | None:
        found = self.objects.get(object_name)
        if found is not None and len(found[0]) > max_bytes:
            raise ValueError(f"{object_name} is larger than {max_bytes} bytes")
        return None if found is None else found[0]


# --- ops notifications ------------------------------------------------------------------------


class RecordingOpsChannel(OpsChannel):
    """Keeps every message it is given; `fail_next(n)` makes the next `n` sends fail."""

    def __init__(self) -> None:
        self.messages: list[OpsMessage] = []
        self._failures = 0

    def fail_next(self, sends: int = 1) -> None:
        self._failures = sends

    def notify(self, message: OpsMessage) -> None:
        if self._failures:
            self._failures -= 1
            raise OpsChannelUnavailable("the ops channel is unavailable (test)")
        self.messages.append(message)


class RecordingNotifier:
    """The notifications port in memory: keeps each notification once per idempotency key
    (a repeat answers the first delivery, as the service does); `fail_next(n)` makes the next
    `n` sends unavailable, `refuse(recipient)` refuses every send to that recipient."""

    def __init__(self) -> None:
        self.delivered: list[Notification] = []
        self.attempts = 0
        self._failures = 0
        self._refused: set[str] = set()

    def fail_next(self, sends: int = 1) -> None:
        self._failures = sends

    def refuse(self, recipient_id: str) -> None:
        self._refused.add(recipient_id)

    def send(self, notification: Notification) -> NotificationDelivery:
        self.attempts += 1
        if self._failures:
            self._failures -= 1
            raise NotifierUnavailable("the notification service is unavailable (test)")
        if notification.recipient_id in self._refused:
            raise NotificationRefused(f"unknown recipient {notification.recipient_id}")
        keys = [n.idempotency_key for n in self.delivered]
        if notification.idempotency_key in keys:
            return NotificationDelivery(
                f"n-{keys.index(notification.idempotency_key) + 1}", replayed=True
            )
        self.delivered.append(notification)
        return NotificationDelivery(f"n-{len(self.delivered)}")

    def to(self, recipient_id: str) -> list[Notification]:
        return [n for n in self.delivered if n.recipient_id == recipient_id]


# --- callers and personal data ----------------------------------------------------------------


class MemoryCallerDirectory(CallerDirectory):
    def __init__(self) -> None:
        self.records: dict[str, CallerRecord] = {}

    def register(self, user_id: str, role: Role, *, active: bool = True) -> Caller:
        self.records[user_id] = CallerRecord(user_id, role, active)
        return Caller(user_id, role)

    def deactivate(self, user_id: str) -> None:
        record = self.records[user_id]
        self.records[user_id] = CallerRecord(record.user_id, record.role, active=False)

    def lookup(self, user_id: str) -> CallerRecord | None:
        return self.records.get(user_id)


TEST_PII_KEY = bytes(range(32))  # public, for tests only


def fixed_key_vault() -> AesGcmVault:
    """The real vault with a fixed key everyone can see: deterministic hashes in tests."""
    return AesGcmVault(TEST_PII_KEY)
