"""The Pub/Sub emulator's in-memory state and delivery rules, independent of gRPC.

`Broker` holds topics, subscriptions and every message not yet acknowledged,
and implements what a subscriber of real Pub/Sub can observe:

- Publishing assigns `message_id` and `publish_time` and gives each attached
  subscription its own copy, unless the subscription's filter rejects it (then
  it is acknowledged on the spot, as Pub/Sub does).
- A delivery leases the message under a fresh `ack_id` until its ack deadline.
  An ack ends it; a nack (ModifyAckDeadline 0) or an expired deadline is a
  failed attempt, and the message is offered again after the retry policy's
  backoff: `min(maximum_backoff, minimum_backoff * 2**(failures - 1))`, or at
  once without a retry policy (pull) or with the push backoff (100 ms doubling
  up to 60 s) for push subscriptions without one.
- With a dead-letter policy, `delivery_attempt` is 1 + failures so far, and the
  message goes to the dead-letter topic once `max_delivery_attempts` attempts
  have failed, with the `CloudPubSubDeadLetterSource*` attributes Pub/Sub adds.
- With message ordering enabled, at most one message per ordering key is out
  at a time, and the next one is offered only after the previous is acked (or
  dead-lettered); a failed message is retried before anything behind it.
- An ack with an ack id whose deadline expired still counts until the message
  has been delivered again (then the old ack id is stale and ignored).

Leases belong to a consumer: a `Pull` call, a `StreamingPull` stream or the
push worker of a push subscription. Streams and push workers take messages
within their flow-control limits (`StreamLease`).

One lock guards everything; a single clock thread fires ack-deadline expiries
and wakes consumers when a backed-off message becomes available. Times are
`time.monotonic()`; `publish_time` is wall-clock UTC.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from google.protobuf import duration_pb2
from google.pubsub_v1 import types

from emulators.pubsub.faults import FaultPlan, PublishFault
from emulators.pubsub.filters import AttributeFilter, FilterSyntaxError, parse_filter
from emulators.pubsub.retention import NANOS, MessageLog, Snapshot
from emulators.pubsub.schemas import DELETED_SCHEMA, SchemaError, SchemaRegistry

PubsubMessage = types.PubsubMessage.pb()
ReceivedMessage = types.ReceivedMessage.pb()
Topic = types.Topic.pb()
Subscription = types.Subscription.pb()

DELETED_TOPIC = "_deleted-topic_"
DEFAULT_ACK_DEADLINE_S = 10
MAX_ACK_DEADLINE_S = 600
DEFAULT_RETENTION_S = 7 * 24 * 3600
MIN_RETENTION_S = 600
DEFAULT_MIN_BACKOFF_S = 10.0
DEFAULT_MAX_BACKOFF_S = 600.0
MAX_BACKOFF_LIMIT_S = 600.0
PUSH_BACKOFF_START_S = 0.1
PUSH_BACKOFF_MAX_S = 60.0
DEFAULT_MAX_DELIVERY_ATTEMPTS = 5
EXPIRATION_TTL_S = 31 * 24 * 3600
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_ATTRIBUTES = 100
MAX_PULL_BATCH = 1000
_ACKED_IDS_KEPT = 100_000  # exactly-once: successful ack ids remembered per subscription

_RESOURCE_ID = re.compile(r"^[A-Za-z][-A-Za-z0-9._~%+]{2,254}$")
_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/(?P<kind>topics|subscriptions|snapshots)/(?P<id>[^/]+)$"
)
_UPDATABLE_SUBSCRIPTION_FIELDS = frozenset(
    {
        "ack_deadline_seconds",
        "push_config",
        "labels",
        "message_retention_duration",
        "retain_acked_messages",
        "expiration_policy",
        "dead_letter_policy",
        "retry_policy",
        "detached",
    }
)
_UPDATABLE_TOPIC_FIELDS = frozenset(
    {
        "labels",
        "message_storage_policy",
        "message_retention_duration",
        "schema_settings",
        "kms_key_name",
    }
)


class Status(enum.Enum):
    """gRPC status names the broker can fail with (mapped 1:1 by the gRPC layer)."""

    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    UNAVAILABLE = "UNAVAILABLE"
    # Only ever raised by a publish fault (faults.PublishFault): the codes a real
    # Publish can fail with.
    ABORTED = "ABORTED"
    CANCELLED = "CANCELLED"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    INTERNAL = "INTERNAL"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    UNKNOWN = "UNKNOWN"


class BrokerError(Exception):
    """A request Pub/Sub would refuse, with the status it would refuse it with."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class BrokerOptions:
    """Emulator settings; the defaults are faithful to production Pub/Sub.

    `min_ack_deadline_s` may be lowered (to 1) so tests can watch a deadline
    expire in a second; production refuses anything under 10.
    """

    min_ack_deadline_s: int = DEFAULT_ACK_DEADLINE_S


class _State(enum.Enum):
    WAITING = "waiting"  # behind another message with the same ordering key
    PENDING = "pending"  # ready now or after `available_at`
    LEASED = "leased"
    DONE = "done"


@dataclass(eq=False, slots=True)
class _Queued:
    """One message's life in one subscription."""

    message: Any  # PubsubMessage, shared between subscriptions, never mutated
    size: int
    seq: int
    published_at: float  # monotonic
    ordering_key: str  # "" when the subscription does not order
    state: _State = _State.PENDING
    failures: int = 0  # nacks + expired deadlines
    deliveries: int = 0
    extra_deliveries: int = 0  # injected duplicates still to deliver
    available_at: float = 0.0
    version: int = 0
    ack_id: str = ""
    deadline: float = 0.0
    owner: StreamLease | None = None
    last_error: str = ""


@dataclass
class SubscriptionStats:
    published: int = 0
    filtered_out: int = 0
    delivered: int = 0
    acknowledged: int = 0
    nacked: int = 0
    expired: int = 0
    dead_lettered: int = 0
    duplicates_injected: int = 0
    last_push_error: str = ""


@dataclass
class TopicStats:
    published: int = 0  # messages accepted
    refused_publishes: int = 0  # Publish calls refused by a publish fault
    refused_messages: int = 0  # the messages those calls carried


