"""An event function on the plumbing (docs/architecture.md#events): parse once, apply at most
once, and
acknowledge permanent errors while letting transient ones be redelivered."""

from __future__ import annotations

import base64
import json
import logging
import sys
import uuid
from typing import Any

import pytest
from cloudevents.http import CloudEvent

from shared.adapters.memory import FixedClock, MemoryUnitOfWork, RecordingPublisher, SequentialIds
from shared.domain.errors import DomainError
from shared.domain.events import EventType, new_event, parse_event
from shared.http.errors import Unauthenticated
from shared.http.events import (
    PERMANENT_ERRORS,
    Delivery,
    EventConsumer,
    Outcome,
    PermanentEventError,
)
from shared.platform.errors import TransactionContended
from tests.unit.plumbing.sample_function.consumer import ScoringServices, consumer, score
from tests.unit.plumbing.support import SAMPLE_CONSUMER, push_issuer

NIK = "3174051204900001"


def pushed() -> dict[str, str]:
    """The headers of a push from the consumer's own subscription."""
    return push_issuer().headers()


@pytest.fixture
def world() -> Any:
    clock = FixedClock()
    publisher = RecordingPublisher()
    uow = MemoryUnitOfWork(publisher, clock, max_attempts=2)
    services = ScoringServices(
        uow=uow,
        push_auth=push_issuer().authenticator(),
        clock=clock,
        entity="p2p",
        ids=SequentialIds(),
    )
    uow.seed("loans", "loan-1", {"state": "submitted"})
    return services


def submitted(
    loan_id: str = "loan-1", entity: str = "p2p", event_id: uuid.UUID | None = None
) -> Any:
    return new_event(
        EventType.LOAN_SUBMITTED,
        {
            "loan_id": loan_id,
            "borrower_id": "u-1",
            "product_id": "p-1",
            "principal": 5_000_000,
            "tenor": 6,
        },
        entity=entity,
        occurred_at=FixedClock().now(),
        event_id=event_id or uuid.UUID(int=42),
    )


def push(payload: bytes, attributes: dict[str, str] | None = None, **message: Any) -> CloudEvent:
    """The CloudEvent functions-framework makes of a Pub/Sub push request."""
    return CloudEvent(
        {
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": "//pubsub.googleapis.com/",
        },
        {
            "message": {
                "data": base64.b64encode(payload).decode(),
                "attributes": attributes or {},
                "messageId": "m-1",
                **message,
            },
            "subscription": "projects/p/subscriptions/push.scoring",
            "deliveryAttempt": 1,
        },
    )


def event_push(event: Any, **attributes: str) -> CloudEvent:
    return push(
        event.to_json_bytes(),
        {
            "event_id": str(event.event_id),
            "type": str(event.type),
            "entity": event.entity,
            **attributes,
        },
    )


def test_an_event_is_applied_and_its_consequences_published(world):
    assert consumer.deliver(event_push(submitted()), world, headers=pushed()) is Outcome.APPLIED

    assert world.uow.documents("loans")["loan-1"]["state"] == "scored"
    [scored] = world.uow.publisher.envelopes("loan.scored")
    assert scored["causation_id"] == str(uuid.UUID(int=42))
    assert list(world.uow.documents("processed_events")) == [f"scoring:{uuid.UUID(int=42)}"]


def test_the_same_event_delivered_three_times_is_applied_once(world):
    outcomes = [
        consumer.deliver(event_push(submitted()), world, headers=pushed()) for _ in range(3)
    ]

    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert len(world.uow.publisher.envelopes("loan.scored")) == 1
    assert world.uow.commits == 1


def test_two_deliveries_racing_past_the_pre_check_are_applied_once(world):
    """The second delivery arrives while the first is still calling providers: both pass
    the cheap pre-check, and the record written in the transaction lets only one through."""
    raced: list[Outcome] = []
    deliveries = []

    def score_while_a_duplicate_races(delivery: Delivery[Any, ScoringServices]) -> None:
        deliveries.append(delivery.message_id)
        if len(deliveries) == 1:  # the first delivery is still busy when the second arrives
            raced.append(racing.deliver(event_push(submitted()), world, headers=pushed()))
        score(delivery)

    racing = EventConsumer(
        "scoring", score_while_a_duplicate_races, parse=parse_event, accepts={"loan.submitted"}
    )

    assert racing.deliver(event_push(submitted()), world, headers=pushed()) is Outcome.DUPLICATE
    assert raced == [Outcome.APPLIED]
    assert world.uow.documents("loans")["loan-1"]["state"] == "scored"
    assert len(world.uow.publisher.envelopes("loan.scored")) == 1


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (push(b"", data="%%% not base64 %%%"), "not base64"),
        (push(b"{not json"), "schema"),
        (push(json.dumps({"event_id": "x", "type": "loan.submitted"}).encode()), "schema"),
        (CloudEvent({"type": "t", "source": "s"}, {"no": "message"}), "not a Pub/Sub message"),
    ],
)
def test_malformed_messages_are_logged_and_acknowledged(world, caplog, message, reason):
    with caplog.at_level(logging.ERROR):
        assert consumer.deliver(message, world, headers=pushed()) is Outcome.REJECTED
    assert reason in caplog.text
    assert world.uow.documents("loans")["loan-1"]["state"] == "submitted"


