"""Users: registration of borrowers and lenders, their own profile, and `admin.super`'s tools.

Registration (`register_user`) binds the verified token's subject to a new
user record. In order:
1. Identity data is validated at the edge (`shared.domain.identity`): the NIK
   against the stated date of birth, the NPWP against who holds it (a
   resident individual's NPWP is their NIK; an entity's or a non-resident's
   is the old 15-digit form), the phone normalised to `+62…`; every problem is
   reported at once, by field. Users must be at least 18 (the cap table).
2. The civil registry (Dukcapil) must confirm that NIK, name and date of birth
   are one person. It is called *before* the transaction (a transaction body
   may run several times); if it cannot answer, registration is a 503 with
   Retry-After and nothing is stored (the same Idempotency-Key may retry).
3. One transaction creates `users/<subject>` and one `user_identities`
   document per identifier (`nik-<keyed hash>`, `npwp-<keyed hash>`), so a NIK
   or NPWP registers once across the platform (a second try is a 409), and an
   admin can find a user by NIK without anything being decrypted.

NIK, NPWP and the bank account number are stored only encrypted (AES-GCM,
`PersonalDataVault`) next to their keyed hash and their masked form; every
view returns the masked form (`3174********0001`) and nothing decrypts them
here. The scoring use case decrypts the NIK to ask the providers.

The stored user record, not the token, decides what a caller may do
(`shared.records.users.UserDirectory`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Literal, NamedTuple, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.caps import check_age
from shared.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.domain.identity import (
    TaxpayerKind,
    mask_account_number,
    mask_nik,
    mask_npwp,
    normalize_npwp,
    normalize_phone,
    parse_nik,
)
from shared.platform.callers import Role
from shared.platform.clock import Clock, jakarta_date
from shared.platform.errors import TransientFailure
from shared.platform.ids import require_document_id, valid_document_id
from shared.platform.personal_data import PersonalDataVault
from shared.platform.store import DocumentTransaction, UnitOfWork
from shared.records.users import (
    USER_IDENTITIES,
    BankAccountRecord,
    BorrowerProfile,
    LenderProfile,
    Name,
    UserRecord,
    Users,
)

if TYPE_CHECKING:  # the scoring engine is imported only where a registration needs it
    from shared.domain.scoring.providers import CivilRegistryCheck, ProviderUnavailable


class IdentityRegistry(Protocol):
    """The civil registry (Dukcapil) port: does this NIK, name and birth date match one person?

    `shared.adapters.providers.ProvidersClient` implements it; it answers
    `ProviderUnavailable` (with the reason) instead of raising when it cannot.
    """

    def verify_identity(
        self, nik: str, full_name: str, birth_date: date
    ) -> CivilRegistryCheck | ProviderUnavailable:
        """Dukcapil's answer for one person."""
        ...


class CivilRegistryUnavailable(TransientFailure):
    """The civil registry did not answer; registration cannot be verified right now."""


# --- requests -------------------------------------------------------------------------------


class BankAccountInput(BaseModel):
    """Where payouts go: the bank's three-digit code, the account number and its holder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bank_code: Annotated[str, Field(pattern=r"^\d{3}$", examples=["014"])]
    account_number: Annotated[str, Field(pattern=r"^\d{6,20}$")]
    account_holder: Name


class Registration(BaseModel):
    """`POST /users`: who the caller is. `borrower_profile` or `lender_profile` per role.

    `taxpayer` says whose NPWP a borrower gives: their own (`individual`, the
    default: it must equal the NIK) or their business entity's (`entity`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["borrower", "lender"]
    full_name: Name
    birth_date: date
    nik: Annotated[str, Field(min_length=1, max_length=40)]
    npwp: Annotated[str, Field(min_length=1, max_length=40)]
    phone: Annotated[str, Field(min_length=1, max_length=40)]
    bank_account: BankAccountInput
    taxpayer: Literal["individual", "entity"] = "individual"
    borrower_profile: BorrowerProfile | None = None
    lender_profile: LenderProfile | None = None

    @model_validator(mode="after")
    def _profile_fits_role(self) -> Self:
        if self.role == "borrower" and (self.borrower_profile is None or self.lender_profile):
            raise ValueError("a borrower registers with borrower_profile (and no lender_profile)")
        if self.role == "lender" and (self.lender_profile is None or self.borrower_profile):
            raise ValueError("a lender registers with lender_profile (and no borrower_profile)")
        if self.role == "lender" and self.taxpayer == "entity":
            raise ValueError("lenders register as individuals (taxpayer 'individual')")
        return self


# --- records and views ----------------------------------------------------------------------


class BankAccountView(BaseModel):
    model_config = ConfigDict(frozen=True)

    bank_code: str
    account_number_masked: str
    account_holder: str


