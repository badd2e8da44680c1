"""Identifiers: how new ids are made, and which ids may name a stored document.

Ids that arrive from outside (URL paths, token subjects, request bodies) become Firestore
document ids only after `require_document_id`: anything else could address another
collection (`a/b`) or a reserved name (`__x__`).
"""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod

from shared.domain.errors import NotFound


class IdGenerator(ABC):
    @abstractmethod
    def new_uuid(self) -> uuid.UUID:
        """A fresh UUID (event ids, object names)."""

    def new_id(self, prefix: str) -> str:
        """A fresh readable identifier: `<prefix>-<32 hex>`, e.g. `loan-3f2a…`."""
        return f"{prefix}-{self.new_uuid().hex}"


class RandomIds(IdGenerator):
    def new_uuid(self) -> uuid.UUID:
        return uuid.uuid4()


# What a stored document may be named by; ids from URLs and tokens are checked against it.
_DOCUMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def valid_document_id(value: str) -> bool:
    return bool(_DOCUMENT_ID.match(value))


def require_document_id(value: str, what: str) -> str:
    """`value` if a stored document could be named by it (ids come from URLs and tokens);
    otherwise `NotFound`, since nothing can exist under it — never a store error."""
    if not valid_document_id(value):
        raise NotFound(f"there is no {what} {value[:64]!r}")
    return value
