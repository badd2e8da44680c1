"""What Pub/Sub keeps so that a subscription can be rewound: retained messages and snapshots.

Three stores, each only when asked for, so plain topics and subscriptions cost nothing:

- a topic with `message_retention_duration` keeps every message published to it
  for that long, so its subscriptions can seek back to before they existed;
- a subscription with `retain_acked_messages` keeps its acknowledged messages
  for its own `message_retention_duration`;
- a snapshot keeps the messages its subscription had not acknowledged when it
  was taken, and every message published to that subscription afterwards,
  until it expires (7 days after the oldest of those messages was published).

`Seek` (broker.py) then marks messages acknowledged or not: to a time T, those
published before T are acknowledged and those at or after T (that are still
kept somewhere) are delivered again; to a snapshot, those the snapshot keeps
are delivered again and every other one is acknowledged.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from google.pubsub_v1.types import Snapshot as SnapshotType

NANOS = 1_000_000_000
SNAPSHOT_LIFETIME_NS = 7 * 24 * 3600 * NANOS

SnapshotPb = SnapshotType.pb()


@dataclass(frozen=True, slots=True)
class Retained:
    publish_ns: int
    message: Any  # PubsubMessage, never mutated after publish


class MessageLog:
    """Messages kept by id, oldest first, forgotten once older than the retention."""

    def __init__(self, retention_ns: int) -> None:
        self.retention_ns = retention_ns
        self._by_id: OrderedDict[str, Retained] = OrderedDict()

    def add(self, message: Any, publish_ns: int) -> None:
        self._by_id[message.message_id] = Retained(publish_ns, message)

    def prune(self, now_ns: int) -> None:
        horizon = now_ns - self.retention_ns
        while self._by_id:
            oldest = next(iter(self._by_id.values()))
            if oldest.publish_ns >= horizon:
                return
            self._by_id.popitem(last=False)

    def items(self, now_ns: int) -> Iterator[tuple[str, Retained]]:
        self.prune(now_ns)
        yield from self._by_id.items()

    def __contains__(self, message_id: str) -> bool:
        return message_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)


@dataclass
class Snapshot:
    name: str
    topic: str
    subscription: str
    created_ns: int
    labels: dict[str, str] = field(default_factory=dict)
    log: MessageLog = field(default_factory=lambda: MessageLog(SNAPSHOT_LIFETIME_NS))
    oldest_ns: int | None = None  # publish time of the oldest message it kept at creation

    @property
    def expire_ns(self) -> int:
        start = self.created_ns if self.oldest_ns is None else self.oldest_ns
        return start + SNAPSHOT_LIFETIME_NS

    def to_pb(self) -> Any:
        snapshot = SnapshotPb(name=self.name, topic=self.topic)
        snapshot.expire_time.FromNanoseconds(self.expire_ns)
        snapshot.labels.update(self.labels)
        return snapshot
