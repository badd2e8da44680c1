"""Users: registration of borrowers, lenders and staff; their own profile; `admin.super`'s
tools; admin roles granted by one `admin.super` and approved by another.

Registration (`register_user`) binds the verified token's subject to a new user record.
Who may register, and with what (docs/lending-rules.md#identity-data):

| who | identity | verified by |
|---|---|---|
| borrower, staff, resident person lending | NIK (NPWP but for staff) | the civil registry |
| non-resident person lending | passport and foreign tax id | `admin.finance`, later |
| institution lending | the institution's NPWP | `admin.finance`, later |

In order:
1. Identity data is validated at the edge (`shared.domain.identity`): the NIK against the
   stated date of birth, the NPWP against who holds it, the phone normalised to `+62…`;
   every problem is reported at once, by field. People must be at least 18.
2. For a NIK, the civil registry (Dukcapil) must confirm that NIK, name and date of birth
   are one person. It is called *before* the transaction; if it cannot answer,
   registration is a 503 with Retry-After and nothing is stored.
3. One transaction creates `users/<subject>` and one `user_identities` document per
   identifier (`nik-…`, `npwp-…`, `passport-…`, keyed hashes), so each registers once across
   the platform (a second try is a 409).

Identifiers are stored only encrypted (`PersonalDataVault`) next to their keyed hash and
their masked form; every view returns the masked form (`3174********0001`).

Staff: a new employee registers as `staff` (no power at all). An `admin.super` proposes an
admin role for them (`propose_role_grant`) and another `admin.super` approves it
(`approve_role_grant`): nobody grants a role alone, nor to themselves
(`shared.domain.maker_checker`). The entity's two founding `admin.super` accounts are
created by the ops command `python -m scripts.bootstrap_admin` (`bootstrap_admin_super`),
which refuses once both exist. The stored record, not the token, decides what a caller may do
(`shared.records.users.UserDirectory`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Literal, NamedTuple, Protocol, Self

from pydantic import ConfigDict, Field, model_validator

from shared.domain.errors import Conflict, NotFound, ValidationFailed
from shared.domain.identity import (
    TaxpayerKind,
    mask_nik,
    mask_npwp,
    normalize_npwp,
    normalize_phone,
    parse_nik,
)
from shared.domain.maker_checker import Made, checked, refuse_own_case
from shared.domain.permissions import ADMIN_ROLES, Permission, permissions_of
from shared.fields import DocumentId, Name, PlainStr, ProseStr
from shared.model import Model
from shared.platform.callers import Role
from shared.platform.clock import Clock, jakarta_date
from shared.platform.errors import TransientFailure
from shared.platform.ids import IdGenerator, require_document_id, valid_document_id
from shared.platform.personal_data import PersonalDataVault, PiiKind
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.users import (
    USER_IDENTITIES,
    BorrowerProfile,
    LenderProfile,
    Membership,
    RoleGrantRecord,
    RoleGrants,
    SealedIdentifier,
    UserRecord,
    Users,
)
from shared.services.bank_accounts import (
    BankAccountInput,
    sealed_bank_account,
    withdrawals_held_until,
)

if TYPE_CHECKING:  # the scoring engine is imported only where a registration needs it
    from shared.domain.scoring.providers import CivilRegistryCheck, ProviderUnavailable

FOUNDING_SUPERS = 2  # a grant needs a proposer and a different approver


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

Identifier = Annotated[PlainStr, Field(min_length=1, max_length=40)]


class PassportInput(Model):
    """A non-resident's passport: its number and the issuing country (ISO 3166 alpha-2)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: Annotated[str, Field(pattern=r"^[A-Z0-9]{5,20}$")]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Registration(Model):
    """`POST /users`: who the caller is (see the module docstring for who gives what).

    `taxpayer` says whose NPWP a borrower gives: their own (`individual`, the default: it
    must equal the NIK) or their business entity's (`entity`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["borrower", "lender", "staff"]
    full_name: Name
    birth_date: date | None = None
    nik: Identifier | None = None
    npwp: Identifier | None = None
    passport: PassportInput | None = None
    foreign_tax_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{4,30}$")] | None = None
    phone: Identifier
    bank_account: BankAccountInput | None = None
    taxpayer: Literal["individual", "entity"] = "individual"
    borrower_profile: BorrowerProfile | None = None
    lender_profile: LenderProfile | None = None

    @model_validator(mode="after")
    def _identity_fits_who_registers(self) -> Self:
        lender = self.lender_profile
        if self.role == "borrower" and (self.borrower_profile is None or lender):
            raise ValueError("a borrower registers with borrower_profile (and no lender_profile)")
        if self.role == "lender" and (lender is None or self.borrower_profile):
            raise ValueError("a lender registers with lender_profile (and no borrower_profile)")
        if self.role == "staff" and (lender or self.borrower_profile):
            raise ValueError("staff register without a borrower or lender profile")
        if self.role != "staff" and self.bank_account is None:
            raise ValueError("borrowers and lenders register the bank account payouts go to")
        if self.role == "lender" and self.taxpayer == "entity":
            raise ValueError("lenders say what they are in lender_profile.kind, not taxpayer")
        needs = self.identity_kind
        missing = [
            name
            for name, needed in (
                ("nik", needs == "nik"),
                ("birth_date", needs in ("nik", "passport")),
                ("npwp", needs == "institution" or self.role == "borrower"),
                ("passport", needs == "passport"),
                ("foreign_tax_id", needs == "passport"),
            )
            if needed and getattr(self, name) is None
        ]
        if missing:
            raise ValueError(f"this registration needs {', '.join(missing)}")
        if needs != "passport" and (self.passport or self.foreign_tax_id):
            raise ValueError("a passport and a foreign tax id are for non-resident individuals")
        if needs != "nik" and self.nik is not None:
            raise ValueError("a NIK is for resident individuals")
        return self

    @property
    def identity_kind(self) -> Literal["nik", "passport", "institution"]:
        """What identifies the registrant: a NIK, a passport, or an institution's NPWP."""
        lender = self.lender_profile
        if lender is not None and lender.kind == "institution":
            return "institution"
        if lender is not None and lender.residency == "non_resident":
            return "passport"
        return "nik"


