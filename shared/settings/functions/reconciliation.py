"""The settings of `reconciliation`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import SchedulerSettings


class ReconciliationSettings(SchedulerSettings):
    """`reconciliation`: called only by its Cloud Scheduler job."""
