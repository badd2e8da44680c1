"""`UserDirectory`: the `CallerDirectory` every HTTP function uses, reading `users/<id>`.

The user record — not the token — says a caller's current role and whether the account is
active, so a deactivation or a role change applies to the next request. The directory
reads only those two fields, so it lives apart from the user record's models
(shared/records/users.py): a function whose request reads no user record never defines
them (docs/architecture.md#cold-start).
"""

from __future__ import annotations

from shared.domain.errors import NotFound
from shared.platform.callers import CallerDirectory, CallerRecord
from shared.platform.ids import require_document_id
from shared.platform.store import UnitOfWork

USERS = "users"


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
