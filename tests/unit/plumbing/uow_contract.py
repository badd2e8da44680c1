"""The unit-of-work contract, as checks any implementation must pass.

Run against `MemoryUnitOfWork` in tests/unit/plumbing/test_unit_of_work.py and
against `FirestoreUnitOfWork` on the emulator in
tests/integration/plumbing/test_firestore_unit_of_work.py, so the fake and the
real thing cannot drift apart. Each check takes a fresh unit of work, the
publisher it publishes through (a RecordingPublisher), and a collection name
unique to the test.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from shared.adapters.memory import RecordingPublisher
from shared.domain.errors import Conflict, IllegalTransition, NotFound
from shared.domain.events import EventType, new_event
from shared.platform.limits import TransactionLimitExceeded
from shared.platform.store import DocumentTransaction, OrderBy, Repository, UnitOfWork, Where

Check = Callable[[UnitOfWork, RecordingPublisher, str], None]
CHECKS: dict[str, Check] = {}


def check(fn: Check) -> Check:
    CHECKS[fn.__name__] = fn
    return fn


def loan_submitted(loan_id: str) -> Any:
    return new_event(
        EventType.LOAN_SUBMITTED,
        {
            "loan_id": loan_id,
            "borrower_id": "u-1",
            "product_id": "p-1",
            "principal": 1_000_000,
            "tenor": 3,
        },
        entity="p2p",
        occurred_at=datetime(2025, 3, 3, tzinfo=UTC),
        event_id=uuid.uuid4(),
    )


class Account(BaseModel):
    id: str
    owner: str
    balance: int


@check
def committed_writes_are_visible_to_the_next_transaction(uow, publisher, coll):
    uow.run(lambda tx: tx.create(coll, "a", {"balance": 100, "owner": "ani"}))
    assert uow.run(lambda tx: tx.get(coll, "a")) == {"balance": 100, "owner": "ani"}
    assert uow.run(lambda tx: tx.get(coll, "missing"), read_only=True) is None


@check
def a_failed_use_case_writes_nothing(uow, publisher, coll):
    def work(tx: DocumentTransaction) -> None:
        tx.set(coll, "a", {"balance": 1})
        tx.emit(loan_submitted("loan-x"))
        raise IllegalTransition("loan", "cancelled", "approve")

    with pytest.raises(IllegalTransition):
        uow.run(work)
    assert uow.run(lambda tx: tx.get(coll, "a")) is None
    assert publisher.messages == []


@check
def creating_an_existing_document_is_a_conflict(uow, publisher, coll):
    uow.run(lambda tx: tx.create(coll, "a", {"n": 1}))
    with pytest.raises(Conflict):
        uow.run(lambda tx: tx.create(coll, "a", {"n": 2}))
    assert uow.run(lambda tx: tx.get(coll, "a")) == {"n": 1}


@check
def updating_a_missing_document_is_not_found(uow, publisher, coll):
    with pytest.raises(NotFound):
        uow.run(lambda tx: tx.update(coll, "ghost", {"n": 1}))


@check
def update_changes_only_the_named_fields_and_delete_removes(uow, publisher, coll):
    uow.run(lambda tx: tx.set(coll, "a", {"n": 1, "keep": "yes"}))
    uow.run(lambda tx: tx.update(coll, "a", {"n": 2}))
    assert uow.run(lambda tx: tx.get(coll, "a")) == {"n": 2, "keep": "yes"}
    uow.run(lambda tx: tx.delete(coll, "a"))
    assert uow.run(lambda tx: tx.get(coll, "a")) is None


@check
def values_come_back_as_firestore_returns_them(uow, publisher, coll):
    at = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
    uow.run(lambda tx: tx.set(coll, "a", {"when": at, "fees": (1, 2), "nested": {"ok": True}}))
    stored = uow.run(lambda tx: tx.get(coll, "a"))
    assert stored == {"when": at, "fees": [1, 2], "nested": {"ok": True}}


@check
def reads_must_come_before_writes(uow, publisher, coll):
    def work(tx: DocumentTransaction) -> None:
        tx.set(coll, "a", {"n": 1})
        tx.get(coll, "b")

    with pytest.raises(RuntimeError, match="read after write"):
        uow.run(work)


@check
def emitting_an_event_counts_as_a_write_so_reads_come_before_it(uow, publisher, coll):
    def work(tx: DocumentTransaction) -> None:
        tx.emit(loan_submitted("L-read-after-emit"))
        tx.get(coll, "b")

    with pytest.raises(RuntimeError, match="read after write"):
        uow.run(work)
    assert publisher.messages == []


@check
def update_takes_top_level_field_names_only(uow, publisher, coll):
    uow.run(lambda tx: tx.set(coll, "a", {"terms": {"rate": "0.015"}}))
    with pytest.raises(ValueError, match="top-level"):
        uow.run(lambda tx: tx.update(coll, "a", {"terms.rate": "0.02"}))
    assert uow.run(lambda tx: tx.get(coll, "a")) == {"terms": {"rate": "0.015"}}


@check
def read_only_refuses_writes(uow, publisher, coll):
    with pytest.raises(RuntimeError, match="read-only"):
        uow.run(lambda tx: tx.set(coll, "a", {}), read_only=True)


@check
def queries_filter_order_and_limit(uow, publisher, coll):
    def seed(tx: DocumentTransaction) -> None:
        for i, (owner, balance) in enumerate(
            [("ani", 300), ("budi", 100), ("ani", 200), ("citra", 50)]
        ):
            tx.set(coll, f"acct-{i}", {"owner": owner, "balance": balance, "tags": [owner]})

    uow.run(seed)

    def ids(*where: Where, order: tuple[OrderBy, ...] = (), limit: int | None = None) -> list[str]:
        docs = uow.run(lambda tx: tx.query(coll, where, order, limit), read_only=True)
        return [doc.id for doc in docs]

    assert sorted(ids(Where("owner", "==", "ani"))) == ["acct-0", "acct-2"]
    assert ids(order=(OrderBy("balance"),)) == ["acct-3", "acct-1", "acct-2", "acct-0"]
    assert ids(
        Where("balance", ">=", 100), order=(OrderBy("balance", descending=True),), limit=2
    ) == [
        "acct-0",
        "acct-2",
    ]
    assert sorted(ids(Where("owner", "in", ["budi", "citra"]))) == ["acct-1", "acct-3"]
    assert ids(Where("tags", "array_contains", "citra")) == ["acct-3"]
    in_tx = uow.run(lambda tx: tx.query(coll, [Where("owner", "==", "budi")]))
    assert [doc.data["balance"] for doc in in_tx] == [100]


@check
def get_all_returns_every_id_asked_for(uow, publisher, coll):
    uow.run(lambda tx: tx.set(coll, "a", {"n": 1}))
    found = uow.run(lambda tx: tx.get_all(coll, ["a", "b"]), read_only=True)
    assert found == {"a": {"n": 1}, "b": None}


@check
def get_documents_reads_several_collections_in_one_call(uow, publisher, coll):
    uow.run(lambda tx: (tx.set(coll, "a", {"n": 1}), tx.set(f"{coll}-other", "a", {"n": 2})))
    refs = [(coll, "a"), (f"{coll}-other", "a"), (f"{coll}/a/nested", "z")]

    def read(tx):
        found = tx.get_documents(refs)
        tx.set(coll, "b", {"seen": sorted(k[0] for k, v in found.items() if v)})
        return found

    assert uow.run(read) == {refs[0]: {"n": 1}, refs[1]: {"n": 2}, refs[2]: None}
    assert uow.run(lambda tx: tx.get_documents(refs), read_only=True)[refs[1]] == {"n": 2}


@check
def a_repository_stores_and_loads_models(uow, publisher, coll):
    class Accounts(Repository[Account]):
        collection = coll
        model = Account

    uow.run(lambda tx: Accounts(tx).add(Account(id="a-1", owner="ani", balance=500)))
    assert uow.run(lambda tx: Accounts(tx).require("a-1")) == Account(
        id="a-1", owner="ani", balance=500
    )
    with pytest.raises(NotFound, match="Account 'a-2' does not exist"):
        uow.run(lambda tx: Accounts(tx).require("a-2"))
    assert uow.run(lambda tx: Accounts(tx).find(Where("owner", "==", "ani"))) == [
        Account(id="a-1", owner="ani", balance=500)
    ]


@check
def events_are_published_after_commit_and_only_then(uow, publisher, coll):
    event = loan_submitted("loan-1")

    def work(tx: DocumentTransaction) -> str:
        tx.set(coll, "loan-1", {"state": "submitted"})
        tx.emit(event)
        return "done"

    assert uow.run(work) == "done"
    [message] = publisher.messages
    assert message.topic == "loan.submitted"
    assert message.attributes["event_id"] == str(event.event_id)
    assert message.attributes["type"] == "loan.submitted"
    assert message.attributes["entity"] == "p2p"
    outbox = uow.run(lambda tx: tx.get("outbox", str(event.event_id)), read_only=True)
    assert outbox is not None and outbox["published_at"] is not None


@check
def events_not_published_stay_pending_until_published(uow, publisher, coll):
    event = loan_submitted("loan-2")
    publisher.fail_next(1)

    def work(tx: DocumentTransaction) -> None:
        tx.set(coll, "loan-2", {"state": "submitted"})
        tx.emit(event)

    with pytest.raises(Exception, match="unavailable"):
        uow.run(work)
    assert uow.run(lambda tx: tx.get(coll, "loan-2")) == {"state": "submitted"}
    assert publisher.messages == []

    uow.publish_pending([str(event.event_id), "never-emitted"])
    uow.publish_pending([str(event.event_id)])
    assert [m.event_id for m in publisher.messages] == [str(event.event_id)]


@check
def concurrent_increments_lose_no_update(uow, publisher, coll):
    """Eight writers add to one balance at once; conflicts are retried, none is lost."""
    uow.run(lambda tx: tx.set(coll, "balance", {"amount": 0}))
    failures: list[BaseException] = []

    def add(tx: DocumentTransaction) -> None:
        current = tx.get(coll, "balance")
        assert current is not None
        tx.update(coll, "balance", {"amount": current["amount"] + 10})

    def writer() -> None:
        for _ in range(3):
            try:
                uow.run(add)
            except BaseException as exc:  # contention beyond the attempts is allowed, loss is not
                failures.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    final = uow.run(lambda tx: tx.get(coll, "balance"))
    assert final is not None
    assert final["amount"] == 10 * (24 - len(failures))
    assert all(type(f).__name__ == "TransactionContended" for f in failures)


@check
def add_to_increments_without_reading_and_creates_what_is_missing(uow, publisher, coll):
    """Blind increments: the first creates the document, the rest add; other fields merge."""
    uow.run(lambda tx: tx.add_to(coll, "shard-0", {"amount": 250}, {"account": "suspense"}))
    uow.run(lambda tx: tx.add_to(coll, "shard-0", {"amount": -100, "entries": 1}))
    assert uow.run(lambda tx: tx.get(coll, "shard-0")) == {
        "account": "suspense",
        "amount": 150,
        "entries": 1,
    }


@check
def concurrent_blind_increments_all_land(uow, publisher, coll):
    """Sixteen writers add to one document without reading it: every increment lands."""
    failures: list[BaseException] = []

    def writer() -> None:
        for _ in range(4):
            try:
                uow.run(lambda tx: tx.add_to(coll, "hot", {"amount": 7}))
            except BaseException as exc:
                failures.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert uow.run(lambda tx: tx.get(coll, "hot")) == {"amount": 7 * 64}


@check
def a_document_over_firestores_size_limit_is_refused_before_commit(uow, publisher, coll):
    """One MiB is Firestore's limit for a document: the transaction fails naming the
    operation and nothing of it is written."""

    def oversized(tx: DocumentTransaction) -> None:
        tx.create(coll, "small", {"n": 1})
        tx.create(coll, "big", {"blob": "x" * 1_048_576})

    with pytest.raises(TransactionLimitExceeded, match="oversized"):
        uow.run(oversized)
    assert uow.run(lambda tx: tx.get(coll, "small")) is None


@check
def a_transaction_counts_what_it_reads_and_writes(uow, publisher, coll):
    """The cost of an operation: documents read (an empty query is billed as one) and
    written (an emitted event writes its outbox document)."""
    uow.run(lambda tx: tx.create(coll, "a", {"n": 1}))

    def work(tx: DocumentTransaction) -> None:
        tx.get(coll, "a")
        tx.query(coll, [Where("n", "==", 99)])
        tx.update(coll, "a", {"n": 2})
        tx.emit(loan_submitted("loan-counted"))

    uow.run(work)
    attempt = uow.last_attempt
    assert (attempt.reads, attempt.writes) == (2, 2)


@check
def a_query_projected_on_fields_returns_only_those(uow, publisher, coll):
    """Firestore's projection: the chosen fields of each document (dotted names reach into
    maps, a field a document lacks is left out), filtered and ordered on any field, and
    billed as the whole documents."""

    def seed(tx: DocumentTransaction) -> None:
        tx.set(coll, "a", {"owner": "ani", "balance": 300, "terms": {"rate": "0.015", "n": 3}})
        tx.set(coll, "b", {"owner": "budi", "balance": 100, "note": "x" * 50})
        tx.set(coll, "c", {"balance": 200, "terms": {"n": 6}})

    uow.run(seed)

    def projected(fields, *where: Where, limit=None):
        return uow.run(
            lambda tx: [
                (doc.id, doc.data)
                for doc in tx.query(coll, where, [OrderBy("balance")], limit, fields=fields)
            ],
            read_only=True,
        )

    assert projected(("owner", "terms.rate")) == [
        ("b", {"owner": "budi"}),
        ("c", {}),
        ("a", {"owner": "ani", "terms": {"rate": "0.015"}}),
    ]
    assert projected((), Where("balance", ">=", 200)) == [("c", {}), ("a", {})]
    assert projected(["terms"], limit=2) == [("b", {}), ("c", {"terms": {"n": 6}})]
    assert projected(None, Where("owner", "==", "budi")) == [
        ("b", {"owner": "budi", "balance": 100, "note": "x" * 50})
    ]

    def in_a_transaction(tx: DocumentTransaction) -> list[Any]:
        found = tx.query(coll, [Where("owner", "==", "ani")], fields=["balance"])
        tx.set(coll, "seen", {"n": len(found)})
        return [(doc.id, doc.data) for doc in found]

    assert uow.run(in_a_transaction) == [("a", {"balance": 300})]
    assert uow.last_attempt.reads == 1


class Holding(BaseModel):
    """A model that knows only some of its document's fields."""

    id: str
    owner: str
    balance: int


