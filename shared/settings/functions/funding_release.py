"""The settings of `funding_release`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import PushSettings


class FundingReleaseSettings(PushSettings):
    """`funding_release`: its pushes' tokens; Firestore and Pub/Sub."""
