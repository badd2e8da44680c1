"""Real-time listeners: the unchanged client's `on_snapshot`, and the Listen stream itself.

The first half scripts writes and checks the exact sequence of snapshots a client sees
(documents in order, and each snapshot's changes) on a document, a collection and a
query with a filter, an ordering and a limit, across a transaction and a dropped
stream. The second half speaks the Listen protocol directly, message by message:
ADD, the documents, CURRENT and the global NO_CHANGE; resume tokens; removing
targets; several targets on one stream.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.types import firestore as firestore_types

pytestmark = pytest.mark.emulator

WAIT = 10.0


class Listener:
    """Collects what `on_snapshot` delivers: (ids in order, [(change, id), ...]) per snapshot."""

    def __init__(self) -> None:
        self.snapshots: queue.Queue[tuple[list[str], list[tuple[str, str]]]] = queue.Queue()

    def __call__(self, docs: list[Any], changes: list[Any], read_time: Any) -> None:
        ids = [doc.id for doc in docs if doc.exists]
        self.snapshots.put((ids, [(c.type.name, c.document.id) for c in changes]))

    def next(self) -> tuple[list[str], list[tuple[str, str]]]:
        return self.snapshots.get(timeout=WAIT)

    def nothing_more(self) -> bool:
        try:
            extra = self.snapshots.get(timeout=0.3)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected snapshot {extra}")


@pytest.fixture
def listen():
    watches = []

    def start(target) -> Listener:
        listener = Listener()
        watches.append(target.on_snapshot(listener))
        return listener

    yield start
    for watch in watches:
        watch.unsubscribe()


def test_a_document_listener_sees_create_update_delete_and_recreate(firestore_client):
    ref = firestore_client.document("loans/L1")
    seen: queue.Queue[list[tuple[bool, Any]]] = queue.Queue()
    watch = ref.on_snapshot(
        lambda docs, changes, read_time: seen.put([(doc.exists, doc.to_dict()) for doc in docs])
    )
    snapshots = []
    try:
        snapshots.append(seen.get(timeout=WAIT))
        for write in (
            lambda: ref.set({"status": "submitted"}),
            lambda: ref.update({"status": "scored"}),
            ref.delete,
            lambda: ref.set({"status": "resubmitted"}),
        ):
            write()
            snapshots.append(seen.get(timeout=WAIT))
    finally:
        watch.unsubscribe()

    assert snapshots == [
        [],  # the document does not exist yet
        [(True, {"status": "submitted"})],
        [(True, {"status": "scored"})],
        [],
        [(True, {"status": "resubmitted"})],
    ]


def test_a_collection_listener_sees_the_initial_snapshot_then_each_change(firestore_client, listen):
    loans = firestore_client.collection("loans")
    loans.document("b").set({"n": 2})
    loans.document("a").set({"n": 1})
    listener = listen(loans)

    initial = listener.next()
    loans.document("c").set({"n": 3})
    added = listener.next()
    loans.document("a").update({"n": 10})
    modified = listener.next()
    loans.document("b").delete()
    removed = listener.next()

    assert initial == (["a", "b"], [("ADDED", "a"), ("ADDED", "b")])
    assert added == (["a", "b", "c"], [("ADDED", "c")])
    assert modified == (["a", "b", "c"], [("MODIFIED", "a")])
    assert removed == (["a", "c"], [("REMOVED", "b")])
    assert listener.nothing_more()


def test_a_query_listener_follows_its_filter_order_and_limit(firestore_client, listen):
    loans = firestore_client.collection("loans")
    loans.document("a").set({"rate": 5, "status": "open"})
    loans.document("x").set({"rate": 1, "status": "closed"})
    query = loans.where(filter=FieldFilter("status", "==", "open")).order_by("rate").limit(2)
    listener = listen(query)

    first = listener.next()
    loans.document("b").set({"rate": 3, "status": "open"})
    second = listener.next()
    loans.document("c").set({"rate": 1, "status": "open"})  # pushes a out of the limit
    third = listener.next()
    loans.document("x").update({"rate": 0})  # does not match: no snapshot
    loans.document("c").update({"status": "closed"})  # leaves the filter, a comes back
    fourth = listener.next()
    loans.document("b").update({"rate": 9})  # reorders: a moves ahead of b
    fifth = listener.next()

    assert first == (["a"], [("ADDED", "a")])
    assert second == (["b", "a"], [("ADDED", "b")])
    assert third == (["c", "b"], [("REMOVED", "a"), ("ADDED", "c")])
    assert fourth == (["b", "a"], [("REMOVED", "c"), ("ADDED", "a")])
    assert fifth == (["a", "b"], [("MODIFIED", "b")])
    assert listener.nothing_more()


def test_a_transaction_reaches_listeners_as_one_snapshot(firestore_client, listen):
    accounts = firestore_client.collection("accounts")
    accounts.document("lender").set({"balance": 100})
    accounts.document("escrow").set({"balance": 0})
    listener = listen(accounts)
    listener.next()

    @firestore.transactional
    def transfer(transaction, amount):
        lender = accounts.document("lender").get(transaction=transaction).get("balance")
        escrow = accounts.document("escrow").get(transaction=transaction).get("balance")
        transaction.update(accounts.document("lender"), {"balance": lender - amount})
        transaction.update(accounts.document("escrow"), {"balance": escrow + amount})

    transfer(firestore_client.transaction(), 40)
    snapshot = listener.next()

    assert snapshot == (["escrow", "lender"], [("MODIFIED", "escrow"), ("MODIFIED", "lender")])
    assert listener.nothing_more()


def test_a_dropped_stream_resumes_without_losing_or_repeating_a_change(
    firestore_emulator, firestore_client, listen
):
    loans = firestore_client.collection("loans")
    loans.document("a").set({"n": 1})
    listener = listen(loans)
    listener.next()

    assert firestore_emulator.drop_listeners() >= 1
    loans.document("b").set({"n": 2})  # may land before or after the client reconnects
    loans.document("a").delete()
    snapshots = [listener.next()]
    while snapshots[-1][0] != ["b"]:
        snapshots.append(listener.next())

    changes = [change for _, batch in snapshots for change in batch]
    # Each change exactly once. Their order is the client's: the two writes come as two
    # snapshots, or (both landing while it reconnects) as one, whose changes the client lists
    # removals first, as it lists any snapshot's.
    assert sorted(changes) == [("ADDED", "b"), ("REMOVED", "a")]
    if len(snapshots) == 1:
        assert changes == [("REMOVED", "a"), ("ADDED", "b")]
    assert listener.nothing_more()


def test_many_listeners_each_see_a_write(firestore_client, listen):
    feed = firestore_client.collection("feed")
    listeners = [listen(feed) for _ in range(20)]
    for listener in listeners:
        assert listener.next() == ([], [])

    feed.document("e1").set({"kind": "loan.submitted"})

    assert [listener.next() for listener in listeners] == [(["e1"], [("ADDED", "e1")])] * 20


# --- The Listen protocol, message by message -------------------------------------------------


def summary(response: Any) -> tuple[Any, ...]:
    """A ListenResponse as a comparable tuple."""
    kind = response._pb.WhichOneof("response_type")
    if kind == "target_change":
        change = response.target_change
        name = firestore_types.TargetChange.TargetChangeType(change.target_change_type).name
        cause = (change.cause.code,) if change.cause.code else ()
        return (name, list(change.target_ids), *cause)
    if kind == "document_change":
        change = response.document_change
        return ("doc", change.document.name.rsplit("/", 1)[-1], list(change.target_ids))
    if kind == "document_delete":
        gone = response.document_delete
        return ("delete", gone.document.rsplit("/", 1)[-1], list(gone.removed_target_ids))
    if kind == "document_remove":
        gone = response.document_remove
        return ("remove", gone.document.rsplit("/", 1)[-1], list(gone.removed_target_ids))
    return ("filter", response.filter.target_id, response.filter.count)


class RawListen:
    """One Listen call driven request by request, its answers collected in order."""

    def __init__(self, client: firestore.Client) -> None:
        self.client = client
        self._requests: queue.Queue[Any] = queue.Queue()
        self.responses: queue.Queue[Any] = queue.Queue()
        self.last_token = b""
        threading.Thread(target=self._collect, daemon=True).start()

    def _request_stream(self) -> Iterator[Any]:
        while (request := self._requests.get()) is not None:
            yield request

    def _collect(self) -> None:
        try:
            # The call waits for its first answer before returning: call it here.
            for response in self.client._firestore_api.listen(requests=self._request_stream()):
                self.responses.put(response)
        except Exception as error:  # the call ended with an error status
            self.responses.put(error)

    def add(self, target_id: int, **target: Any) -> None:
        self._requests.put(
            firestore_types.ListenRequest(
                database=self.client._database_string,
                add_target=firestore_types.Target(target_id=target_id, **target),
            )
        )

    def add_query(self, target_id: int, query: Any, **options: Any) -> None:
        if isinstance(query, firestore.CollectionReference):
            query = query._query()
        parent, _ = query._parent._parent_info()
        target = firestore_types.Target.QueryTarget(
            parent=parent, structured_query=query._to_protobuf()
        )
        self.add(target_id, query=target, **options)

    def remove(self, target_id: int) -> None:
        self._requests.put(
            firestore_types.ListenRequest(
                database=self.client._database_string, remove_target=target_id
            )
        )

    def until_consistent(self) -> list[tuple[Any, ...]]:
        """Every message up to and including the next global NO_CHANGE."""
        messages = []
        while True:
            response = self.responses.get(timeout=WAIT)
            assert not isinstance(response, Exception), response
            messages.append(summary(response))
            if messages[-1] == ("NO_CHANGE", []):
                self.last_token = response.target_change.resume_token
                return messages

    def close(self) -> None:
        self._requests.put(None)


@pytest.fixture
def raw(firestore_client):
    streams = []

    def open_stream() -> RawListen:
        streams.append(RawListen(firestore_client))
        return streams[-1]

    yield open_stream
    for stream in streams:
        stream.close()


def documents_target(client, *paths: str) -> firestore_types.Target.DocumentsTarget:
    names = [f"{client._database_string}/documents/{path}" for path in paths]
    return firestore_types.Target.DocumentsTarget(documents=names)


def test_a_new_target_is_added_loaded_made_current_then_consistent(firestore_client, raw):
    loans = firestore_client.collection("loans")
    loans.document("b").set({"n": 2})
    loans.document("a").set({"n": 1})
    stream = raw()

    stream.add_query(7, loans.order_by("n"))
    initial = stream.until_consistent()
    loans.document("a").update({"n": 5})
    loans.document("b").delete()
    first_change, second_change = stream.until_consistent(), stream.until_consistent()

    assert initial == [
        ("ADD", [7]),
        ("doc", "a", [7]),
        ("doc", "b", [7]),
        ("CURRENT", [7]),
        ("NO_CHANGE", []),
    ]
    assert first_change == [("doc", "a", [7]), ("NO_CHANGE", [])]
    assert second_change == [("delete", "b", [7]), ("NO_CHANGE", [])]


def test_several_targets_share_a_stream_and_a_removed_target_hears_nothing(firestore_client, raw):
    loans = firestore_client.collection("loans")
    loans.document("a").set({"status": "open"})
    stream = raw()

    stream.add_query(1, loans.where(filter=FieldFilter("status", "==", "open")))
    stream.add(2, documents=documents_target(firestore_client, "loans/a", "loans/z"))
    first, second = stream.until_consistent(), stream.until_consistent()
    loans.document("a").update({"status": "closed"})
    both = stream.until_consistent()
    stream.remove(2)
    removal = stream.responses.get(timeout=WAIT)
    loans.document("z").set({"status": "open"})
    only_query = stream.until_consistent()

    assert first == [("ADD", [1]), ("doc", "a", [1]), ("CURRENT", [1]), ("NO_CHANGE", [])]
    assert second == [("ADD", [2]), ("doc", "a", [2]), ("CURRENT", [2]), ("NO_CHANGE", [])]
    assert both == [("remove", "a", [1]), ("doc", "a", [2]), ("NO_CHANGE", [])]
    assert summary(removal) == ("REMOVE", [2])
    assert only_query == [("doc", "z", [1]), ("NO_CHANGE", [])]


def test_a_resume_token_sends_only_what_changed_and_an_existence_filter(firestore_client, raw):
    loans = firestore_client.collection("loans")
    for name in "abc":
        loans.document(name).set({"n": 1})
    first = raw()
    first.add_query(3, loans)
    first.until_consistent()
    token = first.last_token
    first.close()
    loans.document("a").update({"n": 2})
    loans.document("b").delete()
    loans.document("d").set({"n": 1})
    resumed = raw()

    resumed.add_query(3, loans, resume_token=token)

    assert resumed.until_consistent() == [
        ("ADD", [3]),
        ("doc", "a", [3]),
        ("doc", "d", [3]),
        ("delete", "b", [3]),
        ("filter", 3, 3),
        ("CURRENT", [3]),
        ("NO_CHANGE", []),
    ]


def test_a_resume_token_older_than_the_history_resets_the_target(firestore_client, raw):
    loans = firestore_client.collection("loans")
    loans.document("a").set({"n": 1})
    stale = b"patungan-listen:" + (1).to_bytes(8, "big")  # 1970: long forgotten
    stream = raw()

    stream.add_query(4, loans, resume_token=stale)

    assert stream.until_consistent() == [
        ("ADD", [4]),
        ("RESET", [4]),
        ("doc", "a", [4]),
        ("CURRENT", [4]),
        ("NO_CHANGE", []),
    ]


def test_once_removes_the_target_after_its_first_snapshot(firestore_client, raw):
    firestore_client.document("loans/a").set({"n": 1})
    stream = raw()

    stream.add(5, documents=documents_target(firestore_client, "loans/a"), once=True)
    messages = stream.until_consistent()
    removal = summary(stream.responses.get(timeout=WAIT))
    firestore_client.document("loans/a").update({"n": 2})

    assert messages == [("ADD", [5]), ("doc", "a", [5]), ("CURRENT", [5]), ("NO_CHANGE", [])]
    assert removal == ("REMOVE", [5])
    with pytest.raises(queue.Empty):
        stream.responses.get(timeout=0.3)


def test_a_duplicate_target_id_or_a_bad_query_is_removed_with_a_cause(firestore_client, raw):
    stream = raw()
    stream.add(6, documents=documents_target(firestore_client, "loans/a"))
    stream.until_consistent()

    stream.add(6, documents=documents_target(firestore_client, "loans/b"))
    duplicate = summary(stream.responses.get(timeout=WAIT))
    stream.add(8, documents=firestore_types.Target.DocumentsTarget(documents=["nonsense"]))
    malformed = summary(stream.responses.get(timeout=WAIT))

    assert duplicate == ("REMOVE", [6], 3)  # INVALID_ARGUMENT
    assert malformed == ("REMOVE", [8], 3)
