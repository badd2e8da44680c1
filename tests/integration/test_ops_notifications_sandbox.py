"""The real ops webhook channel and the real notifier against the ops-notifications sandbox
process, over HTTP.

What `ops_alerts` posts is kept and shown back; an injected failure is an
`OpsChannelUnavailable` (the message was not delivered, and is not kept); bad admin input
is a JSON 400; the process stops cleanly on SIGTERM.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from emulators.launcher import EmulatorProcess
from shared.adapters.notifications import HttpNotifier
from shared.adapters.ops_webhook import WebhookOpsChannel
from shared.platform.notifications import Notification, NotificationRefused, NotifierUnavailable
from shared.platform.ops_notifications import OpsChannelUnavailable, OpsMessage

pytestmark = pytest.mark.emulator

MESSAGE = OpsMessage(
    title="[p2p-lending] Budget 'x' has passed 90% of its amount",
    text="Entity p2p-lending: IDR 9,000,000 spent of IDR 10,000,000 (90%)",
    severity="warning",
    key="budget:b:20261201T080000Z:actual:0.9",
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    process = EmulatorProcess.python_module(
        "ops-notifications", "emulators.sandboxes.ops_notifications", "--port", "0"
    )
    with process:
        # "READY ops-notifications http://127.0.0.1:PORT"
        yield process.ready_line.split()[2]


@pytest.fixture
def url(sandbox: str) -> Iterator[str]:
    httpx.delete(f"{sandbox}/messages").raise_for_status()
    yield sandbox
    httpx.delete(f"{sandbox}/messages").raise_for_status()


def messages(url: str, webhook: str | None = None) -> list[dict]:
    params = {"webhook": webhook} if webhook else {}
    answer = httpx.get(f"{url}/messages", params=params).raise_for_status()
    return answer.json()["messages"]


def test_a_message_posted_to_the_webhook_is_shown_back_as_ops_would_read_it(url):
    channel = WebhookOpsChannel(f"{url}/webhooks/ops")

    channel.notify(MESSAGE)
    WebhookOpsChannel(f"{url}/webhooks/other").notify(MESSAGE)

    [shown] = messages(url, "ops")
    assert shown["text"] == f"*{MESSAGE.title}*\n{MESSAGE.text}"
    assert shown["body"] == {"text": shown["text"]}
    assert len(messages(url)) == 2


def test_an_injected_failure_is_a_channel_unavailable_and_nothing_is_kept(url):
    httpx.put(f"{url}/admin/faults", json={"fail_next": 1, "status": 500}).raise_for_status()
    channel = WebhookOpsChannel(f"{url}/webhooks/ops")

    with pytest.raises(OpsChannelUnavailable, match="HTTP 500"):
        channel.notify(MESSAGE)
    assert messages(url) == []

    channel.notify(MESSAGE)  # the failure was used up: the retry is delivered
    assert len(messages(url)) == 1


def test_a_stopped_sandbox_is_a_channel_unavailable_too():
    with EmulatorProcess.python_module(
        "ops-notifications-stopped", "emulators.sandboxes.ops_notifications", "--port", "0"
    ) as process:
        url = process.ready_line.split()[2]
    channel = WebhookOpsChannel(f"{url}/webhooks/ops", timeout_s=2)

    with pytest.raises(OpsChannelUnavailable, match="could not be reached"):
        channel.notify(MESSAGE)


@pytest.mark.parametrize(
    "faults",
    [{"fail_next": -1}, {"status": 200}, {"fail_next": True}, {"typo": 1}],
    ids=["negative", "success-status", "bool", "unknown-field"],
)
def test_bad_fault_settings_are_a_json_400_and_change_nothing(url, faults):
    answer = httpx.put(f"{url}/admin/faults", json=faults)

    assert answer.status_code == 400
    assert "error" in answer.json()
    assert httpx.get(f"{url}/admin/faults").json()["fail_next"] == 0


def test_a_webhook_body_that_is_not_json_is_a_400(url):
    answer = httpx.post(
        f"{url}/webhooks/ops", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == 400
    assert messages(url) == []


# --- the notification service's intake (collection reminders) ---------------------------------

REMINDER = Notification(
    idempotency_key="3f1c0d9e-0000-4000-8000-000000000001~bora",
    recipient_id="bora",
    recipient_role="borrower",
    subject="Angsuran ke-1 lewat jatuh tempo",
    text="Angsuran ke-1 pinjaman loan-1 sebesar Rp 1.755.300 lewat jatuh tempo.",
    sent_at=datetime(2026, 12, 28, 0, 0, tzinfo=UTC),
)


@pytest.fixture
def intake(url: str) -> Iterator[str]:
    httpx.delete(f"{url}/v1/notifications").raise_for_status()
    yield f"{url}/v1/notifications"
    httpx.delete(f"{url}/v1/notifications").raise_for_status()


def test_a_notification_sent_twice_under_one_key_is_delivered_once(intake):
    notifier = HttpNotifier(intake)
    first = notifier.send(REMINDER)
    again = notifier.send(replace(REMINDER, sent_at=datetime(2026, 12, 28, 0, 15, tzinfo=UTC)))
    assert (first.replayed, again.replayed) == (False, True)
    assert again.delivery_id == first.delivery_id
    notifier.send(replace(REMINDER, idempotency_key="other~budi", recipient_id="budi"))

    [delivered] = httpx.get(intake, params={"recipient_id": "bora"}).json()["notifications"]
    assert delivered["sent_at"] == "2026-12-28T00:00:00.000000Z"  # the first send's
    assert (delivered["recipient_role"], delivered["subject"]) == ("borrower", REMINDER.subject)
    assert len(httpx.get(intake).json()["notifications"]) == 2


def test_an_incomplete_notification_is_refused_for_good(intake):
    with pytest.raises(NotificationRefused, match="HTTP 400"):
        HttpNotifier(intake).send(replace(REMINDER, subject=""))
    assert httpx.get(intake).json()["notifications"] == []


def test_an_injected_failure_is_a_notifier_unavailable_and_nothing_is_delivered(url, intake):
    httpx.put(f"{url}/admin/faults", json={"fail_next": 1, "status": 503}).raise_for_status()
    with pytest.raises(NotifierUnavailable, match="HTTP 503"):
        HttpNotifier(intake).send(REMINDER)
    assert httpx.get(intake).json()["notifications"] == []
    assert HttpNotifier(intake).send(REMINDER).replayed is False  # sent again: delivered now
