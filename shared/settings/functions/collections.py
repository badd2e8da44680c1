"""The settings of `collections`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import PushSettings
from shared.settings.notifications import NotificationSettings


class CollectionsSettings(PushSettings, NotificationSettings):
    """`collections`: its pushes' tokens, and the notification service reminders go to."""