class BankAccountView(Model):
    model_config = ConfigDict(frozen=True)

    bank_code: str
    account_number_masked: str
    account_holder: str
    verified: bool  # a deposit from it was confirmed against the bank statement
    withdrawals_held_until: datetime | None  # a changed account holds withdrawals a while


class UserView(Model):
    """A user as the API shows them: identifiers masked, never in full."""

    model_config = ConfigDict(frozen=True)

    id: str
    role: Role
    active: bool
    full_name: str
    birth_date: date | None
    phone: str
    nik_masked: str | None
    npwp_masked: str | None
    passport_masked: str | None
    bank_account: BankAccountView | None
    borrower_profile: BorrowerProfile | None
    lender_profile: LenderProfile | None
    identity_verified: bool
    registered_at: datetime

    @classmethod
    def of(cls, user: UserRecord) -> UserView:
        account = user.bank_account
        return cls(
            id=user.id,
            role=user.role,
            active=user.active,
            full_name=user.full_name,
            birth_date=user.birth_date,
            phone=user.phone,
            nik_masked=user.nik_masked,
            npwp_masked=user.npwp_masked,
            passport_masked=user.passport.masked if user.passport else None,
            bank_account=None
            if account is None
            else BankAccountView(
                bank_code=account.bank_code,
                account_number_masked=account.account_number_masked,
                account_holder=account.account_holder,
                verified=account.verified_at is not None,
                withdrawals_held_until=withdrawals_held_until(account),
            ),
            borrower_profile=user.borrower_profile,
            lender_profile=user.lender_profile,
            identity_verified=user.identity_verified_at is not None,
            registered_at=user.registered_at,
        )


class MyPermissions(Model):
    """What the caller may do now: what a client shows them."""

    model_config = ConfigDict(frozen=True)

    role: Role | None
    permissions: tuple[Permission, ...]


