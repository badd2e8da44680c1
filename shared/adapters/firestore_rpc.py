"""Firestore's gRPC API without the client library: reads, transactions and commits.

Importing `google.cloud.firestore` costs a cold instance about 185 ms of CPU (the generated
client, api-core's retry and HTTP stack, proto-plus), more than everything else a function
loads on its first request (docs/architecture.md#cold-start). The platform needs five RPCs:
`BatchGetDocuments` and `RunQuery` to read, `BeginTransaction`, `Commit` and `Rollback` for
transactions (and `Commit` alone for a batch). This module makes them over a plain gRPC
channel with the protocol's own messages (`shared/adapters/firestore_descriptors.py`, copied
from the installed library by `python -m scripts.firestore_descriptors`) for about 35 ms,
most of it gRPC itself. `shared/adapters/firestore.py` builds the unit of work on it.

What it does as the library does (`tests/unit/adapters/test_firestore_rpc.py` compares the
bytes): the same endpoint and OAuth scope (Application Default Credentials) in the cloud, an
insecure channel with the `Bearer owner` token on the emulator (`FIRESTORE_EMULATOR_HOST`),
the resource-prefix and routing headers, unlimited message sizes; values, queries and writes
encoded as the library encodes them (field names quoted with backticks where they are not
plain identifiers, `== None` as `IS_NULL`, a merge as the mask of its leaf fields) and
values decoded as `DocumentSnapshot.to_dict()` gives them (timestamps as aware UTC
datetimes). A call that fails with a transient status (unavailable, deadline, internal,
resource exhausted) is made again with jittered backoff, at most `ATTEMPTS` times in all;
a commit only on the two that say it was not applied (unavailable, resource exhausted), as
the library does. A status still transient then is `StoreUnavailable`, any other a
`FirestoreCallFailed` carrying its code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import grpc
from google.protobuf import descriptor_pool, message_factory
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from shared.adapters.firestore_descriptors import FILES
from shared.platform.errors import StoreUnavailable
from shared.platform.store import Document, JsonDict, OrderBy, Where

ENDPOINT = "firestore.googleapis.com:443"
SCOPE = "https://www.googleapis.com/auth/datastore"
ATTEMPTS = 4
TIMEOUT_S = 60.0
_SERVICE = "/google.firestore.v1.Firestore/"
_CHANNEL_OPTIONS = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
_TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
# What the library retries a commit on: a commit that timed out may have been applied.
_COMMIT_RETRIED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})

_PLAIN_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")  # a field name that needs no backticks
_POOL = descriptor_pool.DescriptorPool()  # private: the library may load the same files
for _file in FILES:
    _POOL.AddSerializedFile(_file)


def _message(name: str) -> Any:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(name))


BatchGetDocumentsRequest = _message("google.firestore.v1.BatchGetDocumentsRequest")
BatchGetDocumentsResponse = _message("google.firestore.v1.BatchGetDocumentsResponse")
RunQueryRequest = _message("google.firestore.v1.RunQueryRequest")
RunQueryResponse = _message("google.firestore.v1.RunQueryResponse")
StructuredQuery = _message("google.firestore.v1.StructuredQuery")
BeginTransactionRequest = _message("google.firestore.v1.BeginTransactionRequest")
BeginTransactionResponse = _message("google.firestore.v1.BeginTransactionResponse")
CommitRequest = _message("google.firestore.v1.CommitRequest")
CommitResponse = _message("google.firestore.v1.CommitResponse")
RollbackRequest = _message("google.firestore.v1.RollbackRequest")
Write = _message("google.firestore.v1.Write")
Value = _message("google.firestore.v1.Value")

_FIELD_OPERATORS = {
    "==": StructuredQuery.FieldFilter.Operator.EQUAL,
    "!=": StructuredQuery.FieldFilter.Operator.NOT_EQUAL,
    "<": StructuredQuery.FieldFilter.Operator.LESS_THAN,
    "<=": StructuredQuery.FieldFilter.Operator.LESS_THAN_OR_EQUAL,
    ">": StructuredQuery.FieldFilter.Operator.GREATER_THAN,
    ">=": StructuredQuery.FieldFilter.Operator.GREATER_THAN_OR_EQUAL,
    "in": StructuredQuery.FieldFilter.Operator.IN,
    "array_contains": StructuredQuery.FieldFilter.Operator.ARRAY_CONTAINS,
}
_NULL_OPERATORS = {
    "==": StructuredQuery.UnaryFilter.Operator.IS_NULL,
    "!=": StructuredQuery.UnaryFilter.Operator.IS_NOT_NULL,
}
_NAN_OPERATORS = {
    "==": StructuredQuery.UnaryFilter.Operator.IS_NAN,
    "!=": StructuredQuery.UnaryFilter.Operator.IS_NOT_NAN,
}


class FirestoreCallFailed(RuntimeError):
    """Firestore refused a call for a reason retrying the call will not change: contention
    (`ABORTED`: the transaction may be run again), a precondition (`ALREADY_EXISTS`,
    `NOT_FOUND`), a missing index, a denied permission, a malformed request."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"Firestore {method} failed with {code.name}: {details}")
        self.method = method
        self.code = code
        self.details = details


