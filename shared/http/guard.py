"""The auth guard: who is calling, and may they call this route
(docs/architecture.md#authentication).

`authenticate` turns an `Authorization: Bearer <JWT>` header into a `Caller`
through the configured `TokenVerifier` (signature, issuer, audience, expiry,
role — see shared/adapters/auth.py), then consults the `CallerDirectory`:
- a deactivated user is refused (403) even with a valid token;
- a registered user's *current* role comes from their record, so a role an
  `admin.super` removed stops working at once, not when the token expires;
- a user with no record yet (about to register) has no role at all: a `role` claim
  in the token never grants more than the stored record says.

`authorize` refuses (403) a caller whose role does not hold the route's permission
(`shared/domain/permissions.py`), and a caller without any role (signed in, never
registered) everywhere except on routes declared `signed_in=True` (registration).

`require_account` admits only a Google-signed OIDC token of one of the platform's own
service accounts: its `email` is the configured account and `email_verified` is true.
Cloud Run's invoker binding already admits no one else; this is the same check made
again in code, by two callers:
- `require_scheduler` guards a scheduled function (declared `signed_in=True`, as its
  caller is a service account with no role): only its Cloud Scheduler job's token passes;
- an event function's push authentication (`shared.http.events.PushAuthenticator`):
  only its push subscriptions' token passes.
"""

from __future__ import annotations

from shared.domain.errors import Forbidden
from shared.domain.permissions import Permission, roles_with
from shared.http.errors import HeaderTooLarge, MissingToken, Unauthenticated
from shared.platform.callers import Caller, CallerDirectory, TokenVerifier

MAX_AUTHORIZATION_LENGTH = 4096  # Identity Platform's tokens are about 1 KB


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    if authorization is not None and len(authorization) > MAX_AUTHORIZATION_LENGTH:
        # Longer still (over 8 KB), gunicorn answers 431 itself before the function runs.
        raise HeaderTooLarge(
            f"the Authorization header is longer than {MAX_AUTHORIZATION_LENGTH} characters"
        )
    if not authorization or not authorization.strip():
        raise MissingToken("an Authorization: Bearer <token> header is required")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def authenticate(
    authorization: str | None, verifier: TokenVerifier, callers: CallerDirectory | None
) -> Caller:
    """The verified caller with the role their stored record gives them (none without a
    record: the token's own role claim never grants anything); Unauthenticated / Forbidden
    otherwise."""
    caller = verifier.verify(bearer_token(authorization))
    record = callers.lookup(caller.user_id) if callers is not None else None
    if record is None:
        return Caller(caller.user_id, None, caller.claims)
    if not record.active:
        raise Forbidden("this account is deactivated")
    return Caller(caller.user_id, record.role, caller.claims)


def authorize(caller: Caller, permission: Permission) -> None:
    """Forbidden unless the caller's role holds `permission`."""
    if caller.role is None:
        raise Forbidden("you have no account yet: register first (POST /users)")
    if not caller.may(permission):
        allowed = ", ".join(roles_with(permission)) or "no role"
        raise Forbidden(
            f"role {caller.role!r} may not {permission.value}; roles that may: {allowed}"
        )


def require_account(caller: Caller, account: str, refusal: str) -> None:
    """Forbidden (saying `refusal`) unless the verified token is `account`'s own, email
    verified."""
    # `is not True`: an unverified email, or one sent as the string "true", is anyone's claim.
    if caller.claims.get("email") != account or caller.claims.get("email_verified") is not True:
        raise Forbidden(refusal)


def require_scheduler(caller: Caller, invoker: str) -> None:
    """Forbidden unless the verified token is the scheduler account's own, email verified."""
    require_account(caller, invoker, "only this function's Cloud Scheduler job may call it")
