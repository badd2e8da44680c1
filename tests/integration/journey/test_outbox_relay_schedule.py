"""A submission whose `loan.submitted` publish failed after its commit is still scored: the
local Cloud Scheduler runs the outbox relay as the deployed job does, the relay publishes the
stranded event, and the push subscription delivers it to scoring (DESIGN §2, outbox)."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import FixedClock
from shared.services.loan_applications import SubmitApplication, submit_application
from shared.services.loan_records import EventOrigin
from shared.services.outbox_relay import RELAY_GRACE
from shared.services.ports import (
    OUTBOX,
    EventPublisher,
    OutboundMessage,
    PublishFailed,
    RandomIds,
)

pytestmark = [pytest.mark.emulator, pytest.mark.slow]
SUBMITTED = FieldFilter("topic", "==", "loan.submitted")


def outbox_entry(firestore: Any, event_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = firestore.collection(OUTBOX).document(event_id).get().to_dict()
    return entry


class PubSubOutage(EventPublisher):
    """Pub/Sub refusing every publish: the producer's commit stands, its event waits."""

    def publish(self, messages: Sequence[OutboundMessage]) -> None:
        raise PublishFailed("Pub/Sub unavailable")


def test_a_submission_stranded_by_a_failed_publish_is_scored_after_the_scheduled_relay(
    local_platform, journey_client, new_borrower, scored_events, caplog
):
    caplog.set_level(logging.INFO, logger="tests.fixtures.local_platform")
    siti = new_borrower("clean", "grow")
    # loan_applications' own use case and Firestore unit of work, as the function runs them,
    # but Pub/Sub is down: the borrower got a 503 a little over the grace period ago and
    # never retried. Only the relay can publish `loan.submitted` now.
    failed_at = FixedClock(datetime.now(UTC) - RELAY_GRACE - timedelta(seconds=5))
    firestore = local_platform.firestore_client()
    uow = FirestoreUnitOfWork(firestore, PubSubOutage(), failed_at)
    origin = EventOrigin(local_platform.config.entity, failed_at, RandomIds())
    with pytest.raises(PublishFailed):
        submit_application(
            uow,
            SubmitApplication.model_validate(siti.applicant.application),
            siti.sub,
            origin=origin,
        )
    (loan,) = journey_client.applications(siti.sub)
    assert loan["state"] == "submitted"
    (event_id,) = [
        doc.id
        for doc in firestore.collection(OUTBOX).where(filter=SUBMITTED).stream()
        if json.loads(doc.to_dict()["data"])["data"]["loan_id"] == loan["id"]
    ]
    assert outbox_entry(firestore, event_id)["published_at"] is None

    scored = journey_client.wait_for_decision(siti.sub, loan["id"], timeout_s=30)

    assert scored["state"] == "approved"  # clean record, growing store: as if never stranded
    [event] = scored_events.for_loan(loan["id"])
    assert event["data"]["decision"] == "approve"
    assert outbox_entry(firestore, event_id)["published_at"] is not None
    # The scheduler said so, in the one line a run that relayed something writes.
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("scheduler:")]
    assert any(
        re.match(r'scheduler: outbox_relay → 200 \{"relayed": [1-9]', line) for line in lines
    )
    firestore.close()


def test_the_relay_runs_once_now_from_the_command_line(local_platform, capsys):
    from scripts.local_platform import main

    code = main(
        [
            "--run-scheduled", "outbox_relay",
            "--url", local_platform.url("outbox_relay"),
            "--keys", str(local_platform.keys.directory),
            "--project", local_platform.config.project,
        ]
    )  # fmt: skip

    assert code == 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(
        r'scheduler: outbox_relay → 200 \{"relayed": \d+, "more": (true|false)\}', line
    )


def test_a_run_from_another_project_is_refused_as_another_account(local_platform, capsys):
    from scripts.local_platform import main

    code = main(
        [
            "--run-scheduled", "outbox_relay",
            "--url", local_platform.url("outbox_relay"),
            "--keys", str(local_platform.keys.directory),
            "--project", f"not-{uuid.uuid4().hex[:6]}",
        ]
    )  # fmt: skip

    assert code == 1
    assert "→ 403" in capsys.readouterr().out
