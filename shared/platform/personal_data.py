"""The personal-data port: NIK, NPWP and account numbers encrypted at rest, hashed for
lookup (`shared/adapters/crypto.py`; docs/lending-rules.md#identity-data)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

PiiKind = Literal["nik", "npwp", "account_number", "passport", "foreign_tax_id"]


class PersonalDataVault(ABC):
    """Encrypts NIK / NPWP / account numbers at rest and hashes them for lookup."""

    @abstractmethod
    def encrypt(self, kind: PiiKind, value: str) -> str:
        """Ciphertext (text, safe to store) bound to `kind`; never equal for equal inputs."""

    @abstractmethod
    def decrypt(self, kind: PiiKind, ciphertext: str) -> str:
        """The value back; raises ValueError if tampered with or of another kind."""

    @abstractmethod
    def reseal(self, kind: PiiKind, ciphertext: str) -> str | None:
        """The value encrypted under the current key, or None when `ciphertext` already
        is; raises ValueError as `decrypt` does (a key rotation re-encrypts with it)."""

    @abstractmethod
    def lookup_hash(self, kind: PiiKind, value: str) -> str:
        """A stable keyed hash: equal values give equal hashes (uniqueness, lookup)."""
