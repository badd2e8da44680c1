"""Push delivery: Pub/Sub waits for an event function at least as long as the function may run.

A push subscription's ack deadline is how long Pub/Sub waits for the push
request's answer; after it, Pub/Sub delivers the message again. An event
function that may run longer than that would be handed the same event while it
is still working on it — the dedup record makes the second run harmless, but it
is a second call to every credit-data provider and a second instance.
"""

from __future__ import annotations

from collections.abc import Mapping

from infra.offline import Simulation
from shared.topology import FUNCTIONS, TOPICS, Function, function, validate_topology
from tests.infra.queries import deployed_function, functions_of, push_subscription


def consumer(**settings: int) -> Function:
    return Function("slow_consumer", "event", "x", consumes=("loan.submitted",), **settings)


def test_scoring_is_waited_for_as_long_as_it_may_run():
    scoring = function("scoring")
    assert scoring.timeout_s == 120
    assert scoring.ack_deadline_s >= scoring.timeout_s


def test_an_ack_deadline_shorter_than_the_timeout_is_reported():
    assert validate_topology((*FUNCTIONS, consumer(timeout_s=120, ack_deadline_s=60)), TOPICS) == [
        "'slow_consumer': ack deadline 60 s is shorter than its timeout 120 s, so Pub/Sub "
        "would deliver again while it still runs"
    ]


def test_an_ack_deadline_equal_to_or_longer_than_the_timeout_is_sound():
    for ack in (120, 300):
        assert validate_topology((*FUNCTIONS, consumer(timeout_s=120, ack_deadline_s=ack))) == []


def test_ack_deadlines_pub_sub_does_not_accept_are_reported():
    assert validate_topology((*FUNCTIONS, consumer(timeout_s=5, ack_deadline_s=5))) == [
        "'slow_consumer': Pub/Sub allows ack deadlines of 10..600 s"
    ]
    # A timeout past 600 s cannot be covered: one rule or the other says so.
    assert validate_topology((*FUNCTIONS, consumer(timeout_s=900, ack_deadline_s=900))) == [
        "'slow_consumer': Pub/Sub allows ack deadlines of 10..600 s"
    ]
    assert validate_topology((*FUNCTIONS, consumer(timeout_s=900, ack_deadline_s=600))) == [
        "'slow_consumer': ack deadline 600 s is shorter than its timeout 900 s, so Pub/Sub "
        "would deliver again while it still runs"
    ]


def test_http_functions_have_no_ack_deadline_to_check():
    long_report = Function("long_report", "http", "x", timeout_s=900)
    assert validate_topology((*FUNCTIONS, long_report), TOPICS) == []


def test_every_deployed_push_subscription_outwaits_its_function(
    simulations: Mapping[str, Simulation],
):
    assert [fn for fn in FUNCTIONS if fn.kind == "event"]
    for simulation in simulations.values():
        for fn in (fn for fn in functions_of(simulation) if fn.kind == "event"):
            timeout = deployed_function(simulation, fn).get("serviceConfig.timeoutSeconds")
            for topic in fn.consumes:
                push = push_subscription(simulation, fn, topic)
                assert push.get("ackDeadlineSeconds") == fn.ack_deadline_s >= timeout
