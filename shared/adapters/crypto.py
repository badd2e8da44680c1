"""Personal data at rest: AES-256-GCM encryption and a keyed lookup hash for NIK, NPWP and
bank account numbers (docs/lending-rules.md#identity-data).

A 32-byte master key is stretched with HKDF-SHA256 into independent keys: one for
AES-GCM, one for HMAC-SHA256. Knowing a lookup hash therefore says nothing about the
encryption key, and vice versa. Three master keys are configured (`PiiSettings`):

- the current key (`PATUNGAN_PII_KEY`, the `pii-encryption-key` secret) encrypts;
- the previous key (`PATUNGAN_PII_KEY_PREVIOUS`, its previous version) still decrypts
  what it sealed while a rotation re-encrypts the stored values under the current key
  (`scripts/reencrypt_pii.py`);
- the lookup key (`PATUNGAN_PII_LOOKUP_KEY`, the `pii-lookup-key` secret; without it,
  the current key) keys the lookup hashes. It does not change when the encryption key
  rotates: stored hashes are compared with fresh ones and with each other (a NIK
  already registered, a deposit's sender against a statement line), so a hash made
  before a rotation must equal one made after it.

- `encrypt(kind, value)` → `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
  A fresh random 96-bit nonce per call, so equal values encrypt differently.
  The kind (`nik`, `npwp`, `account_number`, ...) is authenticated as associated data:
  a NIK ciphertext pasted into the NPWP field does not decrypt. The key id (a
  fingerprint of the derived key, not the key) says which master key sealed it, so
  `decrypt` picks the current or the previous key, and `reseal` tells which values a
  rotation still has to re-encrypt.
- `lookup_hash(kind, value)` → 64 hex chars, stable for a given lookup key: store it
  next to the ciphertext and query on it for uniqueness ("this NIK is already
  registered") without decrypting anything. Hash the *normalised* value
  (`shared.domain.identity.parse_nik(...)`), or `3174 0512...` and `31740512...`
  hash differently.
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


class _SealingKey:
    """The AES-GCM key derived from one master key, and its fingerprint."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != MASTER_KEY_BYTES:
            raise ValueError(f"the PII master key must be {MASTER_KEY_BYTES} bytes")
        encryption_key = _derive(master_key, b"patungan/pii/aes-256-gcm/v1")
        self.aead = AESGCM(encryption_key)
        self.key_id = hashlib.sha256(encryption_key).hexdigest()[:8]


class AesGcmVault(PersonalDataVault):
    """The PersonalDataVault used in production, locally and in unit tests (it does no I/O).

    `AesGcmVault(current, previous=None, lookup_key=None)`: master keys as bytes; the
    lookup hashes are keyed by `lookup_key`, or by `current` when it is not given.
    """

    def __init__(
        self, master_key: bytes, *, previous: bytes | None = None, lookup_key: bytes | None = None
    ) -> None:
        current = _SealingKey(master_key)
        self.key_id = current.key_id
        self._current = current
        self._keys = {current.key_id: current}
        if previous is not None:
            prior = _SealingKey(previous)
            self._keys.setdefault(prior.key_id, prior)
        lookup_master = master_key if lookup_key is None else lookup_key
        if len(lookup_master) != MASTER_KEY_BYTES:
            raise ValueError(f"the PII lookup key must be {MASTER_KEY_BYTES} bytes")
        self._lookup_key = _derive(lookup_master, b"patungan/pii/lookup-hmac-sha256/v1")

    def __repr__(self) -> str:  # never show key material, even in a debugger or a log
        return f"AesGcmVault(key_ids={list(self._keys)!r})"

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The keys that decrypt: the current one first."""
        return tuple(self._keys)

    @staticmethod
    def _associated_data(kind: PiiKind) -> bytes:
        return f"patungan:pii:{kind}".encode()

    def encrypt(self, kind: PiiKind, value: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._current.aead.encrypt(nonce, value.encode(), self._associated_data(kind))
        payload = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_FORMAT_VERSION}.{self.key_id}.{payload}"

    def decrypt(self, kind: PiiKind, ciphertext: str) -> str:
        key_id, payload = _parts(ciphertext)
        key = self._keys.get(key_id)
        if key is None:
            raise ValueError(
                f"encrypted under key {key_id}, the configured keys are {', '.join(self._keys)}"
            )
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):
            raise ValueError("PII ciphertext is not valid base64") from None
        try:
            plain = key.aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._associated_data(kind)
            )
        except InvalidTag:
            raise ValueError(f"PII ciphertext was altered or is not a {kind}") from None
        return plain.decode()

    def reseal(self, kind: PiiKind, ciphertext: str) -> str | None:
        if _parts(ciphertext)[0] == self.key_id:
            return None
        return self.encrypt(kind, self.decrypt(kind, ciphertext))

    def lookup_hash(self, kind: PiiKind, value: str) -> str:
        message = f"{kind}:{value}".encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()


def _parts(ciphertext: str) -> tuple[str, str]:
    """(key id, payload) of a ciphertext; ValueError when it is not one."""
    version, _, rest = ciphertext.partition(".")
    key_id, _, payload = rest.partition(".")
    if version != _FORMAT_VERSION or not key_id or not payload:
        raise ValueError(f"not a {_FORMAT_VERSION} PII ciphertext")
    return key_id, payload


def pii_vault(settings: PiiSettings) -> AesGcmVault:
    """The vault configured by `PATUNGAN_PII_KEY`, `_PREVIOUS` and `PATUNGAN_PII_LOOKUP_KEY`."""
    return AesGcmVault(
        settings.pii_key_bytes(),
        previous=settings.pii_key_previous_bytes(),
        lookup_key=settings.pii_lookup_key_bytes(),
    )
