"""Re-encrypt every stored personal value under the current PII key: step 2 of a PII key
rotation (infra/README.md, "Rotate a secret").

    python -m scripts.reencrypt_pii [--batch 200] [--after <user id>]
    python -m scripts.reencrypt_pii --check

Walks `users` by id, a page (`--batch`, at most 500) per transaction, and re-encrypts
each NIK, NPWP, passport, foreign tax id and bank account number that the current key
did not seal (shared/services/pii_rotation.py); lookup hashes stay as they are. It
prints a line per page with the last user id committed: a run stopped anywhere resumes
with `--after <that id>`, and running it again from the start re-encrypts nothing twice.
`--check` writes nothing and counts the values still under another key (exit 1 when any
is left, 0 when none is): the previous key may be dropped once it reports none.

It reads the entity's settings like a function does (`shared.settings.PiiRotationSettings`):
`PATUNGAN_ENV`, `PATUNGAN_ENTITY`, `PATUNGAN_GCP_PROJECT`, `PATUNGAN_PII_KEY` (the new
key), `PATUNGAN_PII_KEY_PREVIOUS` (the old one), `PATUNGAN_PII_LOOKUP_KEY` and, locally,
`FIRESTORE_EMULATOR_HOST`. In a deployed project it runs with the ops engineer's
application-default credentials, which need `roles/datastore.user` on the entity's project.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from shared.platform.personal_data import PersonalDataVault
from shared.platform.store import UnitOfWork
from shared.services.pii_rotation import MAX_PAGE, UnreadableValue, reseal_users


def reencrypt(
    uow: UnitOfWork,
    vault: PersonalDataVault,
    *,
    batch: int,
    after: str | None = None,
    check: bool = False,
    say: Callable[[str], None] = print,
) -> int:
    """Every page from `after` to the last user; the number of stale values found."""
    users = values = 0
    while True:
        page = reseal_users(uow, vault, after=after, limit=batch, check=check)
        if page.last_id is None:
            break
        users, values, after = users + page.users, values + page.values, page.last_id
        done = "found under another key" if check else "re-encrypted"
        say(f"  {users} users read, {values} values {done}; last user {after}")
        if page.users < batch:
            break
    if check:
        say(f"{users} users: {values or 'no'} values left under another key")
    else:
        say(f"done: {users} users, {values} values re-encrypted; run --check to confirm")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.reencrypt_pii", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--batch", type=int, default=200, help=f"users per transaction (1 to {MAX_PAGE})"
    )
    parser.add_argument("--after", help="resume after this user id (the last one reported)")
    parser.add_argument("--check", action="store_true", help="count what is left; write nothing")
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= MAX_PAGE:
        parser.error(f"--batch must be 1 to {MAX_PAGE}")

    from shared.adapters.crypto import pii_vault
    from shared.http.wiring import unit_of_work
    from shared.settings import PiiRotationSettings, load_settings

    settings = load_settings(PiiRotationSettings)
    vault = pii_vault(settings)
    current, *previous = vault.key_ids
    print(
        f"{'checking' if args.check else 're-encrypting'} personal data of {settings.entity} "
        f"({settings.gcp_project}) for key {current}"
        + (f" (previous key {previous[0]})" if previous else " (no other key configured)")
    )
    try:
        left = reencrypt(
            unit_of_work(settings), vault, batch=args.batch, after=args.after, check=args.check
        )
    except UnreadableValue as error:
        print(f"stopped: {error}", file=sys.stderr)
        print("is PATUNGAN_PII_KEY_PREVIOUS the key that was replaced?", file=sys.stderr)
        return 2
    return 1 if args.check and left else 0


if __name__ == "__main__":
    sys.exit(main())
