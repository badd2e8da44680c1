"""Pub/Sub behind the `EventPublisher` port.

`PubSubPublisher.publish(messages)` publishes each `OutboundMessage` to the
topic named by its event type (`projects/<project>/topics/loan.submitted`),
with the envelope JSON as data and `event_id`, `type`, `entity` (plus
`schema_version`, `traceparent`) as attributes, so subscriptions can filter
and consumers can log before parsing. It waits for every publish to be
acknowledged by the service (up to `timeout_s`) and raises `PublishFailed` if
any was not — the unit of work then leaves those events pending in the outbox.

The `google.cloud.pubsub_v1` client is created on the first publish (never at
import) and reused. It publishes through `endpoint` when one is configured
(`PATUNGAN_PUBSUB_ENDPOINT`: the deployment sets the regional
`asia-southeast2-pubsub.googleapis.com`, so messages stay in Jakarta in transit as
the topics' storage policy demands), else through the global endpoint; with
`PUBSUB_EMULATOR_HOST` set it talks to the emulator whatever the endpoint.
Batching is tuned for latency: a use case publishes a handful of events and
waits for them, so messages leave at once instead of waiting for a batch.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shared.platform.errors import PublishFailed
from shared.platform.outbox import EventPublisher, OutboundMessage

if TYPE_CHECKING:
    from shared.settings import PlatformSettings

logger = logging.getLogger(__name__)


class PubSubPublisher(EventPublisher):
    def __init__(
        self,
        project: str,
        *,
        timeout_s: float = 10.0,
        endpoint: str | None = None,
        client: Any = None,
    ) -> None:
        self.project = project
        self.timeout_s = timeout_s
        self.endpoint = endpoint
        self._client = client
        self._lock = threading.Lock()

    @property
    def client_options(self) -> dict[str, str] | None:
        """The client's options: the configured endpoint, if any (the emulator host wins)."""
        return {"api_endpoint": self.endpoint} if self.endpoint else None

    def _publisher(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from google.cloud.pubsub_v1 import PublisherClient, types

                    self._client = PublisherClient(
                        batch_settings=types.BatchSettings(max_messages=100, max_latency=0.001),
                        client_options=self.client_options,
                    )
        return self._client

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.project}/topics/{topic}"

    def publish(self, messages: Sequence[OutboundMessage]) -> None:
        if not messages:
            return
        client = self._publisher()
        futures = []
        try:
            for message in messages:
                futures.append(
                    (
                        message,
                        client.publish(
                            self.topic_path(message.topic), message.data, **message.attributes
                        ),
                    )
                )
        except Exception as exc:
            raise PublishFailed(f"could not publish to Pub/Sub: {type(exc).__name__}") from exc
        failed: list[str] = []
        for message, future in futures:
            try:
                future.result(timeout=self.timeout_s)
            except Exception:
                logger.warning(
                    "publish of %s to %s failed",
                    message.event_id,
                    message.topic,
                    exc_info=True,
                    extra={"event_id": message.event_id, "topic": message.topic},
                )
                failed.append(message.event_id)
        if failed:
            raise PublishFailed(f"{len(failed)} of {len(messages)} event(s) were not published")


def pubsub_publisher(settings: PlatformSettings) -> PubSubPublisher:
    """The publisher `settings` describe: the emulator when PUBSUB_EMULATOR_HOST is set, else
    the configured endpoint (`PATUNGAN_PUBSUB_ENDPOINT`), else Pub/Sub's global one."""
    from shared.settings import ConfigurationError

    if os.environ.get("PUBSUB_EMULATOR_HOST") != settings.pubsub_emulator_host:
        raise ConfigurationError(
            "PUBSUB_EMULATOR_HOST in the environment differs from the settings; "
            "set it in the environment the process starts with"
        )
    return PubSubPublisher(
        settings.gcp_project,
        timeout_s=settings.publish_timeout_s,
        endpoint=None if settings.pubsub_emulator_host else settings.pubsub_endpoint,
    )
