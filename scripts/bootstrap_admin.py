"""Create one of the two founding `admin.super` accounts of an entity: the accounts no admin
can approve (a grant needs one admin.super to propose it and another to approve it).

    python -m scripts.bootstrap_admin --user-id <token subject> --full-name "Siti Rahma" \
        --birth-date 1985-07-05 --nik 3174054507850001 --phone +6281234567890 \
        --verified-by "ops: <your name>, ticket OPS-123"

Run it twice, for two different people. Every later admin is granted by one
`admin.super` and approved by another (`POST /users/{user_id}/role-grants`, then
`/role-grants/{grant_id}/approve`); this command refuses once the entity has two. Ops
check the person's KTP themselves (`--verified-by` is recorded on the account) before
running it.

It reads the entity's settings like a function does (`shared.settings.BootstrapSettings`):
`PATUNGAN_ENV`, `PATUNGAN_ENTITY`, `PATUNGAN_GCP_PROJECT`, `PATUNGAN_PII_KEY` and
`PATUNGAN_PII_LOOKUP_KEY` (the entity's `pii-encryption-key` and `pii-lookup-key` secrets)
and, locally, `FIRESTORE_EMULATOR_HOST`. In a deployed
project it runs with the ops engineer's application-default credentials, which need
Firestore write access (`roles/datastore.user`) on the entity's project.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from shared.domain.errors import DomainError
from shared.platform.clock import SystemClock
from shared.services.users import StaffIdentity, bootstrap_admin_super


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--user-id", required=True, help="the person's token subject (uid)")
    parser.add_argument("--full-name", required=True)
    parser.add_argument("--birth-date", required=True, type=date.fromisoformat)
    parser.add_argument("--nik", required=True)
    parser.add_argument("--phone", required=True)
    parser.add_argument("--verified-by", required=True, help="who checked the KTP, and where")
    args = parser.parse_args(argv)

    from shared.adapters.crypto import pii_vault
    from shared.http.wiring import unit_of_work
    from shared.settings import BootstrapSettings, load_settings

    settings = load_settings(BootstrapSettings)
    staff = StaffIdentity(
        user_id=args.user_id,
        full_name=args.full_name,
        birth_date=args.birth_date,
        nik=args.nik,
        phone=args.phone,
    )
    try:
        view = bootstrap_admin_super(
            unit_of_work(settings),
            staff,
            vault=pii_vault(settings),
            clock=SystemClock(),
            verified_by=args.verified_by,
        )
    except DomainError as refused:
        print(f"refused: {refused.detail}", file=sys.stderr)
        return 1
    print(f"{view.id} is the first admin.super of {settings.entity} ({view.nik_masked})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
