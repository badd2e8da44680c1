"""The ops channel posts what Google Chat and Slack incoming webhooks accept, and a message
the channel did not take is an outage (redelivered), never a silent loss. The webhook URL is
a credential: it appears in no error, log or repr."""

from __future__ import annotations

import json

import httpx
import pytest

from shared.adapters.ops_webhook import WebhookOpsChannel
from shared.platform.ops_notifications import OpsChannelUnavailable, OpsMessage

URL = "https://chat.googleapis.com/v1/spaces/AAA/messages?key=SECRET-KEY&token=SECRET-TOKEN"
MESSAGE = OpsMessage(
    title="[p2p-lending] Budget 'x' has passed 90% of its amount",
    text="Entity p2p-lending: IDR 27,000,000 spent of IDR 30,000,000 (90%)",
    severity="warning",
    key="budget:b:p:actual:0.9",
)


def channel(handler) -> WebhookOpsChannel:
    return WebhookOpsChannel(URL, transport=httpx.MockTransport(handler))


def test_a_message_is_posted_as_an_incoming_webhook_takes_it():
    received: list[httpx.Request] = []

    def accept(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200, json={"name": "spaces/AAA/messages/1"})

    channel(accept).notify(MESSAGE)
    (request,) = received
    assert str(request.url) == URL and request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"text": f"*{MESSAGE.title}*\n{MESSAGE.text}"}


@pytest.mark.parametrize("status", [400, 403, 404, 429, 500, 503])
def test_any_answer_but_2xx_is_an_outage_that_names_the_status_not_the_url(status):
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=f"no; you sent {request.url}")

    with pytest.raises(OpsChannelUnavailable) as outage:
        channel(refuse).notify(MESSAGE)
    assert str(status) in str(outage.value)
    assert "SECRET" not in str(outage.value)


def test_an_unreachable_channel_is_an_outage_that_does_not_leak_the_url():
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    with pytest.raises(OpsChannelUnavailable) as outage:
        channel(unreachable).notify(MESSAGE)
    assert "SECRET" not in str(outage.value) and outage.value.__cause__ is None
    assert "SECRET" not in repr(channel(unreachable))
