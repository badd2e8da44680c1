"""The settings of `collections_dispatch`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import SchedulerSettings
from shared.settings.notifications import NotificationSettings


class CollectionsDispatchSettings(SchedulerSettings, NotificationSettings):
    """`collections_dispatch`: called only by its Cloud Scheduler job; the notification
    service the reminders whose time has come go to."""
