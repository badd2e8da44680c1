"""gRPC front of the Pub/Sub emulator: `google.pubsub.v1.Publisher` and `.Subscriber`.

The handlers speak the wire protocol of the client library's own message
types (`google.pubsub_v1.types`, as raw protobuf for speed) and delegate every
rule to `Broker`. `BrokerError`s become gRPC statuses of the same name, which
the client library raises as `google.api_core.exceptions.NotFound`,
`AlreadyExists`, `InvalidArgument`, and so on.

StreamingPull follows the protocol `SubscriberClient.subscribe()` uses: the
first request names the subscription and sets the stream's ack deadline and
flow control (`max_outstanding_messages` / `max_outstanding_bytes`); later
requests carry acks, deadline modifications (0 = nack), a new stream ack
deadline, or nothing (heartbeats). The server sends batches of leased
messages while the stream has room, with `subscription_properties` saying
whether ordering (and exactly-once delivery) is on. Snapshots and Seek rewind a
subscription from what topics, subscriptions and snapshots retain (retention.py).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.protobuf import empty_pb2
from google.pubsub_v1 import types
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from emulators.pubsub.broker import Broker, BrokerError, Status, StreamLease
from emulators.pubsub.schemas import SchemaError, compile_definition

_PULL_WAIT_CAP_S = 10.0
_MAX_MESSAGE_BYTES = 32 * 1024 * 1024


def _pb(proto_plus_type: Any) -> Any:
    return proto_plus_type.pb()


def _abort(context: grpc.ServicerContext, error: BrokerError) -> None:
    context.abort(grpc.StatusCode[error.status.value], error.message)


_INVALID_ACK_IDS = (
    "Some acknowledgement ids in the request were invalid. This could be because the "
    "acknowledgement ids have expired or the acknowledgement ids were malformed."
)


def _refuse_invalid_ack_ids(context: grpc.ServicerContext, invalid: list[str]) -> None:
    """Exactly-once: fail the call with the ErrorInfo the client reads per ack id."""
    if not invalid:
        return
    info = error_details_pb2.ErrorInfo(
        reason="EXACTLY_ONCE_ACKID_FAILURE",
        domain="pubsub.googleapis.com",
        metadata=dict.fromkeys(invalid, "PERMANENT_FAILURE_INVALID_ACK_ID"),
    )
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=_INVALID_ACK_IDS)
    status.details.add().Pack(info)
    context.abort_with_status(rpc_status.to_status(status))


class _Handlers:
    """Method implementations; each takes (request, context) like a generated servicer."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    # Publisher -------------------------------------------------------------

    def create_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.broker.create_topic(request)

    def update_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.broker.update_topic(request.topic, list(request.update_mask.paths))

    def publish(self, request: Any, context: grpc.ServicerContext) -> Any:
        ids = self.broker.publish(request.topic, request.messages)
        return _pb(types.PublishResponse)(message_ids=ids)

    def get_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.broker.get_topic(request.topic)

    def list_topics(self, request: Any, context: grpc.ServicerContext) -> Any:
        topics, token = self.broker.list_topics(
            request.project, request.page_size, request.page_token
        )
        return _pb(types.ListTopicsResponse)(topics=topics, next_page_token=token)

    def list_topic_subscriptions(self, request: Any, context: grpc.ServicerContext) -> Any:
        names, token = self.broker.list_topic_subscriptions(
            request.topic, request.page_size, request.page_token
        )
        return _pb(types.ListTopicSubscriptionsResponse)(subscriptions=names, next_page_token=token)

    def list_topic_snapshots(self, request: Any, context: grpc.ServicerContext) -> Any:
        names, token = self.broker.list_topic_snapshots(
            request.topic, request.page_size, request.page_token
        )
        return _pb(types.ListTopicSnapshotsResponse)(snapshots=names, next_page_token=token)

    def delete_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.broker.delete_topic(request.topic)
        return empty_pb2.Empty()

    def detach_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.broker.detach_subscription(request.subscription)
        return _pb(types.DetachSubscriptionResponse)()

    # Subscriber ------------------------------------------------------------

    def create_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.broker.create_subscription(request)

    def get_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.broker.get_subscription(request.subscription)

    def update_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.broker.update_subscription(
            request.subscription, list(request.update_mask.paths)
        )

    def list_subscriptions(self, request: Any, context: grpc.ServicerContext) -> Any:
        subs, token = self.broker.list_subscriptions(
            request.project, request.page_size, request.page_token
        )
        return _pb(types.ListSubscriptionsResponse)(subscriptions=subs, next_page_token=token)

    def delete_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.broker.delete_subscription(request.subscription)
        return empty_pb2.Empty()

    def modify_push_config(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.broker.modify_push_config(request.subscription, request.push_config)
        return empty_pb2.Empty()

    def modify_ack_deadline(self, request: Any, context: grpc.ServicerContext) -> Any:
        invalid = self.broker.modify_ack_deadline(
            request.subscription, request.ack_ids, request.ack_deadline_seconds
        )
        _refuse_invalid_ack_ids(context, invalid)
        return empty_pb2.Empty()

    def acknowledge(self, request: Any, context: grpc.ServicerContext) -> Any:
        invalid = self.broker.acknowledge(request.subscription, request.ack_ids)
        _refuse_invalid_ack_ids(context, invalid)
        return empty_pb2.Empty()

    def pull(self, request: Any, context: grpc.ServicerContext) -> Any:
        wait = 0.0
        if not request.return_immediately:
            remaining = context.time_remaining()
            wait = _PULL_WAIT_CAP_S if remaining is None else min(remaining - 0.5, _PULL_WAIT_CAP_S)
        received = self.broker.pull(request.subscription, request.max_messages, max(wait, 0.0))
        return _pb(types.PullResponse)(received_messages=received)

    def list_snapshots(self, request: Any, context: grpc.ServicerContext) -> Any:
        snapshots, token = self.broker.list_snapshots(
            request.project, request.page_size, request.page_token
        )
        return _pb(types.ListSnapshotsResponse)(snapshots=snapshots, next_page_token=token)

    def get_snapshot(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.broker.get_snapshot(request.snapshot)

    def create_snapshot(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.broker.create_snapshot(request.name, request.subscription, request.labels)

    def update_snapshot(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.broker.update_snapshot(request.snapshot, list(request.update_mask.paths))

    def delete_snapshot(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.broker.delete_snapshot(request.snapshot)
        return empty_pb2.Empty()

    def seek(self, request: Any, context: grpc.ServicerContext) -> Any:
        target = request.WhichOneof("target")
        if target == "time":
            self.broker.seek(
                request.subscription, time_ns=request.time.ToNanoseconds(), snapshot=None
            )
        elif target == "snapshot":
            self.broker.seek(request.subscription, time_ns=None, snapshot=request.snapshot)
        else:
            raise BrokerError(Status.INVALID_ARGUMENT, "Seek needs a time or a snapshot")
        return _pb(types.SeekResponse)()

    def streaming_pull(
        self, requests: Iterator[Any], context: grpc.ServicerContext
    ) -> Iterator[Any]:
        try:
            first = next(requests)
        except StopIteration:
            return
        if not first.subscription:
            raise BrokerError(
                Status.INVALID_ARGUMENT, "The first StreamingPull request must name a subscription"
            )
        name = first.subscription
        lease = self.broker.open_stream(
            name,
            first.stream_ack_deadline_seconds,
            first.max_outstanding_messages,
            first.max_outstanding_bytes,
        )
        config = self.broker.get_subscription(name)
        ordering = config.enable_message_ordering
        exactly_once = config.enable_exactly_once_delivery
        self._apply_stream_request(name, lease, first)
        failure: list[BrokerError] = []
        reader = threading.Thread(
            target=self._read_stream,
            args=(requests, name, lease, failure),
            name=f"streaming-pull-reader {name}",
            daemon=True,
        )
        reader.start()
        context.add_callback(lambda: self.broker.close_stream(lease))
        try:
            while True:
                received = self.broker.stream_take(lease, wait_s=1.0)
                if received is None:
                    if failure:
                        raise failure[0]
                    return
                if not received:
                    if not context.is_active():
                        return
                    continue
                response = _pb(types.StreamingPullResponse)(received_messages=received)
                response.subscription_properties.message_ordering_enabled = ordering
                response.subscription_properties.exactly_once_delivery_enabled = exactly_once
                yield response
        finally:
            self.broker.close_stream(lease)

    def _read_stream(
        self,
        requests: Iterator[Any],
        name: str,
        lease: StreamLease,
        failure: list[BrokerError],
    ) -> None:
        try:
            for request in requests:
                self._apply_stream_request(name, lease, request)
        except BrokerError as exc:
            failure.append(exc)
        except grpc.RpcError:
            pass  # the client went away; closing the lease below ends the stream
        finally:
            self.broker.close_stream(lease)

    def _apply_stream_request(self, name: str, lease: StreamLease, request: Any) -> None:
        if request.stream_ack_deadline_seconds and lease.deadline_s != (
            request.stream_ack_deadline_seconds
        ):
            self.broker.update_stream_deadline(lease, request.stream_ack_deadline_seconds)
        if request.ack_ids:
            self.broker.acknowledge(name, request.ack_ids)
        if request.modify_deadline_ack_ids:
            if len(request.modify_deadline_ack_ids) != len(request.modify_deadline_seconds):
                raise BrokerError(
                    Status.INVALID_ARGUMENT,
                    "modify_deadline_seconds and modify_deadline_ack_ids differ in length",
                )
            by_deadline: dict[int, list[str]] = defaultdict(list)
            for ack_id, seconds in zip(
                request.modify_deadline_ack_ids, request.modify_deadline_seconds, strict=True
            ):
                by_deadline[seconds].append(ack_id)
            for seconds, ack_ids in by_deadline.items():
                self.broker.modify_ack_deadline(name, ack_ids, seconds)


class _SchemaHandlers:
    """`google.pubsub.v1.SchemaService` on the broker's schema registry (schemas.py)."""

    def __init__(self, broker: Broker) -> None:
        self.schemas = broker.schemas

    def create(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.schemas.create(request.parent, request.schema_id, request.schema)

    def get(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.schemas.get(request.name, request.view)

    def list(self, request: Any, context: grpc.ServicerContext) -> Any:
        schemas = self.schemas.list_schemas(request.parent, request.view)
        return _pb(types.ListSchemasResponse)(schemas=schemas)

    def list_revisions(self, request: Any, context: grpc.ServicerContext) -> Any:
        schemas = self.schemas.list_revisions(request.name, request.view)
        return _pb(types.ListSchemaRevisionsResponse)(schemas=schemas)

    def commit(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.schemas.commit(request.name, request.schema)

    def rollback(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.schemas.rollback(request.name, request.revision_id)

    def delete_revision(self, request: Any, context: grpc.ServicerContext) -> Any:
        name = request.name if "@" in request.name else f"{request.name}@{request.revision_id}"
        return self.schemas.delete_revision(name)

    def delete(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.schemas.delete(request.name)
        return empty_pb2.Empty()

    def validate(self, request: Any, context: grpc.ServicerContext) -> Any:
        compile_definition(request.schema.type_, request.schema.definition)
        return _pb(types.ValidateSchemaResponse)()

    def validate_message(self, request: Any, context: grpc.ServicerContext) -> Any:
        inline = request.schema if request.WhichOneof("schema_spec") == "schema" else None
        self.schemas.validate_message(request.name, inline, request.message, request.encoding)
        return _pb(types.ValidateMessageResponse)()


def _unary(
    handler: Callable[[Any, grpc.ServicerContext], Any], request_type: Any
) -> grpc.RpcMethodHandler:
    def call(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return handler(request, context)
        except BrokerError as exc:
            _abort(context, exc)
            raise  # unreachable: abort raises
        except SchemaError as exc:
            context.abort(grpc.StatusCode[exc.status], exc.message)
            raise  # unreachable: abort raises

    return grpc.unary_unary_rpc_method_handler(
        call,
        request_deserializer=_pb(request_type).FromString,
        response_serializer=lambda message: message.SerializeToString(),
    )


def _streaming(handlers: _Handlers) -> grpc.RpcMethodHandler:
    def call(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from handlers.streaming_pull(requests, context)
        except BrokerError as exc:
            _abort(context, exc)

    return grpc.stream_stream_rpc_method_handler(
        call,
        request_deserializer=_pb(types.StreamingPullRequest).FromString,
        response_serializer=lambda message: message.SerializeToString(),
    )


def build_server(broker: Broker, *, max_workers: int = 128) -> grpc.Server:
    """A gRPC server (not yet bound or started) serving Publisher and Subscriber on `broker`."""
    h = _Handlers(broker)
    t = types
    publisher = {
        "CreateTopic": _unary(h.create_topic, t.Topic),
        "UpdateTopic": _unary(h.update_topic, t.UpdateTopicRequest),
        "Publish": _unary(h.publish, t.PublishRequest),
        "GetTopic": _unary(h.get_topic, t.GetTopicRequest),
        "ListTopics": _unary(h.list_topics, t.ListTopicsRequest),
        "ListTopicSubscriptions": _unary(
            h.list_topic_subscriptions, t.ListTopicSubscriptionsRequest
        ),
        "ListTopicSnapshots": _unary(h.list_topic_snapshots, t.ListTopicSnapshotsRequest),
        "DeleteTopic": _unary(h.delete_topic, t.DeleteTopicRequest),
        "DetachSubscription": _unary(h.detach_subscription, t.DetachSubscriptionRequest),
    }
    subscriber = {
        "CreateSubscription": _unary(h.create_subscription, t.Subscription),
        "GetSubscription": _unary(h.get_subscription, t.GetSubscriptionRequest),
        "UpdateSubscription": _unary(h.update_subscription, t.UpdateSubscriptionRequest),
        "ListSubscriptions": _unary(h.list_subscriptions, t.ListSubscriptionsRequest),
        "DeleteSubscription": _unary(h.delete_subscription, t.DeleteSubscriptionRequest),
        "ModifyAckDeadline": _unary(h.modify_ack_deadline, t.ModifyAckDeadlineRequest),
        "Acknowledge": _unary(h.acknowledge, t.AcknowledgeRequest),
        "Pull": _unary(h.pull, t.PullRequest),
        "StreamingPull": _streaming(h),
        "ModifyPushConfig": _unary(h.modify_push_config, t.ModifyPushConfigRequest),
        "GetSnapshot": _unary(h.get_snapshot, t.GetSnapshotRequest),
        "ListSnapshots": _unary(h.list_snapshots, t.ListSnapshotsRequest),
        "CreateSnapshot": _unary(h.create_snapshot, t.CreateSnapshotRequest),
        "UpdateSnapshot": _unary(h.update_snapshot, t.UpdateSnapshotRequest),
        "DeleteSnapshot": _unary(h.delete_snapshot, t.DeleteSnapshotRequest),
        "Seek": _unary(h.seek, t.SeekRequest),
    }
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="pubsub-grpc"),
        options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    s = _SchemaHandlers(broker)
    schema_service = {
        "CreateSchema": _unary(s.create, t.CreateSchemaRequest),
        "GetSchema": _unary(s.get, t.GetSchemaRequest),
        "ListSchemas": _unary(s.list, t.ListSchemasRequest),
        "ListSchemaRevisions": _unary(s.list_revisions, t.ListSchemaRevisionsRequest),
        "CommitSchema": _unary(s.commit, t.CommitSchemaRequest),
        "RollbackSchema": _unary(s.rollback, t.RollbackSchemaRequest),
        "DeleteSchemaRevision": _unary(s.delete_revision, t.DeleteSchemaRevisionRequest),
        "DeleteSchema": _unary(s.delete, t.DeleteSchemaRequest),
        "ValidateSchema": _unary(s.validate, t.ValidateSchemaRequest),
        "ValidateMessage": _unary(s.validate_message, t.ValidateMessageRequest),
    }
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler("google.pubsub.v1.Publisher", publisher),
            grpc.method_handlers_generic_handler("google.pubsub.v1.Subscriber", subscriber),
            grpc.method_handlers_generic_handler("google.pubsub.v1.SchemaService", schema_service),
        )
    )
    return server