def test_a_rejected_event_is_logged_by_field_never_by_value(world, caplog):
    bad = submitted().model_dump(mode="json")
    bad["data"]["borrower_id"] = NIK + " !"  # invalid identifier, carrying personal data
    with caplog.at_level(logging.ERROR):
        message = push(json.dumps(bad).encode())
        assert consumer.deliver(message, world, headers=pushed()) is Outcome.REJECTED
    record = next(r for r in caplog.records if "rejected" in r.getMessage())
    assert "data.borrower_id" in json.dumps(record.errors)
    assert NIK not in caplog.text


def test_attributes_that_contradict_the_payload_are_rejected(world):
    message = event_push(submitted(), type="loan.approved")
    assert consumer.deliver(message, world, headers=pushed()) is Outcome.REJECTED


def test_an_event_type_the_consumer_does_not_apply_is_rejected(world):
    other = new_event(
        EventType.LOAN_CANCELLED,
        {"loan_id": "loan-1", "borrower_id": "u-1", "cancelled_from": "submitted"},
        entity="p2p",
        occurred_at=FixedClock().now(),
        event_id=uuid.uuid4(),
    )
    assert consumer.deliver(event_push(other), world, headers=pushed()) is Outcome.REJECTED


def test_an_event_of_another_business_entity_is_rejected(world):
    assert (
        consumer.deliver(event_push(submitted(entity="koperasi")), world, headers=pushed())
        is Outcome.REJECTED
    )
    assert world.uow.documents("loans")["loan-1"]["state"] == "submitted"


def test_an_impossible_state_is_a_permanent_error_acknowledged(world, caplog):
    world.uow.seed("loans", "loan-1", {"state": "cancelled"})
    with caplog.at_level(logging.ERROR):
        assert (
            consumer.deliver(event_push(submitted()), world, headers=pushed()) is Outcome.REJECTED
        )
    assert "IllegalTransition" in caplog.text
    assert world.uow.documents("processed_events") == {}


def test_a_handler_may_declare_an_error_permanent(world):
    def refuse(_: Any) -> None:
        raise PermanentEventError("this event can never apply")

    refusing = EventConsumer("scoring", refuse, parse=parse_event, accepts={"loan.submitted"})
    assert refusing.deliver(event_push(submitted()), world, headers=pushed()) is Outcome.REJECTED


@pytest.mark.parametrize(
    "error",
    [
        Unauthenticated("a token the handler checked itself has expired"),
        DomainError("a refusal nobody named permanent"),
    ],
    ids=["edge-error", "unnamed-domain-error"],
)
def test_only_the_named_permanent_errors_are_acknowledged(world, error):
    def failing(_: Any) -> None:
        raise error

    refusing = EventConsumer("scoring", failing, parse=parse_event, accepts={"loan.submitted"})
    with pytest.raises(type(error)):
        refusing.deliver(event_push(submitted()), world, headers=pushed())
    assert Unauthenticated not in PERMANENT_ERRORS and DomainError not in PERMANENT_ERRORS


def test_a_consumer_may_name_more_permanent_errors(world):
    def failing(_: Any) -> None:
        raise DomainError("permanent for this consumer")

    refusing = EventConsumer(
        "scoring",
        failing,
        parse=parse_event,
        accepts={"loan.submitted"},
        permanent=(*PERMANENT_ERRORS, DomainError),
    )
    assert refusing.deliver(event_push(submitted()), world, headers=pushed()) is Outcome.REJECTED


def test_contention_is_transient_and_raised_so_pub_sub_redelivers(world):
    world.uow.contend(2)
    with pytest.raises(TransactionContended):
        consumer.deliver(event_push(submitted()), world, headers=pushed())
    assert world.uow.documents("processed_events") == {}

    assert consumer.deliver(event_push(submitted()), world, headers=pushed()) is Outcome.APPLIED


def test_an_unexpected_error_is_raised_so_the_event_is_never_lost(world, caplog):
    def broken(_: Any) -> None:
        raise TimeoutError("provider did not answer")

    failing = EventConsumer("scoring", broken, parse=parse_event, accepts={"loan.submitted"})
    with caplog.at_level(logging.WARNING), pytest.raises(TimeoutError):
        failing.deliver(event_push(submitted()), world, headers=pushed())
    assert "redelivers" in caplog.text


def test_consequences_that_could_not_be_published_go_out_on_redelivery(world):
    world.uow.publisher.fail_next(1)
    with pytest.raises(Exception, match="unavailable"):
        consumer.deliver(event_push(submitted()), world, headers=pushed())
    assert world.uow.documents("loans")["loan-1"]["state"] == "scored"  # committed
    assert world.uow.publisher.messages == []

    assert consumer.deliver(event_push(submitted()), world, headers=pushed()) is Outcome.DUPLICATE
    assert len(world.uow.publisher.envelopes("loan.scored")) == 1


def test_through_functions_framework_applied_is_200_and_transient_is_500(world):
    import functions_framework

    app = functions_framework.create_app("sample_scoring", str(SAMPLE_CONSUMER))
    module = sys.modules["consumer"]
    event = submitted()
    body = {
        "message": {
            "data": base64.b64encode(event.to_json_bytes()).decode(),
            "attributes": {"type": "loan.submitted"},
            "messageId": "m-9",
        },
        "subscription": "projects/p/subscriptions/push.scoring",
    }
    client = app.test_client()
    with module.services.override(world):
        world.uow.contend(2)
        post = lambda: client.post("/", json=body, headers=pushed())  # noqa: E731
        assert post().status_code == 500  # Pub/Sub will redeliver
        assert post().status_code == 200
        assert post().status_code == 200  # duplicate, acknowledged
    assert world.uow.documents("loans")["loan-1"]["state"] == "scored"
    assert len(world.uow.publisher.envelopes("loan.scored")) == 1