class UserView(BaseModel):
    """A user as the API shows them: NIK, NPWP and account number masked, never in full."""

    model_config = ConfigDict(frozen=True)

    id: str
    role: Role
    active: bool
    full_name: str
    birth_date: date
    phone: str
    nik_masked: str
    npwp_masked: str
    bank_account: BankAccountView
    borrower_profile: BorrowerProfile | None
    lender_profile: LenderProfile | None
    identity_verified: bool
    registered_at: datetime

    @classmethod
    def of(cls, user: UserRecord) -> UserView:
        return cls(
            id=user.id,
            role=user.role,
            active=user.active,
            full_name=user.full_name,
            birth_date=user.birth_date,
            phone=user.phone,
            nik_masked=user.nik_masked,
            npwp_masked=user.npwp_masked,
            bank_account=BankAccountView(
                bank_code=user.bank_account.bank_code,
                account_number_masked=user.bank_account.account_number_masked,
                account_holder=user.bank_account.account_holder,
            ),
            borrower_profile=user.borrower_profile,
            lender_profile=user.lender_profile,
            identity_verified=user.identity_verified_at is not None,
            registered_at=user.registered_at,
        )


class RoleChange(BaseModel):
    """`PUT /users/{user_id}/role`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role


class NikLookup(BaseModel):
    """`POST /users/lookup`: find a user by NIK (sent in the body, never in a URL)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nik: Annotated[str, Field(min_length=1, max_length=40)]


# --- registration ---------------------------------------------------------------------------


class _Identity(NamedTuple):
    nik: str
    npwp: str
    phone: str


def _validated_identity(registration: Registration, today: date) -> _Identity:
    """Every identity rule checked, and every failure reported together by field."""
    errors: dict[str, str] = {}
    nik: str | None = None
    try:
        nik = parse_nik(registration.nik, date_of_birth=registration.birth_date).number
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    kind = TaxpayerKind.RESIDENT_INDIVIDUAL
    if registration.taxpayer == "entity":
        kind = TaxpayerKind.ENTITY
    elif registration.lender_profile and registration.lender_profile.residency == "non_resident":
        kind = TaxpayerKind.NON_RESIDENT
    npwp: str | None = None
    if nik is not None or kind is not TaxpayerKind.RESIDENT_INDIVIDUAL:
        try:
            npwp = normalize_npwp(registration.npwp, kind=kind, nik=nik)
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    phone: str | None = None
    try:
        phone = normalize_phone(registration.phone)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    if registration.birth_date > today:
        errors["birth_date"] = "is in the future"
    else:
        age = check_age(registration.birth_date, on=today)
        if not age.compliant:
            errors["birth_date"] = "; ".join(v.detail for v in age.violations)
    if errors or nik is None or npwp is None or phone is None:
        raise ValidationFailed(f"{len(errors)} identity field(s) are invalid", errors)
    return _Identity(nik=nik, npwp=npwp, phone=phone)


def _confirmed_by_registry(
    registry: IdentityRegistry, nik: str, registration: Registration
) -> None:
    from shared.domain.scoring.providers import ProviderUnavailable

    answer = registry.verify_identity(nik, registration.full_name, registration.birth_date)
    if isinstance(answer, ProviderUnavailable):  # nothing stored: the client retries later
        raise CivilRegistryUnavailable(
            "the civil registry could not confirm the identity right now", retry_after_s=5
        )
    if answer.matched:
        return
    errors: dict[str, str] = {}
    if not answer.nik_found:
        errors["nik"] = "is not in the civil registry"
    else:
        if not answer.name_match:
            errors["full_name"] = "does not match the civil registry for this NIK"
        if not answer.birth_date_match:
            errors["birth_date"] = "does not match the civil registry for this NIK"
    raise ValidationFailed("the identity does not match the civil registry", errors)


def identity_document_id(kind: Literal["nik", "npwp"], lookup_hash: str) -> str:
    return f"{kind}-{lookup_hash}"


