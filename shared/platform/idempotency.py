"""Idempotency: a repeated request or a redelivered event changes state at most once.

One rule for both: the record that says "done" is written in the same transaction as the
state change it guards, so there is no moment in which one exists without the other
(docs/architecture.md#idempotency).

HTTP requests, `Idempotency-Key` scoped to caller and endpoint:
1. `claim_request(...)` runs a small transaction on the key's record:
   - no record → create it *in progress* (with a lease and a claim token) → `Claim`;
   - *done* with the same payload hash → `Replay` of the first response;
   - same key, different payload → `IdempotencyKeyReused` (422);
   - *in progress*, lease running → `RequestInFlight` (409);
   - *in progress*, lease expired (the first attempt died) → taken over → `Claim`.
2. The handler runs its one transaction through `claimed_unit_of_work(...)`, which checks
   at the start of that transaction that the claim is still ours and marks the record
   *done* — with the response and the ids of the events the transaction emitted — at its
   end.
3. If the handler fails before committing, `release_claim` deletes the record so the
   client can retry with the same key. After a commit it is never released. A replay
   publishes any of the recorded events still pending in the outbox.

Events: `event_unit_of_work(...)` wraps the consumer's transaction: at its start it reads
`processed_events/<consumer>:<event_id>` and raises `AlreadyProcessed` if present; at its
end it creates that record (with the ids of the events emitted). `already_processed` is
the cheap pre-check before a consumer does slow work (calling providers).

Both wrappers are a `OnceUnitOfWork`: it enforces the contract that makes this sound — an
idempotent request or an event consumer runs exactly one read-write transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from shared.platform.clock import Clock
from shared.platform.errors import IdempotencyKeyReused as IdempotencyKeyReused
from shared.platform.errors import RequestInFlight as RequestInFlight
from shared.platform.store import DocumentTransaction, UnitOfWork

T = TypeVar("T")

IDEMPOTENCY_KEYS = "idempotency_keys"
PROCESSED_EVENTS = "processed_events"
IN_PROGRESS = "in_progress"
DONE = "done"


class AlreadyProcessed(Exception):
    """This consumer already applied this event; the delivery is acknowledged and ignored."""


class OneTransactionOnly(RuntimeError):
    """An idempotent handler ran a second read-write transaction (a programming error)."""


def payload_hash(payload: Any) -> str:
    """SHA-256 over the canonical JSON of a parsed request body (key order and spacing
    do not matter; values do)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class IdempotencyScope:
    """What an Idempotency-Key is unique within: one caller, one endpoint."""

    caller: str
    endpoint: str  # e.g. "loan_applications POST /applications"
    key: str

    @property
    def record_id(self) -> str:
        raw = json.dumps([self.caller, self.endpoint, self.key])
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    """This request owns the key until it commits or its lease ends."""

    scope: IdempotencyScope
    token: str
    request_hash: str


@dataclass(frozen=True)
class Replay:
    """The first response to this key, to be sent again."""

    status: int
    body: Any
    emitted: tuple[str, ...]


def claim_request(
    uow: UnitOfWork,
    scope: IdempotencyScope,
    request_hash: str,
    *,
    clock: Clock,
    token: str,
    lease: timedelta,
    retention: timedelta,
) -> Claim | Replay:
    """Step 1 above: claim the key, or say what the first request with it produced."""

    def decide(tx: DocumentTransaction) -> Claim | Replay:
        now = clock.now()
        record = tx.get(IDEMPOTENCY_KEYS, scope.record_id)
        if record is not None:
            if record["request_hash"] != request_hash:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used with a different request body; "
                    "use a new key for a new request"
                )
            if record["state"] == DONE:
                return Replay(
                    int(record["status"]), record.get("body"), tuple(record.get("emitted", ()))
                )
            if _as_datetime(record["lease_until"]) > now:
                raise RequestInFlight(
                    "a request with this Idempotency-Key is still being processed; "
                    "retry shortly for its result"
                )
        tx.set(
            IDEMPOTENCY_KEYS,
            scope.record_id,
            {
                "state": IN_PROGRESS,
                "caller": scope.caller,
                "endpoint": scope.endpoint,
                "request_hash": request_hash,
                "token": token,
                "created_at": now,
                "lease_until": now + lease,
                "expire_at": now + retention,
            },
        )
        return Claim(scope, token, request_hash)

    return uow.run(decide)