def open_channel(emulator_host: str | None) -> grpc.Channel:
    """The emulator's insecure channel, or Firestore's with Application Default Credentials."""
    if emulator_host:
        return grpc.insecure_channel(emulator_host, options=_CHANNEL_OPTIONS)
    import google.auth
    from google.auth.transport.grpc import secure_authorized_channel
    from google.auth.transport.requests import Request

    credentials, _ = google.auth.default(scopes=[SCOPE])
    return secure_authorized_channel(  # type: ignore[no-untyped-call]
        credentials, Request(), ENDPOINT, options=_CHANNEL_OPTIONS
    )


class FirestoreRpc:
    """The RPCs of one database over one channel (see the module docstring)."""

    def __init__(
        self,
        channel: grpc.Channel,
        project: str,
        database: str = "(default)",
        *,
        emulator: bool = False,
        attempts: int = ATTEMPTS,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.database_path = f"projects/{project}/databases/{database}"
        self.documents_path = f"{self.database_path}/documents"
        self._channel = channel
        self._metadata: tuple[tuple[str, str], ...] = (
            ("google-cloud-resource-prefix", self.database_path),
        )
        if emulator:
            self._metadata += (("authorization", "Bearer owner"),)
        self._attempts = attempts
        self._timeout_s = timeout_s
        stream, unary = channel.unary_stream, channel.unary_unary
        self._batch_get = _bind(
            stream, "BatchGetDocuments", BatchGetDocumentsRequest, BatchGetDocumentsResponse
        )
        self._run_query = _bind(stream, "RunQuery", RunQueryRequest, RunQueryResponse)
        self._begin = _bind(
            unary, "BeginTransaction", BeginTransactionRequest, BeginTransactionResponse
        )
        self._commit = _bind(unary, "Commit", CommitRequest, CommitResponse)
        # google.protobuf.Empty, kept as its bytes (a deserializer that returns None tells
        # gRPC that deserializing failed).
        self._rollback = _bind(unary, "Rollback", RollbackRequest, bytes)

    @classmethod
    def connect(
        cls, project: str, database: str = "(default)", emulator_host: str | None = None
    ) -> FirestoreRpc:
        return cls(open_channel(emulator_host), project, database, emulator=bool(emulator_host))

    def document_path(self, collection: str, doc_id: str) -> str:
        return f"{self.documents_path}/{collection}/{doc_id}"

    def batch_get(
        self,
        paths: Sequence[str],
        *,
        transaction: bytes | None = None,
        read_time: datetime | None = None,
    ) -> dict[str, JsonDict | None]:
        """Each document's data by its full resource name, None for a missing one."""
        request = BatchGetDocumentsRequest(
            database=self.database_path, documents=list(dict.fromkeys(paths))
        )
        _consistency(request, transaction, read_time)
        found: dict[str, JsonDict | None] = {}
        for response in self._stream("BatchGetDocuments", self._batch_get, request, "database"):
            result = response.WhichOneof("result")
            if result == "found":
                found[response.found.name] = decode_fields(response.found.fields)
            elif result == "missing":
                found[response.missing] = None
        return found

    def run_query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
        *,
        transaction: bytes | None = None,
        read_time: datetime | None = None,
    ) -> list[Document]:
        """The documents of `collection` (a path: `loans` or `loans/L-1/documents`) that match."""
        request = self.query_request(collection, where, order_by, limit, fields)
        _consistency(request, transaction, read_time)
        return [
            Document(
                response.document.name.rpartition("/")[2], decode_fields(response.document.fields)
            )
            for response in self._stream("RunQuery", self._run_query, request, "parent")
            if response.HasField("document")
        ]

    def query_request(
        self,
        collection: str,
        where: Sequence[Where] = (),
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> Any:
        """The `RunQueryRequest` `run_query` sends."""
        parent, _, collection_id = f"{self.documents_path}/{collection}".rpartition("/")
        request = RunQueryRequest(parent=parent)
        query = request.structured_query
        query.from_.add().collection_id = collection_id
        filters = [_filter(condition) for condition in where]
        if len(filters) == 1:
            query.where.CopyFrom(filters[0])
        elif filters:
            query.where.composite_filter.op = StructuredQuery.CompositeFilter.Operator.AND
            query.where.composite_filter.filters.extend(filters)
        for order in order_by:
            query.order_by.add(
                field=StructuredQuery.FieldReference(field_path=field_path(order.field)),
                direction=(
                    StructuredQuery.Direction.DESCENDING
                    if order.descending
                    else StructuredQuery.Direction.ASCENDING
                ),
            )
        if limit is not None:
            query.limit.value = limit
        if fields is not None:
            # No fields is a projection of the name alone, as the client library sends it.
            for name in fields or ["__name__"]:
                query.select.fields.add(field_path=field_path(name))
        return request

    def begin_transaction(self, retrying: bytes | None = None) -> bytes:
        """A new read-write transaction's id; `retrying` names the transaction it runs again
        (Firestore then keeps its place in line for the locks it waited on)."""
        request = BeginTransactionRequest(database=self.database_path)
        request.options.read_write.SetInParent()
        if retrying is not None:
            request.options.read_write.retry_transaction = retrying
        response = self._unary("BeginTransaction", self._begin, request, _TRANSIENT)
        return bytes(response.transaction)

    def commit(self, writes: Sequence[Any], transaction: bytes | None = None) -> None:
        """Apply `writes` atomically: in `transaction`, or on their own as a batch."""
        request = CommitRequest(database=self.database_path, writes=writes)
        if transaction is not None:
            request.transaction = transaction
        self._unary("Commit", self._commit, request, _COMMIT_RETRIED)

    def rollback(self, transaction: bytes) -> None:
        request = RollbackRequest(database=self.database_path, transaction=transaction)
        self._unary("Rollback", self._rollback, request, _TRANSIENT)

    def _stream(
        self, method: str, call: Callable[..., Iterable[Any]], request: Any, routed: str
    ) -> list[Any]:
        # The whole stream per attempt: a retry never mixes two attempts' answers.
        return self._call(  # type: ignore[no-any-return]
            method,
            lambda metadata: list(call(request, metadata=metadata, timeout=self._timeout_s)),
            request,
            routed,
            _TRANSIENT,
        )

    def _unary(
        self,
        method: str,
        call: Callable[..., Any],
        request: Any,
        retried: frozenset[grpc.StatusCode],
    ) -> Any:
        return self._call(
            method,
            lambda metadata: call(request, metadata=metadata, timeout=self._timeout_s),
            request,
            "database",
            retried,
        )

    def _call(
        self,
        method: str,
        attempt: Callable[[tuple[tuple[str, str], ...]], Any],
        request: Any,
        routed: str,
        retried: frozenset[grpc.StatusCode],
    ) -> Any:
        metadata = (
            *self._metadata,
            ("x-goog-request-params", f"{routed}={quote(getattr(request, routed), safe='')}"),
        )
        retrying = Retrying(
            retry=retry_if_exception(
                lambda exc: isinstance(exc, grpc.RpcError) and exc.code() in retried
            ),
            stop=stop_after_attempt(self._attempts),
            wait=wait_random_exponential(multiplier=0.1, max=2),
            reraise=True,
        )
        try:
            return retrying(attempt, metadata)
        except grpc.RpcError as exc:
            code, details = exc.code(), exc.details()
            if code in _TRANSIENT:
                raise StoreUnavailable("Firestore is unavailable") from exc
            raise FirestoreCallFailed(method, code, details) from exc


def _bind(factory: Callable[..., Any], method: str, request: Any, response: Any) -> Any:
    """The callable for `method`, serializing `request` messages and parsing `response`s
    (a message class, or a function of the bytes)."""
    return factory(
        _SERVICE + method,
        request_serializer=request.SerializeToString,
        response_deserializer=getattr(response, "FromString", response),
    )


def _consistency(request: Any, transaction: bytes | None, read_time: datetime | None) -> None:
    if transaction is not None:
        request.transaction = transaction
    elif read_time is not None:
        _set_timestamp(request.read_time, read_time)


def _filter(condition: Where) -> Any:
    reference = StructuredQuery.FieldReference(field_path=field_path(condition.field))
    value = condition.value
    is_nan = isinstance(value, float) and math.isnan(value)
    if value is None or is_nan:  # as the client library sends them: unary filters
        unary = (_NAN_OPERATORS if is_nan else _NULL_OPERATORS).get(condition.op)
        if unary is None:
            raise ValueError(f"{condition.field} {condition.op} {value!r} is not a query")
        return StructuredQuery.Filter(
            unary_filter=StructuredQuery.UnaryFilter(op=unary, field=reference)
        )
    return StructuredQuery.Filter(
        field_filter=StructuredQuery.FieldFilter(
            field=reference, op=_FIELD_OPERATORS[condition.op], value=encode(value)
        )
    )


def field_path(dotted: str) -> str:
    """`a.b` as Firestore's field path, each name that is not a plain identifier quoted."""
    return ".".join(_quoted(name) for name in dotted.split("."))


def _quoted(name: str) -> str:
    if _PLAIN_NAME.fullmatch(name):
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def encode(value: Any) -> Any:
    """A platform value (see shared/platform/store.py) as a `google.firestore.v1.Value`."""
    if value is None:
        return Value(null_value=0)
    if isinstance(value, bool):
        return Value(boolean_value=value)
    if isinstance(value, int):
        return Value(integer_value=value)
    if isinstance(value, float):
        return Value(double_value=value)
    if isinstance(value, str):
        return Value(string_value=value)
    if isinstance(value, bytes):
        return Value(bytes_value=value)
    if isinstance(value, datetime):
        encoded = Value()
        _set_timestamp(encoded.timestamp_value, value)
        return encoded
    if isinstance(value, Mapping):
        encoded = Value()
        encoded.map_value.SetInParent()
        for name, item in value.items():
            encoded.map_value.fields[name].CopyFrom(encode(item))
        return encoded
    if isinstance(value, list | tuple):
        encoded = Value()
        encoded.array_value.SetInParent()
        encoded.array_value.values.extend(encode(item) for item in value)
        return encoded
    raise TypeError(f"Firestore cannot store a {type(value).__name__}")


def create_write(name: str, data: Mapping[str, Any]) -> Any:
    """Write `data` as the new document `name`; the commit fails if it exists."""
    write = _document_write(name, data)
    write.current_document.exists = False
    return write


def set_write(name: str, data: Mapping[str, Any]) -> Any:
    """Write `data` as document `name`, replacing whatever was there."""
    return _document_write(name, data)


def update_write(name: str, changes: Mapping[str, Any]) -> Any:
    """Replace the top-level fields `changes` names; the commit fails if `name` is missing."""
    write = _document_write(name, changes)
    write.update_mask.field_paths.extend(_quoted(key) for key in sorted(changes))
    write.current_document.exists = True
    return write


def merge_write(name: str, fields: Mapping[str, Any], increments: Mapping[str, int]) -> Any:
    """Set each leaf of `fields` and add each of `increments` to its top-level field (an
    increment wins over a field of the same name), creating document `name` if it is
    missing: the library's `set(merge=True)` with `Increment`s."""
    fields = {key: value for key, value in fields.items() if key not in increments}
    write = _document_write(name, fields)
    leaves = sorted(_leaf_paths(fields))  # in field path order, as the library sends them
    write.update_mask.field_paths.extend(".".join(map(_quoted, path)) for path in leaves)
    for key in sorted(increments):
        write.update_transforms.add(field_path=_quoted(key), increment=encode(increments[key]))
    return write


def delete_write(name: str) -> Any:
    return Write(delete=name)


def _document_write(name: str, data: Mapping[str, Any]) -> Any:
    write = Write()
    write.update.name = name
    for key, value in data.items():
        write.update.fields[key].CopyFrom(encode(value))
    return write


def _leaf_paths(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, ...]]:
    for key, value in data.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and value:
            yield from _leaf_paths(value, path)
        else:
            yield path


