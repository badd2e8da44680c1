"""The gRPC face of the engine: `google.firestore.v1.Firestore` on grpcio.

Messages are the raw protobuf classes of the client library's own proto-plus types
(`google.cloud.firestore_v1.types`): `Type.pb()` parses a request for the engine, and
the engine's raw response is serialized as it is. No generated stubs are vendored.

Methods the emulator does not implement (Write, PartitionQuery,
ExecutePipeline, and anything unknown) answer UNIMPLEMENTED at once with a
message naming the method, instead of hanging.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import grpc
from google.cloud.firestore_v1.types import document, firestore
from google.protobuf import empty_pb2

from emulators.firestore.engine import FirestoreEngine
from emulators.firestore.errors import RpcError
from emulators.firestore.limits import MAX_REQUEST_BYTES, request_too_large
from emulators.firestore.listen import is_end

logger = logging.getLogger(__name__)

SERVICE = "google.firestore.v1.Firestore"

_NOT_EMULATED = {
    "Write": "the streaming Write API is not emulated; use commit, batch or BatchWrite",
    "PartitionQuery": "query partitioning is not emulated",
    "ExecutePipeline": "pipeline queries are not emulated",
}


def _fail(context: grpc.ServicerContext, error: Exception) -> NoReturn:
    """End the call with the error's status (`context.abort` raises)."""
    if isinstance(error, RpcError):
        context.abort(error.code, error.message)
    logger.exception("internal error in the Firestore emulator")
    context.abort(grpc.StatusCode.INTERNAL, f"Firestore emulator internal error: {error!r}")
    raise AssertionError("unreachable: context.abort raises")


def _parse(raw: bytes, request_type: Any) -> Any:
    """The raw protobuf request, refused as production refuses it when over 10 MiB."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise request_too_large()
    return request_type.pb().FromString(raw)


def _unary(
    call: Callable[[Any], Any], request_type: Any, response_type: Any | None
) -> grpc.RpcMethodHandler:
    def handle(raw: bytes, context: grpc.ServicerContext) -> Any:
        try:
            result = call(_parse(raw, request_type))
        except Exception as error:  # every failure becomes the call's status
            _fail(context, error)
        if response_type is None:
            return empty_pb2.Empty()
        return result

    # No request deserializer: the handler gets the bytes and checks their size first. The
    # engine answers raw protobuf messages of `response_type`, serialized as they are.
    return grpc.unary_unary_rpc_method_handler(handle, response_serializer=_serialize_raw)


def _streaming(
    call: Callable[[Any], list[Any]], request_type: Any, response_type: Any
) -> grpc.RpcMethodHandler:
    def handle(raw: bytes, context: grpc.ServicerContext) -> Iterator[Any]:
        # Everything is computed (and every lock taken) before the first message goes out.
        try:
            results = call(_parse(raw, request_type))
        except Exception as error:
            _fail(context, error)
        yield from results

    return grpc.unary_stream_rpc_method_handler(handle, response_serializer=_serialize_raw)


def listen_handler(engine: FirestoreEngine) -> grpc.RpcMethodHandler:
    """The Listen bidirectional stream (see listen.py): requests in, queued answers out."""

    def handle(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        stream = engine.listen_open()
        context.add_callback(lambda: engine.listen_close(stream))

        def read_requests() -> None:
            try:
                for request in requests:
                    engine.listen_request(stream, firestore.ListenRequest.pb(request))
                stream.end()  # the client half-closed: the call ends
            except RpcError as error:
                stream.end(error)
            except Exception:  # the client went away mid-read, or a bug: end the stream
                if not stream.closed.is_set():
                    logger.exception("Listen request failed")
                stream.end(RpcError(grpc.StatusCode.INTERNAL, "Listen request failed."))

        threading.Thread(target=read_requests, name="firestore-listen-in", daemon=True).start()
        while True:
            item = stream.outbox.get()
            if is_end(item):
                return
            if isinstance(item, RpcError):
                engine.listen_close(stream)
                context.abort(item.code, item.message)
            yield item

    return grpc.stream_stream_rpc_method_handler(
        handle,
        request_deserializer=firestore.ListenRequest.deserialize,
        response_serializer=_serialize_raw,
    )


def _serialize_raw(message: Any) -> bytes:
    return bytes(message.SerializeToString())


def firestore_handler(engine: FirestoreEngine) -> grpc.GenericRpcHandler:
    """The handler serving every emulated method of the Firestore service."""
    fs = firestore
    handlers = {
        "GetDocument": _unary(engine.get_document, fs.GetDocumentRequest, document.Document),
        "ListDocuments": _unary(
            engine.list_documents, fs.ListDocumentsRequest, fs.ListDocumentsResponse
        ),
        "CreateDocument": _unary(
            engine.create_document, fs.CreateDocumentRequest, document.Document
        ),
        "UpdateDocument": _unary(
            engine.update_document, fs.UpdateDocumentRequest, document.Document
        ),
        "DeleteDocument": _unary(engine.delete_document, fs.DeleteDocumentRequest, None),
        "BatchGetDocuments": _streaming(
            engine.batch_get_documents,
            fs.BatchGetDocumentsRequest,
            fs.BatchGetDocumentsResponse,
        ),
        "BeginTransaction": _unary(
            engine.begin_transaction, fs.BeginTransactionRequest, fs.BeginTransactionResponse
        ),
        "Commit": _unary(engine.commit, fs.CommitRequest, fs.CommitResponse),
        "Rollback": _unary(engine.rollback, fs.RollbackRequest, None),
        "RunQuery": _streaming(engine.run_query, fs.RunQueryRequest, fs.RunQueryResponse),
        "RunAggregationQuery": _streaming(
            engine.run_aggregation_query,
            fs.RunAggregationQueryRequest,
            fs.RunAggregationQueryResponse,
        ),
        "ListCollectionIds": _unary(
            engine.list_collection_ids, fs.ListCollectionIdsRequest, fs.ListCollectionIdsResponse
        ),
        "BatchWrite": _unary(engine.batch_write, fs.BatchWriteRequest, fs.BatchWriteResponse),
        "Listen": listen_handler(engine),
    }
    return grpc.method_handlers_generic_handler(SERVICE, handlers)


class UnimplementedHandler(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Answers every other method with UNIMPLEMENTED and a message saying why."""

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method.lstrip("/")
        short_name = method.rsplit("/", 1)[-1]
        reason = _NOT_EMULATED.get(short_name, "this method is not emulated")
        message = f"{method} is not implemented by the Patungan Firestore emulator: {reason}."

        def refuse(requests: Iterator[bytes], context: grpc.ServicerContext) -> NoReturn:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, message)
            raise AssertionError("unreachable: context.abort raises")

        return grpc.stream_stream_rpc_method_handler(refuse)
