"""Event functions: authenticate the Pub/Sub push, parse its CloudEvent once, apply the
event at most once, and decide between acknowledging and redelivering
(docs/architecture.md#events).

functions-framework turns a Pub/Sub push request into a CloudEvent whose data is
`{"message": {"data": <base64>, "attributes": {...}, "messageId": ...}, ...}`.
`EventConsumer.deliver` takes it from there:

0. The push request's `Authorization: Bearer` token is verified before anything is
   read (`PushAuthenticator`): signed by the configured issuer (Google's OIDC issuer
   in the cloud), for the audience the push subscription names (the function's URL),
   and naming the push subscriptions' service account, email verified. A push without
   such a token is answered 401 (no valid token) or 403 (someone else's) and never
   acknowledged: Pub/Sub delivers it again with backoff and finally dead-letters it, so
   a misconfigured subscription loses nothing. Unreachable keys are a 503, retried too.
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

`MessageConsumer` does steps 0, 1 and 3 for messages published from outside the
platform (a topic the topology declares `published_by` someone else, such as Cloud
Billing's budget notifications): they carry no Patungan envelope and no event id, so
its handler deduplicates by what the message means.

`deliver` reads the push request's headers from the request functions-framework is
serving; tests pass `headers=` instead. Without a request and without headers there
is no token, and the push is refused like any other.
"""

from __future__ import annotations

import base64
import binascii
import enum
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, TypeVar

from pydantic import ConfigDict, Field, ValidationError
from werkzeug.exceptions import HTTPException

from shared.domain.errors import (
    CapExceeded,
    Conflict,
    Forbidden,
    IllegalTransition,
    InsufficientFunds,
    NotFound,
    ValidationFailed,
)
from shared.http.errors import EdgeError
from shared.http.guard import bearer_token, require_account
from shared.http.problems import problem_for
from shared.http.router import problem_response
from shared.log import log_context, trace_from_headers
from shared.model import Model
from shared.platform.callers import Caller, TokenVerifier
from shared.platform.clock import Clock, SystemClock
from shared.platform.errors import TransientFailure
from shared.platform.idempotency import AlreadyProcessed, already_processed, event_unit_of_work
from shared.platform.ids import IdGenerator, RandomIds
from shared.platform.store import UnitOfWork

logger = logging.getLogger(__name__)

E = TypeVar("E")
M = TypeVar("M")
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


class PushRefused(HTTPException):
    """A push whose token does not prove it came from this function's push subscriptions.

    Raised out of the CloudEvent handler, it becomes the answer itself: a problem
    document with 401, 403 (or 503 when the issuer's keys cannot be fetched). Pub/Sub
    counts any of them as not acknowledged, so the message is delivered again and, after
    the subscription's maximum attempts, dead-lettered: a misconfiguration loses nothing.
    """

    def __init__(self, cause: Exception) -> None:
        problem = problem_for(cause)
        super().__init__(description=problem.detail, response=problem_response(problem))
        self.code = problem.status
        self.cause = cause


@dataclass(frozen=True)
class PushAuthenticator:
    """Who may push to an event function: a bearer token `verifier` accepts (issuer,
    audience, signature, expiry) that names `account`, the push subscriptions' service
    account, with its email verified. The scheduled function's check, for Pub/Sub."""

    verifier: TokenVerifier
    account: str

    def authenticate(self, authorization: str | None) -> Caller:
        """The pushing account, or `Unauthenticated` / `Forbidden` saying why not."""
        caller = self.verifier.verify(bearer_token(authorization))
        require_account(
            caller, self.account, "only this function's push subscriptions may deliver to it"
        )
        return caller


def _request_authorization() -> str | None:
    """The Authorization header of the push request functions-framework is serving."""
    import flask

    return flask.request.headers.get("Authorization") if flask.has_request_context() else None


class PushMessage(Model):
    """The Pub/Sub message inside a push request (Google's schema: unknown fields allowed)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    data: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    message_id: str | None = Field(default=None, alias="messageId")
    publish_time: str | None = Field(default=None, alias="publishTime")


class PushEnvelope(Model):
    """The CloudEvent data of a Pub/Sub push: the message and, sometimes, delivery details."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message: PushMessage
    subscription: str | None = None
    delivery_attempt: int | None = Field(default=None, alias="deliveryAttempt")


@dataclass(frozen=True, kw_only=True)
class EventServices:
    """What `EventConsumer` needs from an event function's dependencies; subclass to add yours.

    `push_auth` says whose pushes are accepted (there is no way to accept anyone's);
    `entity`, when set, refuses events addressed to another business entity.
    """

    uow: UnitOfWork
    push_auth: PushAuthenticator
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


@dataclass(frozen=True)
class ReceivedMessage:
    """A pushed message published from outside the platform, decoded but not yet parsed."""

    data: bytes
    attributes: Mapping[str, str]
    message_id: str | None
    publish_time: str | None


@dataclass(frozen=True)
class MessageDelivery(Generic[M, S]):
    """One outside message as a handler sees it (no envelope, no event id)."""

    message: M
    services: S
    attributes: Mapping[str, str]
    message_id: str | None
    delivery_attempt: int | None


