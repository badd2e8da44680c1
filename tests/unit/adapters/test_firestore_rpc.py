"""Firestore's gRPC API without the client library (shared/adapters/firestore_rpc.py): the
bytes it sends are the bytes the library sends, it decodes what the library encodes, and it
retries and reports failures as the unit of work promises. On the emulator it is tested by
every read the integration tests make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1.base_query import FieldFilter

from scripts import firestore_descriptors
from shared.adapters import firestore_rpc
from shared.adapters.firestore_rpc import FirestoreCallFailed, FirestoreRpc, decode, encode
from shared.platform.errors import StoreUnavailable
from shared.platform.store import OrderBy, Where

VALUES = [
    None,
    True,
    0,
    -9_007_199_254_740_993,
    0.25,
    float("inf"),
    "Rp 1.000",
    "",
    b"\x00\xff",
    datetime(2026, 12, 3, 1, 2, 3, 456789, tzinfo=UTC),
    datetime(2026, 12, 3, 8, 2, 3, tzinfo=timezone(timedelta(hours=7))),
    [],
    [1, "two", None, {"c": False}],
    {},
    {"postings": [{"account": "escrow_cash", "amount": 100}], "2026-12": {"`odd.key`": 1}},
]


def serialized(message: Any) -> bytes:
    raw = type(message).pb(message) if hasattr(type(message), "pb") else message
    return bytes(raw.SerializeToString(deterministic=True))


@pytest.fixture(scope="module")
def library() -> firestore.Client:
    return firestore.Client(project="p", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]


def test_the_committed_protocol_is_the_installed_library_s():
    assert firestore_descriptors.OUTPUT.read_text() == firestore_descriptors.render(), (
        "run python -m scripts.firestore_descriptors"
    )


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_value_is_encoded_as_the_client_library_encodes_it(value):
    assert serialized(encode(value)) == serialized(_helpers.encode_value(value))


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_value_decodes_to_what_was_stored(value):
    assert decode(encode(value)) == value
    if isinstance(value, datetime):
        assert decode(encode(value)).tzinfo == UTC


def test_values_the_platform_cannot_store_are_refused_by_name():
    with pytest.raises(TypeError, match="set"):
        encode({"tags": {"a", "b"}})


@pytest.mark.parametrize(
    ("collection", "where", "order_by", "limit", "fields"),
    [
        ("loans", [], [], None, None),
        ("loans", [Where("state", "==", "listed")], [], None, None),
        (
            "loans",
            [Where("state", "in", ["listed", "funded"]), Where("principal", ">=", 1_000_000)],
            [OrderBy("principal", descending=True), OrderBy("listed_at")],
            25,
            None,
        ),
        ("loans/L-1/commitments", [Where("lender_id", "!=", None)], [], 1, ["amount", "at"]),
        ("ledger/2026-12/entries", [Where("closed_at", "==", None)], [], None, []),
        ("things", [Where("score", "==", float("nan"))], [OrderBy("a.b")], None, ["a.b", "n"]),
        ("things", [Where("tags", "array_contains", "x"), Where("n", "<", 2.5)], [], 3, None),
        (
            "things",
            [Where("at", "<=", datetime(2026, 12, 3, tzinfo=UTC)), Where("n", ">", 1)],
            [],
            None,
            None,
        ),
    ],
)
def test_a_query_is_sent_as_the_client_library_sends_it(
    library, collection, where, order_by, limit, fields
):
    query: Any = library.collection(collection)._query()
    for condition in where:
        query = query.where(filter=FieldFilter(condition.field, condition.op, condition.value))
    for order in order_by:
        direction = firestore.Query.DESCENDING if order.descending else firestore.Query.ASCENDING
        query = query.order_by(order.field, direction=direction)
    if limit is not None:
        query = query.limit(limit)
    if fields is not None:
        query = query.select(fields)
    rpc = FirestoreRpc(grpc.insecure_channel("127.0.0.1:1"), "p")

    request = rpc.query_request(collection, where, order_by, limit, fields)

    assert request.parent == query._parent._parent_info()[0]
    assert serialized(request.structured_query) == serialized(query._to_protobuf())


def test_a_null_can_only_be_compared_for_equality():
    rpc = FirestoreRpc(grpc.insecure_channel("127.0.0.1:1"), "p")
    with pytest.raises(ValueError, match="closed_at < None"):
        rpc.query_request("loans", [Where("closed_at", "<", None)])


class _Refused(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return f"refused with {self._code.name}"


class _Channel:
    """A channel whose calls answer from a script: an exception to raise, or responses."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[Any, Any]] = []

    def unary_stream(self, method: str, **_: Any) -> Any:
        return lambda *args, **kwargs: iter(self.unary_unary(method)(*args, **kwargs))

    def unary_unary(self, method: str, **_: Any) -> Any:
        def call(request: Any, metadata: Any, timeout: float) -> Any:
            self.calls.append((method.rpartition("/")[2], request, dict(metadata)))
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


