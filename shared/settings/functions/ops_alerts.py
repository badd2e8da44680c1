"""The settings of `ops_alerts`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from shared.settings.http import PushSettings


class OpsAlertsSettings(PushSettings):
    """`ops_alerts`: its pushes' tokens, and the ops channel it notifies.

    `PATUNGAN_OPS_WEBHOOK_URL` is an incoming-webhook URL (a Google Chat space's or a
    Slack channel's); it embeds its own key, so it is the `ops-webhook-url` secret in the
    cloud, https only, and the ops-notifications sandbox locally.
    """

    ops_webhook_url: SecretStr
    ops_webhook_timeout_s: float = Field(default=5.0, gt=0, le=30)

    @model_validator(mode="after")
    def _webhook_fits_the_environment(self) -> OpsAlertsSettings:
        url = self.ops_webhook_url.get_secret_value()
        schemes = ("http://", "https://") if self.offline else ("https://",)
        if not url.startswith(schemes) or len(url) > 2048 or any(c.isspace() for c in url):
            # Never the URL itself: it is a credential.
            raise ValueError(
                f"PATUNGAN_OPS_WEBHOOK_URL must be an {' or '.join(s[:-3] for s in schemes)} "
                f"URL when PATUNGAN_ENV={self.env}"
            )
        return self
