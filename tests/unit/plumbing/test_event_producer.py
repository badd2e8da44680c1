"""A function whose use cases emit events mixes `EventProducer` into its services:
every event it produces is stamped with its entity, its clock and its ids."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.adapters.memory import FixedClock, MemoryUnitOfWork, RecordingPublisher, SequentialIds
from shared.domain.events import EventType
from shared.http.events import EventServices
from shared.http.router import HttpServices
from shared.platform.event_origin import EventProducer
from tests.unit.plumbing.support import push_issuer

SUBMISSION = {
    "loan_id": "loan-1",
    "borrower_id": "user-1",
    "product_id": "umkm-modal-kerja",
    "principal": 50_000_000,
    "tenor": 12,
}


@dataclass(frozen=True, kw_only=True)
class ReviewerServices(EventProducer, HttpServices):
    entity: str


@dataclass(frozen=True, kw_only=True)
class ConsumerServices(EventProducer, EventServices):
    pass


def test_an_http_function_stamps_its_events_with_its_entity_clock_and_ids():
    clock, ids = FixedClock(), SequentialIds()
    services = ReviewerServices(entity="koperasi", clock=clock, ids=ids)
    event = services.origin.event(EventType.LOAN_SUBMITTED, SUBMISSION, causation_id="req-1")
    assert event.entity == "koperasi"
    assert event.occurred_at == clock.now()
    assert event.causation_id == "req-1"
    again = services.origin.event(EventType.LOAN_SUBMITTED, SUBMISSION)
    assert again.event_id != event.event_id  # each event its own id, from the function's ids


def test_an_event_function_stamps_its_events_from_its_own_settings():
    clock = FixedClock()
    uow = MemoryUnitOfWork(RecordingPublisher(), clock)
    services = ConsumerServices(
        uow=uow,
        push_auth=push_issuer().authenticator(),
        clock=clock,
        entity="p2p",
        ids=SequentialIds(),
    )
    event = services.origin.event(EventType.LOAN_SUBMITTED, SUBMISSION)
    assert event.entity == "p2p"
    assert event.occurred_at == clock.now()


def test_a_function_without_an_entity_produces_no_event():
    uow = MemoryUnitOfWork(RecordingPublisher(), FixedClock())
    with pytest.raises(ValueError, match="PATUNGAN_ENTITY"):
        ConsumerServices(uow=uow, push_auth=push_issuer().authenticator()).origin  # noqa: B018
