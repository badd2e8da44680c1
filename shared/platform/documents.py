"""The documents port: borrower documents (KTP, invoices, collateral photos) in a private
bucket, reached only through time-limited signed URLs (`shared/adapters/storage.py`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class SignedUrl:
    """A time-limited URL for one object; the client must send `headers` with its request."""

    url: str
    method: Literal["GET", "PUT"]
    expires_at: datetime
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredObject:
    name: str
    size: int
    content_type: str | None


class DocumentStorage(ABC):
    """Borrower documents (KTP, invoices, collateral photos) in a private bucket."""

    @abstractmethod
    def upload_url(self, object_name: str, content_type: str) -> SignedUrl:
        """A signed PUT URL for the object; size is limited by configuration."""

    @abstractmethod
    def download_url(self, object_name: str) -> SignedUrl:
        """A signed GET URL for the object."""

    @abstractmethod
    def describe(self, object_name: str) -> StoredObject | None:
        """The stored object's size and type, or None if nothing was uploaded."""

    @abstractmethod
    def read(self, object_name: str, max_bytes: int) -> bytes | None:
        """The object's content (an uploaded statement the platform parses), None if nothing
        was uploaded; `ValueError` when it is larger than `max_bytes`."""
