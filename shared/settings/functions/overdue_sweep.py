"""The settings of `overdue_sweep`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import SchedulerSettings


class OverdueSweepSettings(SchedulerSettings):
    """`overdue_sweep`: called only by its Cloud Scheduler job."""
