"""The settings of `write_offs`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings


class WriteOffSettings(HttpSettings):
    """`write_offs`: auth."""