@dataclass(eq=False)
class _Subscription:
    config: Any  # Subscription
    serial: int
    cond: threading.Condition
    filter: AttributeFilter | None
    ready: list[tuple[float, int, int, _Queued]] = field(default_factory=list)
    ack_index: dict[str, _Queued] = field(default_factory=dict)
    backlog: dict[int, _Queued] = field(default_factory=dict)
    key_queues: dict[str, deque[_Queued]] = field(default_factory=dict)
    stats: SubscriptionStats = field(default_factory=SubscriptionStats)
    faults: FaultPlan | None = None
    push_lease: StreamLease | None = None
    deleted: bool = False
    # Exactly-once: ack ids acknowledged successfully, so acking one again succeeds too.
    acked_ids: OrderedDict[str, None] = field(default_factory=OrderedDict)
    # retain_acked_messages: acknowledged messages kept for seeking (retention.py).
    acked_log: MessageLog | None = None

    @property
    def exactly_once(self) -> bool:
        return bool(self.config.enable_exactly_once_delivery)

    @property
    def name(self) -> str:
        return str(self.config.name)

    @property
    def is_push(self) -> bool:
        return bool(self.config.push_config.push_endpoint)


@dataclass(eq=False)
class StreamLease:
    """A consumer that holds leases under flow control: one StreamingPull stream or a push worker.

    `deadline_s` 0 means "the subscription's ack deadline" (push workers).
    `max_messages`/`max_bytes` 0 mean unlimited.
    """

    sub: _Subscription
    deadline_s: int
    max_messages: int
    max_bytes: int
    outstanding: int = 0
    outstanding_bytes: int = 0
    closed: bool = False


@dataclass(frozen=True)
class PushTarget:
    """Where and how a push subscription delivers right now."""

    subscription: str
    endpoint: str
    ack_deadline_s: int
    service_account_email: str  # push_config.oidc_token, "" when unauthenticated
    audience: str
    no_wrapper: bool = False  # POST the raw data instead of the JSON wrapper
    write_metadata: bool = False  # with no_wrapper: metadata and attributes as headers


def _duration_s(value: Any) -> float:
    return float(value.seconds) + float(value.nanos) / 1e9


def _set_duration(target: Any, seconds: float) -> None:
    target.CopyFrom(
        duration_pb2.Duration(seconds=int(seconds), nanos=round((seconds - int(seconds)) * 1e9))
    )


def _parse_name(name: str, kind: str) -> tuple[str, str]:
    match = _NAME.match(name)
    if match is None or match["kind"] != kind:
        singular = kind[:-1]
        raise BrokerError(
            Status.INVALID_ARGUMENT,
            f"Invalid [{kind}] name: (name={name}); "
            f"expected projects/<project>/{kind}/<{singular}>",
        )
    resource_id = match["id"]
    if not _RESOURCE_ID.match(resource_id) or resource_id.lower().startswith("goog"):
        raise BrokerError(
            Status.INVALID_ARGUMENT,
            f"Invalid resource name given (name={name}): an id has 3-255 characters, starts "
            "with a letter, uses letters, digits and -._~%+ and does not start with 'goog'",
        )
    return match["project"], resource_id


def _refuse_unemulated(resource: Any, fields: Sequence[str]) -> None:
    """UNIMPLEMENTED for a feature the emulator would otherwise ignore silently."""
    for name in fields:
        value = getattr(resource, name)
        present = len(value) if isinstance(value, Sequence) else value.ByteSize()
        if present:
            raise BrokerError(Status.UNIMPLEMENTED, f"{name} is not emulated")


def _resized(log: MessageLog | None, retention: Any) -> MessageLog | None:
    """`log` kept for `retention` (a Duration): created, resized, or None when it is zero."""
    retention_ns = int(_duration_s(retention) * NANOS)
    if retention_ns <= 0:
        return None
    if log is None:
        return MessageLog(retention_ns)
    log.retention_ns = retention_ns
    return log


def _checked(call: Callable[..., Any], *args: Any) -> Any:
    """Call into the schema registry, its refusals becoming the broker's."""
    try:
        return call(*args)
    except SchemaError as error:
        raise BrokerError(Status[error.status], error.message) from None


def _project_of(name: str) -> str:
    return name.split("/")[1]


