"""The master keys protecting NIK, NPWP and account numbers (`PiiSettings`)."""

from __future__ import annotations

import base64
import binascii

from pydantic import SecretStr, model_validator

from shared.settings.base import PlatformSettings

PII_KEY_BYTES = 32


class PiiSettings(PlatformSettings):
    """Adds the master keys protecting NIK, NPWP and account numbers (AES-GCM + keyed
    lookup hash; shared/adapters/crypto.py says which key does what).

    Each is 32 random bytes, base64 (standard or URL-safe). In the cloud:
    `PATUNGAN_PII_KEY` is the `pii-encryption-key` secret's current version and
    `PATUNGAN_PII_KEY_PREVIOUS` its previous one (the current one again when no rotation
    is under way), so what the previous key sealed stays readable while it is
    re-encrypted; `PATUNGAN_PII_LOOKUP_KEY` is the `pii-lookup-key` secret, which a
    rotation of the encryption key leaves alone. Offline the lookup key defaults to
    `PATUNGAN_PII_KEY`, the key every local hash was made with.
    """

    pii_key: SecretStr
    pii_key_previous: SecretStr | None = None
    pii_lookup_key: SecretStr | None = None

    @model_validator(mode="after")
    def _pii_keys_are_32_bytes(self) -> PiiSettings:
        current = decode_pii_key(self.pii_key)
        previous = self.pii_key_previous_bytes()
        self.pii_lookup_key_bytes()
        if self.pii_lookup_key is None and not self.offline:
            raise ValueError(
                f"PATUNGAN_PII_LOOKUP_KEY is required when PATUNGAN_ENV={self.env}: "
                "the lookup hashes must outlive a rotation of PATUNGAN_PII_KEY"
            )
        if self.pii_lookup_key is None and previous not in (None, current):
            raise ValueError(
                "PATUNGAN_PII_LOOKUP_KEY is required while PATUNGAN_PII_KEY_PREVIOUS differs "
                "from PATUNGAN_PII_KEY: hashing with the new key would change every stored hash"
            )
        return self

    def pii_key_bytes(self) -> bytes:
        return decode_pii_key(self.pii_key)

    def pii_key_previous_bytes(self) -> bytes | None:
        if self.pii_key_previous is None:
            return None
        return decode_pii_key(self.pii_key_previous, "PATUNGAN_PII_KEY_PREVIOUS")

    def pii_lookup_key_bytes(self) -> bytes:
        if self.pii_lookup_key is None:
            return self.pii_key_bytes()
        return decode_pii_key(self.pii_lookup_key, "PATUNGAN_PII_LOOKUP_KEY")


def decode_pii_key(secret: SecretStr, variable: str = "PATUNGAN_PII_KEY") -> bytes:
    """A PII master key as bytes; raises ValueError (never echoing it) when malformed."""
    raw = secret.get_secret_value().strip()
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        try:
            key = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{variable} is not valid base64") from None
    if len(key) != PII_KEY_BYTES:
        raise ValueError(f"{variable} must decode to {PII_KEY_BYTES} bytes, got {len(key)}")
    return key
