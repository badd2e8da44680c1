"""A borrower's payment through the real push plumbing on the emulators: the gateway's notice
publishes `payment.received` through the outbox, the platform's planned push subscriptions
(`shared/deployment.py`: OIDC token, retry backoff, dead-letter topic and the pull
subscription holding its dead letters) deliver it to `repayments`, whose `installment.paid`
reaches `billing_split` — both functions served in-process by functions-framework, each
verifying every push's token as in production (docs/architecture.md#events).

Every delivery comes three times (the emulator's fault injection) and still the payment is
allocated once and split once (docs/lending-rules.md#repayment,
docs/lending-rules.md#billing-split). A delivery that fails transiently every time — the
store refusing the allocation's commit — is retried, then dead-lettered with nothing posted.
The subscriptions back off for a tenth of a second instead of the topology's ten, so the
five attempts before a dead letter take about two seconds.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import functions_framework
import pytest
from google.protobuf import duration_pb2
from werkzeug.serving import make_server

from shared.adapters.auth import JwtVerifier, StaticPublicKey
from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import FixedClock
from shared.adapters.pubsub import PubSubPublisher
from shared.deployment import PushSubscription, account_email, platform_plan
from shared.domain.events import parse_event
from shared.http.events import PushAuthenticator
from shared.platform.idempotency import PROCESSED_EVENTS
from shared.platform.store import Where
from shared.records.ledger import LEDGER_ENTRIES
from tests.unit.journey.money_desk import MONDAY
from tests.unit.journey.money_scenarios import assert_reconciles
from tests.unit.journey.payment_desk import PaymentDesk
from tests.unit.journey.payment_scenarios import SHARES

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[3]
PLAN = platform_plan("lpbbti")
# Each event function's services class in its main.py (built with the test's store and clock).
SERVICES = {"repayments": "RepaymentServices", "billing_split": "SplitServices"}
SHORT_BACKOFF = duration_pb2.Duration(nanos=100_000_000)
MAX_BACKOFF = duration_pb2.Duration(seconds=1)
ACK_DEADLINE_S = 30  # covers one delivery on a busy machine; nothing here waits it out


def planned(function: str) -> PushSubscription:
    """The one push subscription the plan gives `function` (each consumes one topic)."""
    (subscription,) = PLAN.function(function).subscriptions
    return subscription


@pytest.fixture
def project(pubsub_emulator: Any, pubsub_publisher: Any) -> str:
    """A Pub/Sub project of the test's own, holding every topic a producer may publish to."""
    project: str = pubsub_emulator.unique_id("payments")
    for topic in PLAN.topics:
        pubsub_publisher.create_topic(name=f"projects/{project}/topics/{topic}")
    return project


@pytest.fixture
def desk(firestore_client: Any, project: str) -> PaymentDesk:
    """A payment desk on Firestore whose events are really published, at a fixed moment."""
    clock = FixedClock(MONDAY)
    uow = FirestoreUnitOfWork(
        firestore_client,
        PubSubPublisher(project, timeout_s=10),
        clock,
        max_attempts=10,
        snapshot_lag=timedelta(0),
    )
    return PaymentDesk(uow, clock=clock)


@pytest.fixture
def served(
    pubsub_emulator: Any,
    pubsub_publisher: Any,
    pubsub_subscriber: Any,
    project: str,
    desk: PaymentDesk,
) -> Iterator[Any]:
    """`served(function)` serves an event function over HTTP on the desk's store and clock and
    wires its planned push subscription to it, with a short backoff and the plan's
    dead-letter topic (held by the plan's pull subscription); returns the subscription's path.
    `max_delivery_attempts` defaults to the plan's."""
    with contextlib.ExitStack() as stack:

        def serve(function: str, *, max_delivery_attempts: int | None = None) -> str:
            subscription = planned(function)
            source = ROOT / "functions" / function / "main.py"
            app = functions_framework.create_app(function, str(source))
            module = sys.modules["main"]  # the module create_app just loaded
            server = make_server("127.0.0.1", 0, app, threaded=True)
            url = f"http://127.0.0.1:{server.server_port}"
            pusher = account_email(subscription.invoker_account, project)
            verifier = JwtVerifier(
                issuer=pubsub_emulator.push_token_issuer,
                audience=url,
                keys=StaticPublicKey(pubsub_emulator.push_token_public_key_pem),
            )
            # Random event ids (the default): the desk's sequential ones would repeat.
            services = getattr(module, SERVICES[function])(
                uow=desk.uow,
                push_auth=PushAuthenticator(verifier, pusher),
                clock=desk.clock,
                entity="p2p",
            )
            stack.enter_context(module.services.override(services))
            thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
            thread.start()
            stack.callback(server.shutdown)

            dead_letters = f"projects/{project}/topics/{subscription.dead_letter_topic}"
            pubsub_publisher.create_topic(name=dead_letters)
            pubsub_subscriber.create_subscription(
                name=f"projects/{project}/subscriptions/{subscription.hold_subscription}",
                topic=dead_letters,
            )
            path = f"projects/{project}/subscriptions/{subscription.name}"
            pubsub_subscriber.create_subscription(
                request={
                    "name": path,
                    "topic": f"projects/{project}/topics/{subscription.topic}",
                    "ack_deadline_seconds": ACK_DEADLINE_S,
                    "push_config": {
                        "push_endpoint": url + subscription.path(project),
                        "oidc_token": {"service_account_email": pusher, "audience": url},
                    },
                    "retry_policy": {
                        "minimum_backoff": SHORT_BACKOFF,
                        "maximum_backoff": MAX_BACKOFF,
                    },
                    "dead_letter_policy": {
                        "dead_letter_topic": dead_letters,
                        "max_delivery_attempts": max_delivery_attempts
                        or subscription.max_delivery_attempts,
                    },
                }
            )
            stack.callback(pubsub_subscriber.delete_subscription, subscription=path)
            return path

        yield serve


