"""Fault injection for the Pub/Sub emulator: make at-least-once delivery visible in tests.

Real Pub/Sub sometimes delivers a message more than once and sometimes late.
Consumers must be idempotent, and a test can only prove
that if duplicates and delays actually happen. A `FaultPlan` set through the
admin endpoint (for every subscription, or for one) asks the emulator to:

- `deliver_times=N`: deliver every message N times in total. After the consumer
  acknowledges a copy, the same message (same `message_id`, same data and
  attributes) is delivered again, until it has been acknowledged N times.
- `redeliver_fraction=f`: each message, with probability f, is delivered once
  more after its acknowledgement (a lost ack, as production sometimes shows).
  `seed` makes the choice reproducible.
- `delay_seconds=d`: every delivery and redelivery of a message becomes
  available d seconds later than it otherwise would.

Duplicate and random-redelivery faults are decided when a message reaches the
subscription (at publish), so a plan applies to messages published after it is
set; the delay applies to every delivery scheduled after it is set.

A `PublishFault` makes the other side visible: Pub/Sub refusing a publish
(PERMISSION_DENIED, UNAVAILABLE, ...) after the producer committed, so
the producer's outbox path is tested through the real client. Its code decides
whether the client retries on its own (`CLIENT_RETRIED_CODES`) or gives up at
once (`CLIENT_FINAL_CODES`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any


class FaultPlanError(ValueError):
    """A fault plan with values out of range."""


@dataclass
class FaultPlan:
    """What to inject; the defaults inject nothing."""

    deliver_times: int = 1
    redeliver_fraction: float = 0.0
    delay_seconds: float = 0.0
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.deliver_times <= 100:
            raise FaultPlanError("deliver_times must be between 1 and 100")
        if not 0.0 <= self.redeliver_fraction <= 1.0:
            raise FaultPlanError("redeliver_fraction must be between 0 and 1")
        if not 0.0 <= self.delay_seconds <= 600.0:
            raise FaultPlanError("delay_seconds must be between 0 and 600")
        # Fault injection for tests, not cryptography: a seedable PRNG is the point.
        self._random = random.Random(self.seed)  # noqa: S311

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultPlan:
        unknown = set(body) - {"deliver_times", "redeliver_fraction", "delay_seconds", "seed"}
        if unknown:
            raise FaultPlanError(f"unknown fault fields: {sorted(unknown)}")
        deliver_times = body.get("deliver_times", 1)
        seed = body.get("seed")
        if not _is_integer(deliver_times):
            raise FaultPlanError("deliver_times must be an integer")
        if seed is not None and not _is_integer(seed):
            raise FaultPlanError("seed must be an integer or null")
        for name in ("redeliver_fraction", "delay_seconds"):
            if not _is_integer(body.get(name, 0)) and not isinstance(body.get(name), float):
                raise FaultPlanError(f"{name} must be a number")
        return cls(
            deliver_times=deliver_times,
            redeliver_fraction=float(body.get("redeliver_fraction", 0.0)),
            delay_seconds=float(body.get("delay_seconds", 0.0)),
            seed=seed,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "deliver_times": self.deliver_times,
            "redeliver_fraction": self.redeliver_fraction,
            "delay_seconds": self.delay_seconds,
            "seed": self.seed,
        }

    def extra_deliveries(self) -> int:
        """How many more times than once a newly published message will be delivered."""
        extra = self.deliver_times - 1
        if self.redeliver_fraction and self._random.random() < self.redeliver_fraction:
            extra += 1
        return extra


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Publish faults ----------------------------------------------------------------------------------

# The gRPC codes a refused Publish may carry. The Python client (google-cloud-pubsub 2.x,
# `google/pubsub_v1/services/publisher/transports/base.py`) retries the first group on
# its own for up to 600 s (0.1 s backoff x4 up to 60 s; without end when message ordering
# is on); it surfaces the second group at once.
CLIENT_RETRIED_CODES = frozenset(
    {
        "ABORTED",
        "CANCELLED",
        "DEADLINE_EXCEEDED",
        "INTERNAL",
        "RESOURCE_EXHAUSTED",
        "UNAVAILABLE",
        "UNKNOWN",
    }
)
CLIENT_FINAL_CODES = frozenset(
    {
        "FAILED_PRECONDITION",
        "INVALID_ARGUMENT",
        "NOT_FOUND",
        "PERMISSION_DENIED",
        "UNAUTHENTICATED",
    }
)
PUBLISH_FAULT_CODES = CLIENT_RETRIED_CODES | CLIENT_FINAL_CODES


@dataclass
class PublishFault:
    """Refuse `Publish` calls to matching topics with a gRPC status `code`.

    `topic` matches one topic name exactly, `topic_prefix` every name starting
    with it, neither every topic. `count` refusals, then the fault is spent;
    `None` refuses until cleared. The default code, PERMISSION_DENIED, is one the
    client does not retry, so the producer's publish fails at once.
    """

    topic: str | None = None
    topic_prefix: str | None = None
    code: str = "PERMISSION_DENIED"
    count: int | None = None
    refused: int = 0

    def __post_init__(self) -> None:
        if self.topic is not None and self.topic_prefix is not None:
            raise FaultPlanError("a publish fault names a topic or a topic_prefix, not both")
        if self.code not in PUBLISH_FAULT_CODES:
            raise FaultPlanError(f"publish fault code must be one of {sorted(PUBLISH_FAULT_CODES)}")
        if self.count is not None and not 1 <= self.count <= 1_000_000:
            raise FaultPlanError("publish fault count must be between 1 and 1000000, or null")

    @classmethod
    def from_json(cls, body: Any) -> PublishFault:
        if not isinstance(body, dict):
            raise FaultPlanError("publish must be an object")
        unknown = set(body) - {"topic", "topic_prefix", "code", "count"}
        if unknown:
            raise FaultPlanError(f"unknown publish fault fields: {sorted(unknown)}")
        for name in ("topic", "topic_prefix", "code"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise FaultPlanError(f"publish fault {name} must be a string")
        count = body.get("count")
        if count is not None and not _is_integer(count):
            raise FaultPlanError("publish fault count must be an integer or null")
        return cls(
            topic=body.get("topic"),
            topic_prefix=body.get("topic_prefix"),
            code=body.get("code") or "PERMISSION_DENIED",
            count=count,
        )

    @property
    def selector(self) -> tuple[str | None, str | None]:
        """What the fault matches; setting a fault with the same selector replaces it."""
        return self.topic, self.topic_prefix

    @property
    def spent(self) -> bool:
        return self.count is not None and self.refused >= self.count

    def matches(self, topic: str) -> bool:
        if self.topic is not None:
            return topic == self.topic
        return self.topic_prefix is None or topic.startswith(self.topic_prefix)

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "topic_prefix": self.topic_prefix,
            "code": self.code,
            "count": self.count,
            "remaining": None if self.count is None else self.count - self.refused,
            "refused": self.refused,
        }
