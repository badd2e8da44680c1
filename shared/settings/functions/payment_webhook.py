"""The settings of `payment_webhook`: its own module, so the function imports no other's
(docs/architecture.md#cold-start)."""

from __future__ import annotations

from pydantic import SecretStr, model_validator

from shared.settings.base import PlatformSettings


class PaymentWebhookSettings(PlatformSettings):
    """`payment_webhook`: the keys the payment gateway signs its callbacks with.

    No bearer token reaches it: the gateway signs each callback instead
    (shared/http/gateway_signature.py). `PATUNGAN_PAYMENT_WEBHOOK_HMAC_KEY` is the
    `payment-webhook-hmac-key` secret's current version, `..._PREVIOUS` its previous one
    (the current one again when no rotation is under way): both verify, so ops rotate the
    key without refusing what the gateway signed just before it switched.
    """

    payment_webhook_hmac_key: SecretStr
    payment_webhook_hmac_key_previous: SecretStr | None = None

    @model_validator(mode="after")
    def _keys_are_long_enough(self) -> PaymentWebhookSettings:
        for name, key in (
            ("PATUNGAN_PAYMENT_WEBHOOK_HMAC_KEY", self.payment_webhook_hmac_key),
            ("PATUNGAN_PAYMENT_WEBHOOK_HMAC_KEY_PREVIOUS", self.payment_webhook_hmac_key_previous),
        ):
            if key is not None and len(key.get_secret_value()) < 16:
                raise ValueError(f"{name} must be at least 16 characters")
        return self

    def signing_keys(self) -> tuple[str, ...]:
        keys = [self.payment_webhook_hmac_key, self.payment_webhook_hmac_key_previous]
        return tuple(dict.fromkeys(k.get_secret_value() for k in keys if k is not None))
