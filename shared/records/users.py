"""What the store keeps about a user.

`users/<user id>` (the token subject) is a `UserRecord`. NIK, NPWP and the bank account
number are stored only encrypted, next to their keyed lookup hash and their masked form
(docs/lending-rules.md#identity-data); nothing here decrypts them.
`user_identities/<kind>-<keyed hash>` makes each NIK and NPWP register once across the
platform.

`UserDirectory` is the `CallerDirectory` every HTTP function uses: the user record — not
the token — says a caller's current role and whether the account is active, so a
deactivation or a role change applies to the next request.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.domain.errors import NotFound
from shared.domain.identity import PROVINCES
from shared.fields import RateText
from shared.platform.callers import CallerDirectory, CallerRecord, Role
from shared.platform.ids import require_document_id
from shared.platform.store import Repository, UnitOfWork

USERS = "users"
USER_IDENTITIES = "user_identities"

MAX_TREATY_RATE = Decimal("0.20")  # PPh 26's statutory rate: a treaty only ever lowers it


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
Name = Annotated[str, Field(min_length=1, max_length=120)]


class BorrowerProfile(BaseModel):
    """The borrower's business, as the scorecard's character and condition Cs read it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    business_name: Name
    sector: Sector
    province_code: Annotated[str, Field(pattern=r"^\d{2}$", examples=["31"])]
    years_in_business: Annotated[Decimal, Field(ge=0, le=100)]
    store_ids: Annotated[tuple[StoreId, ...], Field(max_length=10)] = ()

    @model_validator(mode="after")
    def _known_province(self) -> Self:
        if self.province_code not in PROVINCES:
            raise ValueError(f"province_code {self.province_code} is not an Indonesian province")
        return self


class LenderProfile(BaseModel):
    """Tax residency decides the withholding on interest (PPh 23 or PPh 26 / treaty rate)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    residency: Literal["resident", "non_resident"]
    treaty_rate: RateText | None = None

    @model_validator(mode="after")
    def _treaty_rate_for_non_residents(self) -> Self:
        if self.treaty_rate is not None:
            if self.residency != "non_resident":
                raise ValueError("treaty_rate applies to non-resident lenders only")
            if self.treaty_rate > MAX_TREATY_RATE:
                raise ValueError(f"treaty_rate cannot exceed PPh 26's {MAX_TREATY_RATE}")
        return self


class BankAccountRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    bank_code: str
    account_number_encrypted: str
    account_number_masked: str
    account_holder: str


class UserRecord(BaseModel):
    """`users/<user id>` (the token subject). Personal identifiers only encrypted + masked."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    role: Role
    active: bool = True
    full_name: str
    birth_date: date
    phone: str
    nik_encrypted: str
    nik_hash: str
    nik_masked: str
    npwp_encrypted: str
    npwp_hash: str
    npwp_masked: str
    bank_account: BankAccountRecord
    borrower_profile: BorrowerProfile | None = None
    lender_profile: LenderProfile | None = None
    identity_verified_at: AwareDatetime | None = None
    registered_at: AwareDatetime
    updated_at: AwareDatetime
    deactivated_at: AwareDatetime | None = None
    deactivated_by: str | None = None


class Users(Repository[UserRecord]):
    collection = USERS
    model = UserRecord


class UserDirectory(CallerDirectory):
    """Callers' current role and status, read from `users/<id>` (one read per request)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def lookup(self, user_id: str) -> CallerRecord | None:
        try:
            require_document_id(user_id, "user")
        except NotFound:
            return None  # no record can exist under such an id
        data = self._uow.run(lambda tx: tx.get(USERS, user_id), read_only=True)
        if data is None:
            return None
        return CallerRecord(user_id=user_id, role=data["role"], active=data.get("active") is True)
