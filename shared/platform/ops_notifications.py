"""The ops notification port: a message to the people who run an entity's platform.

Implemented by `shared.adapters.ops_webhook.WebhookOpsChannel` (an incoming webhook of
the ops team's Google Chat space or Slack channel; locally the ops-notifications
sandbox), faked by `shared.adapters.memory.RecordingOpsChannel`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

from shared.platform.errors import TransientFailure

Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True)
class OpsMessage:
    """One notification: a title, its text, how urgent it is, and what it is about (`key`:
    the same for every message about the same thing, so a reader can tell repeats)."""

    title: str
    text: str
    severity: Severity
    key: str


class OpsChannelUnavailable(TransientFailure):
    """The ops channel did not take the message; asking again later may work."""


class OpsChannel(ABC):
    @abstractmethod
    def notify(self, message: OpsMessage) -> None:
        """Deliver `message`, or raise `OpsChannelUnavailable` (it was not delivered)."""
