"""A ramp of offered load: the highest rate a system sustains within a latency target.

Steps of rising offered rate run one after another, each for a fixed duration; the
ramp stops at the first step that fails, and the sustained rate is the last step
that passed. A step fails when any of its operations failed or was not completed
within the drain window after the last was sent (the system cannot keep up), when
the load generator could not send at the offered rate, or when its p99 latency is
over the target. Latency counts from the instant an operation was due to be sent,
not from when it was sent, so a load generator falling behind shows as latency
instead of hiding it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scripts.bench.cpu import CpuUse

# A step sends at least this share of its offered rate, or it counts as not kept up.
SEND_RATE_TOLERANCE = 0.95


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in [0, 1]) of a non-empty sample."""
    if not values:
        raise ValueError("no values")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within [0, 1], not {fraction}")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def ramp_rates(start: float, step: float, maximum: float) -> list[float]:
    """`start`, `start + step`, ... up to `maximum` (included when reached exactly)."""
    if start <= 0 or step <= 0 or maximum < start:
        raise ValueError(f"a ramp needs 0 < start <= maximum and step > 0 ({start}, {step})")
    count = math.floor((maximum - start) / step + 1e-9) + 1
    return [round(start + i * step, 6) for i in range(count)]


@dataclass(frozen=True)
class StepResult:
    """One step of the ramp: what was offered, sent and completed, and what it cost."""

    offered_rate: float  # operations per second
    duration_s: float
    offered: int  # operations due in the step
    send_span_s: float  # from the first operation's due instant to the last one's sending
    latencies_s: tuple[float, ...]  # of the operations completed, from their due instant
    failed: int  # operations the system refused or errored on
    cpu: CpuUse | None = None

    @property
    def completed(self) -> int:
        return len(self.latencies_s)

    @property
    def incomplete(self) -> int:
        """Operations sent but not completed within the drain window."""
        return self.offered - self.failed - self.completed

    @property
    def sent_rate(self) -> float:
        """The rate the load generator achieved (operations after the first / their span)."""
        if self.offered < 2 or self.send_span_s <= 0:
            return self.offered_rate
        return (self.offered - 1) / self.send_span_s

    def p(self, fraction: float) -> float | None:
        return percentile(self.latencies_s, fraction) if self.latencies_s else None


def step_failure(step: StepResult, target_p99_s: float) -> str | None:
    """Why the step fails (the first reason that applies), or None when it passes."""
    if step.failed:
        return f"{step.failed} of {step.offered} failed"
    if step.incomplete:
        return f"{step.incomplete} of {step.offered} not completed in time: cannot keep up"
    if step.sent_rate < SEND_RATE_TOLERANCE * step.offered_rate:
        return f"sent only {step.sent_rate:.1f}/s: cannot keep up"
    p99 = step.p(0.99)
    if p99 is not None and p99 > target_p99_s:
        return f"p99 {p99 * 1000:,.0f} ms is over {target_p99_s * 1000:,.0f} ms"
    return None


@dataclass(frozen=True)
class RampResult:
    steps: tuple[StepResult, ...]
    target_p99_s: float

    @property
    def verdicts(self) -> list[str | None]:
        return [step_failure(step, self.target_p99_s) for step in self.steps]

    @property
    def sustained_rate(self) -> float | None:
        """The offered rate of the last step before the first failing one (None: none passed)."""
        sustained = None
        for step, failure in zip(self.steps, self.verdicts, strict=True):
            if failure is not None:
                break
            sustained = step.offered_rate
        return sustained

    @property
    def stopped_by(self) -> str | None:
        """Why the ramp stopped early, or None when every step passed (the ramp ran out)."""
        return next((failure for failure in self.verdicts if failure is not None), None)


def run_ramp(
    rates: Sequence[float],
    run_step: Callable[[float], StepResult],
    target_p99_s: float,
    on_step: Callable[[StepResult, str | None], None] = lambda step, failure: None,
) -> RampResult:
    """Run a step at each rate in order until one fails (that step is kept in the result)."""
    steps: list[StepResult] = []
    for rate in rates:
        step = run_step(rate)
        steps.append(step)
        failure = step_failure(step, target_p99_s)
        on_step(step, failure)
        if failure is not None:
            break
    return RampResult(tuple(steps), target_p99_s)
