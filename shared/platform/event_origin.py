"""Who produces events, and how they are stamped: the entity, the time, the ids.

A function whose use cases emit events mixes `EventProducer` into its services dataclass;
`services.origin` then stamps every event it produces (`submit_application(...,
origin=services.origin)`), and the use case emits it with `tx.emit` in the transaction that
causes it.

The event models (`shared.domain.events`) are imported by the first event stamped, not
with this module: a function's request that emits nothing never defines them
(docs/architecture.md#cold-start).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.platform.clock import Clock
from shared.platform.ids import IdGenerator

if TYPE_CHECKING:
    from shared.domain.events import Envelope, EventData, EventType


@dataclass(frozen=True)
class EventOrigin:
    """Who produces events (the business entity) and how they are stamped (time, ids)."""

    entity: str
    clock: Clock
    ids: IdGenerator

    def event(
        self, event_type: EventType, data: EventData, *, causation_id: str | None = None
    ) -> Envelope:
        """A new envelope of `event_type` carrying `data`, ready for `tx.emit`."""
        from shared.domain.events import new_event

        return new_event(
            event_type,
            data,
            entity=self.entity,
            occurred_at=self.clock.now(),
            event_id=self.ids.new_uuid(),
            causation_id=causation_id,
        )


class EventProducer:
    """Mixed into a function's services dataclass when its use cases emit events.

    The dataclass supplies `entity`, `clock` and `ids`; `origin` stamps every event the
    function produces with them.
    """

    entity: str | None
    clock: Clock
    ids: IdGenerator

    @property
    def origin(self) -> EventOrigin:
        if self.entity is None:
            # Raised, not assumed: an event without its entity would reach the wrong books.
            raise ValueError(f"{type(self).__name__} produces events: it needs PATUNGAN_ENTITY")
        return EventOrigin(self.entity, self.clock, self.ids)
