"""Token verification: what every HTTP function (`HttpSettings`), a scheduled one
(`SchedulerSettings`) and an event function's push endpoint (`PushSettings`) read."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from shared.settings.base import DEV_AUDIENCE, DEV_ISSUER, PlatformSettings

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?")


class HttpSettings(PlatformSettings):
    """Adds bearer-token verification (docs/architecture.md#authentication): issuer, audience and
    keys are configuration.

    Exactly one key source: `auth_jwks_url` (Identity Platform in the cloud), or a
    PEM public key inline (`auth_public_key_pem`) or in a file
    (`auth_public_key_file`) for the local dev issuer. There is no setting that
    turns verification off.
    """

    auth_issuer: str = Field(min_length=1)
    auth_audience: str = Field(min_length=1)
    auth_jwks_url: str | None = None
    auth_public_key_pem: SecretStr | None = None
    auth_public_key_file: Path | None = None
    auth_algorithms: tuple[str, ...] = ("RS256",)
    auth_leeway_s: int = Field(default=30, ge=0, le=300)
    auth_jwks_cache_s: int = Field(default=3600, ge=60)
    cors_allowed_origins: tuple[str, ...] = Field(
        default=(),
        description="Browser origins allowed to call (JSON list, e.g. the admin console's).",
    )

    @field_validator("cors_allowed_origins")
    @classmethod
    def _origins_are_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin like https://admin.example.co.id")
        return origins

    @model_validator(mode="after")
    def _one_key_source_and_no_dev_issuer_in_the_cloud(self) -> HttpSettings:
        sources = [
            name
            for name, value in (
                ("PATUNGAN_AUTH_JWKS_URL", self.auth_jwks_url),
                ("PATUNGAN_AUTH_PUBLIC_KEY_PEM", self.auth_public_key_pem),
                ("PATUNGAN_AUTH_PUBLIC_KEY_FILE", self.auth_public_key_file),
            )
            if value
        ]
        if len(sources) != 1:
            raise ValueError(
                "exactly one token key source is required: PATUNGAN_AUTH_JWKS_URL, "
                "PATUNGAN_AUTH_PUBLIC_KEY_PEM or PATUNGAN_AUTH_PUBLIC_KEY_FILE"
                + (f" (got {', '.join(sources)})" if sources else " (got none)")
            )
        if any(
            alg.upper().startswith("HS") or alg.lower() == "none" for alg in self.auth_algorithms
        ):
            raise ValueError(
                "PATUNGAN_AUTH_ALGORITHMS must be asymmetric (RS256, ES256, ...): a shared "
                "secret or 'none' would let anyone holding the key mint tokens"
            )
        if not self.offline:
            if self.auth_issuer == DEV_ISSUER or self.auth_audience == DEV_AUDIENCE:
                raise ValueError(
                    f"the local dev token issuer is configured while PATUNGAN_ENV={self.env}"
                )
            if not self.auth_jwks_url:
                raise ValueError(
                    f"PATUNGAN_AUTH_JWKS_URL is required when PATUNGAN_ENV={self.env}: "
                    "cloud tokens come from Identity Platform"
                )
            if not self.auth_jwks_url.startswith("https://"):
                raise ValueError("PATUNGAN_AUTH_JWKS_URL must be https in the cloud")
        return self


class SchedulerSettings(HttpSettings):
    """Adds who the scheduler is: the service account its OIDC tokens name."""

    scheduler_invoker: str = Field(
        min_length=3, description="The Cloud Scheduler job's service account email."
    )


class PushSettings(HttpSettings):
    """Adds who pushes to an event function: the service account its push subscriptions'
    OIDC tokens name. The `auth_*` settings are those tokens' issuer (Google's OIDC issuer
    in the cloud), audience (the function's URL) and keys."""

    push_invoker: str = Field(
        min_length=3, description="The push subscriptions' service account email."
    )
