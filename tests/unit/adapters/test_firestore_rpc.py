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
        def call(request: Any, metadata: Any, timeout: float) -> Any:
            self.calls.append((request, dict(metadata)))
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return iter(answer)

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
    request, metadata = channel.calls[-1]
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
    assert "authorization" not in channel.calls[0][1]  # only the emulator takes the owner token


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
