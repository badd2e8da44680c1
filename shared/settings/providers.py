"""The external data providers: the civil registry, the credit bureau and the bank's account
inquiry (`ProviderSettings`)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings.base import PlatformSettings


class ProviderSettings(PlatformSettings):
    """Adds the external data providers: where they are, the API key, and how patiently to ask.

    Locally every provider is on the sandbox at `PATUNGAN_PROVIDERS_URL`; in the
    cloud the key is the `provider-api-key` secret mounted by the deployment.
    """

    providers_url: str = Field(min_length=1)
    provider_api_key: SecretStr
    provider_timeout_s: float = Field(default=2.0, gt=0, le=30, description="Per attempt.")
    provider_deadline_s: float = Field(
        default=8.0, gt=0, le=60, description="All attempts of one provider call together."
    )
