"""The ports every use case talks through, and the small types they exchange.

A use case (a function in `shared/services`) receives the ports it needs and
never constructs them. Adapters implement them: `shared/adapters/firestore.py`,
`pubsub.py`, `storage.py`, `auth.py`, `crypto.py` for the cloud and the local
emulators; `shared/adapters/memory.py` for unit tests.

Persistence contract (`UnitOfWork`, `DocumentTransaction`, `Repository`):
- One use case = one call to `uow.run(work)`. `work(tx)` may be run several
  times (the store retries on contention), so it must only read and write
  through `tx` and must not have other side effects.
- Inside `work`, all reads come before all writes (Firestore's rule; the fakes
  enforce it so a unit test catches a violation).
- `tx.emit(event)` publishes an event *if and only if* the transaction commits:
  the event is written to an outbox in the same transaction and published right
  after the commit (DESIGN §2). If publishing fails the state is committed and
  `PublishFailed` is raised; `uow.publish_pending(event_ids)` publishes what is
  still pending (the idempotency and event-dedup layers call it on a repeat).
- A transaction still conflicting after its attempts raises
  `TransactionContended` (HTTP: 503 with Retry-After; events: redelivery).
- Documents are JSON-like dicts (str, int, bool, None, lists, maps, aware
  datetimes). `Repository` stores pydantic models as `model_dump(mode="json")`.
- Hot documents: nothing here updates a per-platform document per transaction;
  platform records (outbox, idempotency keys, processed events) are one document
  per event or request.
"""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from shared.domain.errors import Conflict, DomainError, NotFound
from shared.domain.identity import mask_nik
from shared.log import current_traceparent

if TYPE_CHECKING:  # shared.domain.scoring costs ~90 ms to import; HTTP functions never need it
    from shared.domain.scoring import ProviderData

JsonDict = dict[str, Any]
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Role = Literal["borrower", "lender", "admin.credit", "admin.finance", "admin.super"]
ROLES: tuple[Role, ...] = ("borrower", "lender", "admin.credit", "admin.finance", "admin.super")
ADMIN_ROLES: tuple[Role, ...] = ("admin.credit", "admin.finance", "admin.super")

# Collections the platform plumbing owns (one document per event / request, never hot).
OUTBOX = "outbox"
OUTBOX_RETENTION = timedelta(days=31)
IDEMPOTENCY_KEYS = "idempotency_keys"
PROCESSED_EVENTS = "processed_events"


# --- errors of the ports ----------------------------------------------------------------------


class Unauthenticated(DomainError):
    """No valid bearer token: missing, malformed, expired, wrong issuer/audience or signature."""

    code = "unauthenticated"


class Forbidden(DomainError):
    """The caller is known but may not do this (role, deactivated account, maker-checker)."""

    code = "forbidden"


class TransientFailure(Exception):
    """Infrastructure that may work if asked again shortly; `retry_after_s` says when."""

    def __init__(self, detail: str, retry_after_s: int = 1) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s


class TransactionContended(TransientFailure):
    """A transaction still conflicted with concurrent writers after all its attempts."""


class StoreUnavailable(TransientFailure):
    """The document store could not be reached or timed out."""


class PublishFailed(TransientFailure):
    """State was committed but its events could not be published yet (they stay pending)."""


# --- events -----------------------------------------------------------------------------------


class PublishableEvent(Protocol):
    """What the outbox needs from an event envelope (see shared/domain/events.py)."""

    @property
    def event_id(self) -> Any: ...  # a UUID (or its string)

    @property
    def type(self) -> str: ...

    @property
    def entity(self) -> str: ...

    def model_dump_json(self) -> str: ...


@dataclass(frozen=True)
class OutboundMessage:
    """One Pub/Sub message: the envelope JSON plus the attributes subscribers filter on
    (`event_id`, `type`, `entity`, `schema_version`) and the producer's `traceparent`.

    The topic is the event type (`loan.submitted`), as declared in shared/topology.py.
    """

    event_id: str
    topic: str
    data: bytes
    attributes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: PublishableEvent) -> OutboundMessage:
        attributes = {
            "event_id": str(event.event_id),
            "type": event.type,
            "entity": event.entity,
        }
        schema_version = getattr(event, "schema_version", None)
        if schema_version is not None:
            attributes["schema_version"] = str(schema_version)
        traceparent = current_traceparent()
        if traceparent is not None:  # the consumer's logs join the producer's trace
            attributes["traceparent"] = traceparent
        return cls(
            event_id=str(event.event_id),
            topic=event.type,
            data=event.model_dump_json().encode(),
            attributes=attributes,
        )


