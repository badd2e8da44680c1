"""The settings of `lender_tax`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings
from shared.settings.storage import DocumentStorageSettings


class LenderTaxSettings(HttpSettings, DocumentStorageSettings):
    """`lender_tax`: auth, Firestore, and the documents bucket tax documents go into."""
