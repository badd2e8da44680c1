"""A submission whose `loan.submitted` publish Pub/Sub refused after its commit is still
scored: the borrower hears 503 and never retries, the local Cloud Scheduler runs the outbox
relay as the deployed job does, the relay publishes the stranded event, and the push
subscription delivers it to scoring (docs/architecture.md#events, the outbox). The refusal is the
Pub/Sub
emulator's publish fault, so the real `loan_applications` function and its real Pub/Sub
client meet it exactly as they would meet PERMISSION_DENIED in production."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.platform.outbox import OUTBOX

pytestmark = [pytest.mark.emulator, pytest.mark.slow]
SUBMITTED = FieldFilter("topic", "==", "loan.submitted")
# The relay leaves an entry alone for its 30 s grace period (shared/services/outbox_relay.py),
# then the test platform's scheduler runs it within a second; the rest is scoring.
RELAYED_AND_SCORED_WITHIN_S = 90


def outbox_entry(firestore: Any, event_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = firestore.collection(OUTBOX).document(event_id).get().to_dict()
    return entry


def test_a_submission_stranded_by_a_refused_publish_is_scored_after_the_scheduled_relay(
    local_platform, platform_pubsub, journey_client, new_borrower, scored_events, caplog
):
    caplog.set_level(logging.INFO, logger="tests.fixtures.local_platform")
    siti = new_borrower("clean", "grow")
    submitted = local_platform.topic_path("loan.submitted")
    refused_before = platform_pubsub.topic_stats(submitted)["refused_publishes"]

    # Pub/Sub refuses every publish to loan.submitted with PERMISSION_DENIED, a code the
    # client does not retry: the producer's publish after its commit fails at once.
    with platform_pubsub.publishes_refused(submitted, code="PERMISSION_DENIED"):
        answer = journey_client.call(
            "loan_applications",
            "POST",
            sub=siti.sub,
            json=siti.applicant.application,
            idempotency_key=f"submit-{uuid.uuid4()}",
        )

    # What the plumbing promises (shared/services/ports.py, PublishFailed): the commit
    # stands, the answer is a 503 asking for a retry with the same key. Siti never retries.
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) >= 1
    problem = answer.json()
    assert problem["title"] == "Temporarily unavailable"
    assert "same Idempotency-Key" in problem["detail"]
    assert platform_pubsub.topic_stats(submitted)["refused_publishes"] == refused_before + 1
    (loan,) = journey_client.applications(siti.sub)
    assert loan["state"] == "submitted"
    firestore = local_platform.firestore_client()
    (event_id,) = [
        doc.id
        for doc in firestore.collection(OUTBOX).where(filter=SUBMITTED).stream()
        if json.loads(doc.to_dict()["data"])["data"]["loan_id"] == loan["id"]
    ]
    assert outbox_entry(firestore, event_id)["published_at"] is None

    scored = journey_client.wait_for_decision(
        siti.sub, loan["id"], timeout_s=RELAYED_AND_SCORED_WITHIN_S
    )

    assert scored["state"] == "approved"  # clean record, growing store: as if never stranded
    [event] = scored_events.for_loan(loan["id"])  # scored once
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
