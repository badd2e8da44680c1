"""Process configuration: one settings class per process, read once, checked at once.

Every Cloud Function (and every local tool that talks to the platform) reads its
configuration through exactly one settings class, built by
`load_settings(SettingsClass)`. Values come from environment variables named
`PATUNGAN_<FIELD>` (for example `PATUNGAN_GCP_PROJECT`), except the emulator hosts,
which use the names the Google client libraries themselves read
(`FIRESTORE_EMULATOR_HOST`, `PUBSUB_EMULATOR_HOST`, `STORAGE_EMULATOR_HOST`) so the
settings and the clients can never disagree. In production, secrets (the PII key, for
example) are Secret Manager versions mounted as environment variables by the deployment.

The contract is *fail fast*: a missing value, a malformed key or JSON value, or an unsafe
combination (an emulator host or the local dev token issuer in a cloud environment)
raises `ConfigurationError` when the settings are loaded — at the first request of a
fresh instance — with a message naming every offending variable and never echoing a
secret.

Building blocks, one module each (`shared/settings/<block>.py`):
- `base`: `PlatformSettings`, what every process needs (environment, entity, project,
  emulators, logging, transactions, idempotency), and `load_settings`.
- `http`: `HttpSettings` adds the token verification every HTTP function performs;
  `SchedulerSettings` the account a scheduled function's Cloud Scheduler job calls as;
  `PushSettings` the account an event function's push subscriptions push as.
- `pii`: `PiiSettings` adds the keys that protect NIK, NPWP and account numbers.
- `providers`: `ProviderSettings` adds the external data providers (civil registry, bureau, ...).
- `storage`: `DocumentStorageSettings` adds the borrower-documents bucket and URL signing.
- `money`: `EscrowSettings` adds the entity's escrow account and its smallest deposit and
  withdrawal; `FundingRulesSettings` its funding rules.
- `scoring`: `ScorecardRoutingSettings` adds the default champion/challenger routing.
- `notifications`, `payment_gateway`: the notification service, the payment gateway's API.
- `ops`: what the ops scripts read.

Each function's own class combines them in its own module,
`shared/settings/functions/<function>.py`, in plain view, so what a function reads is
visible without running it (`FUNCTION_SETTINGS` names each function's class). Every name is
also importable from `shared.settings`, which loads the module defining it on first use: a
function's cold start imports its own settings and their blocks, not every other
function's (docs/architecture.md#cold-start).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.settings.base import (
        DEV_AUDIENCE,
        DEV_ISSUER,
        ENV_PREFIX,
        OFFLINE_ENVIRONMENTS,
        ConfigurationError,
        Environment,
        PlatformSettings,
        Settings,
        load_settings,
    )
    from shared.settings.functions.auto_invest import AutoInvestSettings
    from shared.settings.functions.billing_split import BillingSplitSettings
    from shared.settings.functions.collections import CollectionsSettings
    from shared.settings.functions.collections_dispatch import CollectionsDispatchSettings
    from shared.settings.functions.disbursements import DisbursementSettings
    from shared.settings.functions.finance import FinanceSettings
    from shared.settings.functions.funding_expiry import FundingExpirySettings
    from shared.settings.functions.funding_release import FundingReleaseSettings
    from shared.settings.functions.lender_tax import LenderTaxSettings
    from shared.settings.functions.lender_wallet import WalletSettings
    from shared.settings.functions.loan_applications import ApplicationsSettings
    from shared.settings.functions.loan_funding import FundingSettings
    from shared.settings.functions.loan_quote import QuoteSettings
    from shared.settings.functions.loan_review import ReviewSettings
    from shared.settings.functions.ops_alerts import OpsAlertsSettings
    from shared.settings.functions.outbox_relay import OutboxRelaySettings
    from shared.settings.functions.overdue_sweep import OverdueSweepSettings
    from shared.settings.functions.payment_webhook import PaymentWebhookSettings
    from shared.settings.functions.payoffs import PayoffSettings
    from shared.settings.functions.products import ProductsSettings
    from shared.settings.functions.reconciliation import ReconciliationSettings
    from shared.settings.functions.repayments import RepaymentSettings
    from shared.settings.functions.scoring import ScoringSettings
    from shared.settings.functions.treasury import TreasurySettings
    from shared.settings.functions.users import UsersSettings
    from shared.settings.functions.virtual_accounts import VirtualAccountSettings
    from shared.settings.functions.write_offs import WriteOffSettings
    from shared.settings.http import (
        HttpSettings,
        PushSettings,
        SchedulerSettings,
    )
    from shared.settings.money import (
        EscrowSettings,
        FundingRulesSettings,
    )
    from shared.settings.notifications import (
        NotificationSettings,
    )
    from shared.settings.ops import (
        BootstrapSettings,
        PiiRotationSettings,
    )
    from shared.settings.payment_gateway import (
        PaymentGatewaySettings,
    )
    from shared.settings.pii import (
        PII_KEY_BYTES,
        PiiSettings,
        decode_pii_key,
    )
    from shared.settings.providers import (
        ProviderSettings,
    )
    from shared.settings.scoring import (
        ScorecardRoutingSettings,
    )
    from shared.settings.storage import (
        DocumentStorageSettings,
    )

FUNCTION_SETTINGS: dict[str, str] = {
    "auto_invest": "AutoInvestSettings",
    "billing_split": "BillingSplitSettings",
    "collections": "CollectionsSettings",
    "collections_dispatch": "CollectionsDispatchSettings",
    "disbursements": "DisbursementSettings",
    "finance": "FinanceSettings",
    "funding_expiry": "FundingExpirySettings",
    "funding_release": "FundingReleaseSettings",
    "lender_tax": "LenderTaxSettings",
    "lender_wallet": "WalletSettings",
    "loan_applications": "ApplicationsSettings",
    "loan_funding": "FundingSettings",
    "loan_quote": "QuoteSettings",
    "loan_review": "ReviewSettings",
    "ops_alerts": "OpsAlertsSettings",
    "outbox_relay": "OutboxRelaySettings",
    "overdue_sweep": "OverdueSweepSettings",
    "payment_webhook": "PaymentWebhookSettings",
    "payoffs": "PayoffSettings",
    "products": "ProductsSettings",
    "reconciliation": "ReconciliationSettings",
    "repayments": "RepaymentSettings",
    "scoring": "ScoringSettings",
    "treasury": "TreasurySettings",
    "users": "UsersSettings",
    "virtual_accounts": "VirtualAccountSettings",
    "write_offs": "WriteOffSettings",
}
"""The settings class each function of the topology loads, by name (checked by tests);
`shared/settings/functions/<function>.py` defines it."""

_MODULE_OF: dict[str, str] = {
    "ConfigurationError": "shared.settings.base",
    "DEV_AUDIENCE": "shared.settings.base",
    "DEV_ISSUER": "shared.settings.base",
    "ENV_PREFIX": "shared.settings.base",
    "Environment": "shared.settings.base",
    "OFFLINE_ENVIRONMENTS": "shared.settings.base",
    "PlatformSettings": "shared.settings.base",
    "Settings": "shared.settings.base",
    "load_settings": "shared.settings.base",
    "HttpSettings": "shared.settings.http",
    "PushSettings": "shared.settings.http",
    "SchedulerSettings": "shared.settings.http",
    "PII_KEY_BYTES": "shared.settings.pii",
    "PiiSettings": "shared.settings.pii",
    "decode_pii_key": "shared.settings.pii",
    "ProviderSettings": "shared.settings.providers",
    "DocumentStorageSettings": "shared.settings.storage",
    "EscrowSettings": "shared.settings.money",
    "FundingRulesSettings": "shared.settings.money",
    "ScorecardRoutingSettings": "shared.settings.scoring",
    "NotificationSettings": "shared.settings.notifications",
    "PaymentGatewaySettings": "shared.settings.payment_gateway",
    "BootstrapSettings": "shared.settings.ops",
    "PiiRotationSettings": "shared.settings.ops",
    "AutoInvestSettings": "shared.settings.functions.auto_invest",
    "BillingSplitSettings": "shared.settings.functions.billing_split",
    "CollectionsSettings": "shared.settings.functions.collections",
    "CollectionsDispatchSettings": "shared.settings.functions.collections_dispatch",
    "DisbursementSettings": "shared.settings.functions.disbursements",
    "FinanceSettings": "shared.settings.functions.finance",
    "FundingExpirySettings": "shared.settings.functions.funding_expiry",
    "FundingReleaseSettings": "shared.settings.functions.funding_release",
    "LenderTaxSettings": "shared.settings.functions.lender_tax",
    "WalletSettings": "shared.settings.functions.lender_wallet",
    "ApplicationsSettings": "shared.settings.functions.loan_applications",
    "FundingSettings": "shared.settings.functions.loan_funding",
    "QuoteSettings": "shared.settings.functions.loan_quote",
    "ReviewSettings": "shared.settings.functions.loan_review",
    "OpsAlertsSettings": "shared.settings.functions.ops_alerts",
    "OutboxRelaySettings": "shared.settings.functions.outbox_relay",
    "OverdueSweepSettings": "shared.settings.functions.overdue_sweep",
    "PaymentWebhookSettings": "shared.settings.functions.payment_webhook",
    "PayoffSettings": "shared.settings.functions.payoffs",
    "ProductsSettings": "shared.settings.functions.products",
    "ReconciliationSettings": "shared.settings.functions.reconciliation",
    "RepaymentSettings": "shared.settings.functions.repayments",
    "ScoringSettings": "shared.settings.functions.scoring",
    "TreasurySettings": "shared.settings.functions.treasury",
    "UsersSettings": "shared.settings.functions.users",
    "VirtualAccountSettings": "shared.settings.functions.virtual_accounts",
    "WriteOffSettings": "shared.settings.functions.write_offs",
}

__all__ = [
    "DEV_AUDIENCE",
    "DEV_ISSUER",
    "ENV_PREFIX",
    "FUNCTION_SETTINGS",
    "OFFLINE_ENVIRONMENTS",
    "PII_KEY_BYTES",
    "ApplicationsSettings",
    "AutoInvestSettings",
    "BillingSplitSettings",
    "BootstrapSettings",
    "CollectionsDispatchSettings",
    "CollectionsSettings",
    "ConfigurationError",
    "DisbursementSettings",
    "DocumentStorageSettings",
    "Environment",
    "EscrowSettings",
    "FinanceSettings",
    "FundingExpirySettings",
    "FundingReleaseSettings",
    "FundingRulesSettings",
    "FundingSettings",
    "HttpSettings",
    "LenderTaxSettings",
    "NotificationSettings",
    "OpsAlertsSettings",
    "OutboxRelaySettings",
    "OverdueSweepSettings",
    "PaymentGatewaySettings",
    "PaymentWebhookSettings",
    "PayoffSettings",
    "PiiRotationSettings",
    "PiiSettings",
    "PlatformSettings",
    "ProductsSettings",
    "ProviderSettings",
    "PushSettings",
    "QuoteSettings",
    "ReconciliationSettings",
    "RepaymentSettings",
    "ReviewSettings",
    "SchedulerSettings",
    "ScorecardRoutingSettings",
    "ScoringSettings",
    "Settings",
    "TreasurySettings",
    "UsersSettings",
    "VirtualAccountSettings",
    "WalletSettings",
    "WriteOffSettings",
    "decode_pii_key",
    "load_settings",
    "settings_class_of",
]


def __getattr__(name: str) -> Any:
    """Load the module that defines `name` on first use (and keep the name here)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))


def settings_class_of(function: str) -> type[PlatformSettings]:
    """The settings class `function` (a function of shared/topology.py) loads."""
    module = importlib.import_module(f"shared.settings.functions.{function}")
    settings_class: type[PlatformSettings] = getattr(module, FUNCTION_SETTINGS[function])
    return settings_class
