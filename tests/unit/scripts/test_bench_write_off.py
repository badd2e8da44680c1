"""The write-off benchmark's harness (scripts/bench/write_off.py) on the in-memory store at a
small size: the write-off it measures adds up, and its report says so beside the target."""

from __future__ import annotations

from scripts.bench.report import Report
from scripts.bench.write_off import describe, measure
from shared.adapters.memory import MemoryUnitOfWork
from tests.unit.journey.payment_desk import PaymentDesk


def test_a_small_write_off_is_measured_and_adds_up() -> None:
    desk = PaymentDesk(MemoryUnitOfWork(max_attempts=10))
    desk.uow.clock = desk.clock  # type: ignore[attr-defined]
    said: list[str] = []
    cost = measure(desk, 12, said.append)
    assert cost.adds_up
    assert cost.losses == cost.cleared > 0
    assert cost.by_collection["participations"] == 12  # every lender's loss, once
    assert sum(cost.by_collection.values()) == cost.writes
    report = Report(title="Write-off benchmark", command="test")
    describe(report, cost)
    rendered = report.render(load_at_end="-")
    assert "a write-off of a 12-lender loan" in rendered
    assert "equal: met" in rendered
