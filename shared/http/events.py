"""Event functions: parse the Pub/Sub push CloudEvent once, apply the event at most once,
and decide between acknowledging and redelivering (docs/architecture.md#events).

functions-framework turns a Pub/Sub push request into a CloudEvent whose data is
`{"message": {"data": <base64>, "attributes": {...}, "messageId": ...}, ...}`.
`EventConsumer.deliver` takes it from there:

1. The transport wrapper is validated on its own (`PushEnvelope`), then the
   base64 payload is decoded and parsed by the consumer's `parse` function
   (`shared.domain.events.parse_event`), and its type checked against `accepts`.
   Anything malformed is *permanent*: logged with its field locations (never
   the values) and acknowledged.
2. An event this consumer already applied (`processed_events/<consumer>:<id>`)
   is acknowledged; events its first application emitted but could not publish
   are published now.
3. The handler runs with a `Delivery` whose `uow` records the event id in the
   same transaction as the state change (`event_unit_of_work`). Then:
   - returns normally → applied, acknowledged;
   - raises one of the consumer's named permanent errors (`PERMANENT_ERRORS` by
     default: `PermanentEventError` and the rule refusals that no retry can change —
     a failed validation, a missing record, an illegal transition, a conflict, a cap,
     insufficient funds, a forbidden act) → logged with context, acknowledged;
   - raises anything else (`TransactionContended`, `PublishFailed`, a provider
     timeout, a `DomainError` nobody named permanent, a bug) → logged and re-raised:
     functions-framework answers 500 and Pub/Sub redelivers with backoff, then
     dead-letters after the subscription's maximum attempts — nothing is lost
     silently.

    consumer = EventConsumer("scoring", score, parse=parse_event, accepts={"loan.submitted"})

    @functions_framework.cloud_event
    def scoring(cloud_event):
        consumer.deliver(cloud_event, services.get())
"""

from __future__ import annotations

import base64
import binascii
import enum
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.domain.errors import (
    CapExceeded,
    Conflict,
    Forbidden,
    IllegalTransition,
    InsufficientFunds,
    NotFound,
    ValidationFailed,
)
from shared.log import log_context, trace_from_headers
from shared.platform.clock import Clock, SystemClock
from shared.platform.idempotency import AlreadyProcessed, already_processed, event_unit_of_work
from shared.platform.ids import IdGenerator, RandomIds
from shared.platform.store import UnitOfWork

logger = logging.getLogger(__name__)

E = TypeVar("E")
S = TypeVar("S", bound="EventServices")


class PermanentEventError(Exception):
    """Raise from a handler when the event can never be applied; it is logged and acknowledged."""


PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    PermanentEventError,
    ValidationFailed,
    NotFound,
    IllegalTransition,
    Conflict,
    CapExceeded,
    InsufficientFunds,
    Forbidden,
)
"""What a handler may raise to have its event acknowledged without effect: retrying cannot
change the outcome. Anything else is redelivered."""