def test_every_event_delivered_three_times_gives_one_allocation_and_one_split(
    pubsub_emulator, desk, served
):
    loan = desk.active_loan(SHARES)
    first = desk.installments(loan)[0]
    account = desk.virtual_account(loan)
    before = {lender: desk.wallet(lender).available for lender in SHARES}
    repayments = served("repayments")
    billing_split = served("billing_split")

    with (
        pubsub_emulator.faults(repayments, deliver_times=3),
        pubsub_emulator.faults(billing_split, deliver_times=3),
    ):
        payment = desk.notify(account, first.total).payment_id
        for subscription in (repayments, billing_split):
            pubsub_emulator.wait_for_stats(
                subscription, lambda s: s["acknowledged"] >= 3, timeout=30
            )

    assert desk.payment(payment).state == "split"
    installments = desk.installments(loan)
    assert installments[0].paid == first.total  # paid once, not three times
    assert all(i.paid == 0 for i in installments[1:])
    record = desk.loan_record(loan)
    assert record.outstanding_principal == record.principal - first.principal
    for lender in SHARES:
        (receipt,) = desk.receipts(lender)  # one receipt per lender
        assert receipt.payment_id == payment and receipt.net > 0
        assert desk.wallet(lender).available - before[lender] == receipt.net
    assert sum(desk.receipts(lender)[0].principal for lender in SHARES) == first.principal
    assert desk.balance(f"unapplied_receipts:{loan}") == 0
    assert desk.balance(f"pending_split:{loan}") == 0
    for subscription in (repayments, billing_split):
        stats = pubsub_emulator.stats(subscription)
        assert stats["published"] == 1  # one event each: the duplicates published nothing
        assert (stats["acknowledged"], stats["dead_lettered"], stats["backlog"]) == (3, 0, 0)
    assert_reconciles(desk)


def test_a_payment_whose_allocation_always_fails_ends_in_the_dead_letter_topic(
    pubsub_emulator, firestore_emulator, firestore_client, pubsub_subscriber, project, desk, served
):
    loan = desk.active_loan(SHARES)
    first = desk.installments(loan)[0]
    account = desk.virtual_account(loan)
    repayments = served("repayments", max_delivery_attempts=5)
    subscription = planned("repayments")
    payment = "PAY-POISON"
    # Only the allocation writes its journal entry, so the store refuses every allocation of
    # this payment (a deadline exceeded: transient, redelivered) and nothing else.
    with firestore_emulator.commits_refused(
        firestore_client.project,
        code="DEADLINE_EXCEEDED",
        count=None,
        path_prefix=f"{LEDGER_ENTRIES}/allocation-{payment}",
    ):
        desk.notify(account, first.total, payment)
        stats = pubsub_emulator.wait_for_stats(
            repayments, lambda s: s["dead_lettered"] >= 1, timeout=30
        )

    assert (stats["nacked"], stats["acknowledged"], stats["dead_lettered"]) == (5, 0, 1)
    assert stats["backlog"] == 0
    assert stats["last_push_error"].startswith("HTTP 500"), stats
    hold = subscription.hold_subscription
    pulled = pubsub_subscriber.pull(
        request={"subscription": f"projects/{project}/subscriptions/{hold}", "max_messages": 10},
        timeout=15,
    )
    (dead,) = pulled.received_messages
    event = parse_event(dead.message.data)
    assert event.type == "payment.received"
    assert event.data.payment_id == payment  # type: ignore[attr-defined]
    assert dead.message.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"
    assert dead.message.attributes["CloudPubSubDeadLetterSourceSubscription"] == subscription.name

    # Nothing was applied: the payment waits, unapplied, and no allocation reached the ledger.
    record = desk.payment(payment)
    assert (record.state, record.allocation) == ("unapplied", None)
    assert all(i.paid == 0 for i in desk.installments(loan))
    assert desk.balance(f"unapplied_receipts:{loan}") == first.total
    assert desk.balance(f"pending_split:{loan}") == 0
    entry = desk.uow.run(lambda tx: tx.get(LEDGER_ENTRIES, f"allocation-{payment}"), read_only=True)
    assert entry is None
    processed = desk.uow.run(
        lambda tx: tx.query(PROCESSED_EVENTS, [Where("consumer", "==", "repayments")]),
        read_only=True,
    )
    assert processed == []
    assert_reconciles(desk)
