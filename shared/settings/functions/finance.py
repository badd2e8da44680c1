"""The settings of `finance`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings
from shared.settings.money import EscrowSettings
from shared.settings.pii import PiiSettings
from shared.settings.storage import DocumentStorageSettings


class FinanceSettings(HttpSettings, PiiSettings, EscrowSettings, DocumentStorageSettings):
    """`finance`: auth, the PII key (statement lines name accounts), the escrow account
    statements are for, and the bucket manual entries' attachments go into."""