class Outcome(enum.Enum):
    """What happened to one delivery (a transient failure raises instead)."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"  # permanent error: acknowledged without effect


class PushMessage(BaseModel):
    """The Pub/Sub message inside a push request (Google's schema: unknown fields allowed)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    data: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    message_id: str | None = Field(default=None, alias="messageId")
    publish_time: str | None = Field(default=None, alias="publishTime")


class PushEnvelope(BaseModel):
    """The CloudEvent data of a Pub/Sub push: the message and, sometimes, delivery details."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message: PushMessage
    subscription: str | None = None
    delivery_attempt: int | None = Field(default=None, alias="deliveryAttempt")


@dataclass(frozen=True, kw_only=True)
class EventServices:
    """What `EventConsumer` needs from an event function's dependencies; subclass to add yours.

    `entity`, when set, refuses events addressed to another business entity.
    """

    uow: UnitOfWork
    clock: Clock = field(default_factory=SystemClock)
    ids: IdGenerator = field(default_factory=RandomIds)  # for the events a handler emits
    entity: str | None = None
    processed_event_retention: timedelta = timedelta(days=31)


@dataclass(frozen=True)
class Delivery(Generic[E, S]):
    """One event as a handler sees it. Use `uow` (not `services.uow`) for its transaction."""

    event: E
    uow: UnitOfWork
    services: S
    attributes: Mapping[str, str]
    message_id: str | None
    delivery_attempt: int | None


class EventConsumer(Generic[E, S]):
    """One event function.

    `consumer` is its name in shared/topology.py; `handler` applies one event;
    `parse` turns the message bytes into an event (raising `ValidationFailed` or a
    pydantic `ValidationError` when it cannot); `accepts` lists the event types it
    applies (anything else is rejected permanently). Events need `event_id`,
    `type` and `entity` attributes (shared.domain.events.Envelope has them). `permanent`
    names the errors acknowledged without effect (`PERMANENT_ERRORS` by default).
    """

    def __init__(
        self,
        consumer: str,
        handler: Callable[[Delivery[E, S]], None],
        *,
        parse: Callable[[bytes], E],
        accepts: Collection[str],
        permanent: tuple[type[Exception], ...] = PERMANENT_ERRORS,
    ) -> None:
        if not accepts:
            raise ValueError(f"{consumer}: accepts must name the event types it applies")
        self.consumer = consumer
        self.handler = handler
        self.accepts = frozenset(accepts)
        self._parse_event = parse
        self.permanent = permanent

    def deliver(self, cloud_event: Any, services: S) -> Outcome:
        """Apply one push delivery; returns how it ended, raises to have it redelivered."""
        data = cloud_event.data if hasattr(cloud_event, "data") else cloud_event
        labels = {"consumer": self.consumer}
        with log_context(labels=labels):
            try:
                push = PushEnvelope.model_validate(data)
            except ValidationError as exc:
                return self._reject("the push request is not a Pub/Sub message", exc)
            message = push.message
            with log_context(
                trace=trace_from_headers(message.attributes),
                labels={"message_id": message.message_id or ""},
            ):
                try:
                    event = self._parse(message)
                except _Unreadable as exc:
                    return self._reject(str(exc), exc.__cause__)
                event_id = str(getattr(event, "event_id", ""))
                event_type = str(getattr(event, "type", ""))
                with log_context(labels={"event_id": event_id, "event_type": event_type}):
                    return self._apply(event, event_id, event_type, push, services)

    def _parse(self, message: PushMessage) -> E:
        try:
            payload = base64.b64decode(message.data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _Unreadable("the message data is not base64") from exc
        try:
            event = self._parse_event(payload)
        except (ValidationError, ValidationFailed) as exc:
            raise _Unreadable("the event does not match its schema") from exc
        if str(getattr(event, "type", "")) not in self.accepts:
            raise _Unreadable(
                f"{self.consumer} does not apply {getattr(event, 'type', None)!r} events"
            )
        for attribute in ("type", "event_id"):
            declared = message.attributes.get(attribute)
            actual = str(getattr(event, attribute, ""))
            if declared is not None and declared != actual:
                raise _Unreadable(
                    f"attribute {attribute}={declared!r} contradicts the payload's {actual!r}"
                )
        return event

    def _apply(
        self, event: E, event_id: str, event_type: str, push: PushEnvelope, services: S
    ) -> Outcome:
        entity = getattr(event, "entity", None)
        if services.entity is not None and entity != services.entity:
            return self._reject(f"event for entity {entity!r} delivered to {services.entity!r}")
        pending = already_processed(services.uow, self.consumer, event_id)
        if pending is not None:
            return self._duplicate(services, pending)
        uow = event_unit_of_work(
            services.uow,
            consumer=self.consumer,
            event_id=event_id,
            event_type=event_type,
            clock=services.clock,
            retention=services.processed_event_retention,
        )
        delivery = Delivery(
            event=event,
            uow=uow,
            services=services,
            attributes=dict(push.message.attributes),
            message_id=push.message.message_id,
            delivery_attempt=push.delivery_attempt,
        )
        try:
            self.handler(delivery)
        except AlreadyProcessed:
            # A concurrent delivery of the same event won the race inside the transaction.
            return self._duplicate(
                services, already_processed(services.uow, self.consumer, event_id)
            )
        except self.permanent as exc:
            return self._reject(f"{type(exc).__name__}: {exc}")
        except Exception:
            logger.warning(
                "event %s not applied; raising so Pub/Sub redelivers it",
                event_type,
                exc_info=True,
                extra={"delivery_attempt": push.delivery_attempt},
            )
            raise
        logger.info(
            "event %s applied", event_type, extra={"delivery_attempt": push.delivery_attempt}
        )
        return Outcome.APPLIED

    def _duplicate(self, services: S, pending: tuple[str, ...] | None) -> Outcome:
        logger.info("event already applied by %s; acknowledged", self.consumer)
        if pending:
            services.uow.publish_pending(pending)  # PublishFailed propagates: redeliver
        return Outcome.DUPLICATE

    def _reject(self, reason: str, cause: BaseException | None = None) -> Outcome:
        extra: dict[str, Any] = {"reason": reason}
        if isinstance(cause, ValidationError):
            # Locations and error types only: the inputs may hold personal data.
            extra["errors"] = [
                {"loc": ".".join(str(p) for p in e["loc"]), "type": e["type"]}
                for e in cause.errors(include_input=False, include_url=False)
            ]
        elif isinstance(cause, ValidationFailed):
            extra["errors"] = cause.field_errors  # field → message; redacted by the formatter
        logger.error("event rejected permanently and acknowledged: %s", reason, extra=extra)
        return Outcome.REJECTED


class _Unreadable(Exception):
    """The message cannot be turned into an event (a permanent error)."""