def release_claim(uow: UnitOfWork, claim: Claim) -> None:
    """Forget an in-progress claim whose request failed before committing anything."""

    def release(tx: DocumentTransaction) -> None:
        record = tx.get(IDEMPOTENCY_KEYS, claim.scope.record_id)
        if record is not None and record["state"] == IN_PROGRESS and record["token"] == claim.token:
            tx.delete(IDEMPOTENCY_KEYS, claim.scope.record_id)

    uow.run(release)


def already_processed(uow: UnitOfWork, consumer: str, event_id: str) -> tuple[str, ...] | None:
    """The ids of the events emitted when `consumer` applied `event_id`, or None if it has not."""
    record = uow.run(
        lambda tx: tx.get(PROCESSED_EVENTS, processed_event_id(consumer, event_id)),
        read_only=True,
    )
    return None if record is None else tuple(record.get("emitted", ()))


def processed_event_id(consumer: str, event_id: str) -> str:
    return f"{consumer}:{event_id}"


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class OnceUnitOfWork(UnitOfWork):
    """A unit of work for exactly one read-write transaction, which it brackets:
    `check(tx)` first (reads that decide whether the transaction may proceed) and
    `record(tx, result)` last (writes that record the outcome)."""

    def __init__(
        self,
        inner: UnitOfWork,
        purpose: str,
        *,
        check: Callable[[DocumentTransaction], None],
        record: Callable[[DocumentTransaction, Any], None],
    ) -> None:
        self._inner = inner
        self._purpose = purpose
        self._check = check
        self._record = record
        self.ran = False
        self.committed = False
        self.result: Any = None

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        if read_only:
            return self._inner.run(work, read_only=True)
        if self.ran:
            raise OneTransactionOnly(
                f"{self._purpose} runs exactly one read-write transaction; "
                "put all of its reads and writes in one uow.run(...)"
            )
        self.ran = True

        def bracketed(tx: DocumentTransaction) -> T:
            self._check(tx)
            result = work(tx)
            self._record(tx, result)
            return result

        result = self._inner.run(bracketed)
        self.committed = True
        self.result = result
        return result

    def publish_pending(self, event_ids: Sequence[str]) -> None:
        self._inner.publish_pending(event_ids)


def claimed_unit_of_work(
    inner: UnitOfWork,
    claim: Claim,
    *,
    status: int,
    render: Callable[[Any], Any],
    clock: Clock,
) -> OnceUnitOfWork:
    """The unit of work an idempotent HTTP handler receives (step 2 of the module doc);
    `render(result)` turns the transaction's result into the stored response body."""
    record_id = claim.scope.record_id

    def check(tx: DocumentTransaction) -> None:
        record = tx.get(IDEMPOTENCY_KEYS, record_id)
        if record is None or record.get("token") != claim.token:
            raise RequestInFlight(
                "this request's Idempotency-Key was taken over by a retry after its lease ended"
            )

    def record(tx: DocumentTransaction, result: Any) -> None:
        tx.update(
            IDEMPOTENCY_KEYS,
            record_id,
            {
                "state": DONE,
                "status": status,
                "body": render(result),
                "emitted": list(tx.emitted),
                "completed_at": clock.now(),
            },
        )

    return OnceUnitOfWork(inner, "an idempotent request", check=check, record=record)


def event_unit_of_work(
    inner: UnitOfWork,
    *,
    consumer: str,
    event_id: str,
    event_type: str,
    clock: Clock,
    retention: timedelta,
) -> OnceUnitOfWork:
    """The unit of work an event consumer receives: it applies `event_id` at most once."""
    record_id = processed_event_id(consumer, event_id)

    def check(tx: DocumentTransaction) -> None:
        if tx.get(PROCESSED_EVENTS, record_id) is not None:
            raise AlreadyProcessed(record_id)

    def record(tx: DocumentTransaction, result: Any) -> None:
        now = clock.now()
        tx.create(
            PROCESSED_EVENTS,
            record_id,
            {
                "consumer": consumer,
                "event_id": event_id,
                "type": event_type,
                "emitted": list(tx.emitted),
                "processed_at": now,
                "expire_at": now + retention,
            },
        )

    return OnceUnitOfWork(inner, f"the {consumer} consumer", check=check, record=record)
