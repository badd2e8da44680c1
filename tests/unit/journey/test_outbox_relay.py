"""The outbox relay (shared/services/outbox_relay.py): no event is ever lost.

When Pub/Sub fails right after a commit the state stays committed and the event
waits in the outbox; the relay, run every minute, publishes what has waited
longer than the grace period — exactly once, oldest first, a bounded batch per run.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.memory import FixedClock, MemoryUnitOfWork, RecordingPublisher
from shared.domain.loan import LoanState
from shared.platform.errors import PublishFailed
from shared.platform.outbox import OUTBOX, OutboundMessage, outbox_record
from shared.services.outbox_relay import RELAY_GRACE, RelayReport, relay_outbox
from tests.unit.journey.world import APPLICATION_DAY, JourneyWorld


def submit_while_pubsub_is_down(world: JourneyWorld) -> str:
    """Siti submits; the commit succeeds, the publish right after it fails, she never retries."""
    world.register("strong_msme")
    world.publisher.fail_next(1)
    with pytest.raises(PublishFailed):
        world.submit("strong_msme")
    (loan_id,) = [doc["id"] for doc in world.uow.documents("loans").values()]
    return loan_id


def pending(world: JourneyWorld) -> list[str]:
    return sorted(
        event_id
        for event_id, entry in world.uow.documents(OUTBOX).items()
        if entry["published_at"] is None
    )


def test_an_event_whose_publish_failed_is_relayed_once_and_the_loan_gets_scored():
    world = JourneyWorld()
    loan_id = submit_while_pubsub_is_down(world)
    assert world.loan(loan_id).state == LoanState.SUBMITTED
    assert world.events("loan.submitted") == []
    (event_id,) = pending(world)

    world.clock.advance(seconds=31)
    assert relay_outbox(world.uow, world.clock) == RelayReport(relayed=1, more=False)

    (message,) = [m for m in world.publisher.messages if m.topic == "loan.submitted"]
    assert message.event_id == event_id
    assert message.attributes["type"] == "loan.submitted"
    assert message.attributes["event_id"] == event_id
    assert json.loads(message.data)["data"]["loan_id"] == loan_id
    assert world.uow.documents(OUTBOX)[event_id]["published_at"] == world.clock.now()
    assert pending(world) == []

    # The consumer now sees it, and the loan leaves `submitted`.
    world.score(loan_id)
    assert world.loan(loan_id).state != LoanState.SUBMITTED


def test_a_second_run_finds_nothing_and_publishes_nothing_again():
    world = JourneyWorld()
    submit_while_pubsub_is_down(world)
    world.clock.advance(minutes=1)
    relay_outbox(world.uow, world.clock)
    published = list(world.publisher.messages)

    world.clock.advance(minutes=1)
    assert relay_outbox(world.uow, world.clock) == RelayReport(relayed=0, more=False)
    assert world.publisher.messages == published


def test_entries_younger_than_the_grace_period_are_left_to_their_producer():
    world = JourneyWorld()
    submit_while_pubsub_is_down(world)

    world.clock.advance(seconds=29)
    assert relay_outbox(world.uow, world.clock) == RelayReport(relayed=0, more=False)
    assert world.events("loan.submitted") == []
    assert len(pending(world)) == 1

    world.clock.advance(seconds=1)  # exactly the grace period old: due
    assert relay_outbox(world.uow, world.clock).relayed == 1


def test_published_events_are_never_relayed():
    world = JourneyWorld()
    world.register("strong_msme")
    world.submit("strong_msme")  # Pub/Sub up: published and marked at once
    published = list(world.publisher.messages)

    world.clock.advance(hours=1)
    assert relay_outbox(world.uow, world.clock) == RelayReport(relayed=0, more=False)
    assert world.publisher.messages == published


def test_when_pubsub_is_still_down_the_entries_stay_pending_for_the_next_run():
    world = JourneyWorld()
    submit_while_pubsub_is_down(world)
    world.clock.advance(minutes=1)
    world.publisher.fail_next(1)
    with pytest.raises(PublishFailed):
        relay_outbox(world.uow, world.clock)
    assert len(pending(world)) == 1

    world.clock.advance(minutes=1)
    assert relay_outbox(world.uow, world.clock).relayed == 1
    assert len(world.events("loan.submitted")) == 1


# --- batches -------------------------------------------------------------------------------------


def stranded_store(ages_s: list[int]) -> tuple[MemoryUnitOfWork, RecordingPublisher, FixedClock]:
    """A store whose outbox holds one unpublished entry per age (seconds before now)."""
    clock = FixedClock(APPLICATION_DAY)
    publisher = RecordingPublisher()
    uow = MemoryUnitOfWork(publisher, clock)
    for number, age in enumerate(ages_s):
        message = OutboundMessage(
            event_id=f"e-{number:03d}",
            topic="loan.submitted",
            data=json.dumps({"n": number}).encode(),
            attributes={"event_id": f"e-{number:03d}", "type": "loan.submitted"},
        )
        uow.seed(
            OUTBOX, message.event_id, outbox_record(message, clock.now() - timedelta(seconds=age))
        )
    return uow, publisher, clock


def test_a_run_relays_at_most_one_batch_oldest_first_and_says_more_are_due():
    uow, publisher, clock = stranded_store([60, 300, 120, 600, 90])

    assert relay_outbox(uow, clock, batch_size=2) == RelayReport(relayed=2, more=True)
    assert [m.event_id for m in publisher.messages] == ["e-003", "e-001"]  # 600 s, 300 s old

    assert relay_outbox(uow, clock, batch_size=2) == RelayReport(relayed=2, more=True)
    assert relay_outbox(uow, clock, batch_size=2) == RelayReport(relayed=1, more=False)
    assert [m.event_id for m in publisher.messages] == ["e-003", "e-001", "e-002", "e-004", "e-000"]


def test_a_full_batch_with_nothing_behind_it_says_no_more():
    uow, _, clock = stranded_store([60, 70])
    assert relay_outbox(uow, clock, batch_size=2) == RelayReport(relayed=2, more=False)


@pytest.mark.parametrize(("batch_size", "grace"), [(0, RELAY_GRACE), (200, timedelta(seconds=-1))])
def test_a_relay_that_could_never_finish_is_refused(batch_size, grace):
    uow, _, clock = stranded_store([60])
    with pytest.raises(ValueError):
        relay_outbox(uow, clock, batch_size=batch_size, grace=grace)


@settings(max_examples=40, deadline=None)
@given(
    ages=st.lists(st.integers(min_value=0, max_value=3600), max_size=25),
    batch_size=st.integers(min_value=1, max_value=10),
)
def test_runs_publish_every_due_entry_exactly_once_oldest_first_and_leave_the_young(
    ages, batch_size
):
    uow, publisher, clock = stranded_store(ages)
    due = [n for n, age in enumerate(ages) if age >= RELAY_GRACE.total_seconds()]
    runs = 0
    while relay_outbox(uow, clock, batch_size=batch_size).more:
        runs += 1
        assert runs <= len(ages), "the relay must drain what is due"

    relayed = [m.event_id for m in publisher.messages]
    assert sorted(relayed) == sorted(f"e-{n:03d}" for n in due)  # each due entry once
    assert [-ages[int(e[2:])] for e in relayed] == sorted(-ages[n] for n in due)  # oldest first
    still_pending = {e for e, d in uow.documents(OUTBOX).items() if d["published_at"] is None}
    assert still_pending == {f"e-{n:03d}" for n, age in enumerate(ages) if n not in due}
