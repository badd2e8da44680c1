"""Fault injection for the Pub/Sub emulator: make at-least-once delivery visible in tests.

Real Pub/Sub sometimes delivers a message more than once and sometimes late.
Consumers must be idempotent (DESIGN.md §2, Events), and a test can only prove
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
        try:
            return cls(
                deliver_times=int(body.get("deliver_times", 1)),
                redeliver_fraction=float(body.get("redeliver_fraction", 0.0)),
                delay_seconds=float(body.get("delay_seconds", 0.0)),
                seed=None if body.get("seed") is None else int(body["seed"]),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, FaultPlanError):
                raise
            raise FaultPlanError(f"bad fault plan: {exc}") from exc

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
