"""Documents and transactions: the persistence contract every use case relies on.

Adapters implement it: `shared/adapters/firestore.py` for the cloud and the emulators,
`shared/adapters/memory.py` for unit tests.

- One use case = one call to `uow.run(work)`. `work(tx)` may be run several times (the
  store retries on contention), so it must only read and write through `tx` and must not
  have other side effects.
- Inside `work`, all reads come before all writes (Firestore's rule; the fakes enforce it
  so a unit test catches a violation).
- `tx.emit(event)` publishes an event if and only if the transaction commits (the outbox,
  `shared/platform/outbox.py`). If publishing fails the state is committed and
  `PublishFailed` is raised; `uow.publish_pending(event_ids)` publishes what is still
  pending.
- A transaction still conflicting after its attempts raises `TransactionContended`
  (HTTP: 503 with Retry-After; events: redelivery).
- Documents are JSON-like dicts (str, int, bool, None, lists, maps, aware datetimes).
  `Repository` stores pydantic models as `model_dump(mode="json")`.
- Hot documents: no transaction updates a per-platform document; platform records
  (outbox, idempotency keys, processed events) are one document per event or request.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypeVar

from pydantic import BaseModel

from shared.domain.errors import Conflict, NotFound, ValidationFailed
from shared.fields import sortable_instant
from shared.platform.limits import check_commit, check_document
from shared.platform.outbox import OUTBOX, OutboundMessage, PublishableEvent, outbox_record

JsonDict = dict[str, Any]
DocRef = tuple[str, str]
"""A document by its collection path and id: `("loans", "loan-1")`."""
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Operator = Literal["==", "!=", "<", "<=", ">", ">=", "in", "array_contains"]


@dataclass(frozen=True)
class Where:
    """One query filter: `Where("borrower_id", "==", "u-1")`."""

    field: str
    op: Operator
    value: Any


@dataclass(frozen=True)
class OrderBy:
    field: str
    descending: bool = False


class Document(NamedTuple):
    id: str
    data: JsonDict


class DocumentTransaction(ABC):
    """Reads and writes of one transaction attempt. Collections are paths like `loans`
    or `loans/L-1/documents`."""

    @abstractmethod
    def get(self, collection: str, doc_id: str) -> JsonDict | None:
        """The document's data, or None when it does not exist."""

    @abstractmethod
    def get_all(self, collection: str, doc_ids: Sequence[str]) -> dict[str, JsonDict | None]:
        """Several documents of one collection by id in one round trip."""

    @abstractmethod
    def get_documents(self, refs: Sequence[DocRef]) -> dict[DocRef, JsonDict | None]:
        """Several documents of any collections in one round trip."""

    @abstractmethod
    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Document]:
        """Documents matching every filter. Always bound queries with `limit`.

        `fields` projects each document on those fields (Firestore's `select`: dotted names
        reach into maps; a field a document lacks is left out, and `()` gives the ids with
        no data): a reader that needs a few fields of large documents does not pay for the
        rest to be sent and decoded. It is billed as the whole documents' reads."""

    @abstractmethod
    def create(self, collection: str, doc_id: str, data: JsonDict) -> None:
        """Write a new document; the commit fails with `Conflict` if it already exists."""

    @abstractmethod
    def set(self, collection: str, doc_id: str, data: JsonDict) -> None:
        """Create or replace a document."""

    @abstractmethod
    def update(self, collection: str, doc_id: str, changes: JsonDict) -> None:
        """Change top-level fields (names without dots) of an existing document (`NotFound`
        at commit if it is missing)."""

    @abstractmethod
    def delete(self, collection: str, doc_id: str) -> None:
        """Delete a document (no error if missing)."""

    @abstractmethod
    def add_to(
        self,
        collection: str,
        doc_id: str,
        increments: Mapping[str, int],
        fields: JsonDict | None = None,
    ) -> None:
        """Add `increments` to integer fields (a missing document or field counts from 0)
        and set `fields`, without reading the document: concurrent transactions adding to
        it never conflict (Firestore's increment transform)."""

    @abstractmethod
    def emit(self, event: PublishableEvent) -> None:
        """Publish `event` after this transaction commits (and only then)."""

    @property
    @abstractmethod
    def emitted(self) -> tuple[str, ...]:
        """Event ids emitted so far in this attempt."""


class BufferedTransaction(DocumentTransaction):
    """The rules every store's transaction shares, so the fake and Firestore cannot drift:
    reads before writes (an emitted event is a write: its outbox document), top-level
    field names in `update`, the events buffered for publishing after the commit, and
    Firestore's size and time limits (`shared/platform/limits.py`), checked in every
    environment. It also counts the documents read and written: the cost of an operation.

    A subclass calls `_before_read()` first in every read (then `_read(n)` with the number
    of documents it returned), `_before_write(collection, doc_id, data)` first in every
    write, `_top_level(changes)` in `update`, and `check_limits()` before it commits.
    """

    def __init__(self, operation: str = "a transaction") -> None:
        self.events: list[OutboundMessage] = []
        self.operation = operation
        self.reads = 0
        self.writes = 0
        self.request_bytes = 0
        self._wrote = False
        self._started = time.monotonic()

    def _before_read(self) -> None:
        if self._wrote:
            raise RuntimeError(
                "read after write in one transaction: Firestore requires every read first"
            )

    def _read(self, documents: int) -> None:
        self.reads += max(documents, 1)  # Firestore bills a query that finds nothing as one read

    def _before_write(
        self, collection: str = OUTBOX, doc_id: str = "", data: JsonDict | None = None
    ) -> None:
        self._wrote = True
        self.writes += 1
        self.request_bytes += check_document(self.operation, collection, doc_id, data or {})

    def check_limits(self) -> None:
        """`TransactionLimitExceeded` when this attempt breaks a Firestore limit."""
        check_commit(self.operation, self.request_bytes, time.monotonic() - self._started)

    @staticmethod
    def _top_level(changes: JsonDict) -> None:
        if any("." in key for key in changes):
            raise ValueError("update takes top-level field names (Firestore reads dots as paths)")

    def emit(self, event: PublishableEvent) -> None:
        message = OutboundMessage.from_event(event)
        self._before_write(OUTBOX, message.event_id, outbox_record(message, datetime.now(UTC)))
        self.events.append(message)

    @property
    def emitted(self) -> tuple[str, ...]:
        return tuple(message.event_id for message in self.events)


