"""The ops channel over an incoming webhook: Google Chat spaces and Slack channels alike.

`WebhookOpsChannel(url).notify(message)` POSTs `{"text": "*<title>*\\n<text>"}` as JSON
to the webhook URL, the body both Google Chat and Slack incoming webhooks accept (both
render `*...*` bold). The URL embeds the webhook's key, so it comes from the
`ops-webhook-url` secret and never reaches a log or an error message; locally it is the
ops-notifications sandbox (`emulators/sandboxes/ops_notifications`).

Any answer but a 2xx, a timeout or a connection error raises `OpsChannelUnavailable`:
the message was not delivered and the event that asked for it is redelivered. That
includes a 4xx (a revoked or mistyped webhook): asking again will not help until ops
fix the secret, and until then the notification waits in the subscription and then
its dead-letter topic, rather than being dropped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx

from shared.adapters.http_client import SecretUrlClient
from shared.platform.ops_notifications import OpsChannel, OpsChannelUnavailable, OpsMessage

if TYPE_CHECKING:
    from shared.settings import OpsAlertsSettings

logger = logging.getLogger(__name__)


class WebhookOpsChannel(SecretUrlClient, OpsChannel):
    def notify(self, message: OpsMessage) -> None:
        body = {"text": f"*{message.title}*\n{message.text}"}
        try:
            answer = self._http.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise OpsChannelUnavailable(
                f"the ops webhook could not be reached ({type(exc).__name__})"
            ) from None
        if not answer.is_success:
            raise OpsChannelUnavailable(f"the ops webhook answered HTTP {answer.status_code}")


def ops_channel(settings: OpsAlertsSettings) -> WebhookOpsChannel:
    """The channel configured by `PATUNGAN_OPS_WEBHOOK_URL`."""
    return WebhookOpsChannel(
        settings.ops_webhook_url.get_secret_value(), timeout_s=settings.ops_webhook_timeout_s
    )
