"""`users`: borrowers, lenders and staff register; everyone reads themselves; admins manage.

Routes (rules in shared/services/users.py; the permission each needs in
shared/domain/permissions.py):
- `POST /` — register the token's subject as a borrower, lender or staff member (any
  signed-in caller, `Idempotency-Key` required).
- `GET /me`, `GET /me/permissions` — the caller's own record and what they may do.
- `PUT /me/bank-account` — change one's bank account (shared/services/bank_accounts.py).
- `GET /{user_id}`, `POST /lookup` (by NIK) — `user.read_any`.
- `POST /{user_id}/deactivate`, `/reactivate`, `PUT /{user_id}/role` — `user.manage`.
- `POST /{user_id}/identity/verify` — `identity.verify` (passports, institutions).
- `PUT /{user_id}/membership`, `POST /{user_id}/membership/approve` — `user.manage`: a
  cooperative member's number recorded by one admin.super and approved by another.
- `POST /{user_id}/role-grants`, `GET /role-grants`, `POST /role-grants/{grant_id}/approve`
  and `/reject` — `role.grant`, one admin.super proposing and another deciding.

Configuration: `shared.settings.UsersSettings`, read on the first request (a missing
value fails it with the variable's name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import functions_framework

from shared.domain.permissions import Permission
from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.personal_data import PersonalDataVault
from shared.records.users import RoleGrantRecord, UserDirectory
from shared.services.bank_accounts import BankAccountInput, change_bank_account
from shared.services.users import (
    IdentityRegistry,
    IdentityVerification,
    MembershipRequest,
    MembershipView,
    MyPermissions,
    NikLookup,
    Registration,
    RoleChange,
    RoleGrantList,
    RoleGrantQuery,
    RoleGrantRequest,
    UserView,
    approve_membership,
    change_role,
    decide_role_grant,
    find_user_by_nik,
    list_role_grants,
    my_permissions,
    my_profile,
    propose_role_grant,
    read_user,
    record_membership,
    register_user,
    set_user_active,
    verify_identity,
)

if TYPE_CHECKING:
    from shared.domain.scoring.providers import CivilRegistryCheck, ProviderUnavailable
    from shared.settings import UsersSettings

router: Router[UserServices] = Router(
    "users", description="Register borrowers and lenders; admins manage users and roles."
)


@router.post("/", body=Registration, response=UserView, status=201, signed_in=True, idempotent=True)
def register(call: Call[Registration, UserServices]) -> UserView:
    """Register as a borrower, a lender or staff.

    Binds the token's subject to a new user; identifiers and the account number are
    stored encrypted and returned masked.
    """
    s = call.services
    return register_user(
        call.uow, call.body, call.caller.user_id, vault=s.vault, registry=s.registry, clock=s.clock
    )


@router.get("/me", response=UserView, signed_in=True, not_found=True)
def me(call: Call[None, UserServices]) -> UserView:
    """Read my own record."""
    return my_profile(call.uow, call.caller.user_id)


@router.put(
    "/me/bank-account",
    body=BankAccountInput,
    response=UserView,
    permission=Permission.BANK_ACCOUNT_CHANGE,
)
def bank_account(call: Call[BankAccountInput, UserServices]) -> UserView:
    """Change my bank account: unverified until a deposit from it is confirmed, and no
    withdrawals to it for 24 hours."""
    user = change_bank_account(
        call.uow, call.services.vault, call.caller.user_id, call.body, clock=call.services.clock
    )
    return UserView.of(user)


@router.get("/me/permissions", response=MyPermissions, signed_in=True)
def permissions(call: Call[None, UserServices]) -> MyPermissions:
    """What I may do now (a client shows only these)."""
    return my_permissions(call.caller.role)


@router.get("/{user_id}", response=UserView, permission=Permission.USER_READ_ANY)
def read(call: Call[None, UserServices]) -> UserView:
    """Read a user."""
    return read_user(call.uow, call.path["user_id"])


@router.post(
    "/lookup",
    body=NikLookup,
    response=UserView,
    permission=Permission.USER_READ_ANY,
    not_found=True,
)
def lookup(call: Call[NikLookup, UserServices]) -> UserView:
    """Find a user by NIK (through its keyed hash; nothing is decrypted)."""
    return find_user_by_nik(call.uow, call.services.vault, call.body)


@router.post("/{user_id}/deactivate", response=UserView, permission=Permission.USER_MANAGE)
def deactivate(call: Call[None, UserServices]) -> UserView:
    """Deactivate a user: every later request of theirs is refused (403)."""
    s = call.services
    return set_user_active(
        call.uow, call.path["user_id"], active=False, admin_id=call.caller.user_id, clock=s.clock
    )


@router.post("/{user_id}/reactivate", response=UserView, permission=Permission.USER_MANAGE)
def reactivate(call: Call[None, UserServices]) -> UserView:
    """Reactivate a deactivated user."""
    s = call.services
    return set_user_active(
        call.uow, call.path["user_id"], active=True, admin_id=call.caller.user_id, clock=s.clock
    )


@router.put(
    "/{user_id}/role", body=RoleChange, response=UserView, permission=Permission.USER_MANAGE
)
def set_role(call: Call[RoleChange, UserServices]) -> UserView:
    """Change a user's role (it applies to their next request)."""
    s = call.services
    return change_role(
        call.uow, call.path["user_id"], call.body, admin_id=call.caller.user_id, clock=s.clock
    )