def _found(name: str, **fields: Any) -> Any:
    response = firestore_rpc.BatchGetDocumentsResponse()
    response.found.name = name
    for key, value in fields.items():
        response.found.fields[key].CopyFrom(encode(value))
    return response


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr("tenacity.nap.time.sleep", lambda _: None)


def test_a_transient_failure_is_retried_and_the_retry_answers():
    name = "projects/p/databases/(default)/documents/loans/L-1"
    channel = _Channel(_Refused(grpc.StatusCode.UNAVAILABLE), [_found(name, principal=5_000_000)])
    rpc = FirestoreRpc(channel, "p", emulator=True)  # type: ignore[arg-type]

    assert rpc.batch_get([name]) == {name: {"principal": 5_000_000}}
    assert len(channel.calls) == 2
    _, request, metadata = channel.calls[-1]
    assert list(request.documents) == [name]
    assert metadata == {
        "google-cloud-resource-prefix": "projects/p/databases/(default)",
        "authorization": "Bearer owner",
        "x-goog-request-params": "database=projects%2Fp%2Fdatabases%2F%28default%29",
    }


def test_a_read_still_failing_after_its_attempts_is_store_unavailable():
    channel = _Channel(*[_Refused(grpc.StatusCode.DEADLINE_EXCEEDED)] * 4)
    rpc = FirestoreRpc(channel, "p", attempts=4)  # type: ignore[arg-type]

    with pytest.raises(StoreUnavailable):
        rpc.run_query("loans")
    assert len(channel.calls) == 4
    assert "authorization" not in channel.calls[0][2]  # only the emulator takes the owner token


def test_a_refusal_retrying_cannot_change_is_reported_at_once():
    channel = _Channel(_Refused(grpc.StatusCode.FAILED_PRECONDITION))
    rpc = FirestoreRpc(channel, "p")  # type: ignore[arg-type]

    with pytest.raises(FirestoreCallFailed, match="RunQuery failed with FAILED_PRECONDITION"):
        rpc.run_query("loans", [Where("a", "==", 1)], [OrderBy("b")])
    assert len(channel.calls) == 1


