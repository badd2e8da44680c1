"""The settings of `repayments`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import PushSettings


class RepaymentSettings(PushSettings):
    """`repayments`: its pushes' tokens; Firestore and Pub/Sub."""