@router.post(
    "/{user_id}/identity/verify",
    body=IdentityVerification,
    response=UserView,
    permission=Permission.IDENTITY_VERIFY,
    idempotent=True,
)
def verify(call: Call[IdentityVerification, UserServices]) -> UserView:
    """Verify a passport holder's or an institution's identity against a document."""
    return verify_identity(
        call.uow,
        call.path["user_id"],
        call.body,
        admin_id=call.caller.user_id,
        clock=call.services.clock,
    )


@router.put(
    "/{user_id}/membership",
    body=MembershipRequest,
    response=MembershipView,
    permission=Permission.USER_MANAGE,
    idempotent=True,
    conflict=True,  # another number over an approved membership; not a borrower or lender
)
def membership(call: Call[MembershipRequest, UserServices]) -> MembershipView:
    """Record a borrower's or lender's number in the cooperative's member register."""
    return record_membership(
        call.uow,
        call.path["user_id"],
        call.body,
        admin_id=call.caller.user_id,
        clock=call.services.clock,
    )


@router.post(
    "/{user_id}/membership/approve",
    response=MembershipView,
    permission=Permission.USER_MANAGE,
    idempotent=True,
    conflict=True,  # no membership recorded
)
def approve_member(call: Call[None, UserServices]) -> MembershipView:
    """Approve a recorded membership (not the admin who recorded it, nor the member)."""
    return approve_membership(
        call.uow, call.path["user_id"], admin_id=call.caller.user_id, clock=call.services.clock
    )


@router.post(
    "/{user_id}/role-grants",
    body=RoleGrantRequest,
    response=RoleGrantRecord,
    status=201,
    permission=Permission.ROLE_GRANT,
    idempotent=True,
)
def propose_grant(call: Call[RoleGrantRequest, UserServices]) -> RoleGrantRecord:
    """Propose an admin role for a staff member; another admin.super decides."""
    s = call.services
    return propose_role_grant(
        call.uow,
        call.path["user_id"],
        call.body,
        admin_id=call.caller.user_id,
        clock=s.clock,
        ids=s.ids,
    )


@router.get(
    "/role-grants", query=RoleGrantQuery, response=RoleGrantList, permission=Permission.ROLE_GRANT
)
def grants(call: Call[None, UserServices]) -> RoleGrantList:
    """Role grants, newest first (pending ones by default)."""
    return list_role_grants(call.uow, call.query)


@router.post(
    "/role-grants/{grant_id}/approve",
    response=RoleGrantRecord,
    permission=Permission.ROLE_GRANT,
    idempotent=True,
)
def approve_grant(call: Call[None, UserServices]) -> RoleGrantRecord:
    """Approve a grant someone else proposed: the role applies at the grantee's next request."""
    return decide_role_grant(
        call.uow,
        call.path["grant_id"],
        approve=True,
        admin_id=call.caller.user_id,
        clock=call.services.clock,
    )


@router.post(
    "/role-grants/{grant_id}/reject",
    response=RoleGrantRecord,
    permission=Permission.ROLE_GRANT,
    idempotent=True,
)
def reject_grant(call: Call[None, UserServices]) -> RoleGrantRecord:
    """Reject a grant someone else proposed."""
    return decide_role_grant(
        call.uow,
        call.path["grant_id"],
        approve=False,
        admin_id=call.caller.user_id,
        clock=call.services.clock,
    )


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UserServices(HttpServices):
    vault: PersonalDataVault
    registry: IdentityRegistry


class _RegistryOnFirstUse(IdentityRegistry):
    """The civil registry client, built on the first registration that asks it: the HTTP
    client stack behind it costs nothing to a request that only reads."""

    def __init__(self, settings: UsersSettings) -> None:
        self._client = Lazy(lambda: _providers(settings))

    def verify_identity(
        self, nik: str, full_name: str, birth_date: date
    ) -> CivilRegistryCheck | ProviderUnavailable:
        return self._client.get().verify_identity(nik, full_name, birth_date)


def _providers(settings: UsersSettings) -> IdentityRegistry:
    from shared.adapters.providers import providers_client

    return providers_client(settings)


def _services() -> UserServices:
    # Imported here, not at the top: settings and clients cost a cold start nothing until used.
    from shared.adapters.crypto import pii_vault
    from shared.http.wiring import http_services, unit_of_work
    from shared.settings import UsersSettings, load_settings

    settings = load_settings(UsersSettings)
    uow = unit_of_work(settings)
    return http_services(
        settings,
        UserServices,
        uow=uow,
        callers=UserDirectory(uow),
        vault=pii_vault(settings),
        registry=_RegistryOnFirstUse(settings),
    )


services: Lazy[UserServices] = Lazy(_services)


@functions_framework.http
def users(request: Any) -> Any:
    return router.handle(request, services.get())