def register_user(
    uow: UnitOfWork,
    registration: Registration,
    user_id: str,
    *,
    vault: PersonalDataVault,
    registry: IdentityRegistry,
    clock: Clock,
) -> UserView:
    """Register the token subject `user_id` (see the module docstring for the steps)."""
    if not valid_document_id(user_id):
        raise ValidationFailed(
            "this sign-in cannot hold an account", {"sub": "not a valid account id"}
        )
    now = clock.now()
    identity = _validated_identity(registration, jakarta_date(now))
    _confirmed_by_registry(registry, identity.nik, registration)
    nik_hash = vault.lookup_hash("nik", identity.nik)
    npwp_hash = vault.lookup_hash("npwp", identity.npwp)
    nik_doc = identity_document_id("nik", nik_hash)
    npwp_doc = identity_document_id("npwp", npwp_hash)

    def register(tx: DocumentTransaction) -> UserView:
        users = Users(tx)
        if users.get(user_id) is not None:
            raise Conflict("this account is already registered; see GET /users/me")
        taken = tx.get_all(USER_IDENTITIES, [nik_doc, npwp_doc])
        if taken[nik_doc] is not None:
            raise Conflict("this NIK is already registered to another account")
        if taken[npwp_doc] is not None:
            raise Conflict("this NPWP is already registered to another account")
        account = registration.bank_account
        user = UserRecord(
            id=user_id,
            role=registration.role,
            full_name=registration.full_name.strip(),
            birth_date=registration.birth_date,
            phone=identity.phone,
            nik_encrypted=vault.encrypt("nik", identity.nik),
            nik_hash=nik_hash,
            nik_masked=mask_nik(identity.nik),
            npwp_encrypted=vault.encrypt("npwp", identity.npwp),
            npwp_hash=npwp_hash,
            npwp_masked=mask_npwp(identity.npwp),
            bank_account=BankAccountRecord(
                bank_code=account.bank_code,
                account_number_encrypted=vault.encrypt("account_number", account.account_number),
                account_number_masked=mask_account_number(account.account_number),
                account_holder=account.account_holder,
            ),
            borrower_profile=registration.borrower_profile,
            lender_profile=registration.lender_profile,
            identity_verified_at=now,
            registered_at=now,
            updated_at=now,
        )
        users.add(user)
        for doc_id, kind in ((nik_doc, "nik"), (npwp_doc, "npwp")):
            tx.create(USER_IDENTITIES, doc_id, {"user_id": user_id, "kind": kind, "at": now})
        return UserView.of(user)

    return uow.run(register)


# --- reading and administration ---------------------------------------------------------------


def my_profile(uow: UnitOfWork, user_id: str) -> UserView:
    """The caller's own record (404 until they register)."""
    user = uow.run(lambda tx: Users(tx).get(user_id), read_only=True)
    if user is None:
        raise NotFound("you have not registered yet: POST /users")
    return UserView.of(user)


def read_user(uow: UnitOfWork, user_id: str) -> UserView:
    require_document_id(user_id, "user")
    return UserView.of(uow.run(lambda tx: Users(tx).require(user_id), read_only=True))


def find_user_by_nik(uow: UnitOfWork, vault: PersonalDataVault, lookup: NikLookup) -> UserView:
    """The user registered with this NIK (found through its keyed hash, nothing decrypted)."""
    nik = "".join(ch for ch in lookup.nik if ch.isdigit())
    doc_id = identity_document_id("nik", vault.lookup_hash("nik", nik))

    def find(tx: DocumentTransaction) -> UserRecord | None:
        entry = tx.get(USER_IDENTITIES, doc_id)
        return None if entry is None else Users(tx).get(str(entry["user_id"]))

    user = uow.run(find, read_only=True)
    if user is None:
        raise NotFound("no user is registered with this NIK")
    return UserView.of(user)


def _refuse_self(admin_id: str, user_id: str, what: str) -> None:
    if admin_id == user_id:
        raise Forbidden(f"an admin cannot {what} their own account; ask another admin.super")


def set_user_active(
    uow: UnitOfWork, user_id: str, *, active: bool, admin_id: str, clock: Clock
) -> UserView:
    """Deactivate (every later request of theirs is a 403) or reactivate a user."""
    require_document_id(user_id, "user")
    _refuse_self(admin_id, user_id, "deactivate or reactivate")
    now = clock.now()

    def apply(tx: DocumentTransaction) -> UserView:
        users = Users(tx)
        user = users.require(user_id)
        changes: dict[str, object] = {"active": active, "updated_at": now}
        changes |= (
            {"deactivated_at": now, "deactivated_by": admin_id}
            if not active
            else {"deactivated_at": None, "deactivated_by": None}
        )
        updated = user.model_copy(update=changes)
        users.put(updated)
        return UserView.of(updated)

    return uow.run(apply)


def change_role(
    uow: UnitOfWork, user_id: str, change: RoleChange, *, admin_id: str, clock: Clock
) -> UserView:
    """Give a user another role; borrower and lender roles need the matching profile."""
    require_document_id(user_id, "user")
    _refuse_self(admin_id, user_id, "change the role of")
    now = clock.now()

    def apply(tx: DocumentTransaction) -> UserView:
        users = Users(tx)
        user = users.require(user_id)
        if change.role == "borrower" and user.borrower_profile is None:
            raise ValidationFailed(
                "this user has no borrower profile", {"role": "needs a borrower profile"}
            )
        if change.role == "lender" and user.lender_profile is None:
            raise ValidationFailed(
                "this user has no lender profile", {"role": "needs a lender profile"}
            )
        updated = user.model_copy(update={"role": change.role, "updated_at": now})
        users.put(updated)
        return UserView.of(updated)

    return uow.run(apply)
