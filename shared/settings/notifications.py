"""The notification service that reaches borrowers and lenders (`NotificationSettings`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from shared.settings.base import PlatformSettings


class NotificationSettings(PlatformSettings):
    """Adds the notification service that reaches borrowers and lenders (the notifications
    port, shared/platform/notifications.py).

    `PATUNGAN_NOTIFICATIONS_URL` is the service's intake URL; it embeds the service's key,
    so it is the `notifications-url` secret in the cloud, https only, and the
    ops-notifications sandbox's `/v1/notifications` locally.
    """

    notifications_url: SecretStr
    notifications_timeout_s: float = Field(default=5.0, gt=0, le=30)

    @model_validator(mode="after")
    def _intake_fits_the_environment(self) -> NotificationSettings:
        url = self.notifications_url.get_secret_value()
        schemes = ("http://", "https://") if self.offline else ("https://",)
        if not url.startswith(schemes) or len(url) > 2048 or any(c.isspace() for c in url):
            # Never the URL itself: it is a credential.
            raise ValueError(
                f"PATUNGAN_NOTIFICATIONS_URL must be an {' or '.join(s[:-3] for s in schemes)} "
                f"URL when PATUNGAN_ENV={self.env}"
            )
        return self
