"""The settings of `billing_split`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import PushSettings


class BillingSplitSettings(PushSettings):
    """`billing_split`: its pushes' tokens; Firestore and Pub/Sub."""
