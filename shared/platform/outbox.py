"""The outbox: an event is written in the transaction that causes it, and published after.

`tx.emit(event)` buffers an `OutboundMessage`; the unit of work writes it to
`outbox/<event_id>` in the same commit and publishes it through its `EventPublisher`
right after. If that publish fails the state is committed anyway and the entry waits with
`published_at = null`: a retried request, a redelivered event
(`UnitOfWork.publish_pending`) or the scheduled relay (`shared/services/outbox_relay.py`)
publishes it later. Consumers drop duplicates by `event_id`, so a second publish costs a
duplicate, never a loss.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.log import current_traceparent

OUTBOX = "outbox"
OUTBOX_RETENTION = timedelta(days=31)


class PublishableEvent(Protocol):
    """What the outbox needs from an event envelope (see shared/domain/events.py)."""

    @property
    def event_id(self) -> Any: ...  # a UUID (or its string)

    @property
    def type(self) -> str: ...

    @property
    def entity(self) -> str: ...

    def model_dump_json(self) -> str: ...


@dataclass(frozen=True)
class OutboundMessage:
    """One Pub/Sub message: the envelope JSON plus the attributes subscribers filter on
    (`event_id`, `type`, `entity`, `schema_version`) and the producer's `traceparent`.

    The topic is the event type (`loan.submitted`), as declared in shared/topology.py.
    """

    event_id: str
    topic: str
    data: bytes
    attributes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: PublishableEvent) -> OutboundMessage:
        attributes = {
            "event_id": str(event.event_id),
            "type": event.type,
            "entity": event.entity,
        }
        schema_version = getattr(event, "schema_version", None)
        if schema_version is not None:
            attributes["schema_version"] = str(schema_version)
        traceparent = current_traceparent()
        if traceparent is not None:  # the consumer's logs join the producer's trace
            attributes["traceparent"] = traceparent
        return cls(
            event_id=str(event.event_id),
            topic=event.type,
            data=event.model_dump_json().encode(),
            attributes=attributes,
        )


def outbox_record(message: OutboundMessage, now: datetime) -> dict[str, Any]:
    """The outbox document of one event (shared by every unit of work implementation)."""
    return {
        "topic": message.topic,
        "data": message.data.decode(),
        "attributes": dict(message.attributes),
        "created_at": now,
        "published_at": None,
        "expire_at": now + OUTBOX_RETENTION,
    }


def message_from_outbox(event_id: str, record: Mapping[str, Any]) -> OutboundMessage:
    return OutboundMessage(
        event_id=event_id,
        topic=str(record["topic"]),
        data=str(record["data"]).encode(),
        attributes=dict(record.get("attributes") or {}),
    )


class EventPublisher(ABC):
    """Publishes messages to Pub/Sub topics. Use `tx.emit` in use cases, not this directly."""

    @abstractmethod
    def publish(self, messages: Sequence[OutboundMessage]) -> None:
        """Publish every message or raise `PublishFailed` (some may have been published)."""
