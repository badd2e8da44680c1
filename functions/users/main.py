"""`users`: borrowers and lenders register; everyone reads themselves; `admin.super` manages.

Routes (rules in shared/services/users.py):
- `POST /` — register the token's subject as a borrower or lender (any signed-in
  caller, `Idempotency-Key` required); identity checked against the civil registry.
- `GET /me` — the caller's own record, identifiers masked.
- `GET /{user_id}`, `POST /lookup` (by NIK), `POST /{user_id}/deactivate`,
  `POST /{user_id}/reactivate`, `PUT /{user_id}/role` — `admin.super` only.

Configuration: `shared.settings.UsersSettings`, read on the first request (a missing
value fails it with the variable's name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import functions_framework

from shared.http.lazy import Lazy
from shared.http.router import Call, HttpServices, Router
from shared.platform.personal_data import PersonalDataVault
from shared.records.users import UserDirectory
from shared.services.users import (
    IdentityRegistry,
    NikLookup,
    Registration,
    RoleChange,
    UserView,
    change_role,
    find_user_by_nik,
    my_profile,
    read_user,
    register_user,
    set_user_active,
)

router: Router[UserServices] = Router(
    "users", description="Register borrowers and lenders; admins manage users and roles."
)
ADMIN = ("admin.super",)


@router.post("/", body=Registration, response=UserView, status=201, signed_in=True, idempotent=True)
def register(call: Call[Registration, UserServices]) -> UserView:
    """Register as a borrower or lender.

    Binds the token's subject to a new user; NIK, NPWP and account number are stored
    encrypted and returned masked.
    """
    s = call.services
    return register_user(
        call.uow, call.body, call.caller.user_id, vault=s.vault, registry=s.registry, clock=s.clock
    )


@router.get("/me", response=UserView, signed_in=True)
def me(call: Call[None, UserServices]) -> UserView:
    """Read my own record."""
    return my_profile(call.uow, call.caller.user_id)


@router.get("/{user_id}", response=UserView, roles=ADMIN)
def read(call: Call[None, UserServices]) -> UserView:
    """Read a user."""
    return read_user(call.uow, call.path["user_id"])


@router.post("/lookup", body=NikLookup, response=UserView, roles=ADMIN)
def lookup(call: Call[NikLookup, UserServices]) -> UserView:
    """Find a user by NIK (through its keyed hash; nothing is decrypted)."""
    return find_user_by_nik(call.uow, call.services.vault, call.body)


@router.post("/{user_id}/deactivate", response=UserView, roles=ADMIN)
def deactivate(call: Call[None, UserServices]) -> UserView:
    """Deactivate a user: every later request of theirs is refused (403)."""
    s = call.services
    return set_user_active(
        call.uow, call.path["user_id"], active=False, admin_id=call.caller.user_id, clock=s.clock
    )


@router.post("/{user_id}/reactivate", response=UserView, roles=ADMIN)
def reactivate(call: Call[None, UserServices]) -> UserView:
    """Reactivate a deactivated user."""
    s = call.services
    return set_user_active(
        call.uow, call.path["user_id"], active=True, admin_id=call.caller.user_id, clock=s.clock
    )


@router.put("/{user_id}/role", body=RoleChange, response=UserView, roles=ADMIN)
def set_role(call: Call[RoleChange, UserServices]) -> UserView:
    """Change a user's role (it applies to their next request)."""
    s = call.services
    return change_role(
        call.uow, call.path["user_id"], call.body, admin_id=call.caller.user_id, clock=s.clock
    )


# --- dependencies, built on the first request ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UserServices(HttpServices):
    vault: PersonalDataVault
    registry: IdentityRegistry


def _services() -> UserServices:
    # Imported here, not at the top: settings and clients cost a cold start nothing until used.
    from shared.adapters.crypto import pii_vault
    from shared.adapters.providers import providers_client
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
        registry=providers_client(settings),
    )


services: Lazy[UserServices] = Lazy(_services)


@functions_framework.http
def users(request: Any) -> Any:
    return router.handle(request, services.get())
