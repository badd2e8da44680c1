"""The typed entity manifest: everything a business entity's stack needs to know about it.

One JSON file per entity in `infra/entities/<entity_id>.json` (the stack of the
same name deploys it). The manifest is the single place where an entity's
identity, licence, GCP parent, billing account, budget and cost centre are
written down; the stack file (`Pulumi.<entity_id>.yaml`) only repeats the
entity id and the target project, and the preflight refuses to deploy when the
two disagree.

Contract: `load_manifest(entity_id)` returns a frozen, validated
`EntityManifest` or raises `ManifestError` naming the file and every problem.
Everything derived from the manifest (project id, labels) is computed here, so
no other module re-derives it differently.
"""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.platform.escrow import EscrowAccount, FundingRules, MoneyLimits
from shared.topology import COOPERATIVE_LICENCE, SERVED_UNDER

ENTITIES_DIR = Path(__file__).resolve().parent / "entities"

# GCP project ids are 6-30 characters: lowercase letters, digits and hyphens,
# starting with a letter and not ending with a hyphen.
PROJECT_ID_MAX_LENGTH = 30

# Label values: at most 63 lowercase letters, digits, underscores and dashes.
_LABEL_VALUE = r"^[a-z0-9_-]{1,63}$"


class ManifestError(ValueError):
    """An entity manifest is missing or invalid; the message names the file and each problem."""


class OjkLicence(StrEnum):
    """The licence under which the entity operates (who supervises it and under which rule)."""

    # Layanan Pendanaan Bersama Berbasis Teknologi Informasi — P2P lending (POJK 10/POJK.05/2022).
    LPBBTI = "lpbbti"
    # Bank Umum — a commercial bank; digital (neo) banks are Bank Umum (POJK 12/POJK.03/2021).
    BANK_UMUM = "bank_umum"
    # Bank Perekonomian Rakyat — a rural/people's economy bank serving MSMEs.
    BPR = "bpr"
    # Lembaga Keuangan Mikro — a microfinance institution (UU 1/2013).
    LKM = "lkm"
    # Koperasi simpan pinjam operating in the financial services sector (UU 4/2023, P2SK).
    KOPERASI_SEKTOR_JASA_KEUANGAN = "koperasi_sektor_jasa_keuangan"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ResourceParent(_Frozen):
    """Where the entity's project sits in the resource hierarchy: an organisation or a folder."""

    kind: Literal["organization", "folder"]
    id: str = Field(pattern=r"^[0-9]{6,20}$", description="The numeric organisation or folder id.")