class UnitOfWork(ABC):
    """Runs one use case's reads and writes as one transaction (docs/architecture.md)."""

    @abstractmethod
    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        """Run `work` in a transaction, retrying it on contention, and return its result.

        `read_only=True` runs `work` against a non-transactional reader (writes and
        `emit` raise): use it for listings and lookups that change nothing.
        """

    @abstractmethod
    def publish_pending(self, event_ids: Sequence[str]) -> None:
        """Publish any of these outbox events that are not yet marked published."""

    def read_snapshot(self, work: Callable[[DocumentTransaction], T]) -> tuple[T, datetime]:
        """Run read-only `work` with every read at one point in time, a moment ago: one
        consistent snapshot however long the reading takes (reconciliation). Returns the
        result and that time (the database's wall-clock time, not business time)."""
        raise NotImplementedError(f"{type(self).__name__} cannot read a snapshot")


def within(field: str, start: datetime | None, end: datetime | None) -> list[Where]:
    """Filters for an `Instant` field in [start, end) (either bound may be open)."""
    filters = []
    bounds: tuple[tuple[datetime | None, Literal[">=", "<"]], ...] = ((start, ">="), (end, "<"))
    for bound, op in bounds:
        if bound is not None:
            if bound.tzinfo is None:
                raise ValidationFailed(
                    "give times with a timezone", {field: "a bound without a timezone"}
                )
            filters.append(Where(field, op, sortable_instant(bound)))
    return filters


def operation_name(work: Callable[..., Any]) -> str:
    """A transaction's name for error messages: its function, without `<locals>`."""
    name = getattr(work, "__qualname__", type(work).__name__)
    return ".".join(part for part in name.split(".") if part != "<locals>")


class Repository(Generic[M]):
    """Typed access to one collection of pydantic models inside a transaction.

    Subclass per aggregate, then use it inside `uow.run`:

        class Loans(Repository[LoanRecord]):
            collection = "loans"
            model = LoanRecord    # documents keyed by `loan.id` (see `key`)

        def submit(tx): loans = Loans(tx); ...; loans.add(loan)
    """

    collection: ClassVar[str]
    model: type[M]
    key_field: ClassVar[str] = "id"

    def __init__(self, tx: DocumentTransaction) -> None:
        self.tx = tx

    def key(self, item: M) -> str:
        return str(getattr(item, self.key_field))

    def _load(self, data: JsonDict | None) -> M | None:
        return None if data is None else self.model.model_validate(data)

    def get(self, doc_id: str) -> M | None:
        return self._load(self.tx.get(self.collection, doc_id))

    def require(self, doc_id: str) -> M:
        """The document, or `NotFound` naming the collection and id."""
        found = self.get(doc_id)
        if found is None:
            raise NotFound(f"{self.model.__name__} {doc_id!r} does not exist")
        return found

    def get_many(self, doc_ids: Sequence[str]) -> dict[str, M | None]:
        return {k: self._load(v) for k, v in self.tx.get_all(self.collection, doc_ids).items()}

    def find(
        self,
        *where: Where,
        order_by: Sequence[OrderBy] = (),
        limit: int = 100,
    ) -> list[M]:
        docs = self.tx.query(self.collection, where, order_by, limit)
        return [self.model.model_validate(doc.data) for doc in docs]

    def newest(self, *where: Where, by: str, limit: int) -> list[M]:
        """The items matching `where`, newest first by the `Instant` field `by`; the id
        orders items stamped in the same microsecond, so a page is always the same."""
        order = (OrderBy(by, descending=True), OrderBy(self.key_field, descending=True))
        return self.find(*where, order_by=order, limit=limit)

    def add(self, item: M) -> None:
        """Store a new item; the commit raises `Conflict` if its key is taken."""
        self.tx.create(self.collection, self.key(item), item.model_dump(mode="json"))

    def put(self, item: M) -> None:
        """Store an item, replacing what was there."""
        self.tx.set(self.collection, self.key(item), item.model_dump(mode="json"))

    def put_fields(self, item: M, fields: Iterable[str]) -> None:
        """Write only `fields` (top-level names) of `item` over its stored document, which
        must exist (`NotFound` at commit otherwise): the other fields stay as stored. For an
        item read in the same transaction and changed in those fields only, a partial write
        costs the store and the wire only what changed, where `put` rewrites it all."""
        names = list(dict.fromkeys(fields))
        if not names:
            raise ValueError("put_fields needs at least one field")
        data = item.model_dump(mode="json", include=set(names))
        missing = [name for name in names if name not in data]
        if missing:
            raise ValueError(f"{type(item).__name__} has no field {missing[0]!r}")
        self.tx.update(self.collection, self.key(item), data)

    def remove(self, doc_id: str) -> None:
        self.tx.delete(self.collection, doc_id)


def document_exists_conflict(collection: str, doc_id: str) -> Conflict:
    """The error every store raises when `create` meets an existing document."""
    return Conflict(f"{collection}/{doc_id} already exists")
