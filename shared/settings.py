"""Process configuration: one pydantic-settings class per process, read once, checked at once.

Every Cloud Function (and every local tool that talks to the platform) reads
its configuration through exactly one subclass of `PlatformSettings`, built by
`load_settings(SettingsClass)`. Values come from environment variables named
`PATUNGAN_<FIELD>` (for example `PATUNGAN_GCP_PROJECT`), except the emulator
hosts, which use the names the Google client libraries themselves read
(`FIRESTORE_EMULATOR_HOST`, `PUBSUB_EMULATOR_HOST`, `STORAGE_EMULATOR_HOST`) so
the settings and the clients can never disagree. In production, secrets
(the PII key, for example) are Secret Manager versions mounted as environment
variables by the deployment.

The contract is *fail fast*: a missing value, a malformed key, or an unsafe
combination (an emulator host or the local dev token issuer in a cloud
environment) raises `ConfigurationError` when the settings are loaded — at the
first request of a fresh instance — with a message naming every offending
variable and never echoing a secret.

Building blocks:
- `PlatformSettings`: what every process needs (environment, entity, project,
  emulators, logging, transactions, idempotency).
- `HttpSettings`: adds the token verification every HTTP function performs.
- `PiiSettings`: adds the keys that protect NIK, NPWP and account numbers (mix in where
  needed).
- `ProviderSettings`: adds the external data providers (civil registry, bureau, ...).
- `DocumentStorageSettings`: adds the borrower-documents bucket and URL signing.
- `EscrowSettings`: adds the entity's escrow account and its smallest deposit and withdrawal.
- `SchedulerSettings`: adds the account a scheduled function's Cloud Scheduler job calls as.
- `PushSettings`: adds the account an event function's push subscriptions push as.

Each function's own class combines them and is declared here, in plain view
(`FUNCTION_SETTINGS` maps every function of `shared/topology.py` to its class), so what a
function reads is visible without running it.
"""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Decimal
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.domain.caps import CapTableName
from shared.domain.scoring.routing import ScorecardRouting
from shared.fields import MAX_RUPIAH
from shared.platform.escrow import EscrowAccount, FundingRules, MoneyLimits

Environment = Literal["local", "test", "dev", "staging", "prod"]

# Environments that run on the developer's machine or in CI; everything else is a
# real Google Cloud project where emulators and the dev issuer are refused.
OFFLINE_ENVIRONMENTS: frozenset[str] = frozenset({"local", "test"})

# The local dev token issuer (scripts/token.py). Refused outside OFFLINE_ENVIRONMENTS.
DEV_ISSUER = "https://patungan.local/dev-issuer"
DEV_AUDIENCE = "patungan-local"

PII_KEY_BYTES = 32
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?")


class ConfigurationError(RuntimeError):
    """The process cannot start: configuration is missing or unsafe. The message says what."""