class RoleChange(Model):
    """`PUT /users/{user_id}/role`: a role without admin power (admin roles are granted)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role


class NikLookup(Model):
    """`POST /users/lookup`: find a user by NIK (sent in the body, never in a URL)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nik: Identifier


class IdentityVerification(Model):
    """`POST /users/{user_id}/identity/verify`: what `admin.finance` checked, and against what."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    narrative: Annotated[ProseStr, Field(min_length=10, max_length=2000)]
    document_reference: Annotated[PlainStr, Field(min_length=1, max_length=200)]


class MembershipRequest(Model):
    """`PUT /users/{user_id}/membership`: the user's number in the cooperative's member
    register."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    member_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9./-]{0,39}$")]


class MembershipView(Model):
    model_config = ConfigDict(frozen=True)

    user_id: str
    member_number: str
    recorded_by: str
    approved_by: str | None
    approved: bool

    @classmethod
    def of(cls, user_id: str, membership: Membership) -> MembershipView:
        return cls(
            user_id=user_id,
            member_number=membership.member_number,
            recorded_by=membership.made.by,
            approved_by=membership.checked.by if membership.checked else None,
            approved=membership.approved,
        )


class RoleGrantRequest(Model):
    """`POST /users/{user_id}/role-grants`: the admin role proposed for a staff member."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["admin.credit", "admin.finance", "admin.super"]
    narrative: Annotated[ProseStr, Field(min_length=10, max_length=2000)]


class RoleGrantQuery(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    state: Literal["pending", "approved", "rejected"] | None = "pending"
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class RoleGrantList(Model):
    model_config = ConfigDict(frozen=True)

    grants: tuple[RoleGrantRecord, ...]


# --- registration ---------------------------------------------------------------------------


class _Identity(NamedTuple):
    nik: str | None
    npwp: str | None
    phone: str


def _validated_identity(registration: Registration, today: date) -> _Identity:
    """Every identity rule checked, and every failure reported together by field."""
    errors: dict[str, str] = {}
    nik: str | None = None
    if registration.nik is not None and registration.birth_date is not None:
        try:
            nik = parse_nik(registration.nik, date_of_birth=registration.birth_date).number
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    npwp: str | None = None
    if registration.npwp is not None:
        kind = TaxpayerKind.RESIDENT_INDIVIDUAL
        if registration.taxpayer == "entity" or registration.identity_kind == "institution":
            kind = TaxpayerKind.ENTITY
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
    birth = registration.birth_date
    if birth is not None and birth > today:
        errors["birth_date"] = "is in the future"
    elif birth is not None:
        # The caps tables are loaded by a registration, not by every read of a user.
        from shared.domain.caps import check_age

        age = check_age(birth, on=today)
        if not age.compliant:
            errors["birth_date"] = "; ".join(v.detail for v in age.violations)
    if errors or phone is None or (registration.nik is not None and nik is None):
        raise ValidationFailed(f"{len(errors)} identity field(s) are invalid", errors)
    if registration.npwp is not None and npwp is None:
        raise ValidationFailed("1 identity field(s) are invalid", {"npwp": "is invalid"})
    return _Identity(nik=nik, npwp=npwp, phone=phone)


def _confirmed_by_registry(
    registry: IdentityRegistry, nik: str, registration: Registration
) -> None:
    from shared.domain.scoring.providers import ProviderUnavailable

    assert registration.birth_date is not None  # a NIK registration names the birth date
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


IdentityKind = Literal["nik", "npwp", "passport"]


def identity_document_id(kind: IdentityKind, lookup_hash: str) -> str:
    return f"{kind}-{lookup_hash}"


def _sealed(vault: PersonalDataVault, kind: PiiKind, value: str, masked: str) -> SealedIdentifier:
    return SealedIdentifier(
        encrypted=vault.encrypt(kind, value), hash=vault.lookup_hash(kind, value), masked=masked
    )


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
    if identity.nik is not None:
        _confirmed_by_registry(registry, identity.nik, registration)
    nik = _sealed(vault, "nik", identity.nik, mask_nik(identity.nik)) if identity.nik else None
    npwp = (
        _sealed(vault, "npwp", identity.npwp, mask_npwp(identity.npwp)) if identity.npwp else None
    )
    passport = registration.passport
    sealed_passport = (
        _sealed(
            vault, "passport", f"{passport.country}:{passport.number}", mask_nik(passport.number)
        )
        if passport
        else None
    )
    foreign_tax_id = registration.foreign_tax_id
    sealed_identifiers: tuple[tuple[IdentityKind, SealedIdentifier | None, str], ...] = (
        ("nik", nik, "NIK"),
        ("npwp", npwp, "NPWP"),
        ("passport", sealed_passport, "passport"),
    )
    identities = {
        identity_document_id(kind, sealed.hash): (kind, label)
        for kind, sealed, label in sealed_identifiers
        if sealed is not None
    }

    def register(tx: DocumentTransaction) -> UserView:
        users = Users(tx)
        if users.get(user_id) is not None:
            raise Conflict("this account is already registered; see GET /users/me")
        taken = tx.get_all(USER_IDENTITIES, list(identities))
        for doc_id, (_, label) in identities.items():
            if taken[doc_id] is not None:
                raise Conflict(f"this {label} is already registered to another account")
        account = registration.bank_account
        user = UserRecord(
            id=user_id,
            role=registration.role,
            full_name=registration.full_name.strip(),
            birth_date=registration.birth_date,
            phone=identity.phone,
            nik_encrypted=nik.encrypted if nik else None,
            nik_hash=nik.hash if nik else None,
            nik_masked=nik.masked if nik else None,
            npwp_encrypted=npwp.encrypted if npwp else None,
            npwp_hash=npwp.hash if npwp else None,
            npwp_masked=npwp.masked if npwp else None,
            passport=sealed_passport,
            passport_country=passport.country if passport else None,
            foreign_tax_id=(
                _sealed(vault, "foreign_tax_id", foreign_tax_id, mask_nik(foreign_tax_id))
                if foreign_tax_id
                else None
            ),
            bank_account=None if account is None else sealed_bank_account(vault, account),
            borrower_profile=registration.borrower_profile,
            lender_profile=registration.lender_profile,
            # The civil registry confirmed a NIK; anyone else waits for admin.finance.
            identity_verified_at=now if nik is not None else None,
            registered_at=now,
            updated_at=now,
        )
        users.add(user)
        for doc_id, (kind, _) in identities.items():
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


def my_permissions(role: Role | None) -> MyPermissions:
    """The permissions the caller's current role holds (none before registering)."""
    return MyPermissions(role=role, permissions=tuple(sorted(permissions_of(role))))


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