def decode_fields(fields: Mapping[str, Any]) -> JsonDict:
    return {name: decode(value) for name, value in fields.items()}


def decode(value: Any) -> Any:
    """A `google.firestore.v1.Value` as the platform stores it."""
    kind = value.WhichOneof("value_type")
    if kind == "string_value":
        return value.string_value
    if kind == "integer_value":
        return value.integer_value
    if kind == "map_value":
        fields = value.map_value.fields
        if "__type__" in fields:  # a reserved name: the client library's vectors
            raise ValueError(f"the platform stores no Firestore {fields['__type__'].string_value}")
        return decode_fields(fields)
    if kind == "array_value":
        return [decode(item) for item in value.array_value.values]
    if kind == "null_value":
        return None
    if kind == "boolean_value":
        return value.boolean_value
    if kind == "timestamp_value":
        stamp = value.timestamp_value
        moment = datetime.fromtimestamp(stamp.seconds, UTC)
        return moment.replace(microsecond=stamp.nanos // 1000)
    if kind == "double_value":
        return value.double_value
    if kind == "bytes_value":
        return value.bytes_value
    raise ValueError(f"the platform stores no Firestore {kind} values")


def _set_timestamp(stamp: Any, moment: datetime) -> None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # as the client library reads a naive datetime
    stamp.FromDatetime(moment)
