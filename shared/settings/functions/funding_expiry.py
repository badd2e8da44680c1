"""The settings of `funding_expiry`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import SchedulerSettings


class FundingExpirySettings(SchedulerSettings):
    """`funding_expiry`: called only by its Cloud Scheduler job."""