def outbox_record(message: OutboundMessage, now: datetime) -> JsonDict:
    """The outbox document of one event (shared by every unit of work implementation)."""
    return {
        "topic": message.topic,
        "data": message.data.decode(),
        "attributes": dict(message.attributes),
        "created_at": now,
        "published_at": None,
        "expire_at": now + OUTBOX_RETENTION,
    }


def message_from_outbox(event_id: str, record: JsonDict) -> OutboundMessage:
    return OutboundMessage(
        event_id=event_id,
        topic=str(record["topic"]),
        data=str(record["data"]).encode(),
        attributes=dict(record.get("attributes") or {}),
    )


class EventPublisher(ABC):
    """Publishes messages to Pub/Sub topics. Use `tx.emit` in use cases, not this directly."""

    @abstractmethod
    def publish(self, messages: Sequence[OutboundMessage]) -> None:
        """Publish every message or raise `PublishFailed` (some may have been published)."""


# --- persistence ------------------------------------------------------------------------------

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
        """Several documents by id in one round trip."""

    @abstractmethod
    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
    ) -> list[Document]:
        """Documents matching every filter. Always bound queries with `limit`."""

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
    def emit(self, event: PublishableEvent) -> None:
        """Publish `event` after this transaction commits (and only then)."""

    @property
    @abstractmethod
    def emitted(self) -> tuple[str, ...]:
        """Event ids emitted so far in this attempt."""


class BufferedTransaction(DocumentTransaction):
    """The rules every store's transaction shares, so the fake and Firestore cannot drift:
    reads before writes (an emitted event is a write: its outbox document), top-level
    field names in `update`, and the events buffered for publishing after the commit.

    A subclass calls `_before_read()` first in every read, `_before_write()` first in
    every write, and `_top_level(changes)` in `update`.
    """

    def __init__(self) -> None:
        self.events: list[OutboundMessage] = []
        self._wrote = False

    def _before_read(self) -> None:
        if self._wrote:
            raise RuntimeError(
                "read after write in one transaction: Firestore requires every read first"
            )

    def _before_write(self) -> None:
        self._wrote = True

    @staticmethod
    def _top_level(changes: JsonDict) -> None:
        if any("." in key for key in changes):
            raise ValueError("update takes top-level field names (Firestore reads dots as paths)")

    def emit(self, event: PublishableEvent) -> None:
        self._before_write()
        self.events.append(OutboundMessage.from_event(event))

    @property
    def emitted(self) -> tuple[str, ...]:
        return tuple(message.event_id for message in self.events)


class UnitOfWork(ABC):
    """Runs one use case's reads and writes as one transaction (DESIGN §2)."""

    @abstractmethod
    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        """Run `work` in a transaction, retrying it on contention, and return its result.

        `read_only=True` runs `work` against a non-transactional reader (writes and
        `emit` raise): use it for listings and lookups that change nothing.
        """

    @abstractmethod
    def publish_pending(self, event_ids: Sequence[str]) -> None:
        """Publish any of these outbox events that are not yet marked published."""


