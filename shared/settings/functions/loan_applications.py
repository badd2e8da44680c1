"""The settings of `loan_applications`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings
from shared.settings.storage import DocumentStorageSettings


class ApplicationsSettings(HttpSettings, DocumentStorageSettings):
    """`loan_applications`: auth, Firestore and Pub/Sub, and the borrower-documents bucket."""
