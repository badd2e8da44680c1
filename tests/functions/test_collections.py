"""`collections` and `collections_dispatch` through functions-framework: the sweep's notices
pushed in, reminders kept for the borrower's contact hours and sent by the scheduled
dispatcher, once however often Pub/Sub delivers; strangers refused
(shared/services/reminders.py, docs/lending-rules.md#overdue-and-collection)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.domain.events import Envelope, EventType, InstallmentDueSoon
from shared.records.users import USERS
from tests.functions.conftest import DISPATCH_SCHEDULER, Platform, problem

TUESDAY_21_WITA = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
WEDNESDAY_08_WITA = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)


def borrower_in_makassar(platform: Platform) -> str:
    platform.world.staff("bora", "borrower")
    data = platform.world.uow.run(lambda tx: tx.get(USERS, "bora"), read_only=True)
    assert data is not None
    data["borrower_profile"] = {
        "business_name": "Toko Bora",
        "sector": "food_and_beverage",
        "province_code": "73",  # South Sulawesi: WITA
        "years_in_business": "5",
    }
    platform.world.uow.run(lambda tx: tx.set(USERS, "bora", data))
    return "bora"


def due_soon(platform: Platform) -> Envelope:
    return platform.world.origin.event(
        EventType.INSTALLMENT_DUE_SOON,
        InstallmentDueSoon(
            loan_id="loan-9",
            borrower_id="bora",
            installment=2,
            due_date=date(2026, 12, 4),
            amount_due=1_755_300,
        ),
    )


def push(event: Envelope, message_id: str) -> dict[str, Any]:
    """The push of `event`, as Pub/Sub sends it to `collections`."""
    return {
        "message": {
            "data": base64.b64encode(event.to_json_bytes()).decode(),
            "attributes": {"type": str(event.type), "event_id": str(event.event_id)},
            "messageId": message_id,
        },
        "subscription": f"projects/p/subscriptions/push.collections.{event.type}",
    }


def scheduler_token(platform: Platform, email: str = DISPATCH_SCHEDULER) -> dict[str, str]:
    token = platform.token("1234567890", None, email=email, email_verified=True)
    return {"Authorization": f"Bearer {token}"}


def test_a_notice_pushed_three_times_at_21_wita_reaches_the_borrower_once_at_08(platform):
    borrower_in_makassar(platform)
    collections = platform.client("collections")
    dispatcher = platform.client("collections_dispatch")
    platform.world.clock.set(TUESDAY_21_WITA)
    event = due_soon(platform)
    for message_id in ("m-1", "m-2", "m-3"):  # Pub/Sub delivers at least once
        answer = collections.post("/", json=push(event, message_id), headers=platform.pushed())
        assert answer.status_code == 200
    assert platform.notifier.delivered == []  # after 20:00 in Makassar

    platform.world.clock.set(datetime(2026, 12, 1, 23, 45, tzinfo=UTC))  # 07:45 WITA
    early = dispatcher.post("/", headers=scheduler_token(platform))
    assert early.get_json() == {"sent": 0, "refused": 0, "withdrawn": 0, "waiting": 0}
    platform.world.clock.set(WEDNESDAY_08_WITA)
    on_time = dispatcher.post("/", headers=scheduler_token(platform))
    assert on_time.get_json() == {"sent": 1, "refused": 0, "withdrawn": 0, "waiting": 0}
    assert dispatcher.post("/", headers=scheduler_token(platform)).get_json()["sent"] == 0

    [sent] = platform.notifier.delivered
    assert (sent.recipient_id, sent.recipient_role) == ("bora", "borrower")
    assert sent.sent_at == WEDNESDAY_08_WITA
    assert "Angsuran ke-2" in sent.subject


def test_an_outage_of_the_notification_service_answers_503_and_the_next_run_sends(platform):
    borrower_in_makassar(platform)
    platform.world.clock.set(TUESDAY_21_WITA)
    platform.client("collections").post(
        "/", json=push(due_soon(platform), "m-1"), headers=platform.pushed()
    )
    dispatcher = platform.client("collections_dispatch")
    platform.world.clock.set(WEDNESDAY_08_WITA)
    platform.notifier.fail_next(1)
    problem(dispatcher.post("/", headers=scheduler_token(platform)), 503)
    assert dispatcher.post("/", headers=scheduler_token(platform)).get_json()["sent"] == 1
    assert len(platform.notifier.delivered) == 1


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda p: p.bearer("bora", "borrower"), id="a borrower"),
        pytest.param(
            lambda p: scheduler_token(
                p, "cron-overdue-sweep@patungan-p2p-prod.iam.gserviceaccount.com"
            ),
            id="another scheduler job",
        ),
    ],
)
def test_only_its_scheduler_job_may_dispatch(platform, headers):
    problem(platform.client("collections_dispatch").post("/", headers=headers(platform)), 403)


def test_a_push_from_anyone_but_its_subscriptions_is_refused(platform):
    borrower_in_makassar(platform)
    answer = platform.client("collections").post(
        "/", json=push(due_soon(platform), "m-1"), headers=platform.bearer("bora", "borrower")
    )
    assert answer.status_code in (401, 403)
    assert platform.world.uow.documents("reminders") == {}