class Broker:
    """Topics, subscriptions and deliveries; every public method is thread-safe."""

    def __init__(
        self,
        options: BrokerOptions | None = None,
        *,
        on_push_subscription: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options or BrokerOptions()
        self._on_push_subscription = on_push_subscription
        self._clock = clock
        self._lock = threading.Lock()
        self._clock_cond = threading.Condition(self._lock)
        self._topics: dict[str, Any] = {}
        self._topic_subs: dict[str, dict[str, _Subscription]] = {}
        self._subs: dict[str, _Subscription] = {}
        self._timers: list[tuple[float, int, str, _Subscription, _Queued | None, str]] = []
        self._counter = itertools.count(1)
        self._message_ids = itertools.count(1_000_001)
        self._default_faults: FaultPlan | None = None
        self._publish_faults: list[PublishFault] = []
        self._topic_stats: dict[str, TopicStats] = {}
        self._topic_logs: dict[str, MessageLog] = {}  # topics with message retention
        self._snapshots: dict[str, Snapshot] = {}
        self.schemas = SchemaRegistry(on_delete=self._schema_deleted)
        self._stopped = False
        self._clock_thread = threading.Thread(
            target=self._run_clock, name="pubsub-clock", daemon=True
        )
        self._clock_thread.start()

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        """Wake and end every waiting consumer; further calls fail with UNAVAILABLE."""
        with self._lock:
            self._stopped = True
            for sub in self._subs.values():
                sub.cond.notify_all()
            self._clock_cond.notify_all()
        self._clock_thread.join(timeout=5)

    def reset(self, project: str | None = None) -> None:
        """Forget every topic, subscription, message and fault plan (of one project, if given)."""
        with self._lock:
            for name in [n for n in self._subs if project is None or _project_of(n) == project]:
                self._drop_subscription(name)
            for name in [n for n in self._topics if project is None or _project_of(n) == project]:
                del self._topics[name]
                self._topic_subs.pop(name, None)
                self._topic_stats.pop(name, None)
                self._topic_logs.pop(name, None)
            for name in [
                n for n in self._snapshots if project is None or _project_of(n) == project
            ]:
                del self._snapshots[name]
            if project is None:
                self._default_faults = None
                self._publish_faults.clear()
            else:
                scope = f"projects/{project}/"
                self._publish_faults = [
                    fault
                    for fault in self._publish_faults
                    if not (fault.topic or fault.topic_prefix or "").startswith(scope)
                ]
                self._timers.clear()

    # ------------------------------------------------------------------ topics

    def create_topic(self, topic: Any) -> Any:
        _parse_name(topic.name, "topics")
        with self._lock:
            self._check_running()
            if topic.name in self._topics:
                raise BrokerError(Status.ALREADY_EXISTS, "Topic already exists")
            if topic.HasField("message_retention_duration"):
                self._check_retention(topic.message_retention_duration)
            _refuse_unemulated(topic, ("ingestion_data_source_settings", "message_transforms"))
            _checked(self.schemas.check_settings, topic.schema_settings)
            stored = Topic()
            stored.CopyFrom(topic)
            stored.state = int(types.Topic.State.ACTIVE)
            self._topics[topic.name] = stored
            self._topic_subs[topic.name] = {}
            self._topic_stats[topic.name] = TopicStats()
            self._sync_topic_log(stored)
            return self._copy(stored)

    def get_topic(self, name: str) -> Any:
        with self._lock:
            return self._copy(self._topic(name))

    def update_topic(self, topic: Any, paths: Sequence[str]) -> Any:
        if not paths:
            raise BrokerError(Status.INVALID_ARGUMENT, "The update_mask in the request is empty")
        unknown = set(paths) - _UPDATABLE_TOPIC_FIELDS
        if unknown:
            raise BrokerError(
                Status.INVALID_ARGUMENT, f"Invalid update_mask provided: {sorted(unknown)}"
            )
        with self._lock:
            stored = self._topic(topic.name)
            for path in paths:
                if path == "message_retention_duration" and topic.HasField(path):
                    self._check_retention(topic.message_retention_duration)
                if path == "schema_settings":
                    _checked(self.schemas.check_settings, topic.schema_settings)
                self._copy_field(topic, stored, path)
            self._sync_topic_log(stored)
            return self._copy(stored)

    def list_topics(self, project: str, page_size: int, page_token: str) -> tuple[list[Any], str]:
        with self._lock:
            names = sorted(n for n in self._topics if n.startswith(project + "/topics/"))
            page, token = self._page(names, page_size, page_token)
            return [self._copy(self._topics[n]) for n in page], token

    def list_topic_subscriptions(
        self, topic: str, page_size: int, page_token: str
    ) -> tuple[list[str], str]:
        with self._lock:
            self._topic(topic)
            return self._page(sorted(self._topic_subs[topic]), page_size, page_token)

    def delete_topic(self, name: str) -> None:
        with self._lock:
            self._topic(name)
            del self._topics[name]
            self._topic_stats.pop(name, None)
            self._topic_logs.pop(name, None)
            for sub in self._topic_subs.pop(name).values():
                sub.config.topic = DELETED_TOPIC

    def detach_subscription(self, name: str) -> None:
        with self._lock:
            sub = self._sub(name)
            self._topic_subs.get(sub.config.topic, {}).pop(name, None)
            sub.config.detached = True
            for queued in list(sub.backlog.values()):
                self._finish(sub, queued)

    # ------------------------------------------------------------------ publish

    def publish(self, topic_name: str, messages: Sequence[Any]) -> list[str]:
        """Store `messages` (PubsubMessage, mutated to carry id and time) and route them."""
        if not messages:
            raise BrokerError(Status.INVALID_ARGUMENT, "The request contains no messages")
        for message in messages:
            self._check_message(message)
        with self._lock:
            topic = self._topic(topic_name)
            self._refuse_if_faulted(topic.name, len(messages))
            if topic.schema_settings.schema:
                for message in messages:  # all or none: a misfit refuses the whole call
                    _checked(self.schemas.accept, topic.schema_settings, message)
            publish_ns = time.time_ns()
            ids = []
            for message in messages:
                ids.append(self._publish_locked(topic.name, message, publish_ns))
            return ids

    # ------------------------------------------------------------------ subscriptions

    def create_subscription(self, request: Any) -> Any:
        _parse_name(request.name, "subscriptions")
        config = Subscription()
        config.CopyFrom(request)
        self._validate_subscription(config)
        with self._lock:
            self._check_running()
            if config.name in self._subs:
                raise BrokerError(Status.ALREADY_EXISTS, "Subscription already exists")
            self._topic(config.topic)
            self._check_dead_letter_topic(config)
            sub = _Subscription(
                config=config,
                serial=next(self._counter),
                cond=threading.Condition(self._lock),
                filter=parse_filter(config.filter) if config.filter else None,
                faults=self._default_faults,
            )
            self._sync_acked_log(sub)
            self._subs[config.name] = sub
            self._topic_subs[config.topic][config.name] = sub
            result = self._copy(config)
        if sub.is_push:
            self._notify_push(config.name)
        return result

    def get_subscription(self, name: str) -> Any:
        with self._lock:
            return self._copy(self._sub(name).config)

    def list_subscriptions(
        self, project: str, page_size: int, page_token: str
    ) -> tuple[list[Any], str]:
        with self._lock:
            names = sorted(n for n in self._subs if n.startswith(project + "/subscriptions/"))
            page, token = self._page(names, page_size, page_token)
            return [self._copy(self._subs[n].config) for n in page], token

    def update_subscription(self, update: Any, paths: Sequence[str]) -> Any:
        if not paths:
            raise BrokerError(Status.INVALID_ARGUMENT, "The update_mask in the request is empty")
        for path in paths:
            if path.split(".")[0] not in _UPDATABLE_SUBSCRIPTION_FIELDS:
                raise BrokerError(
                    Status.INVALID_ARGUMENT,
                    f"Invalid update_mask provided: the field '{path}' cannot be updated",
                )
        with self._lock:
            sub = self._sub(update.name)
            was_push = sub.is_push
            candidate = Subscription()
            candidate.CopyFrom(sub.config)
            for path in paths:
                self._copy_field(update, candidate, path.split(".")[0])
        self._validate_subscription(candidate)
        with self._lock:
            sub = self._sub(update.name)
            self._check_dead_letter_topic(candidate)
            sub.config.CopyFrom(candidate)
            self._sync_acked_log(sub)
            becomes_push = sub.is_push and not was_push
            if was_push and not sub.is_push and sub.push_lease is not None:
                sub.push_lease.closed = True
                sub.push_lease = None
                sub.cond.notify_all()
            result = self._copy(sub.config)
        if becomes_push:
            self._notify_push(update.name)
        return result

    def modify_push_config(self, name: str, push_config: Any) -> None:
        update = Subscription(name=name)
        update.push_config.CopyFrom(push_config)
        self.update_subscription(update, ["push_config"])

    def delete_subscription(self, name: str) -> None:
        with self._lock:
            self._sub(name)
            self._drop_subscription(name)

    # ------------------------------------------------------------------ delivery

    def pull(self, name: str, max_messages: int, wait_s: float) -> list[Any]:
        """Lease up to `max_messages`, waiting up to `wait_s` for the first to be available."""
        if max_messages <= 0:
            raise BrokerError(Status.INVALID_ARGUMENT, "max_messages must be positive")
        with self._lock:
            sub = self._sub(name)
            deadline = self._clock() + wait_s
            while True:
                now = self._clock()
                received = self._take(sub, min(max_messages, MAX_PULL_BATCH), 0, now, None, 0)
                if received or now >= deadline:
                    return received
                sub.cond.wait(min(deadline - now, 1.0))
                self._check_running()
                if sub.deleted:
                    raise BrokerError(Status.NOT_FOUND, "Subscription does not exist")

    def open_stream(
        self, name: str, deadline_s: int, max_messages: int, max_bytes: int
    ) -> StreamLease:
        self._check_deadline(deadline_s, what="stream_ack_deadline_seconds")
        with self._lock:
            self._check_running()
            sub = self._sub(name)
            return StreamLease(sub, deadline_s, max(max_messages, 0), max(max_bytes, 0))

    def open_push_lease(self, name: str, concurrency: int) -> StreamLease | None:
        """The push worker's lease, or None when `name` is gone or no longer a push subscription."""
        with self._lock:
            sub = self._subs.get(name)
            if sub is None or not sub.is_push or self._stopped:
                return None
            if sub.push_lease is not None:
                sub.push_lease.closed = True
            sub.push_lease = StreamLease(sub, 0, concurrency, 0)
            return sub.push_lease

    def push_target(self, lease: StreamLease) -> PushTarget | None:
        with self._lock:
            sub = lease.sub
            if lease.closed or sub.deleted or not sub.is_push:
                return None
            push = sub.config.push_config
            return PushTarget(
                subscription=sub.name,
                endpoint=push.push_endpoint,
                ack_deadline_s=sub.config.ack_deadline_seconds,
                service_account_email=push.oidc_token.service_account_email,
                audience=push.oidc_token.audience or push.push_endpoint,
                no_wrapper=push.HasField("no_wrapper"),
                write_metadata=push.no_wrapper.write_metadata,
            )

    def stream_take(self, lease: StreamLease, wait_s: float) -> list[Any] | None:
        """Messages for a stream or push worker within its flow control.

        Returns [] when nothing arrived within `wait_s`, None once the lease is
        closed; raises NOT_FOUND when the subscription was deleted and
        UNAVAILABLE when the emulator stops.
        """
        with self._lock:
            sub = lease.sub
            deadline = self._clock() + wait_s
            while True:
                self._check_running()
                if sub.deleted:
                    raise BrokerError(Status.NOT_FOUND, "Subscription does not exist")
                if lease.closed:
                    return None
                now = self._clock()
                limit = MAX_PULL_BATCH
                if lease.max_messages:
                    limit = min(limit, lease.max_messages - lease.outstanding)
                byte_room = 0
                if lease.max_bytes:
                    # Always let one message through, however large, when nothing is out.
                    byte_room = max(lease.max_bytes - lease.outstanding_bytes, 1)
                    if lease.outstanding_bytes >= lease.max_bytes and lease.outstanding:
                        limit = 0
                if limit > 0:
                    deadline_s = lease.deadline_s or sub.config.ack_deadline_seconds
                    received = self._take(sub, limit, byte_room, now, lease, deadline_s)
                    if received:
                        return received
                if now >= deadline:
                    return []
                sub.cond.wait(min(deadline - now, 1.0))

    def close_stream(self, lease: StreamLease) -> None:
        with self._lock:
            lease.closed = True
            lease.sub.cond.notify_all()

    def update_stream_deadline(self, lease: StreamLease, deadline_s: int) -> None:
        self._check_deadline(deadline_s, what="stream_ack_deadline_seconds")
        with self._lock:
            lease.deadline_s = deadline_s

    def acknowledge(self, name: str, ack_ids: Iterable[str]) -> list[str]:
        """Acknowledge; returns the ack ids an exactly-once subscription refuses.

        Without exactly-once, stale or unknown ack ids are ignored, as Pub/Sub
        ignores them. With it, an ack id is refused unless it is the message's
        current lease and its deadline has not passed; acknowledging an ack id
        that already succeeded succeeds again.
        """
        with self._lock:
            sub = self._sub(name)
            now = self._clock()
            invalid = []
            for ack_id in ack_ids:
                queued = sub.ack_index.get(ack_id)
                if sub.exactly_once:
                    if ack_id in sub.acked_ids:
                        continue
                    if not self._lease_is_live(sub, queued, ack_id, now):
                        invalid.append(ack_id)
                        continue
                    self._remember_ack(sub, ack_id)
                if queued is None or queued.ack_id != ack_id:
                    continue  # stale or unknown: Pub/Sub ignores it too
                self._ack(sub, queued, now)
            return invalid

    def modify_ack_deadline(self, name: str, ack_ids: Iterable[str], seconds: int) -> list[str]:
        """Change lease deadlines; returns the ack ids an exactly-once subscription refuses."""
        # Unlike a subscription's deadline, a modification may be anything from 0 to 600 s.
        if not 0 <= seconds <= MAX_ACK_DEADLINE_S:
            raise BrokerError(
                Status.INVALID_ARGUMENT,
                f"Invalid ack_deadline_seconds: {seconds}; it must be between 0 and "
                f"{MAX_ACK_DEADLINE_S} seconds",
            )
        with self._lock:
            sub = self._sub(name)
            now = self._clock()
            invalid = []
            for ack_id in ack_ids:
                queued = sub.ack_index.get(ack_id)
                if sub.exactly_once and not self._lease_is_live(sub, queued, ack_id, now):
                    invalid.append(ack_id)
                    continue
                if queued is None or queued.state is not _State.LEASED:
                    continue
                if seconds == 0:
                    self._fail(sub, queued, now, expired=False)
                    continue
                new_deadline = now + seconds
                if new_deadline < queued.deadline:
                    self._schedule(new_deadline, "expire", sub, queued, ack_id)
                queued.deadline = new_deadline
            return invalid

    def _lease_is_live(
        self, sub: _Subscription, queued: _Queued | None, ack_id: str, now: float
    ) -> bool:
        """Whether `ack_id` is its message's current lease, within its deadline."""
        if queued is None or queued.ack_id != ack_id or queued.state is not _State.LEASED:
            return False
        if queued.deadline <= now:
            self._expire(sub, queued, ack_id, now)  # the clock thread has not caught up yet
            return False
        return True

    @staticmethod
    def _remember_ack(sub: _Subscription, ack_id: str) -> None:
        sub.acked_ids[ack_id] = None
        if len(sub.acked_ids) > _ACKED_IDS_KEPT:
            sub.acked_ids.popitem(last=False)

    def record_push_failure(self, name: str, ack_id: str, error: str) -> None:
        """Nack a push delivery the endpoint refused, remembering why (for dead letters)."""
        with self._lock:
            sub = self._subs.get(name)
            if sub is None:
                return
            sub.stats.last_push_error = error
            queued = sub.ack_index.get(ack_id)
            if queued is None or queued.state is not _State.LEASED or queued.ack_id != ack_id:
                return
            queued.last_error = error
            self._fail(sub, queued, self._clock(), expired=False)

    # ------------------------------------------------------------------ snapshots and seek

    def create_snapshot(self, name: str, subscription: str, labels: dict[str, str]) -> Any:
        """Capture what `subscription` has not acknowledged, and all it receives from now on."""
        _parse_name(name, "snapshots")
        with self._lock:
            sub = self._sub(subscription)
            if name in self._snapshots:
                raise BrokerError(Status.ALREADY_EXISTS, "Snapshot already exists")
            if sub.config.topic == DELETED_TOPIC:
                raise BrokerError(
                    Status.FAILED_PRECONDITION, "The subscription's topic has been deleted"
                )
            snapshot = Snapshot(name, sub.config.topic, sub.name, time.time_ns(), dict(labels))
            for queued in sub.backlog.values():
                publish_ns = queued.message.publish_time.ToNanoseconds()
                snapshot.log.add(queued.message, publish_ns)
                if snapshot.oldest_ns is None or publish_ns < snapshot.oldest_ns:
                    snapshot.oldest_ns = publish_ns
            self._snapshots[name] = snapshot
            return snapshot.to_pb()

    def get_snapshot(self, name: str) -> Any:
        with self._lock:
            return self._snapshot(name).to_pb()

    def list_snapshots(
        self, project: str, page_size: int, page_token: str
    ) -> tuple[list[Any], str]:
        with self._lock:
            self._forget_expired_snapshots()
            names = sorted(n for n in self._snapshots if n.startswith(project + "/snapshots/"))
            page, token = self._page(names, page_size, page_token)
            return [self._snapshots[n].to_pb() for n in page], token

    def list_topic_snapshots(
        self, topic: str, page_size: int, page_token: str
    ) -> tuple[list[str], str]:
        with self._lock:
            self._topic(topic)
            self._forget_expired_snapshots()
            names = sorted(n for n, s in self._snapshots.items() if s.topic == topic)
            return self._page(names, page_size, page_token)

    def update_snapshot(self, update: Any, paths: Sequence[str]) -> Any:
        if not paths or set(paths) - {"labels"}:
            raise BrokerError(
                Status.INVALID_ARGUMENT, "Only a snapshot's labels can be updated (update_mask)"
            )
        with self._lock:
            snapshot = self._snapshot(update.name)
            snapshot.labels = dict(update.labels)
            return snapshot.to_pb()

    def delete_snapshot(self, name: str) -> None:
        with self._lock:
            self._snapshot(name)
            del self._snapshots[name]

    def seek(self, subscription: str, *, time_ns: int | None, snapshot: str | None) -> None:
        """Rewind or fast-forward a subscription (see retention.py)."""
        with self._lock:
            sub = self._sub(subscription)
            now_ns = time.time_ns()
            unacked = {q.message.message_id: q for q in sub.backlog.values()}
            kept: dict[str, tuple[int, Any]] = {}
            if snapshot is not None:
                source = self._snapshot(snapshot)
                if source.topic != sub.config.topic:
                    raise BrokerError(
                        Status.FAILED_PRECONDITION,
                        "The snapshot's topic is not the subscription's topic",
                    )
                for message_id, retained in source.log.items(now_ns):
                    kept[message_id] = (retained.publish_ns, retained.message)
                redeliver = set(kept)
            else:
                assert time_ns is not None
                for log in (self._topic_logs.get(sub.config.topic), sub.acked_log):
                    if log is not None:
                        for message_id, retained in log.items(now_ns):
                            kept[message_id] = (retained.publish_ns, retained.message)
                for message_id, queued in unacked.items():
                    kept[message_id] = (queued.message.publish_time.ToNanoseconds(), queued.message)
                redeliver = {message_id for message_id, (ns, _) in kept.items() if ns >= time_ns}
            for message_id, queued in unacked.items():
                if message_id not in redeliver:
                    self._finish(sub, queued)
            now = self._clock()
            for message_id in sorted(redeliver - set(unacked), key=lambda m: kept[m][0]):
                message = kept[message_id][1]
                if sub.filter is None or sub.filter.matches(message.attributes):
                    self._enqueue(sub, message, message.ByteSize(), now, fresh=False)

    # ------------------------------------------------------------------ admin

    def set_faults(self, plan: FaultPlan | None, subscription: str | None = None) -> None:
        """Apply `plan` to one subscription, or to all (present and future) when None."""
        with self._lock:
            if subscription is None:
                self._default_faults = plan
                for sub in self._subs.values():
                    sub.faults = plan
            else:
                self._sub(subscription).faults = plan

    def set_publish_fault(self, fault: PublishFault) -> None:
        """Refuse matching Publish calls; replaces the fault with the same selector."""
        with self._lock:
            self._publish_faults = [
                f for f in self._publish_faults if f.selector != fault.selector
            ] + [fault]

    def clear_publish_faults(
        self, *, topic: str | None = None, topic_prefix: str | None = None
    ) -> None:
        """Remove the publish fault with this selector, or every one when both are None."""
        with self._lock:
            if topic is None and topic_prefix is None:
                self._publish_faults.clear()
            else:
                self._publish_faults = [
                    f for f in self._publish_faults if f.selector != (topic, topic_prefix)
                ]

    def faults(self) -> dict[str, Any]:
        with self._lock:
            default = self._default_faults.to_json() if self._default_faults else None
            return {
                "default": default,
                "subscriptions": {
                    name: sub.faults.to_json()
                    for name, sub in sorted(self._subs.items())
                    if sub.faults is not None
                },
                "publish": [fault.to_json() for fault in self._publish_faults],
            }

    def topic_stats(self, name: str | None = None) -> dict[str, Any]:
        """Publish counters per topic (all, or one: NOT_FOUND if unknown)."""
        with self._lock:
            if name is not None:
                self._topic(name)
                return self._topic_stats_of(name)
            return {n: self._topic_stats_of(n) for n in sorted(self._topic_stats)}

    def stats(self, name: str | None = None) -> dict[str, Any]:
        """Counters per subscription (all, or one) plus backlog and oldest unacked age."""
        with self._lock:
            now = self._clock()
            if name is not None:
                return self._stats_of(self._sub(name), now)
            return {n: self._stats_of(s, now) for n, s in sorted(self._subs.items())}

    # ------------------------------------------------------------------ internals (lock held)

    def _schema_deleted(self, name: str) -> None:
        with self._lock:
            for topic in self._topics.values():
                if topic.schema_settings.schema == name:
                    topic.schema_settings.schema = DELETED_SCHEMA

    def _snapshot(self, name: str) -> Snapshot:
        self._check_running()
        self._forget_expired_snapshots()
        snapshot = self._snapshots.get(name)
        if snapshot is None:
            _parse_name(name, "snapshots")
            raise BrokerError(Status.NOT_FOUND, f"Snapshot not found (resource={name})")
        return snapshot

    def _forget_expired_snapshots(self) -> None:
        now_ns = time.time_ns()
        for name in [n for n, s in self._snapshots.items() if s.expire_ns <= now_ns]:
            del self._snapshots[name]

    def _sync_topic_log(self, topic: Any) -> None:
        log = _resized(self._topic_logs.get(topic.name), topic.message_retention_duration)
        if log is None:
            self._topic_logs.pop(topic.name, None)
        else:
            self._topic_logs[topic.name] = log

    @staticmethod
    def _sync_acked_log(sub: _Subscription) -> None:
        retains = sub.config.retain_acked_messages
        retention = sub.config.message_retention_duration if retains else duration_pb2.Duration()
        sub.acked_log = _resized(sub.acked_log, retention)

    def _check_running(self) -> None:
        if self._stopped:
            raise BrokerError(Status.UNAVAILABLE, "The emulator is shutting down")

    def _topic(self, name: str) -> Any:
        self._check_running()
        topic = self._topics.get(name)
        if topic is None:
            _parse_name(name, "topics")
            raise BrokerError(Status.NOT_FOUND, f"Topic not found (resource={name})")
        return topic

    def _refuse_if_faulted(self, topic: str, messages: int) -> None:
        fault = next((f for f in self._publish_faults if f.matches(topic)), None)
        if fault is None:
            return
        fault.refused += 1
        if fault.spent:
            self._publish_faults.remove(fault)
        stats = self._topic_stats[topic]
        stats.refused_publishes += 1
        stats.refused_messages += messages
        raise BrokerError(
            Status(fault.code),
            f"Publish to {topic} refused with {fault.code} by the emulator's publish fault",
        )

    def _topic_stats_of(self, name: str) -> dict[str, Any]:
        stats = self._topic_stats[name]
        return {
            "topic": name,
            "published": stats.published,
            "refused_publishes": stats.refused_publishes,
            "refused_messages": stats.refused_messages,
        }

    def _sub(self, name: str) -> _Subscription:
        self._check_running()
        sub = self._subs.get(name)
        if sub is None:
            _parse_name(name, "subscriptions")
            raise BrokerError(Status.NOT_FOUND, f"Subscription does not exist (resource={name})")
        return sub

    @staticmethod
    def _copy(message: Any) -> Any:
        copy = type(message)()
        copy.CopyFrom(message)
        return copy

    @staticmethod
    def _copy_field(source: Any, target: Any, path: str) -> None:
        descriptor = target.DESCRIPTOR.fields_by_name.get(path)
        if descriptor is None:
            raise BrokerError(Status.INVALID_ARGUMENT, f"Invalid update_mask path: {path}")
        if descriptor.message_type is not None and descriptor.label != descriptor.LABEL_REPEATED:
            target.ClearField(path)
            if source.HasField(path):
                getattr(target, path).CopyFrom(getattr(source, path))
        elif descriptor.label == descriptor.LABEL_REPEATED:
            target.ClearField(path)
            value = getattr(source, path)
            if hasattr(value, "items"):
                getattr(target, path).update(value)
            else:
                getattr(target, path).extend(value)
        else:
            setattr(target, path, getattr(source, path))

    @staticmethod
    def _page(names: list[str], page_size: int, page_token: str) -> tuple[list[str], str]:
        try:
            start = int(page_token) if page_token else 0
        except ValueError as exc:
            raise BrokerError(Status.INVALID_ARGUMENT, "Invalid page token") from exc
        size = page_size if page_size > 0 else 100
        page = names[start : start + size]
        return page, str(start + size) if start + size < len(names) else ""

    def _check_deadline(self, seconds: int, *, what: str) -> None:
        minimum = self.options.min_ack_deadline_s
        if not minimum <= seconds <= MAX_ACK_DEADLINE_S:
            raise BrokerError(
                Status.INVALID_ARGUMENT,
                f"Invalid {what}: {seconds}; it must be between {minimum} and "
                f"{MAX_ACK_DEADLINE_S} seconds",
            )

    @staticmethod
    def _check_retention(duration: Any) -> None:
        seconds = _duration_s(duration)
        if not MIN_RETENTION_S <= seconds <= DEFAULT_RETENTION_S:
            raise BrokerError(
                Status.INVALID_ARGUMENT,
                "message_retention_duration must be between 10 minutes and 7 days",
            )

    @staticmethod
    def _check_message(message: Any) -> None:
        if not message.data and not message.attributes:
            raise BrokerError(
                Status.INVALID_ARGUMENT, "A message must have data or at least one attribute"
            )
        if len(message.attributes) > MAX_ATTRIBUTES:
            raise BrokerError(Status.INVALID_ARGUMENT, "A message has more than 100 attributes")
        for key, value in message.attributes.items():
            if not key or len(key.encode()) > 256 or key.lower().startswith("goog"):
                raise BrokerError(
                    Status.INVALID_ARGUMENT,
                    f"Invalid attribute key {key!r}: 1-256 bytes, not starting with 'goog'",
                )
            if len(value.encode()) > 1024:
                raise BrokerError(
                    Status.INVALID_ARGUMENT, f"Attribute {key!r} has a value over 1024 bytes"
                )
        if message.ByteSize() > MAX_MESSAGE_BYTES:
            raise BrokerError(Status.INVALID_ARGUMENT, "A message is larger than 10 MB")

    def _validate_subscription(self, config: Any) -> None:
        """Check and fill defaults the way Pub/Sub does on create and update."""
        if config.ack_deadline_seconds == 0:
            config.ack_deadline_seconds = DEFAULT_ACK_DEADLINE_S
        self._check_deadline(config.ack_deadline_seconds, what="ack_deadline_seconds")
        if config.HasField("message_retention_duration"):
            self._check_retention(config.message_retention_duration)
        else:
            _set_duration(config.message_retention_duration, DEFAULT_RETENTION_S)
        if not config.HasField("expiration_policy"):
            _set_duration(config.expiration_policy.ttl, EXPIRATION_TTL_S)
        push = config.push_config
        if push.push_endpoint:
            url = urlparse(push.push_endpoint)
            if url.scheme not in {"http", "https"} or not url.netloc:
                raise BrokerError(
                    Status.INVALID_ARGUMENT, f"Invalid push_endpoint: {push.push_endpoint!r}"
                )
        _refuse_unemulated(
            config,
            ("bigquery_config", "cloud_storage_config", "bigtable_config", "message_transforms"),
        )
        if config.HasField("retry_policy"):
            policy = config.retry_policy
            if not policy.HasField("minimum_backoff"):
                _set_duration(policy.minimum_backoff, DEFAULT_MIN_BACKOFF_S)
            if not policy.HasField("maximum_backoff"):
                _set_duration(policy.maximum_backoff, DEFAULT_MAX_BACKOFF_S)
            low, high = _duration_s(policy.minimum_backoff), _duration_s(policy.maximum_backoff)
            if not (0 <= low <= MAX_BACKOFF_LIMIT_S and 0 <= high <= MAX_BACKOFF_LIMIT_S):
                raise BrokerError(
                    Status.INVALID_ARGUMENT, "Backoffs must be between 0 and 600 seconds"
                )
            if low > high:
                raise BrokerError(
                    Status.INVALID_ARGUMENT,
                    "retry_policy.minimum_backoff must not exceed maximum_backoff",
                )
        if config.HasField("dead_letter_policy"):
            policy = config.dead_letter_policy
            if policy.dead_letter_topic:
                _parse_name(policy.dead_letter_topic, "topics")
                if policy.max_delivery_attempts == 0:
                    policy.max_delivery_attempts = DEFAULT_MAX_DELIVERY_ATTEMPTS
                if not 5 <= policy.max_delivery_attempts <= 100:
                    raise BrokerError(
                        Status.INVALID_ARGUMENT,
                        "dead_letter_policy.max_delivery_attempts must be between 5 and 100",
                    )
        if config.filter:
            try:
                parse_filter(config.filter)
            except FilterSyntaxError as exc:
                raise BrokerError(Status.INVALID_ARGUMENT, f"Invalid filter: {exc}") from exc

    def _check_dead_letter_topic(self, config: Any) -> None:
        topic = config.dead_letter_policy.dead_letter_topic
        if topic and topic not in self._topics:
            raise BrokerError(Status.NOT_FOUND, f"Dead letter topic not found (resource={topic})")

    def _notify_push(self, name: str) -> None:
        if self._on_push_subscription is not None:
            self._on_push_subscription(name)

    def _drop_subscription(self, name: str) -> None:
        sub = self._subs.pop(name)
        sub.deleted = True
        self._topic_subs.get(sub.config.topic, {}).pop(name, None)
        if sub.push_lease is not None:
            sub.push_lease.closed = True
        sub.cond.notify_all()

    def _publish_locked(self, topic_name: str, message: Any, publish_ns: int) -> str:
        message.message_id = str(next(self._message_ids))
        # Pub/Sub reports publish times to the millisecond ("2021-02-26T19:13:55.749Z").
        message.publish_time.FromMilliseconds(publish_ns // 1_000_000)
        size = message.ByteSize()
        now = self._clock()
        if topic_name in self._topic_stats:
            self._topic_stats[topic_name].published += 1
        log = self._topic_logs.get(topic_name)
        if log is not None:
            log.add(message, publish_ns)
        for sub in self._topic_subs.get(topic_name, {}).values():
            if sub.filter is not None and not sub.filter.matches(message.attributes):
                sub.stats.filtered_out += 1
                continue
            self._enqueue(sub, message, size, now)
        return str(message.message_id)

    def _enqueue(
        self, sub: _Subscription, message: Any, size: int, now: float, *, fresh: bool = True
    ) -> None:
        """Queue `message` for `sub`; `fresh` (a new publish, not a seek) also feeds snapshots."""
        if fresh:
            for snapshot in self._snapshots.values():
                if snapshot.subscription == sub.name:
                    snapshot.log.add(message, message.publish_time.ToNanoseconds())
        key = message.ordering_key if sub.config.enable_message_ordering else ""
        queued = _Queued(message, size, next(self._counter), now, key)
        if sub.faults is not None and not sub.exactly_once:
            # Injected duplicates would break the one promise exactly-once makes.
            queued.extra_deliveries = sub.faults.extra_deliveries()
        sub.backlog[queued.seq] = queued
        sub.stats.published += 1
        if key:
            queue = sub.key_queues.setdefault(key, deque())
            queue.append(queued)
            if len(queue) > 1:
                queued.state = _State.WAITING
                return
        self._make_ready(sub, queued, now, now)

    def _make_ready(self, sub: _Subscription, queued: _Queued, at: float, now: float) -> None:
        if sub.faults is not None:
            at += sub.faults.delay_seconds
        queued.state = _State.PENDING
        queued.available_at = at
        queued.version += 1
        heapq.heappush(sub.ready, (at, queued.seq, queued.version, queued))
        if at <= now:
            sub.cond.notify_all()
        else:
            self._schedule(at, "wake", sub, None, "")

    def _take(
        self,
        sub: _Subscription,
        limit: int,
        byte_room: int,
        now: float,
        owner: StreamLease | None,
        deadline_s: int,
    ) -> list[Any]:
        received: list[Any] = []
        taken_bytes = 0
        retention = _duration_s(sub.config.message_retention_duration)
        while sub.ready and len(received) < limit:
            at, _, version, queued = sub.ready[0]
            if queued.version != version or queued.state is not _State.PENDING:
                heapq.heappop(sub.ready)
                continue
            if at > now:
                break
            if byte_room and received and taken_bytes + queued.size > byte_room:
                break
            heapq.heappop(sub.ready)
            if now - queued.published_at > retention:
                self._finish(sub, queued)  # older than the retention: Pub/Sub drops it
                continue
            received.append(self._lease(sub, queued, now, owner, deadline_s))
            taken_bytes += queued.size
        return received

    def _lease(
        self,
        sub: _Subscription,
        queued: _Queued,
        now: float,
        owner: StreamLease | None,
        deadline_s: int,
    ) -> Any:
        if queued.ack_id:
            sub.ack_index.pop(queued.ack_id, None)
        queued.deliveries += 1
        queued.ack_id = f"{sub.serial}-{queued.seq}-{queued.deliveries}"
        queued.state = _State.LEASED
        queued.deadline = now + (deadline_s or sub.config.ack_deadline_seconds)
        queued.owner = owner
        if owner is not None:
            owner.outstanding += 1
            owner.outstanding_bytes += queued.size
        sub.ack_index[queued.ack_id] = queued
        sub.stats.delivered += 1
        self._schedule(queued.deadline, "expire", sub, queued, queued.ack_id)
        attempt = queued.failures + 1 if sub.config.dead_letter_policy.dead_letter_topic else 0
        return ReceivedMessage(
            ack_id=queued.ack_id, message=queued.message, delivery_attempt=attempt
        )

    def _release(self, sub: _Subscription, queued: _Queued) -> None:
        owner = queued.owner
        if owner is not None:
            owner.outstanding -= 1
            owner.outstanding_bytes -= queued.size
            queued.owner = None
            sub.cond.notify_all()

    def _ack(self, sub: _Subscription, queued: _Queued, now: float) -> None:
        if queued.state not in (_State.LEASED, _State.PENDING):
            return
        self._release(sub, queued)
        sub.stats.acknowledged += 1
        if queued.extra_deliveries > 0:
            queued.extra_deliveries -= 1
            sub.stats.duplicates_injected += 1
            sub.ack_index.pop(queued.ack_id, None)
            queued.ack_id = ""
            self._make_ready(sub, queued, now, now)
            return
        self._finish(sub, queued)

    def _finish(self, sub: _Subscription, queued: _Queued) -> None:
        if queued.state is _State.DONE:
            return
        self._release(sub, queued)
        queued.state = _State.DONE
        if sub.acked_log is not None:
            sub.acked_log.add(queued.message, queued.message.publish_time.ToNanoseconds())
        sub.ack_index.pop(queued.ack_id, None)
        sub.backlog.pop(queued.seq, None)
        if queued.ordering_key:
            queue = sub.key_queues.get(queued.ordering_key)
            if queue and queue[0] is queued:
                queue.popleft()
                if queue:
                    now = self._clock()
                    self._make_ready(sub, queue[0], now, now)
                else:
                    del sub.key_queues[queued.ordering_key]
            elif queue and queued in queue:
                queue.remove(queued)

    def _fail(self, sub: _Subscription, queued: _Queued, now: float, *, expired: bool) -> None:
        self._release(sub, queued)
        queued.failures += 1
        if expired:
            sub.stats.expired += 1
        else:
            sub.stats.nacked += 1
        policy = sub.config.dead_letter_policy
        if policy.dead_letter_topic and queued.failures >= policy.max_delivery_attempts:
            self._dead_letter(sub, queued)
            return
        self._make_ready(sub, queued, now + self._backoff(sub, queued.failures), now)

    def _backoff(self, sub: _Subscription, failures: int) -> float:
        if sub.config.HasField("retry_policy"):
            low = _duration_s(sub.config.retry_policy.minimum_backoff)
            high = _duration_s(sub.config.retry_policy.maximum_backoff)
            return float(min(high, low * 2 ** (failures - 1)))
        if sub.is_push:
            return float(min(PUSH_BACKOFF_MAX_S, PUSH_BACKOFF_START_S * 2 ** (failures - 1)))
        return 0.0

    def _dead_letter(self, sub: _Subscription, queued: _Queued) -> None:
        topic = sub.config.dead_letter_policy.dead_letter_topic
        if topic in self._topics:
            original = queued.message
            forwarded = PubsubMessage(data=original.data, ordering_key=original.ordering_key)
            forwarded.attributes.update(original.attributes)
            project, subscription_id = _parse_name(sub.name, "subscriptions")
            forwarded.attributes.update(
                {
                    "CloudPubSubDeadLetterSourceDeliveryCount": str(queued.failures),
                    "CloudPubSubDeadLetterSourceSubscription": subscription_id,
                    "CloudPubSubDeadLetterSourceSubscriptionProject": project,
                    "CloudPubSubDeadLetterSourceTopicPublishTime": (
                        original.publish_time.ToJsonString()
                    ),
                }
            )
            if queued.last_error:
                forwarded.attributes["CloudPubSubDeadLetterSourceDeliveryErrorMessage"] = (
                    queued.last_error[:1024]
                )
            self._publish_locked(topic, forwarded, time.time_ns())
        sub.stats.dead_lettered += 1
        self._finish(sub, queued)

    def _stats_of(self, sub: _Subscription, now: float) -> dict[str, Any]:
        oldest = next(iter(sub.backlog.values()), None)
        stats = sub.stats
        return {
            "subscription": sub.name,
            "topic": sub.config.topic,
            "push_endpoint": sub.config.push_config.push_endpoint or None,
            "published": stats.published,
            "filtered_out": stats.filtered_out,
            "delivered": stats.delivered,
            "acknowledged": stats.acknowledged,
            "nacked": stats.nacked,
            "expired": stats.expired,
            "dead_lettered": stats.dead_lettered,
            "duplicates_injected": stats.duplicates_injected,
            "backlog": len(sub.backlog),
            "outstanding": sum(1 for q in sub.ack_index.values() if q.state is _State.LEASED),
            "oldest_unacked_age_seconds": (
                round(now - oldest.published_at, 3) if oldest is not None else 0.0
            ),
            "last_push_error": stats.last_push_error or None,
        }

    # ------------------------------------------------------------------ clock

    def _schedule(
        self, when: float, kind: str, sub: _Subscription, queued: _Queued | None, ack_id: str
    ) -> None:
        earliest = self._timers[0][0] if self._timers else None
        heapq.heappush(self._timers, (when, next(self._counter), kind, sub, queued, ack_id))
        if earliest is None or when < earliest:
            self._clock_cond.notify()

    def _run_clock(self) -> None:
        with self._lock:
            while not self._stopped:
                now = self._clock()
                while self._timers and self._timers[0][0] <= now:
                    _, _, kind, sub, queued, ack_id = heapq.heappop(self._timers)
                    if sub.deleted:
                        continue
                    if kind == "wake":
                        sub.cond.notify_all()
                    elif queued is not None:
                        self._expire(sub, queued, ack_id, now)
                timeout = self._timers[0][0] - now if self._timers else None
                self._clock_cond.wait(timeout)

    def _expire(self, sub: _Subscription, queued: _Queued, ack_id: str, now: float) -> None:
        if queued.state is not _State.LEASED or queued.ack_id != ack_id:
            return
        if queued.deadline > now:  # extended by ModifyAckDeadline since this timer was set
            self._schedule(queued.deadline, "expire", sub, queued, ack_id)
            return
        self._fail(sub, queued, now, expired=True)