def set_user_active(
    uow: UnitOfWork, user_id: str, *, active: bool, admin_id: str, clock: Clock
) -> UserView:
    """Deactivate (every later request of theirs is a 403) or reactivate a user."""
    require_document_id(user_id, "user")
    refuse_own_case(admin_id, user_id, "deactivate or reactivate an account")
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
    """Give a user a role without admin power (borrower and lender need their profile;
    taking an admin role away makes them `staff`); admin roles are granted, never set."""
    require_document_id(user_id, "user")
    refuse_own_case(admin_id, user_id, "change the role of an account")
    if change.role in ADMIN_ROLES:
        raise ValidationFailed(
            "admin roles are granted by one admin.super and approved by another",
            {"role": "propose it with POST /users/{user_id}/role-grants"},
        )
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


def verify_identity(
    uow: UnitOfWork,
    user_id: str,
    command: IdentityVerification,
    *,
    admin_id: str,
    clock: Clock,
) -> UserView:
    """`admin.finance` verifies the identity of a registrant the civil registry cannot
    (a non-resident's passport, an institution's deed and NPWP), against a document."""
    require_document_id(user_id, "user")
    refuse_own_case(admin_id, user_id, "verify an identity")
    now = clock.now()

    def apply(tx: DocumentTransaction) -> UserView:
        users = Users(tx)
        user = users.require(user_id)
        if user.identity_verified_at is not None:
            raise Conflict(f"the identity of {user_id} is already verified")
        updated = user.model_copy(
            update={
                "identity_verified_at": now,
                "identity_verified_by": admin_id,
                "identity_verification": command.model_dump(),
                "updated_at": now,
            }
        )
        users.put(updated)
        return UserView.of(updated)

    return uow.run(apply)


