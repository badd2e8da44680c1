"""The borrower-documents bucket and how its signed URLs are signed
(`DocumentStorageSettings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from shared.settings.base import PlatformSettings


class DocumentStorageSettings(PlatformSettings):
    """Adds the borrower-documents bucket and how its signed URLs are signed.

    Locally, URLs are signed with a dev service-account key (a JSON key file, or
    the JSON inline); in the cloud with IAM signBlob as the function's own
    service account (`storage_signer_email`, default: the runtime account).
    """

    documents_bucket: str = Field(min_length=3)
    signed_url_ttl_s: int = Field(default=900, ge=60, le=7 * 24 * 3600)
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    storage_signing_key_file: Path | None = None
    storage_signing_key_json: SecretStr | None = None
    storage_signer_email: str | None = None

    @model_validator(mode="after")
    def _signing_fits_the_environment(self) -> DocumentStorageSettings:
        key_sources = [
            v for v in (self.storage_signing_key_file, self.storage_signing_key_json) if v
        ]
        if len(key_sources) > 1:
            raise ValueError(
                "set at most one of PATUNGAN_STORAGE_SIGNING_KEY_FILE and "
                "PATUNGAN_STORAGE_SIGNING_KEY_JSON"
            )
        if not self.offline and key_sources:
            raise ValueError(
                f"service-account key files are refused when PATUNGAN_ENV={self.env}: "
                "the cloud signs URLs through IAM signBlob as the function's service account"
            )
        if self.offline and not key_sources:
            raise ValueError(
                "PATUNGAN_STORAGE_SIGNING_KEY_FILE (or _JSON) is required locally: "
                "there is no metadata server to sign with"
            )
        return self