class PlatformSettings(BaseSettings):
    """What every Patungan process needs to know about where it runs."""

    model_config = SettingsConfigDict(
        env_prefix="PATUNGAN_",
        extra="ignore",
        frozen=True,
        case_sensitive=False,
        # Each function loads one class: build its schema then, not every class at import.
        defer_build=True,
    )

    env: Environment = Field(
        description="Where this process runs (local, test, dev, staging, prod)."
    )
    entity: str = Field(
        min_length=1,
        pattern=r"^[a-z][a-z0-9-]*$",
        description="The business entity this deployment serves (one GCP project per entity).",
    )
    gcp_project: str = Field(min_length=1, description="The Google Cloud project id.")
    function_name: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PATUNGAN_FUNCTION_NAME", "K_SERVICE"),
        description="This function's name; Cloud Functions (2nd gen) sets K_SERVICE.",
    )

    firestore_database: str = "(default)"
    firestore_emulator_host: str | None = Field(
        default=None, validation_alias="FIRESTORE_EMULATOR_HOST"
    )
    pubsub_emulator_host: str | None = Field(default=None, validation_alias="PUBSUB_EMULATOR_HOST")
    pubsub_endpoint: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$",
        description=(
            "The Pub/Sub endpoint events are published through (host[:port]): the regional "
            "asia-southeast2-pubsub.googleapis.com in the cloud; unset, the global one. "
            "PUBSUB_EMULATOR_HOST, when set, wins."
        ),
    )
    storage_emulator_host: str | None = Field(
        default=None, validation_alias="STORAGE_EMULATOR_HOST"
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    transaction_max_attempts: int = Field(
        default=5, ge=1, le=20, description="Firestore commit attempts before 503."
    )
    retry_after_s: int = Field(
        default=1, ge=1, le=60, description="Retry-After sent with a 503 for contention."
    )
    publish_timeout_s: float = Field(default=10.0, gt=0, le=60)
    idempotency_lease_s: int = Field(
        default=120,
        ge=5,
        description="How long an in-flight Idempotency-Key blocks repeats (>= function timeout).",
    )
    idempotency_retention_h: int = Field(default=24, ge=1, le=24 * 31)
    processed_event_retention_days: int = Field(
        default=31, ge=7, description="Keep event_id records longer than Pub/Sub retains messages."
    )

    @property
    def offline(self) -> bool:
        """True on a developer machine or in CI; False in every Google Cloud project."""
        return self.env in OFFLINE_ENVIRONMENTS

    @model_validator(mode="after")
    def _no_emulators_in_the_cloud(self) -> PlatformSettings:
        if not self.offline:
            offending = [
                name
                for name, value in (
                    ("FIRESTORE_EMULATOR_HOST", self.firestore_emulator_host),
                    ("PUBSUB_EMULATOR_HOST", self.pubsub_emulator_host),
                    ("STORAGE_EMULATOR_HOST", self.storage_emulator_host),
                )
                if value
            ]
            if offending:
                raise ValueError(
                    f"{', '.join(offending)} set while PATUNGAN_ENV={self.env}: emulators are "
                    "for local and test runs only"
                )
        return self


class HttpSettings(PlatformSettings):
    """Adds bearer-token verification (docs/architecture.md#authentication): issuer, audience and
    keys are configuration.

    Exactly one key source: `auth_jwks_url` (Identity Platform in the cloud), or a
    PEM public key inline (`auth_public_key_pem`) or in a file
    (`auth_public_key_file`) for the local dev issuer. There is no setting that
    turns verification off.
    """

    auth_issuer: str = Field(min_length=1)
    auth_audience: str = Field(min_length=1)
    auth_jwks_url: str | None = None
    auth_public_key_pem: SecretStr | None = None
    auth_public_key_file: Path | None = None
    auth_algorithms: tuple[str, ...] = ("RS256",)
    auth_leeway_s: int = Field(default=30, ge=0, le=300)
    auth_jwks_cache_s: int = Field(default=3600, ge=60)
    cors_allowed_origins: tuple[str, ...] = Field(
        default=(),
        description="Browser origins allowed to call (JSON list, e.g. the admin console's).",
    )

    @field_validator("cors_allowed_origins")
    @classmethod
    def _origins_are_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin like https://admin.example.co.id")
        return origins

    @model_validator(mode="after")
    def _one_key_source_and_no_dev_issuer_in_the_cloud(self) -> HttpSettings:
        sources = [
            name
            for name, value in (
                ("PATUNGAN_AUTH_JWKS_URL", self.auth_jwks_url),
                ("PATUNGAN_AUTH_PUBLIC_KEY_PEM", self.auth_public_key_pem),
                ("PATUNGAN_AUTH_PUBLIC_KEY_FILE", self.auth_public_key_file),
            )
            if value
        ]
        if len(sources) != 1:
            raise ValueError(
                "exactly one token key source is required: PATUNGAN_AUTH_JWKS_URL, "
                "PATUNGAN_AUTH_PUBLIC_KEY_PEM or PATUNGAN_AUTH_PUBLIC_KEY_FILE"
                + (f" (got {', '.join(sources)})" if sources else " (got none)")
            )
        if any(
            alg.upper().startswith("HS") or alg.lower() == "none" for alg in self.auth_algorithms
        ):
            raise ValueError(
                "PATUNGAN_AUTH_ALGORITHMS must be asymmetric (RS256, ES256, ...): a shared "
                "secret or 'none' would let anyone holding the key mint tokens"
            )
        if not self.offline:
            if self.auth_issuer == DEV_ISSUER or self.auth_audience == DEV_AUDIENCE:
                raise ValueError(
                    f"the local dev token issuer is configured while PATUNGAN_ENV={self.env}"
                )
            if not self.auth_jwks_url:
                raise ValueError(
                    f"PATUNGAN_AUTH_JWKS_URL is required when PATUNGAN_ENV={self.env}: "
                    "cloud tokens come from Identity Platform"
                )
            if not self.auth_jwks_url.startswith("https://"):
                raise ValueError("PATUNGAN_AUTH_JWKS_URL must be https in the cloud")
        return self


class PiiSettings(PlatformSettings):
    """Adds the master keys protecting NIK, NPWP and account numbers (AES-GCM + keyed
    lookup hash; shared/adapters/crypto.py says which key does what).

    Each is 32 random bytes, base64 (standard or URL-safe). In the cloud:
    `PATUNGAN_PII_KEY` is the `pii-encryption-key` secret's current version and
    `PATUNGAN_PII_KEY_PREVIOUS` its previous one (the current one again when no rotation
    is under way), so what the previous key sealed stays readable while it is
    re-encrypted; `PATUNGAN_PII_LOOKUP_KEY` is the `pii-lookup-key` secret, which a
    rotation of the encryption key leaves alone. Offline the lookup key defaults to
    `PATUNGAN_PII_KEY`, the key every local hash was made with.
    """

    pii_key: SecretStr
    pii_key_previous: SecretStr | None = None
    pii_lookup_key: SecretStr | None = None

    @model_validator(mode="after")
    def _pii_keys_are_32_bytes(self) -> PiiSettings:
        current = decode_pii_key(self.pii_key)
        previous = self.pii_key_previous_bytes()
        self.pii_lookup_key_bytes()
        if self.pii_lookup_key is None and not self.offline:
            raise ValueError(
                f"PATUNGAN_PII_LOOKUP_KEY is required when PATUNGAN_ENV={self.env}: "
                "the lookup hashes must outlive a rotation of PATUNGAN_PII_KEY"
            )
        if self.pii_lookup_key is None and previous not in (None, current):
            raise ValueError(
                "PATUNGAN_PII_LOOKUP_KEY is required while PATUNGAN_PII_KEY_PREVIOUS differs "
                "from PATUNGAN_PII_KEY: hashing with the new key would change every stored hash"
            )
        return self

    def pii_key_bytes(self) -> bytes:
        return decode_pii_key(self.pii_key)

    def pii_key_previous_bytes(self) -> bytes | None:
        if self.pii_key_previous is None:
            return None
        return decode_pii_key(self.pii_key_previous, "PATUNGAN_PII_KEY_PREVIOUS")

    def pii_lookup_key_bytes(self) -> bytes:
        if self.pii_lookup_key is None:
            return self.pii_key_bytes()
        return decode_pii_key(self.pii_lookup_key, "PATUNGAN_PII_LOOKUP_KEY")


class ProviderSettings(PlatformSettings):
    """Adds the external data providers: where they are, the API key, and how patiently to ask.

    Locally every provider is on the sandbox at `PATUNGAN_PROVIDERS_URL`; in the
    cloud the key is the `provider-api-key` secret mounted by the deployment.
    """

    providers_url: str = Field(min_length=1)
    provider_api_key: SecretStr
    provider_timeout_s: float = Field(default=2.0, gt=0, le=30, description="Per attempt.")
    provider_deadline_s: float = Field(
        default=8.0, gt=0, le=60, description="All attempts of one provider call together."
    )


class DocumentStorageSettings(PlatformSettings):
    """Adds the borrower-documents bucket and how its signed URLs are signed.

    Locally, URLs are signed with a dev service-account key (a JSON key file, or
    the JSON inline); in the cloud with IAM signBlob as the function's own
    service account (`storage_signer_email`, default: the runtime account).
    """

    documents_bucket: str = Field(min_length=3)
    signed_url_ttl_s: int = Field(default=900, ge=60, le=7 * 24 * 3600)
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    storage_signing_key_file: Path | None = None
    storage_signing_key_json: SecretStr | None = None
    storage_signer_email: str | None = None

    @model_validator(mode="after")
    def _signing_fits_the_environment(self) -> DocumentStorageSettings:
        key_sources = [
            v for v in (self.storage_signing_key_file, self.storage_signing_key_json) if v
        ]
        if len(key_sources) > 1:
            raise ValueError(
                "set at most one of PATUNGAN_STORAGE_SIGNING_KEY_FILE and "
                "PATUNGAN_STORAGE_SIGNING_KEY_JSON"
            )
        if not self.offline and key_sources:
            raise ValueError(
                f"service-account key files are refused when PATUNGAN_ENV={self.env}: "
                "the cloud signs URLs through IAM signBlob as the function's service account"
            )
        if self.offline and not key_sources:
            raise ValueError(
                "PATUNGAN_STORAGE_SIGNING_KEY_FILE (or _JSON) is required locally: "
                "there is no metadata server to sign with"
            )
        return self


class EscrowSettings(PlatformSettings):
    """Adds the entity's escrow account and its smallest deposit and withdrawal.

    `PATUNGAN_ESCROW_ACCOUNT` is JSON (`{"bank_code": "014", "bank_name": "BCA",
    "account_number": "...", "account_name": "..."}`), from the entity's manifest.
    """

    escrow_account: EscrowAccount
    min_deposit: int = Field(default=MoneyLimits().min_deposit, gt=0, le=MAX_RUPIAH)
    min_withdrawal: int = Field(default=MoneyLimits().min_withdrawal, gt=0, le=MAX_RUPIAH)

    @property
    def money_limits(self) -> MoneyLimits:
        return MoneyLimits(min_deposit=self.min_deposit, min_withdrawal=self.min_withdrawal)


class FundingRulesSettings(PlatformSettings):
    """Adds the entity's funding rules (`shared.platform.escrow.FundingRules`)."""

    min_commitment: int = Field(default=FundingRules().min_commitment, gt=0, le=MAX_RUPIAH)
    max_lenders_per_loan: int = Field(default=FundingRules().max_lenders_per_loan, gt=0, le=10_000)
    concentration_floor: int = Field(
        default=FundingRules().concentration_floor, ge=0, le=MAX_RUPIAH
    )
    members_only: bool = FundingRules().members_only
    cap_table: CapTableName = FundingRules().cap_table

    @property
    def funding_rules(self) -> FundingRules:
        return FundingRules(
            min_commitment=self.min_commitment,
            max_lenders_per_loan=self.max_lenders_per_loan,
            concentration_floor=self.concentration_floor,
            members_only=self.members_only,
            cap_table=self.cap_table,
        )


class SchedulerSettings(HttpSettings):
    """Adds who the scheduler is: the service account its OIDC tokens name."""

    scheduler_invoker: str = Field(
        min_length=3, description="The Cloud Scheduler job's service account email."
    )


class PushSettings(HttpSettings):
    """Adds who pushes to an event function: the service account its push subscriptions'
    OIDC tokens name. The `auth_*` settings are those tokens' issuer (Google's OIDC issuer
    in the cloud), audience (the function's URL) and keys."""

    push_invoker: str = Field(
        min_length=3, description="The push subscriptions' service account email."
    )


# --- each function's settings ------------------------------------------------------------------


class UsersSettings(HttpSettings, PiiSettings, ProviderSettings):
    """`users`: auth, the PII key, and the civil registry registrations are checked with."""


class QuoteSettings(HttpSettings):
    """`loan_quote`: a token is optional; product quotes read the catalogue (Firestore)."""


class ApplicationsSettings(HttpSettings, DocumentStorageSettings):
    """`loan_applications`: auth, Firestore and Pub/Sub, and the borrower-documents bucket."""


class ScorecardRoutingSettings(PlatformSettings):
    """Adds the champion/challenger routing in force until an `admin.credit` promotes one
    (docs/lending-rules.md#champion-and-challenger): the champion `scorecard_version`, and
    optionally a challenger version with the share of borrowers it scores (0 to 0.5)."""

    scorecard_version: str = Field(default="v1", pattern=r"^v\d+$")
    scorecard_challenger_version: str | None = Field(default=None, pattern=r"^v\d+$")
    scorecard_challenger_share: Decimal = Field(default=Decimal(0), ge=0, le=Decimal("0.5"))

    @model_validator(mode="after")
    def _routing_is_coherent(self) -> ScorecardRoutingSettings:
        self.default_scorecard_routing()  # raises ValueError, named by load_settings
        return self

    def default_scorecard_routing(self) -> ScorecardRouting:
        """The routing scoring uses while none was promoted."""
        try:
            return ScorecardRouting(
                champion=self.scorecard_version,
                challenger=self.scorecard_challenger_version,
                challenger_share=self.scorecard_challenger_share,
            )
        except ValidationError as exc:
            raise ValueError(
                "PATUNGAN_SCORECARD_CHALLENGER_VERSION and _SHARE: "
                + "; ".join(e["msg"] for e in exc.errors())
            ) from None


class ScoringSettings(PushSettings, PiiSettings, ProviderSettings, ScorecardRoutingSettings):
    """`scoring`: its pushes' tokens, the PII key (the providers are asked about the NIK),
    the providers, and the default champion/challenger routing."""


class ReviewSettings(HttpSettings, ScorecardRoutingSettings):
    """`loan_review`: auth, Firestore and Pub/Sub, and the default champion/challenger
    routing (the scorecard routes show and compare it)."""


class LenderTaxSettings(HttpSettings, DocumentStorageSettings):
    """`lender_tax`: auth, Firestore, and the documents bucket tax documents go into."""


class ProductsSettings(HttpSettings):
    """`products`: auth, Firestore."""


class OutboxRelaySettings(SchedulerSettings):
    """`outbox_relay`: called only by its Cloud Scheduler job."""


class WalletSettings(HttpSettings, PiiSettings, EscrowSettings):
    """`lender_wallet`: auth, the PII key (a sender account is compared by its hash), and the
    escrow account deposits go to."""


class FinanceSettings(HttpSettings, PiiSettings, EscrowSettings, DocumentStorageSettings):
    """`finance`: auth, the PII key (statement lines name accounts), the escrow account
    statements are for, and the bucket manual entries' attachments go into."""


class ReconciliationSettings(SchedulerSettings):
    """`reconciliation`: called only by its Cloud Scheduler job."""


class FundingSettings(HttpSettings, FundingRulesSettings):
    """`loan_funding`: auth and the entity's funding rules."""


class AutoInvestSettings(PushSettings, FundingRulesSettings):
    """`auto_invest`: its pushes' tokens and the entity's funding rules."""


class FundingReleaseSettings(PushSettings):
    """`funding_release`: its pushes' tokens; Firestore and Pub/Sub."""


class FundingExpirySettings(SchedulerSettings):
    """`funding_expiry`: called only by its Cloud Scheduler job."""


class DisbursementSettings(HttpSettings, PiiSettings, ProviderSettings):
    """`disbursements`: auth, the PII key (to read the borrower's account number) and the
    bank's account inquiry the payout account is verified with."""


class OpsAlertsSettings(PushSettings):
    """`ops_alerts`: its pushes' tokens, and the ops channel it notifies.

    `PATUNGAN_OPS_WEBHOOK_URL` is an incoming-webhook URL (a Google Chat space's or a
    Slack channel's); it embeds its own key, so it is the `ops-webhook-url` secret in the
    cloud, https only, and the ops-notifications sandbox locally.
    """

    ops_webhook_url: SecretStr
    ops_webhook_timeout_s: float = Field(default=5.0, gt=0, le=30)

    @model_validator(mode="after")
    def _webhook_fits_the_environment(self) -> OpsAlertsSettings:
        url = self.ops_webhook_url.get_secret_value()
        schemes = ("http://", "https://") if self.offline else ("https://",)
        if not url.startswith(schemes) or len(url) > 2048 or any(c.isspace() for c in url):
            # Never the URL itself: it is a credential.
            raise ValueError(
                f"PATUNGAN_OPS_WEBHOOK_URL must be an {' or '.join(s[:-3] for s in schemes)} "
                f"URL when PATUNGAN_ENV={self.env}"
            )
        return self


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


class PaymentGatewaySettings(PlatformSettings):
    """Adds the payment gateway's API (issuing virtual accounts): where, and its key (the
    `payment-gateway-api-key` secret in the cloud; the gateway sandbox locally)."""

    payment_gateway_url: str = Field(min_length=1)
    payment_gateway_api_key: SecretStr
    payment_gateway_timeout_s: float = Field(default=5.0, gt=0, le=30)


class VirtualAccountSettings(HttpSettings, PaymentGatewaySettings):
    """`virtual_accounts`: auth and the payment gateway."""


class OverdueSweepSettings(SchedulerSettings):
    """`overdue_sweep`: called only by its Cloud Scheduler job."""


class TreasurySettings(HttpSettings):
    """`treasury`: auth."""


class PayoffSettings(HttpSettings):
    """`payoffs`: auth."""


class WriteOffSettings(HttpSettings):
    """`write_offs`: auth."""


class RepaymentSettings(PushSettings):
    """`repayments`: its pushes' tokens; Firestore and Pub/Sub."""


class BillingSplitSettings(PushSettings):
    """`billing_split`: its pushes' tokens; Firestore and Pub/Sub."""


class NotificationSettings(PlatformSettings):
    """Adds the notification service that reaches borrowers and lenders (the notifications
    port, shared/platform/notifications.py).

    `PATUNGAN_NOTIFICATIONS_URL` is the service's intake URL; it embeds the service's key,
    so it is the `notifications-url` secret in the cloud, https only, and the
    ops-notifications sandbox's `/v1/notifications` locally.
    """

    notifications_url: SecretStr
    notifications_timeout_s: float = Field(default=5.0, gt=0, le=30)

    @model_validator(mode="after")
    def _intake_fits_the_environment(self) -> NotificationSettings:
        url = self.notifications_url.get_secret_value()
        schemes = ("http://", "https://") if self.offline else ("https://",)
        if not url.startswith(schemes) or len(url) > 2048 or any(c.isspace() for c in url):
            # Never the URL itself: it is a credential.
            raise ValueError(
                f"PATUNGAN_NOTIFICATIONS_URL must be an {' or '.join(s[:-3] for s in schemes)} "
                f"URL when PATUNGAN_ENV={self.env}"
            )
        return self


class CollectionsSettings(PushSettings, NotificationSettings):
    """`collections`: its pushes' tokens, and the notification service reminders go to."""


class CollectionsDispatchSettings(SchedulerSettings, NotificationSettings):
    """`collections_dispatch`: called only by its Cloud Scheduler job; the notification
    service the reminders whose time has come go to."""


class BootstrapSettings(PiiSettings):
    """`scripts/bootstrap_admin.py`: Firestore and the PII key (ops, not a function)."""


class PiiRotationSettings(PiiSettings):
    """`scripts/reencrypt_pii.py`: Firestore and the PII keys, the previous one included
    (ops, not a function)."""


FUNCTION_SETTINGS: dict[str, type[PlatformSettings]] = {
    "users": UsersSettings,
    "loan_quote": QuoteSettings,
    "loan_applications": ApplicationsSettings,
    "scoring": ScoringSettings,
    "loan_review": ReviewSettings,
    "outbox_relay": OutboxRelaySettings,
    "products": ProductsSettings,
    "lender_tax": LenderTaxSettings,
    "lender_wallet": WalletSettings,
    "finance": FinanceSettings,
    "reconciliation": ReconciliationSettings,
    "loan_funding": FundingSettings,
    "auto_invest": AutoInvestSettings,
    "funding_release": FundingReleaseSettings,
    "funding_expiry": FundingExpirySettings,
    "disbursements": DisbursementSettings,
    "ops_alerts": OpsAlertsSettings,
    "payment_webhook": PaymentWebhookSettings,
    "virtual_accounts": VirtualAccountSettings,
    "repayments": RepaymentSettings,
    "billing_split": BillingSplitSettings,
    "payoffs": PayoffSettings,
    "treasury": TreasurySettings,
    "overdue_sweep": OverdueSweepSettings,
    "write_offs": WriteOffSettings,
    "collections": CollectionsSettings,
    "collections_dispatch": CollectionsDispatchSettings,
}
"""The settings class each function of the topology loads (checked by tests)."""


def decode_pii_key(secret: SecretStr, variable: str = "PATUNGAN_PII_KEY") -> bytes:
    """A PII master key as bytes; raises ValueError (never echoing it) when malformed."""
    raw = secret.get_secret_value().strip()
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        try:
            key = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{variable} is not valid base64") from None
    if len(key) != PII_KEY_BYTES:
        raise ValueError(f"{variable} must decode to {PII_KEY_BYTES} bytes, got {len(key)}")
    return key


S = TypeVar("S", bound=PlatformSettings)


def load_settings(settings_class: type[S], **overrides: object) -> S:
    """Build `settings_class` from the environment (plus `overrides`), or fail clearly.

    The error lists every missing or invalid variable by its environment name and
    the reason, without the offending values (they may be secrets).
    """
    try:
        return settings_class(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            loc = [str(part) for part in error["loc"]]
            name = _env_name(settings_class, loc[0]) if loc else "configuration"
            reason = error["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {reason}" if loc else reason)
        raise ConfigurationError(
            f"{settings_class.__name__} cannot start: " + "; ".join(problems)
        ) from None


def _env_name(settings_class: type[PlatformSettings], field_name: str) -> str:
    field = settings_class.model_fields.get(field_name)
    if field is None:
        return field_name
    alias = field.validation_alias
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"PATUNGAN_{field_name.upper()}"