# --- cooperative membership: recorded by one admin.super, approved by another ----------------


def record_membership(
    uow: UnitOfWork,
    user_id: str,
    command: MembershipRequest,
    *,
    admin_id: str,
    clock: Clock,
) -> MembershipView:
    """An `admin.super` records a borrower's or lender's number in the cooperative's member
    register (docs/lending-rules.md#cooperative); it counts once another approves it. The
    same number again changes nothing; a different one replaces a pending record and is
    refused over an approved one."""
    require_document_id(user_id, "user")
    refuse_own_case(admin_id, user_id, "record a membership")
    now = clock.now()

    def record(tx: DocumentTransaction) -> MembershipView:
        users = Users(tx)
        user = users.require(user_id)
        if user.role not in ("borrower", "lender"):
            raise Conflict(f"members borrow or lend; {user_id} is {user.role!r}")
        current = user.membership
        if current is not None and current.member_number == command.member_number:
            return MembershipView.of(user_id, current)
        if current is not None and current.approved:
            raise Conflict(
                f"{user_id} is already member {current.member_number} of the cooperative"
            )
        membership = Membership(member_number=command.member_number, made=Made(by=admin_id, at=now))
        users.put(user.model_copy(update={"membership": membership, "updated_at": now}))
        return MembershipView.of(user_id, membership)

    return uow.run(record)


def approve_membership(
    uow: UnitOfWork, user_id: str, *, admin_id: str, clock: Clock
) -> MembershipView:
    """A second `admin.super` approves a recorded membership: from now on the user funds and
    borrows at the cooperative. The one who recorded it, and the member, cannot."""
    require_document_id(user_id, "user")
    now = clock.now()

    def approve(tx: DocumentTransaction) -> MembershipView:
        users = Users(tx)
        user = users.require(user_id)
        membership = user.membership
        if membership is None:
            raise Conflict(f"no membership of {user_id} is recorded")
        if membership.approved:
            return MembershipView.of(user_id, membership)
        approved = membership.model_copy(
            update={
                "checked": checked(
                    admin_id, membership.made, now, action="approve a membership", subject=user_id
                )
            }
        )
        users.put(user.model_copy(update={"membership": approved, "updated_at": now}))
        return MembershipView.of(user_id, approved)

    return uow.run(approve)


# --- admin roles: proposed by one admin.super, approved by another ----------------------------


def propose_role_grant(
    uow: UnitOfWork,
    user_id: str,
    command: RoleGrantRequest,
    *,
    admin_id: str,
    clock: Clock,
    ids: IdGenerator,
) -> RoleGrantRecord:
    """An `admin.super` proposes an admin role for a registered staff member."""
    require_document_id(user_id, "user")
    refuse_own_case(admin_id, user_id, "grant a role")
    now = clock.now()
    grant_id = ids.new_id("grant")

    def propose(tx: DocumentTransaction) -> RoleGrantRecord:
        user = Users(tx).require(user_id)
        if user.role not in ("staff", *ADMIN_ROLES) or user.nik_hash is None:
            raise Conflict(
                "admin roles go to staff with a NIK the civil registry confirmed; "
                f"{user_id} is {user.role!r}"
            )
        if user.role == command.role:
            raise Conflict(f"{user_id} already holds {command.role!r}")
        grant = RoleGrantRecord(
            id=grant_id,
            user_id=user_id,
            role=command.role,
            narrative=command.narrative,
            state="pending",
            made=Made(by=admin_id, at=now),
            proposed_at=now,
        )
        RoleGrants(tx).add(grant)
        return grant

    return uow.run(propose)


