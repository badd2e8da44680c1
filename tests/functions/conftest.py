"""The five journey functions through functions-framework, their dependencies faked in memory.

`platform.client("loan_applications")` is a Flask test client of
`functions/loan_applications/main.py` as `functions_framework.create_app` loads it,
with the module's `services` replaced by in-memory fakes wired from one
`JourneyWorld` (tests/unit/journey/world.py), so every function of one test sees
the same store, publisher, clock and providers. Tokens are signed by a test issuer
the fakes trust: `platform.bearer("u-1", "borrower")`; event functions trust a test push
token issuer: `platform.pushed()` are the headers of a push from their own subscription.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.adapters.auth import JwtVerifier, StaticPublicKey
from shared.adapters.memory import RecordingNotifier, RecordingOpsChannel
from shared.adapters.providers import InMemoryBankAccounts
from shared.domain.scoring.routing import ScorecardRouting
from shared.http.gateway_signature import GatewaySignature
from shared.http.lazy import Lazy
from shared.platform.escrow import FundingRules, MoneyLimits
from shared.platform.outbox import PublishableEvent
from shared.platform.store import DocumentTransaction, UnitOfWork
from shared.records.users import UserDirectory
from shared.services.scorecards import ScorecardShelf
from shared.topology import FUNCTIONS
from tests.unit.journey.money_desk import ESCROW
from tests.unit.journey.payment_desk import FakeIssuer, PaymentDesk
from tests.unit.journey.world import DEFAULT_ROUTING, ENTITY, SCORECARDS, JourneyWorld
from tests.unit.plumbing.support import push_issuer

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://issuer.test/patungan"
AUDIENCE = "patungan-test"
# The payment gateway's signing keys: the current one, and the previous one a rotation keeps.
GATEWAY_KEYS = ("gateway-key-2026-12-current", "gateway-key-2026-06-previous")
OVERDUE_SWEEP_SCHEDULER = "cron-overdue-sweep@patungan-p2p-prod.iam.gserviceaccount.com"
FUNDING_EXPIRY_SCHEDULER = "cron-funding-expiry@patungan-p2p-prod.iam.gserviceaccount.com"
DISPATCH_SCHEDULER = "cron-collections-dispatch@patungan-p2p-prod.iam.gserviceaccount.com"


class _GrantedTransaction:
    """A transaction of function `name` that refuses to emit an event to a topic the
    topology does not let it publish to: deployed, its service account has
    `pubsub.publisher` on exactly those topics (infra/components/function/identity.py), so
    any other publish would be refused after the commit."""

    def __init__(self, inner: DocumentTransaction, name: str, granted: frozenset[str]) -> None:
        self._inner = inner
        self._name = name
        self._granted = granted

    def emit(self, event: PublishableEvent) -> None:
        topic = str(event.type)
        assert topic in self._granted, (
            f"{self._name} emits {topic}, which its topology entry does not publish to "
            f"(it publishes to: {', '.join(sorted(self._granted)) or 'nothing'})"
        )
        self._inner.emit(event)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._inner, attribute)


class GrantedUnitOfWork(UnitOfWork):
    """`inner`, as function `name` may use it: only to publish what the topology grants it."""

    def __init__(self, inner: UnitOfWork, name: str) -> None:
        self.inner = inner
        self.name = name
        fn = next(f for f in FUNCTIONS if f.name == name)
        self.granted = frozenset(fn.publishes)

    def run(self, work: Callable[[DocumentTransaction], T], *, read_only: bool = False) -> T:
        def granted(tx: DocumentTransaction) -> T:
            return work(_GrantedTransaction(tx, self.name, self.granted))  # type: ignore[arg-type]

        return self.inner.run(granted, read_only=read_only)

    def publish_pending(self, event_ids: Sequence[str]) -> None:
        self.inner.publish_pending(event_ids)

    def read_snapshot(self, work: Callable[[DocumentTransaction], T]) -> tuple[T, datetime]:
        return self.inner.read_snapshot(work)  # read-only: nothing to publish

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


def load_function(name: str) -> tuple[Any, Any]:
    """(the Flask app, the loaded `main` module) of `functions/<name>/main.py`."""
    import functions_framework

    app = functions_framework.create_app(name, str(ROOT / "functions" / name / "main.py"))
    return app, sys.modules["main"]


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def functions() -> Callable[[str], tuple[Any, Any]]:
    """Each function loaded once per session (loading executes its main.py)."""
    loaded: dict[str, tuple[Any, Any]] = {}

    def get(name: str) -> tuple[Any, Any]:
        if name not in loaded:
            loaded[name] = load_function(name)
        return loaded[name]

    return get


@dataclass
class Platform:
    """One in-memory world behind every function, and a token issuer it trusts."""

    key: rsa.RSAPrivateKey
    functions: Callable[[str], tuple[Any, Any]]
    world: JourneyWorld = field(default_factory=JourneyWorld)
    ops_channel: RecordingOpsChannel = field(default_factory=RecordingOpsChannel)
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)
    bank: InMemoryBankAccounts = field(default_factory=InMemoryBankAccounts)
    # The funding rules `loan_funding` and `auto_invest` are served with (a test may set its
    # entity's before it asks for the client).
    funding_rules: FundingRules = field(default_factory=FundingRules)
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    issuer: FakeIssuer = field(default_factory=FakeIssuer)
    scorecards: ScorecardShelf = SCORECARDS
    scorecard_routing: ScorecardRouting = DEFAULT_ROUTING

    def verifier(self) -> JwtVerifier:
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return JwtVerifier(issuer=ISSUER, audience=AUDIENCE, keys=StaticPublicKey(pem))

    def token(self, sub: str, role: str | None, **claims: Any) -> str:
        now = datetime.now(UTC)
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=10)).timestamp()),
            **({"role": role} if role else {}),
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="RS256")

    def bearer(self, sub: str, role: str | None = "borrower", **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, role)}", **headers}

    def pushed(self) -> dict[str, str]:
        """The headers of a push from an event function's own subscription."""
        return push_issuer().headers()

    def services(self, name: str, module: Any) -> Any:
        w = self.world
        uow = GrantedUnitOfWork(w.uow, name)
        http = {
            "clock": w.clock,
            "ids": w.ids,
            "uow": uow,
            "verifier": self.verifier(),
            "callers": UserDirectory(w.uow),
        }
        # What every event function is built with: its pushes' tokens checked.
        pushed = {
            "uow": uow,
            "push_auth": push_issuer().authenticator(),
            "clock": w.clock,
            "ids": w.ids,
            "entity": ENTITY,
        }
        match name:
            case "users":
                return module.UserServices(**http, vault=w.vault, registry=w.registry)
            case "loan_quote":
                return module.QuoteServices(verifier=self.verifier(), catalogue=Lazy(lambda: w.uow))
            case "loan_applications":
                return module.ApplicationServices(**http, entity=ENTITY, documents=w.storage)
            case "loan_review":
                return module.ReviewServices(
                    **http,
                    entity=ENTITY,
                    default_routing=self.scorecard_routing,
                    scorecards=self.scorecards,
                )
            case "products":
                return module.ProductServices(**http)
            case "lender_tax":
                return module.TaxServices(**http, documents=w.storage)
            case "lender_wallet":
                return module.WalletServices(
                    **http, entity=ENTITY, vault=w.vault, escrow=ESCROW, limits=MoneyLimits()
                )
            case "finance":
                return module.FinanceServices(
                    **http, entity=ENTITY, vault=w.vault, escrow=ESCROW, documents=w.storage
                )
            case "loan_funding":
                return module.FundingServices(**http, entity=ENTITY, rules=self.funding_rules)
            case "disbursements":
                return module.DisbursementServices(
                    **http, entity=ENTITY, vault=w.vault, bank=self.bank
                )
            case "funding_expiry":
                return module.ExpiryServices(
                    **http, entity=ENTITY, scheduler_invoker=FUNDING_EXPIRY_SCHEDULER
                )
            case "funding_release":
                return module.ReleaseServices(**pushed)
            case "auto_invest":
                return module.AutoInvestServices(
                    **pushed,
                    rules=self.funding_rules,
                )
            case "scoring":
                return module.ScoringServices(
                    **pushed,
                    providers=w.providers,
                    vault=w.vault,
                    scorecards=self.scorecards,
                    default_routing=self.scorecard_routing,
                )
            case "ops_alerts":
                return module.OpsAlertsServices(
                    **pushed,
                    channel=self.ops_channel,
                    entity_name=ENTITY,
                )
            case "payment_webhook":
                return module.WebhookServices(
                    clock=w.clock,
                    ids=w.ids,
                    uow=w.uow,
                    entity=ENTITY,
                    request_signature=GatewaySignature(GATEWAY_KEYS),
                )
            case "overdue_sweep":
                return module.SweepServices(
                    **http, entity=ENTITY, scheduler_invoker=OVERDUE_SWEEP_SCHEDULER
                )
            case "treasury":
                return module.TreasuryServices(**http, entity=ENTITY)
            case "payoffs":
                return module.PayoffServices(**http, entity=ENTITY)
            case "write_offs":
                return module.WriteOffServices(**http, entity=ENTITY)
            case "virtual_accounts":
                return module.AccountServices(**http, entity=ENTITY, issuer=self.issuer)
            case "repayments":
                return module.RepaymentServices(**pushed)
            case "billing_split":
                return module.SplitServices(**pushed)
            case "collections":
                return module.CollectionsServices(**pushed, notifier=self.notifier)
            case "collections_dispatch":
                return module.DispatchServices(
                    **http, scheduler_invoker=DISPATCH_SCHEDULER, notifier=self.notifier
                )
        raise KeyError(name)

    def client(self, name: str) -> Any:
        """A test client of function `name`, served by this platform until the test ends."""
        app, module = self.functions(name)
        self.stack.enter_context(module.services.override(self.services(name, module)))
        return app.test_client()


@pytest.fixture
def platform(signing_key: rsa.RSAPrivateKey, functions: Any) -> Iterator[Platform]:
    platform = Platform(signing_key, functions)
    # The staff behind the tests' admin tokens (a token's own role claim grants nothing).
    platform.world.staff("reviewer-1", "admin.credit")
    platform.world.staff("fin-1", "admin.finance")
    platform.world.staff("fin-2", "admin.finance")
    with platform.stack:
        yield platform


@pytest.fixture
def desk(platform: Platform) -> PaymentDesk:
    """The money journey's use cases on the platform's own store, clock and sandboxes: the
    set-up a test drives the functions from (an active loan, payments, the sweep)."""
    w = platform.world
    return PaymentDesk(
        w.uow,
        clock=w.clock,
        ids=w.ids,
        vault=w.vault,
        storage=w.storage,
        bank=platform.bank,
        issuer=platform.issuer,
    )


def idempotent(key: str, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def problem(response: Any, status: int) -> dict[str, Any]:
    """The problem document of a `status` answer (checked to be application/problem+json)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    assert body["type"].startswith("urn:patungan:problem:")
    assert body["title"] and body["detail"]
    return body
