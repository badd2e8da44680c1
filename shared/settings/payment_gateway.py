"""The payment gateway's API, which issues virtual accounts (`PaymentGatewaySettings`)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings.base import PlatformSettings


class PaymentGatewaySettings(PlatformSettings):
    """Adds the payment gateway's API (issuing virtual accounts): where, and its key (the
    `payment-gateway-api-key` secret in the cloud; the gateway sandbox locally)."""

    payment_gateway_url: str = Field(min_length=1)
    payment_gateway_api_key: SecretStr
    payment_gateway_timeout_s: float = Field(default=5.0, gt=0, le=30)