def decide_role_grant(
    uow: UnitOfWork,
    grant_id: str,
    *,
    approve: bool,
    admin_id: str,
    clock: Clock,
) -> RoleGrantRecord:
    """A second `admin.super` approves (the role applies to the staff member's next
    request) or rejects a pending grant; the proposer and the grantee cannot."""
    require_document_id(grant_id, "role grant")
    now = clock.now()

    def decide(tx: DocumentTransaction) -> RoleGrantRecord:
        grants, users = RoleGrants(tx), Users(tx)
        grant = grants.get(grant_id)
        if grant is None:
            raise NotFound(f"there is no role grant {grant_id!r}")
        user = users.require(grant.user_id)
        if grant.state != "pending":
            raise Conflict(f"role grant {grant_id} is already {grant.state}")
        action = "approve this role grant" if approve else "reject this role grant"
        decided = grant.model_copy(
            update={
                "state": "approved" if approve else "rejected",
                "checked": checked(admin_id, grant.made, now, action=action, subject=user.id),
            }
        )
        grants.put(decided)
        if approve:
            users.put(user.model_copy(update={"role": grant.role, "updated_at": now}))
        return decided

    return uow.run(decide)


def list_role_grants(uow: UnitOfWork, query: RoleGrantQuery) -> RoleGrantList:
    where = [Where("state", "==", query.state)] if query.state else []
    grants = uow.run(
        lambda tx: RoleGrants(tx).find(
            *where, order_by=(OrderBy("proposed_at", descending=True),), limit=query.limit
        ),
        read_only=True,
    )
    return RoleGrantList(grants=tuple(grants))


class StaffIdentity(Model):
    """What the ops bootstrap records about the first `admin.super` (verified by ops)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: DocumentId
    full_name: Name
    birth_date: date
    nik: Identifier
    phone: Identifier


def bootstrap_admin_super(
    uow: UnitOfWork,
    staff: StaffIdentity,
    *,
    vault: PersonalDataVault,
    clock: Clock,
    verified_by: str,
) -> UserView:
    """One of the entity's founding `admin.super` accounts, created by ops
    (`scripts/bootstrap_admin.py`).

    Two are founded, since a grant needs one admin.super to propose and another to approve;
    refused once both exist: every later admin is granted and approved."""
    now = clock.now()
    identity = _validated_identity(
        Registration(
            role="staff",
            full_name=staff.full_name,
            birth_date=staff.birth_date,
            nik=staff.nik,
            phone=staff.phone,
        ),
        jakarta_date(now),
    )
    assert identity.nik is not None  # a staff registration carries a NIK
    nik = _sealed(vault, "nik", identity.nik, mask_nik(identity.nik))
    nik_doc = identity_document_id("nik", nik.hash)

    def bootstrap(tx: DocumentTransaction) -> UserView:
        users = Users(tx)
        if len(users.find(Where("role", "==", "admin.super"), limit=FOUNDING_SUPERS)) >= (
            FOUNDING_SUPERS
        ):
            raise Conflict(
                f"this entity has its {FOUNDING_SUPERS} founding admin.super accounts: further "
                "admins are granted by one admin.super and approved by another"
            )
        if users.get(staff.user_id) is not None or tx.get(USER_IDENTITIES, nik_doc) is not None:
            raise Conflict("this account or NIK is already registered")
        user = UserRecord(
            id=staff.user_id,
            role="admin.super",
            full_name=staff.full_name,
            birth_date=staff.birth_date,
            phone=identity.phone,
            nik_encrypted=nik.encrypted,
            nik_hash=nik.hash,
            nik_masked=nik.masked,
            identity_verified_at=now,
            identity_verified_by=verified_by,
            registered_at=now,
            updated_at=now,
        )
        users.add(user)
        tx.create(USER_IDENTITIES, nik_doc, {"user_id": staff.user_id, "kind": "nik", "at": now})
        return UserView.of(user)

    return uow.run(bootstrap)