class _PushConsumer(ABC, Generic[S]):
    """What every push consumer does: authenticate, read the push, and decide between
    acknowledging and redelivering from what its handler raised."""

    def __init__(self, consumer: str, permanent: tuple[type[Exception], ...]) -> None:
        self.consumer = consumer
        self.permanent = permanent

    def deliver(
        self, cloud_event: Any, services: S, *, headers: Mapping[str, str] | None = None
    ) -> Outcome:
        """Apply one push delivery; returns how it ended, raises to have it redelivered
        (`PushRefused` when the push is not from this function's subscriptions)."""
        labels = {"consumer": self.consumer}
        with log_context(labels=labels):
            self._authenticate(
                services,
                _request_authorization() if headers is None else headers.get("Authorization"),
            )
            data = cloud_event.data if hasattr(cloud_event, "data") else cloud_event
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
                    payload = base64.b64decode(message.data, validate=True)
                except (binascii.Error, ValueError) as exc:
                    return self._reject("the message data is not base64", exc)
                return self._receive(payload, push, services)

    @abstractmethod
    def _receive(self, payload: bytes, push: PushEnvelope, services: S) -> Outcome:
        """Parse the decoded message and apply it."""

    def _authenticate(self, services: S, authorization: str | None) -> None:
        try:
            services.push_auth.authenticate(authorization)
        except (EdgeError, Forbidden, TransientFailure) as exc:
            detail = getattr(exc, "detail", str(exc))
            logger.warning(
                "push refused, not acknowledged: %s",
                detail,
                extra={"reason": detail, "error_type": type(exc).__name__},
            )
            raise PushRefused(exc) from None

    def _handle(self, handler: Callable[[], None], what: str, attempt: int | None) -> Outcome:
        try:
            handler()
        except AlreadyProcessed:
            raise
        except self.permanent as exc:
            return self._reject(f"{type(exc).__name__}: {exc}")
        except Exception:
            logger.warning(
                "%s not applied; raising so Pub/Sub redelivers it",
                what,
                exc_info=True,
                extra={"delivery_attempt": attempt},
            )
            raise
        logger.info("%s applied", what, extra={"delivery_attempt": attempt})
        return Outcome.APPLIED

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


class EventConsumer(_PushConsumer[S], Generic[E, S]):
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
        super().__init__(consumer, permanent)
        self.handler = handler
        self.accepts = frozenset(accepts)
        self._parse_event = parse

    def _receive(self, payload: bytes, push: PushEnvelope, services: S) -> Outcome:
        try:
            event = self._parse(payload, push.message)
        except _Unreadable as exc:
            return self._reject(str(exc), exc.__cause__)
        event_id = str(getattr(event, "event_id", ""))
        event_type = str(getattr(event, "type", ""))
        with log_context(labels={"event_id": event_id, "event_type": event_type}):
            return self._apply(event, event_id, event_type, push, services)

    def _parse(self, payload: bytes, message: PushMessage) -> E:
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
            return self._handle(
                lambda: self.handler(delivery), f"event {event_type}", push.delivery_attempt
            )
        except AlreadyProcessed:
            # A concurrent delivery of the same event won the race inside the transaction.
            return self._duplicate(
                services, already_processed(services.uow, self.consumer, event_id)
            )

    def _duplicate(self, services: S, pending: tuple[str, ...] | None) -> Outcome:
        logger.info("event already applied by %s; acknowledged", self.consumer)
        if pending:
            services.uow.publish_pending(pending)  # PublishFailed propagates: redeliver
        return Outcome.DUPLICATE


class MessageConsumer(_PushConsumer[S], Generic[M, S]):
    """A consumer of messages published from outside the platform (see the module docstring).

    `parse` turns a `ReceivedMessage` into the handler's message (raising
    `ValidationFailed` or a pydantic `ValidationError` when it cannot: rejected
    permanently); `handler` applies it, and is itself responsible for applying a
    redelivered message only once. Errors are decided as for `EventConsumer`.
    """

    def __init__(
        self,
        consumer: str,
        handler: Callable[[MessageDelivery[M, S]], None],
        *,
        parse: Callable[[ReceivedMessage], M],
        permanent: tuple[type[Exception], ...] = PERMANENT_ERRORS,
    ) -> None:
        super().__init__(consumer, permanent)
        self.handler = handler
        self._parse_message = parse

    def _receive(self, payload: bytes, push: PushEnvelope, services: S) -> Outcome:
        message = push.message
        received = ReceivedMessage(
            payload, dict(message.attributes), message.message_id, message.publish_time
        )
        try:
            parsed = self._parse_message(received)
        except (ValidationError, ValidationFailed) as exc:
            return self._reject("the message does not match its schema", exc)
        delivery = MessageDelivery(
            message=parsed,
            services=services,
            attributes=received.attributes,
            message_id=message.message_id,
            delivery_attempt=push.delivery_attempt,
        )
        return self._handle(
            lambda: self.handler(delivery), f"message to {self.consumer}", push.delivery_attempt
        )


class _Unreadable(Exception):
    """The message cannot be turned into an event (a permanent error)."""