class BillingAccount(_Frozen):
    """The Cloud Billing account that pays for the entity's project, and its currency."""

    account_id: str = Field(pattern=r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. IDR.")


class BudgetThreshold(_Frozen):
    """Alert when spend (actual, or forecast for the month) reaches `fraction` of the budget."""

    fraction: Decimal = Field(gt=0, le=10, description="1.0 means 100% of the monthly amount.")
    basis: Literal["actual", "forecast"]


class MonthlyBudget(_Frozen):
    """The monthly budget of the entity's project, in the billing account's currency."""

    amount: int = Field(gt=0, description="Whole units of `currency` (rupiah for IDR).")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    thresholds: tuple[BudgetThreshold, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _actual_and_forecast_alerts(self) -> MonthlyBudget:
        bases = {t.basis for t in self.thresholds}
        if bases != {"actual", "forecast"}:
            raise ValueError("a budget needs at least one actual and one forecast threshold")
        keys = [(t.basis, t.fraction) for t in self.thresholds]
        if len(set(keys)) != len(keys):
            raise ValueError("budget thresholds are repeated")
        return self


_EMAIL = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"


class Contacts(_Frozen):
    """Who hears about the entity's project: ops (alerts, security, incidents) and billing."""

    ops: tuple[Annotated[str, Field(pattern=_EMAIL)], ...] = Field(min_length=1)
    billing: tuple[Annotated[str, Field(pattern=_EMAIL)], ...] = Field(min_length=1)


class EntityManifest(_Frozen):
    """One business entity of the company and the GCP project it runs in."""

    entity_id: str = Field(
        pattern=r"^[a-z][a-z0-9-]*[a-z0-9]$",
        description="Stable id: the stack name, the `entity` label, part of the project id.",
    )
    display_name: str = Field(
        pattern=r"^[A-Za-z0-9 '\"!-]{4,30}$",
        description="The project's display name (GCP allows 4-30 of these characters).",
    )
    legal_name: str = Field(min_length=1, description="The licensed legal entity (PT / Koperasi).")
    ojk_licence: OjkLicence
    env: Literal["dev", "staging", "prod"]
    parent: ResourceParent | None = Field(
        default=None,
        description=(
            "Where the project sits; unset (the usual case): the entity's folder that the "
            "organisation's bootstrap stack made, with its policies and logging settings."
        ),
    )
    contacts: Contacts
    billing: BillingAccount
    budget: MonthlyBudget
    cost_center: str = Field(pattern=_LABEL_VALUE)
    products: tuple[str, ...] = Field(min_length=1)
    documents_retention_days: int = Field(
        ge=1, le=36500, description="Borrower documents cannot be deleted or replaced before this."
    )
    log_retention_days: int = Field(ge=1, le=3650)
    lock_retention: bool = Field(
        default=False,
        description=(
            "Lock the documents bucket's and the log bucket's retention: once locked, nobody, "
            "project owners included, can shorten or remove it. Irreversible: ops' decision."
        ),
    )
    backup_retention_days: int = Field(
        default=14, ge=1, le=98, description="How long each daily Firestore backup is kept."
    )
    min_instances: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description=(
            "Instances kept warm per function name, overriding the topology's `min_instances` "
            "for the latency-sensitive functions this entity wants warm (billed while idle)."
        ),
    )
    providers_url: str = Field(
        pattern=r"^https://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$",
        max_length=2048,
        description=(
            "Root URL of the credit-data providers this entity contracts with (civil registry, "
            "credit bureau, e-commerce sales, business profile), https only."
        ),
    )

    payment_gateway_url: str = Field(
        pattern=r"^https://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$",
        max_length=2048,
        description=(
            "Root URL of the payment gateway's API this entity contracts with (it issues the "
            "virtual accounts borrowers repay into and lenders top up through), https only."
        ),
    )

    escrow_account: EscrowAccount | None = Field(
        default=None,
        description=(
            "The escrow bank account lenders' money is held in (required under a licence that "
            "runs the lenders' side): lenders transfer to it, statements are of it."
        ),
    )
    money_limits: MoneyLimits = Field(
        default_factory=MoneyLimits,
        description="The smallest deposit and withdrawal, in rupiah.",
    )
    funding_rules: FundingRules = Field(
        default_factory=FundingRules,
        description=(
            "The smallest commitment, the most lenders per loan, the platform outstanding "
            "from which the lender concentration cap applies, whether only members fund and "
            "borrow, and the cap table the lenders' limits come from (a cooperative: members "
            "only, the `koperasi` table)."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> EntityManifest:
        if self.budget.currency != self.billing.currency:
            raise ValueError(
                f"the budget is in {self.budget.currency} but billing account "
                f"{self.billing.account_id} bills in {self.billing.currency}: "
                "a budget must use its billing account's currency"
            )
        if len(self.project_id) > PROJECT_ID_MAX_LENGTH:
            raise ValueError(
                f"project id {self.project_id!r} is longer than {PROJECT_ID_MAX_LENGTH} "
                "characters: choose a shorter entity_id"
            )
        bad = [p for p in self.products if not _is_product_id(p)]
        if bad:
            raise ValueError(f"product ids must be lowercase slugs: {bad}")
        if len(set(self.products)) != len(self.products):
            raise ValueError("a product is listed twice")
        if "lenders" in SERVED_UNDER[self.ojk_licence.value] and self.escrow_account is None:
            raise ValueError(
                f"a {self.ojk_licence.value} entity holds lenders' money: name its escrow_account"
            )
        cooperative = self.ojk_licence.value == COOPERATIVE_LICENCE
        rules = self.funding_rules
        if cooperative != (rules.members_only and rules.cap_table == "koperasi"):
            raise ValueError(
                "a koperasi_sektor_jasa_keuangan entity, and only one, funds members only "
                'under the cooperative caps: funding_rules {"members_only": true, '
                '"cap_table": "koperasi"} (docs/lending-rules.md#cooperative)'
            )
        return self

    @property
    def project_id(self) -> str:
        """`patungan-<entity>-<env>`: the one project this manifest may ever be deployed to."""
        return f"patungan-{self.entity_id}-{self.env}"

    @property
    def budget_name(self) -> str:
        """The budget's display name, as its notifications name it (`budgetDisplayName`)."""
        return f"{self.project_id} monthly"

    @property
    def labels(self) -> dict[str, str]:
        """Labels on the project and every labelled resource: costs split by them."""
        return {"entity": self.entity_id, "env": self.env, "cost-center": self.cost_center}


def _is_product_id(value: str) -> bool:
    return bool(value) and value[0].isalnum() and all(c.isalnum() or c in "-_" for c in value)


def manifest_path(entity_id: str, entities_dir: Path = ENTITIES_DIR) -> Path:
    return entities_dir / f"{entity_id}.json"


def known_entities(entities_dir: Path = ENTITIES_DIR) -> list[str]:
    """Every entity with a manifest, sorted."""
    return sorted(path.stem for path in entities_dir.glob("*.json"))


def load_manifest(entity_id: str, entities_dir: Path = ENTITIES_DIR) -> EntityManifest:
    """The validated manifest of `entity_id`, or `ManifestError` saying what is wrong."""
    path = manifest_path(entity_id, entities_dir)
    if not path.is_file():
        known = ", ".join(known_entities(entities_dir)) or "none"
        raise ManifestError(f"no entity manifest {path} (known entities: {known})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}") from None
    try:
        manifest = EntityManifest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or 'manifest'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors(include_url=False)
        )
        raise ManifestError(f"{path}: {problems}") from None
    if manifest.entity_id != entity_id:
        raise ManifestError(
            f"{path} declares entity_id {manifest.entity_id!r}; the file must be named "
            f"{manifest.entity_id}.json"
        )
    return manifest
