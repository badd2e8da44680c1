"""The settings of `outbox_relay`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import SchedulerSettings


class OutboxRelaySettings(SchedulerSettings):
    """`outbox_relay`: called only by its Cloud Scheduler job."""
