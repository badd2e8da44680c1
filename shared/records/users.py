"""What the store keeps about a user.

`users/<user id>` (the token subject) is a `UserRecord`. NIK, NPWP, passport and foreign
tax numbers and the bank account number are stored only encrypted, next to their keyed
lookup hash and their masked form (docs/lending-rules.md#identity-data); nothing here
decrypts them. `user_identities/<kind>-<keyed hash>` makes each NIK, NPWP and passport
register once across the platform.

`UserDirectory` (shared/records/user_directory.py, also importable from here) is the
`CallerDirectory` every HTTP function uses: the user record — not the token — says a
caller's current role and whether the account is active, so a deactivation or a role
change applies to the next request.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from shared.domain.maker_checker import Checked, Made
from shared.fields import DocumentId, Instant, Name, PlainStr, Rupiah
from shared.model import Model
from shared.platform.callers import Role
from shared.platform.store import Repository
from shared.records.user_directory import USERS as USERS
from shared.records.user_directory import UserDirectory as UserDirectory

USER_IDENTITIES = "user_identities"
ROLE_GRANTS = "role_grants"


Sector = Literal[
    "groceries",
    "food_and_beverage",
    "health_and_beauty",
    "education",
    "household_goods",
    "retail",
    "fashion",
    "electronics",
    "services",
    "logistics",
    "manufacturing",
    "crafts",
    "creative",
    "agriculture",
    "fisheries",
    "livestock",
    "construction",
    "tourism",
    "other",
]
StoreId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]


class BorrowerProfile(Model):
    """The borrower's business, as the scorecard's character and condition Cs read it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    business_name: Name
    sector: Sector
    province_code: Annotated[str, Field(pattern=r"^\d{2}$", examples=["31"])]
    years_in_business: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
    store_ids: Annotated[tuple[StoreId, ...], Field(max_length=10)] = ()

    @model_validator(mode="after")
    def _known_province(self) -> Self:
        from shared.domain.identity import PROVINCES  # with the first profile read, not import

        if self.province_code not in PROVINCES:
            raise ValueError(f"province_code {self.province_code} is not an Indonesian province")
        return self


class LenderProfile(Model):
    """Who lends: a person or an institution, resident in Indonesia for tax or not.

    Residency decides the withholding on interest (PPh 23, or PPh 26 and a treaty rate
    with a verified certificate of domicile); an institution may be exempt by law (PPh 23(4))
    on the basis it states, once `admin.finance` verified it. `annual_income` and
    `professional` are what the placement limits are measured against.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["individual", "institution"] = "individual"
    residency: Literal["resident", "non_resident"]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["SG"])] = "ID"
    institution_name: Name | None = None
    withholding_exemption_basis: Annotated[PlainStr, Field(min_length=5, max_length=300)] | None = (
        None
    )
    professional: bool = False
    annual_income: Rupiah | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.residency == "resident") != (self.country == "ID"):
            raise ValueError("a resident lender's country is ID, a non-resident's another one")
        if self.kind == "institution" and self.institution_name is None:
            raise ValueError("an institution registers with its institution_name")
        if self.kind == "individual" and self.institution_name is not None:
            raise ValueError("institution_name is for institutions")
        if self.withholding_exemption_basis is not None and not (
            self.kind == "institution" and self.residency == "resident"
        ):
            raise ValueError(
                "only a resident institution can be exempt from withholding (PPh 23(4))"
            )
        return self


class BankAccountRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    bank_code: str
    account_number_encrypted: str
    account_number_masked: str
    account_number_hash: str | None = None  # keyed hash, to compare with statement lines
    account_holder: str
    changed_at: AwareDatetime | None = None  # None: registered with the account
    # Verified when a deposit from it was confirmed against the bank statement (a lender's),
    # or when the bank's account inquiry named its holder (a borrower's, before a payout).
    verified_at: AwareDatetime | None = None
    verified_by_deposit: str | None = None
    verified_by_inquiry: str | None = None  # the admin whose disbursement request asked


class Membership(Model):
    """Membership of the cooperative (docs/lending-rules.md#cooperative): the number the
    cooperative's member register gives the user, recorded by one `admin.super` and approved
    by another. Only an approved membership (`checked`) lets a user fund or borrow at a
    cooperative entity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    member_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9./-]{0,39}$")]
    made: Made
    checked: Checked | None = None

    @property
    def approved(self) -> bool:
        return self.checked is not None


class SealedIdentifier(Model):
    """A personal identifier as stored: encrypted, its keyed lookup hash, and masked."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    encrypted: str
    hash: str
    masked: str


class LenderAgreements(Model):
    """The lender agreement and risk disclosure versions a lender accepted, and when
    (docs/lending-rules.md#funding)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lender_agreement: str
    risk_disclosure: str
    accepted_at: AwareDatetime


class UserRecord(Model):
    """`users/<user id>` (the token subject). Personal identifiers only encrypted + masked.

    A resident person has a NIK the civil registry confirmed at registration; a
    non-resident has a passport (and a foreign tax id), an institution an NPWP: their
    identity is verified by `admin.finance` (`identity_verified_by`).
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    role: Role
    active: bool = True
    full_name: str
    birth_date: date | None = None
    phone: str
    nik_encrypted: str | None = None
    nik_hash: str | None = None
    nik_masked: str | None = None
    npwp_encrypted: str | None = None
    npwp_hash: str | None = None
    npwp_masked: str | None = None
    passport: SealedIdentifier | None = None
    passport_country: str | None = None
    foreign_tax_id: SealedIdentifier | None = None
    bank_account: BankAccountRecord | None = None
    borrower_profile: BorrowerProfile | None = None
    lender_profile: LenderProfile | None = None
    lender_agreements: LenderAgreements | None = None
    affiliate_group_id: str | None = None  # lenders under common control (concentration cap)
    membership: Membership | None = None  # of the cooperative, where funding is members only
    identity_verified_at: AwareDatetime | None = None
    identity_verified_by: str | None = None  # an admin; None when the civil registry confirmed
    registered_at: AwareDatetime
    updated_at: AwareDatetime
    deactivated_at: AwareDatetime | None = None
    deactivated_by: str | None = None
    virtual_account: str | None = None  # a lender's top-up account at the payment gateway


class Users(Repository[UserRecord]):
    collection = USERS
    model = UserRecord


class RoleGrantRecord(Model):
    """`role_grants/<grant id>`: an admin role proposed by one `admin.super`, decided by
    another."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: DocumentId
    user_id: str
    role: Role
    narrative: str
    state: Literal["pending", "approved", "rejected"]
    made: Made
    checked: Checked | None = None
    proposed_at: Instant


class RoleGrants(Repository[RoleGrantRecord]):
    collection = ROLE_GRANTS
    model = RoleGrantRecord
