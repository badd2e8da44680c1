"""A PII key rotation's re-encryption (`scripts.reencrypt_pii`, shared/services/pii_rotation.py):
every sealed value ends under the new key and still reads as it did, hashes and all else
untouched; page by page, resumable, idempotent; a value no key opens stops it by name.

The same tests run on the Firestore emulator (tests/integration/plumbing/
test_pii_rotation_on_firestore.py) with its `uow` fixture.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scripts.reencrypt_pii import reencrypt
from shared.adapters.crypto import AesGcmVault
from shared.adapters.memory import TEST_PII_KEY, MemoryUnitOfWork, fixed_key_vault
from shared.platform.store import UnitOfWork
from shared.records.users import USERS, BankAccountRecord, SealedIdentifier, UserRecord
from shared.services.pii_rotation import UnreadableValue, reseal_users

NEW_KEY = bytes(range(100, 132))
OLD = fixed_key_vault()
ROTATING = AesGcmVault(NEW_KEY, previous=TEST_PII_KEY, lookup_key=TEST_PII_KEY)
NEW_ONLY = AesGcmVault(NEW_KEY, lookup_key=TEST_PII_KEY)
AT = datetime(2026, 11, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def uow() -> UnitOfWork:
    return MemoryUnitOfWork()


def sealed(vault: AesGcmVault, kind: Any, value: str) -> SealedIdentifier:
    return SealedIdentifier(
        encrypted=vault.encrypt(kind, value), hash=vault.lookup_hash(kind, value), masked="****"
    )


def a_user(n: int, vault: AesGcmVault = OLD) -> UserRecord:
    """User `u-0n`: every sealed field set, each value naming the user."""
    return UserRecord(
        id=f"u-{n:02d}",
        role="lender",
        full_name=f"User {n}",
        phone="+6281234567890",
        nik_encrypted=vault.encrypt("nik", f"nik-{n}"),
        nik_hash=vault.lookup_hash("nik", f"nik-{n}"),
        npwp_encrypted=vault.encrypt("npwp", f"npwp-{n}"),
        passport=sealed(vault, "passport", f"ID:passport-{n}"),
        foreign_tax_id=sealed(vault, "foreign_tax_id", f"tax-{n}"),
        bank_account=BankAccountRecord(
            bank_code="014",
            account_number_encrypted=vault.encrypt("account_number", f"acct-{n}"),
            account_number_masked="****",
            account_number_hash=vault.lookup_hash("account_number", f"acct-{n}"),
            account_holder=f"User {n}",
        ),
        registered_at=AT,
        updated_at=AT,
    )


def store(uow: UnitOfWork, *users: UserRecord) -> None:
    def put(tx: Any) -> None:
        for user in users:
            tx.set(USERS, user.id, user.model_dump(mode="json"))

    uow.run(put)


def stored(uow: UnitOfWork) -> dict[str, dict[str, Any]]:
    return {d.id: d.data for d in uow.run(lambda tx: tx.query(USERS, limit=100), read_only=True)}


def plain(vault: AesGcmVault, data: dict[str, Any]) -> dict[str, str]:
    """Every sealed value of a stored user, decrypted."""
    return {
        "nik": vault.decrypt("nik", data["nik_encrypted"]),
        "npwp": vault.decrypt("npwp", data["npwp_encrypted"]),
        "passport": vault.decrypt("passport", data["passport"]["encrypted"]),
        "tax": vault.decrypt("foreign_tax_id", data["foreign_tax_id"]["encrypted"]),
        "acct": vault.decrypt("account_number", data["bank_account"]["account_number_encrypted"]),
    }


def without_ciphertexts(data: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in data.items() if k not in ("nik_encrypted", "npwp_encrypted")}
    for name, inner in (
        ("passport", "encrypted"),
        ("foreign_tax_id", "encrypted"),
        ("bank_account", "account_number_encrypted"),
    ):
        kept[name] = {k: v for k, v in data[name].items() if k != inner}
    return kept


def run(uow: UnitOfWork, **options: Any) -> tuple[int, list[str]]:
    lines: list[str] = []
    found = reencrypt(uow, ROTATING, say=lines.append, **{"batch": 2, **options})
    return found, lines


def test_every_sealed_value_ends_under_the_new_key_and_reads_as_before(uow):
    store(uow, *(a_user(n) for n in range(1, 6)))
    before = stored(uow)

    found, lines = run(uow)

    after = stored(uow)
    assert found == 25  # five users, five sealed values each
    for user_id, data in after.items():
        # The previous key can go: the new key alone reads everything as it was.
        assert plain(NEW_ONLY, data) == plain(OLD, before[user_id])
        # Hashes, masks, dates: nothing but the ciphertexts changed.
        assert without_ciphertexts(data) == without_ciphertexts(before[user_id])
    assert lines[-1] == "done: 5 users, 25 values re-encrypted; run --check to confirm"
    assert lines[:3] == [
        f"  {n} users read, {5 * n} values re-encrypted; last user u-0{n}" for n in (2, 4, 5)
    ]
    assert run(uow, check=True)[0] == 0


def test_a_second_run_changes_nothing_and_a_check_writes_nothing(uow):
    store(uow, a_user(1), a_user(2, vault=NEW_ONLY))  # u-02 registered after the switch
    found, lines = run(uow, check=True)
    assert found == 5 and lines[-1] == "2 users: 5 values left under another key"
    assert stored(uow)["u-01"]["nik_encrypted"].split(".")[1] == OLD.key_id

    assert run(uow)[0] == 5
    once = stored(uow)
    assert run(uow)[0] == 0
    assert stored(uow) == once  # byte for byte: nothing re-encrypted twice
    assert run(uow, check=True)[1][-1] == "2 users: no values left under another key"


def test_a_run_resumes_after_the_last_user_it_reported(uow):
    store(uow, *(a_user(n) for n in range(1, 6)))

    assert run(uow, after="u-03")[0] == 10  # u-04 and u-05 only

    left = {user_id: data["nik_encrypted"].split(".")[1] for user_id, data in stored(uow).items()}
    assert left == {"u-01": OLD.key_id, "u-02": OLD.key_id, "u-03": OLD.key_id} | {
        "u-04": NEW_ONLY.key_id,
        "u-05": NEW_ONLY.key_id,
    }
    assert run(uow, check=True)[0] == 15


def test_a_value_no_configured_key_opens_stops_the_run_by_name_after_the_pages_before(uow):
    stranger = AesGcmVault(bytes(32))
    odd = a_user(3).model_copy(update={"npwp_encrypted": stranger.encrypt("npwp", "npwp-3")})
    store(uow, a_user(1), a_user(2), odd, a_user(4))

    with pytest.raises(UnreadableValue) as stopped:
        run(uow)

    assert str(stopped.value).startswith("users/u-03 npwp_encrypted: encrypted under key ")
    assert "npwp-3" not in str(stopped.value)
    data = stored(uow)
    # The first page committed; the page holding u-03 changed nothing.
    assert data["u-02"]["nik_encrypted"].split(".")[1] == NEW_ONLY.key_id
    assert data["u-04"]["nik_encrypted"].split(".")[1] == OLD.key_id


def test_users_without_personal_data_are_read_and_left_alone(uow):
    bare = UserRecord(
        id="u-01", role="lender", full_name="Bare", phone="+62812", registered_at=AT, updated_at=AT
    )
    store(uow, bare)
    assert run(uow) == (
        0,
        [
            "  1 users read, 0 values re-encrypted; last user u-01",
            "done: 1 users, 0 values re-encrypted; run --check to confirm",
        ],
    )
    assert run(uow, after="u-01")[1] == [
        "done: 0 users, 0 values re-encrypted; run --check to confirm"
    ]


@pytest.mark.parametrize("limit", [0, 501])
def test_a_page_is_bounded(uow, limit):
    with pytest.raises(ValueError, match="a page is 1 to 500 users"):
        reseal_users(uow, ROTATING, limit=limit)