@check
def put_fields_writes_only_the_named_fields(uow, publisher, coll):
    """A partial write: the named fields of the item, over the stored document; the other
    fields stay as stored, also those the model does not know (which `put` would drop)."""

    class Holdings(Repository[Holding]):
        collection = coll
        model = Holding

    uow.run(
        lambda tx: tx.set(coll, "h-1", {"id": "h-1", "owner": "ani", "balance": 5, "kept": [1]})
    )

    def pay(tx: DocumentTransaction) -> None:
        holdings = Holdings(tx)
        held = holdings.require("h-1")
        holdings.put_fields(held.model_copy(update={"balance": 7, "owner": "x"}), ["balance"])

    uow.run(pay)
    assert uow.last_attempt.writes == 1
    assert uow.run(lambda tx: tx.get(coll, "h-1")) == {
        "id": "h-1",
        "owner": "ani",
        "balance": 7,
        "kept": [1],
    }

    with pytest.raises(NotFound):
        uow.run(
            lambda tx: Holdings(tx).put_fields(Holding(id="h-2", owner="b", balance=1), ["balance"])
        )
    assert uow.run(lambda tx: tx.get(coll, "h-2")) is None
    with pytest.raises(ValueError, match="no field 'kept'"):
        uow.run(
            lambda tx: Holdings(tx).put_fields(Holding(id="h-1", owner="a", balance=1), ["kept"])
        )
    with pytest.raises(ValueError, match="at least one field"):
        uow.run(lambda tx: Holdings(tx).put_fields(Holding(id="h-1", owner="a", balance=1), []))


@check
def update_replaces_a_map_field_whole(uow, publisher, coll):
    """A map given to `update` (and so to `put_fields`) is the field's new value: keys it
    lacks are gone, not merged from the stored map."""
    uow.run(lambda tx: tx.set(coll, "a", {"overdue": {"late_fees": 5, "read_from": 2}, "n": 1}))
    uow.run(lambda tx: tx.update(coll, "a", {"overdue": {"late_fees": 7}}))
    assert uow.run(lambda tx: tx.get(coll, "a")) == {"overdue": {"late_fees": 7}, "n": 1}
