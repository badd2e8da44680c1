"""Personal data at rest: AES-256-GCM encryption and a keyed lookup hash for NIK, NPWP and
bank account numbers (docs/lending-rules.md#identity-data).

One 32-byte master key (`PATUNGAN_PII_KEY`, the `pii-encryption-key` secret in
the cloud) is stretched with HKDF-SHA256 into two independent keys: one for
AES-GCM, one for HMAC-SHA256. Knowing a lookup hash therefore says nothing
about the encryption key, and vice versa.

- `encrypt(kind, value)` → `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
  A fresh random 96-bit nonce per call, so equal values encrypt differently.
  The kind (`nik`, `npwp`, `account_number`) is authenticated as associated
  data: a NIK ciphertext pasted into the NPWP field does not decrypt.
  The key id (a fingerprint of the derived key, not the key) lets a future key
  rotation tell old ciphertexts from new ones.
- `lookup_hash(kind, value)` → 64 hex chars, stable for a given key: store it
  next to the ciphertext and query on it for uniqueness ("this NIK is already
  registered") without decrypting anything. Hash the *normalised* value
  (`shared.domain.identity.parse_nik(...)`), or `3174 0512...` and `31740512...`
  hash differently.

Rotating the master key means re-encrypting and re-hashing the stored values;
the version prefix and key id make such a job safe to run incrementally.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.platform.personal_data import PersonalDataVault, PiiKind

if TYPE_CHECKING:
    from shared.settings import PiiSettings

MASTER_KEY_BYTES = 32  # HKDF input for the AES-256 and HMAC keys (PATUNGAN_PII_KEY)
_FORMAT_VERSION = "v1"
_NONCE_BYTES = 12


def _derive(master_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master_key)


class AesGcmVault(PersonalDataVault):
    """The PersonalDataVault used in production, locally and in unit tests (it does no I/O)."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != MASTER_KEY_BYTES:
            raise ValueError(f"the PII master key must be {MASTER_KEY_BYTES} bytes")
        encryption_key = _derive(master_key, b"patungan/pii/aes-256-gcm/v1")
        self._aead = AESGCM(encryption_key)
        self.key_id = hashlib.sha256(encryption_key).hexdigest()[:8]
        self._lookup_key = _derive(master_key, b"patungan/pii/lookup-hmac-sha256/v1")

    def __repr__(self) -> str:  # never show key material, even in a debugger or a log
        return f"AesGcmVault(key_id={self.key_id!r})"

    @staticmethod
    def _associated_data(kind: PiiKind) -> bytes:
        return f"patungan:pii:{kind}".encode()

    def encrypt(self, kind: PiiKind, value: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value.encode(), self._associated_data(kind))
        payload = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_FORMAT_VERSION}.{self.key_id}.{payload}"

    def decrypt(self, kind: PiiKind, ciphertext: str) -> str:
        version, _, rest = ciphertext.partition(".")
        key_id, _, payload = rest.partition(".")
        if version != _FORMAT_VERSION or not payload:
            raise ValueError(f"not a {_FORMAT_VERSION} PII ciphertext")
        if key_id != self.key_id:
            raise ValueError(f"encrypted under key {key_id}, the configured key is {self.key_id}")
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):
            raise ValueError("PII ciphertext is not valid base64") from None
        try:
            plain = self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._associated_data(kind)
            )
        except InvalidTag:
            raise ValueError(f"PII ciphertext was altered or is not a {kind}") from None
        return plain.decode()

    def lookup_hash(self, kind: PiiKind, value: str) -> str:
        message = f"{kind}:{value}".encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()


def pii_vault(settings: PiiSettings) -> AesGcmVault:
    """The vault configured by `PATUNGAN_PII_KEY`."""
    return AesGcmVault(settings.pii_key_bytes())
