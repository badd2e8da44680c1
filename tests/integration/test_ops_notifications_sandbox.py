"""The real ops webhook channel against the ops-notifications sandbox process, over HTTP.

What `ops_alerts` posts is kept and shown back; an injected failure is an
`OpsChannelUnavailable` (the message was not delivered, and is not kept); bad admin input
is a JSON 400; the process stops cleanly on SIGTERM.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emulators.launcher import EmulatorProcess
from shared.adapters.ops_webhook import WebhookOpsChannel
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