class Repository(Generic[M]):
    """Typed access to one collection of pydantic models inside a transaction.

    Subclass per aggregate, then use it inside `uow.run`:

        class Loans(Repository[Loan]):
            collection = "loans"
            model = Loan          # documents keyed by `loan.id` (see `key`)

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

    def add(self, item: M) -> None:
        """Store a new item; the commit raises `Conflict` if its key is taken."""
        self.tx.create(self.collection, self.key(item), item.model_dump(mode="json"))

    def put(self, item: M) -> None:
        """Store an item, replacing what was there."""
        self.tx.set(self.collection, self.key(item), item.model_dump(mode="json"))

    def remove(self, doc_id: str) -> None:
        self.tx.delete(self.collection, doc_id)


# What a stored document may be named by; ids from URLs and tokens are checked against it.
_DOCUMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def valid_document_id(value: str) -> bool:
    return bool(_DOCUMENT_ID.match(value))


def require_document_id(value: str, what: str) -> str:
    """`value` if a stored document could be named by it (ids come from URLs and tokens);
    otherwise `NotFound`, since nothing can exist under it — never a store error."""
    if not valid_document_id(value):
        raise NotFound(f"there is no {what} {value[:64]!r}")
    return value


def document_exists_conflict(collection: str, doc_id: str) -> Conflict:
    """The error every store raises when `create` meets an existing document."""
    return Conflict(f"{collection}/{doc_id} already exists")


# --- documents (Cloud Storage) ----------------------------------------------------------------


@dataclass(frozen=True)
class SignedUrl:
    """A time-limited URL for one object; the client must send `headers` with its request."""

    url: str
    method: Literal["GET", "PUT"]
    expires_at: datetime
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredObject:
    name: str
    size: int
    content_type: str | None


class DocumentStorage(ABC):
    """Borrower documents (KTP, invoices, collateral photos) in a private bucket."""

    @abstractmethod
    def upload_url(self, object_name: str, content_type: str) -> SignedUrl:
        """A signed PUT URL for the object; size is limited by configuration."""

    @abstractmethod
    def download_url(self, object_name: str) -> SignedUrl:
        """A signed GET URL for the object."""

    @abstractmethod
    def describe(self, object_name: str) -> StoredObject | None:
        """The stored object's size and type, or None if nothing was uploaded."""


# --- personal data ----------------------------------------------------------------------------

PiiKind = Literal["nik", "npwp", "account_number"]


class PersonalDataVault(ABC):
    """Encrypts NIK / NPWP / account numbers at rest and hashes them for lookup."""

    @abstractmethod
    def encrypt(self, kind: PiiKind, value: str) -> str:
        """Ciphertext (text, safe to store) bound to `kind`; never equal for equal inputs."""

    @abstractmethod
    def decrypt(self, kind: PiiKind, ciphertext: str) -> str:
        """The value back; raises ValueError if tampered with or of another kind."""

    @abstractmethod
    def lookup_hash(self, kind: PiiKind, value: str) -> str:
        """A stable keyed hash: equal values give equal hashes (uniqueness, lookup)."""


# --- credit data providers -------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderQuery:
    """Who the credit data providers are asked about: the applicant and when they applied."""

    nik: str = field(repr=False)
    full_name: str = field(repr=False)
    birth_date: date
    store_ids: tuple[str, ...]
    applied_on: date

    def __repr__(self) -> str:
        return f"ProviderQuery(nik={mask_nik(self.nik)}, stores={self.store_ids!r})"


class ProviderDataSource(Protocol):
    """The providers port the scorer reads (civil registry, credit bureau, sales, profiles).

    Implemented by `shared.adapters.providers.ProvidersClient`, faked by its
    `InMemoryProviders`.
    """

    def gather(self, query: ProviderQuery) -> ProviderData:
        """Every provider's answer, or `ProviderUnavailable` with the reason; never raises
        for a provider's failure."""
        ...


# --- callers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who is calling: the verified token's subject and role (None: signed in, not registered)."""

    user_id: str
    role: Role | None
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


class TokenVerifier(ABC):
    @abstractmethod
    def verify(self, token: str) -> Caller:
        """The caller a bearer token proves, or `Unauthenticated` saying why not."""


@dataclass(frozen=True)
class CallerRecord:
    """What the platform's user records say about a caller right now."""

    user_id: str
    role: Role
    active: bool


class CallerDirectory(ABC):
    """Looks up the caller's user record (deactivation and role changes take effect at once)."""

    @abstractmethod
    def lookup(self, user_id: str) -> CallerRecord | None:
        """The record, or None when the user has not registered yet."""


# --- time and identifiers ---------------------------------------------------------------------


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""


class IdGenerator(ABC):
    @abstractmethod
    def new_uuid(self) -> uuid.UUID:
        """A fresh UUID (event ids, object names)."""

    def new_id(self, prefix: str) -> str:
        """A fresh readable identifier: `<prefix>-<32 hex>`, e.g. `loan-3f2a…`."""
        return f"{prefix}-{self.new_uuid().hex}"


JAKARTA = ZoneInfo("Asia/Jakarta")


def jakarta_date(instant: datetime) -> date:
    """The calendar date in Jakarta at `instant` (due dates and deadlines are Jakarta dates)."""
    return instant.astimezone(JAKARTA).date()


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds(IdGenerator):
    def new_uuid(self) -> uuid.UUID:
        return uuid.uuid4()
