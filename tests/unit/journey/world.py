"""A borrower journey in memory: every port faked, the sample catalogue seeded, the personas.

`JourneyWorld` is shared by the service tests (tests/unit/journey) and the function
tests (tests/functions). It is 09:00 in Jakarta on 2026-11-20 — the day the three
reference personas of scorecard v1 apply (shared/domain/scorecards/personas.json):
`strong_msme` (Siti, approve), `thin_file` (Rudi, review) and `risky` (Dedi, reject).
The civil registry and the credit-data providers answer exactly what the providers
sandbox answers for them, and each provider can be taken down.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shared.adapters.memory import (
    FixedClock,
    MemoryDocumentStorage,
    MemoryUnitOfWork,
    RecordingPublisher,
    SequentialIds,
    fixed_key_vault,
)
from shared.domain.events import Envelope, parse_event
from shared.domain.maker_checker import Checked, Made
from shared.domain.permissions import Role
from shared.domain.products import LoanProduct
from shared.domain.scorecards.personas import Persona, load_personas
from shared.domain.scoring.providers import (
    CivilRegistryCheck,
    ProviderData,
    ProviderName,
    ProviderUnavailable,
)
from shared.domain.scoring.routing import ScorecardRouting
from shared.domain.scoring.scorecard import load_scorecard
from shared.platform.event_origin import EventOrigin
from shared.platform.providers import ProviderQuery
from shared.records.loans import BusinessCapital, Collateral, LoanPurpose, LoanRecord, Loans
from shared.records.products import CatalogueEntry, Products, ProductVersionRecord, version_key
from shared.records.users import USERS, BorrowerProfile, LenderProfile, UserRecord
from shared.services.bank_accounts import BankAccountInput
from shared.services.catalogue import publish_catalogue, sample_catalogue
from shared.services.credit_scoring import ScoringResult, score_submitted_loan
from shared.services.loan_applications import (
    ApplicationAccepted,
    SubmitApplication,
    submit_application,
)
from shared.services.scorecards import ScorecardShelf
from shared.services.users import Registration, UserView, register_user

ENTITY = "p2p"
APPLICATION_DAY = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta
PERSONAS = load_personas()
PERSONA_PRODUCTS = {
    "strong_msme": "working-capital-annuity",
    "thin_file": "working-capital-annuity",
    "risky": "expansion-equal-principal",
}
SCORECARD = load_scorecard("v1")
SCORECARDS = ScorecardShelf()
DEFAULT_ROUTING = ScorecardRouting(champion="v1")


class FakeCivilRegistry:
    """Dukcapil for the personas (and anyone added); `down` makes it time out."""

    def __init__(self) -> None:
        self.people: dict[str, tuple[str, date]] = {
            p.applicant.nik: (p.applicant.full_name, p.applicant.birth_date)
            for p in PERSONAS.values()
        }
        self.down = False
        self.calls: list[str] = []  # the NIKs asked about

    def verify_identity(
        self, nik: str, full_name: str, birth_date: date
    ) -> CivilRegistryCheck | ProviderUnavailable:
        self.calls.append(nik)
        if self.down:
            return ProviderUnavailable(provider="civil_registry", reason="timed out (simulated)")
        known = self.people.get(nik)
        if known is None:
            return CivilRegistryCheck(nik_found=False, name_match=False, birth_date_match=False)
        return CivilRegistryCheck(
            nik_found=True,
            name_match=known[0].casefold() == full_name.casefold(),
            birth_date_match=known[1] == birth_date,
        )


class FakeCreditData:
    """The four providers for the personas; `down` lists the providers that fail."""

    def __init__(self) -> None:
        self.answers: dict[str, ProviderData] = {
            p.applicant.nik: p.provider_data() for p in PERSONAS.values()
        }
        self.down: set[ProviderName] = set()
        self.queries: list[ProviderQuery] = []

    def gather(self, query: ProviderQuery) -> ProviderData:
        self.queries.append(query)
        answer = self.answers[query.nik]
        outages = {
            name: ProviderUnavailable(provider=name, reason="timed out after 3 attempts")
            for name in self.down
        }
        return answer.model_copy(update=outages)


@dataclass
class JourneyWorld:
    """Every port of the journey, in memory."""

    clock: FixedClock = field(default_factory=lambda: FixedClock(APPLICATION_DAY))
    ids: SequentialIds = field(default_factory=SequentialIds)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    registry: FakeCivilRegistry = field(default_factory=FakeCivilRegistry)
    providers: FakeCreditData = field(default_factory=FakeCreditData)
    vault: Any = field(default_factory=fixed_key_vault)
    uow: MemoryUnitOfWork = field(init=False)
    storage: MemoryDocumentStorage = field(init=False)

    def __post_init__(self) -> None:
        self.uow = MemoryUnitOfWork(self.publisher, self.clock)
        self.storage = MemoryDocumentStorage("patungan-documents", self.clock)
        publish_catalogue(self.uow, sample_catalogue(), self.clock.now())

    @property
    def origin(self) -> EventOrigin:
        return EventOrigin(ENTITY, self.clock, self.ids)

    # --- people ---------------------------------------------------------------------------

    @staticmethod
    def persona(key: str) -> Persona:
        return PERSONAS[key]

    def registration(self, key: str, **overrides: Any) -> Registration:
        """The persona's registration as a borrower (NPWP = NIK: a resident individual)."""
        p = PERSONAS[key]
        fields: dict[str, Any] = {
            "role": "borrower",
            "full_name": p.applicant.full_name,
            "birth_date": p.applicant.birth_date,
            "nik": p.applicant.nik,
            "npwp": p.applicant.nik,
            "phone": p.applicant.phone,
            "bank_account": BankAccountInput(
                bank_code="014", account_number="8831234567", account_holder=p.applicant.full_name
            ),
            "borrower_profile": BorrowerProfile(
                business_name=p.business.name,
                sector=p.business.sector,  # type: ignore[arg-type]
                province_code=p.business.province_code,
                years_in_business=p.business.years_in_business,
                store_ids=p.business.store_ids,
            ),
        }
        fields.update(overrides)
        return Registration(**fields)

    def lender_registration(self, key: str = "strong_msme", **overrides: Any) -> Registration:
        fields: dict[str, Any] = {
            "role": "lender",
            "borrower_profile": None,
            "lender_profile": LenderProfile(residency="resident"),
        }
        return self.registration(key, **(fields | overrides))

    def register(self, key: str, user_id: str | None = None) -> UserView:
        return register_user(
            self.uow,
            self.registration(key),
            user_id or key,
            vault=self.vault,
            registry=self.registry,
            clock=self.clock,
        )

    def staff(self, user_id: str, role: Role) -> str:
        """A staff member holding `role`, as if granted and approved (test setup: seeded)."""
        now = self.clock.now()
        record = UserRecord(
            id=user_id,
            role=role,
            full_name=f"Staf {user_id}",
            birth_date=date(1988, 4, 1),
            phone="+6281200000000",
            nik_encrypted=self.vault.encrypt("nik", "3174010104880001"),
            nik_hash=f"staff-{user_id}",
            nik_masked="3174********0001",
            identity_verified_at=now,
            registered_at=now,
            updated_at=now,
        )
        self.uow.seed(USERS, user_id, record.model_dump(mode="json"))
        return user_id

    # --- applications ---------------------------------------------------------------------

    @staticmethod
    def application(key: str, **overrides: Any) -> SubmitApplication:
        """The persona's application for the product it fits."""
        app = PERSONAS[key].application
        fields: dict[str, Any] = {
            "product_id": PERSONA_PRODUCTS[key],
            "principal": app.principal,
            "tenor": app.tenor_months,
            "purpose": LoanPurpose(app.purpose),
            "collateral": (
                Collateral(description="warranty on equipment", value=app.collateral_value)
                if app.collateral_value
                else None
            ),
            "capital": BusinessCapital(
                inventory_value=app.inventory_value,
                account_balances=app.account_balances,
                owner_equity=app.owner_equity,
            ),
        }
        fields.update(overrides)
        return SubmitApplication(**fields)

    def submit(self, key: str, user_id: str | None = None, **overrides: Any) -> str:
        accepted: ApplicationAccepted = submit_application(
            self.uow, self.application(key, **overrides), user_id or key, origin=self.origin
        )
        return accepted.loan_id

    def submitted_event(self, loan_id: str) -> Envelope:
        """The `loan.submitted` event published for `loan_id`."""
        for message in self.publisher.messages:
            if message.topic == "loan.submitted":
                event = parse_event(message.data)
                if event.data.loan_id == loan_id:  # type: ignore[attr-defined]
                    return event
        raise AssertionError(f"no loan.submitted was published for {loan_id}")

    def push_body(self, loan_id: str) -> dict[str, Any]:
        """The Pub/Sub push request that delivers `loan_id`'s `loan.submitted`."""
        event = self.submitted_event(loan_id)
        return {
            "message": {
                "data": base64.b64encode(event.to_json_bytes()).decode(),
                "attributes": {"type": event.type.value, "event_id": str(event.event_id)},
                "messageId": f"m-{event.event_id}",
            },
            "subscription": "projects/patungan-local/subscriptions/push.scoring",
        }

    def score(
        self,
        loan_id: str,
        *,
        scorecards: ScorecardShelf = SCORECARDS,
        default_routing: ScorecardRouting = DEFAULT_ROUTING,
    ) -> ScoringResult:
        return score_submitted_loan(
            self.uow,
            self.submitted_event(loan_id),
            providers=self.providers,
            vault=self.vault,
            scorecards=scorecards,
            default_routing=default_routing,
            origin=self.origin,
        )

    def loan(self, loan_id: str) -> LoanRecord:
        return self.uow.run(lambda tx: Loans(tx).require(loan_id), read_only=True)

    def events(self, topic: str) -> list[dict[str, Any]]:
        return self.publisher.envelopes(topic)

    def put_product(self, product: LoanProduct) -> int:
        """Activate `product` as its next version without any check (test setup: terms the
        caps in force might no longer allow); returns the version number."""
        now = self.clock.now()
        entry = self.uow.run(lambda tx: Products(tx).get(product.id), read_only=True)
        version = entry.version + 1 if entry is not None else 1
        record = ProductVersionRecord(
            key=version_key(product.id, version),
            product_id=product.id,
            version=version,
            product=product,
            state="active",
            proposed=Made(by="test", at=now),
            activated=Checked(by="test", at=now),
        )
        self.uow.seed("product_versions", record.key, record.model_dump(mode="json"))
        self.uow.seed(
            "products",
            product.id,
            CatalogueEntry(
                id=product.id, product=product, published_at=now, version=version
            ).model_dump(mode="json"),
        )
        return version

    def seed_loan(self, loan: LoanRecord) -> None:
        self.uow.seed("loans", loan.id, loan.model_dump(mode="json"))