def test_in_the_cloud_the_channel_carries_application_default_credentials(monkeypatch):
    seen: dict[str, Any] = {}
    credentials = object()

    def default(scopes: list[str]) -> tuple[object, str]:
        seen["scopes"] = scopes
        return credentials, "p"

    def secure_authorized_channel(given, request, target, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(credentials=given, target=target, options=kwargs["options"])
        return "channel"

    monkeypatch.setattr("google.auth.default", default)
    monkeypatch.setattr(
        "google.auth.transport.grpc.secure_authorized_channel", secure_authorized_channel
    )

    assert firestore_rpc.open_channel(None) == "channel"
    assert seen == {
        "scopes": ["https://www.googleapis.com/auth/datastore"],
        "credentials": credentials,
        "target": "firestore.googleapis.com:443",
        "options": [
            ("grpc.max_send_message_length", -1),
            ("grpc.max_receive_message_length", -1),
        ],
    }


NAME = "projects/p/databases/(default)/documents/loans/L-1"
DOCUMENTS = [
    {"state": "listed", "principal": 5_000_000},
    {"nested": {"a": {"b": 1}, "empty": {}}, "list": [1, {"x": None}], "2026-12": True},
    {"when": datetime(2026, 12, 3, tzinfo=UTC), "a.b": "a dotted name is one name"},
    {"_é": 1, "_ok": 2, "nama_usaha": "Warung", "é": 3, "a`b": 4, "a\\b": 5},
]


def one(pbs: list[Any]) -> bytes:
    [pb] = pbs
    return serialized(pb)


@pytest.mark.parametrize("data", DOCUMENTS, ids=repr)
def test_writes_are_sent_as_the_client_library_sends_them(data):
    assert serialized(firestore_rpc.create_write(NAME, data)) == one(
        _helpers.pbs_for_create(NAME, data)
    )
    assert serialized(firestore_rpc.set_write(NAME, data)) == one(
        _helpers.pbs_for_set_no_merge(NAME, data)
    )
    assert serialized(firestore_rpc.delete_write(NAME)) == serialized(
        _helpers.pb_for_delete(NAME, None)
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"state": "funded"},
        {"state": "funded", "funded": 5_000_000, "at": datetime(2026, 12, 3, tzinfo=UTC)},
        {"schedule": [{"due": "2027-01-03", "amount": 1}], "meta": {"k": {}}, "2026-12": None},
        {"_é": 1, "_ok": 2, "nama_usaha": "Warung", "é": 3, "a`b": 4, "a\\b": 5},
    ],
    ids=repr,
)
def test_an_update_is_sent_as_the_client_library_sends_it(changes):
    assert serialized(firestore_rpc.update_write(NAME, changes)) == one(
        _helpers.pbs_for_update(NAME, changes, None)
    )


@pytest.mark.parametrize(
    ("fields", "increments"),
    [
        ({}, {"balance": 100}),
        ({"account": "escrow_cash"}, {"debits": 250, "credits": -5}),
        ({"owner": {"kind": "lender", "id": "u-1"}, "tags": {}}, {"2026-12": 1}),
        ({"month": "2026-12"}, {}),
        ({"balance": 0, "month": "2026-12"}, {"balance": 7}),
    ],
    ids=repr,
)
def test_a_merge_with_increments_is_sent_as_the_client_library_sends_it(fields, increments):
    library_data = {**fields, **{k: firestore.Increment(v) for k, v in increments.items()}}
    assert serialized(firestore_rpc.merge_write(NAME, fields, increments)) == one(
        _helpers.pbs_for_set_with_merge(NAME, library_data, merge=True)
    )


def test_a_commit_is_retried_only_where_it_cannot_have_been_applied():
    """As the library does: UNAVAILABLE means the commit was not applied, so it is sent
    again; a DEADLINE_EXCEEDED commit may have been, so it is reported, not repeated."""
    write = firestore_rpc.set_write(NAME, {"state": "funded"})
    channel = _Channel(_Refused(grpc.StatusCode.UNAVAILABLE), firestore_rpc.CommitResponse())
    FirestoreRpc(channel, "p").commit([write], transaction=b"t-1")  # type: ignore[arg-type]
    assert [(method, request.transaction) for method, request, _ in channel.calls] == [
        ("Commit", b"t-1"),
        ("Commit", b"t-1"),
    ]

    channel = _Channel(_Refused(grpc.StatusCode.DEADLINE_EXCEEDED))
    with pytest.raises(StoreUnavailable):
        FirestoreRpc(channel, "p").commit([write])  # type: ignore[arg-type]
    assert len(channel.calls) == 1


def test_a_transaction_begins_read_write_and_a_retry_names_the_one_it_repeats():
    begun = firestore_rpc.BeginTransactionResponse(transaction=b"t-2")
    channel = _Channel(begun, begun)
    rpc = FirestoreRpc(channel, "p")  # type: ignore[arg-type]

    assert rpc.begin_transaction() == b"t-2"
    assert rpc.begin_transaction(retrying=b"t-1") == b"t-2"
    [(_, first, _), (_, retry, _)] = channel.calls
    assert first.options.HasField("read_write")
    assert not first.options.read_write.retry_transaction
    assert retry.options.read_write.retry_transaction == b"t-1"
