"""The settings of `virtual_accounts`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from shared.settings.http import HttpSettings
from shared.settings.payment_gateway import PaymentGatewaySettings


class VirtualAccountSettings(HttpSettings, PaymentGatewaySettings):
    """`virtual_accounts`: auth and the payment gateway."""
