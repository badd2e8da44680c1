"""NIK and NPWP at rest: AES-GCM encryption bound to the kind of value, and a keyed lookup hash."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from shared.adapters.crypto import AesGcmVault, pii_vault
from shared.adapters.memory import TEST_PII_KEY, fixed_key_vault
from shared.settings import PiiSettings

NIK = "3174051204900001"
NPWP = "0012345678012345"


def test_a_nik_round_trips_and_the_ciphertext_does_not_contain_it():
    vault = fixed_key_vault()
    sealed = vault.encrypt("nik", NIK)
    assert NIK not in sealed
    assert sealed.startswith(f"v1.{vault.key_id}.")
    assert vault.decrypt("nik", sealed) == NIK


@given(st.text(min_size=0, max_size=64))
def test_any_text_round_trips(value):
    vault = fixed_key_vault()
    assert vault.decrypt("account_number", vault.encrypt("account_number", value)) == value


def test_equal_values_encrypt_differently():
    vault = fixed_key_vault()
    assert vault.encrypt("nik", NIK) != vault.encrypt("nik", NIK)


def test_a_nik_ciphertext_does_not_decrypt_as_an_npwp():
    vault = fixed_key_vault()
    with pytest.raises(ValueError, match="not a npwp"):
        vault.decrypt("npwp", vault.encrypt("nik", NIK))


def test_a_tampered_ciphertext_is_refused():
    vault = fixed_key_vault()
    sealed = vault.encrypt("nik", NIK)
    version, key_id, payload = sealed.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[-1] ^= 1
    tampered = f"{version}.{key_id}.{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"
    with pytest.raises(ValueError, match="altered"):
        vault.decrypt("nik", tampered)


def test_another_key_cannot_decrypt_and_says_which_key_it_needs():
    sealed = fixed_key_vault().encrypt("nik", NIK)
    other = AesGcmVault(bytes(32))
    with pytest.raises(ValueError, match="encrypted under key"):
        other.decrypt("nik", sealed)


@pytest.mark.parametrize("garbage", ["", "v2.abc.def", "v1.only-two", "plain text"])
def test_garbage_is_not_a_ciphertext(garbage):
    with pytest.raises(ValueError):
        fixed_key_vault().decrypt("nik", garbage)


def test_the_lookup_hash_is_stable_per_key_and_kind():
    vault = fixed_key_vault()
    assert vault.lookup_hash("nik", NIK) == fixed_key_vault().lookup_hash("nik", NIK)
    assert len(vault.lookup_hash("nik", NIK)) == 64
    assert vault.lookup_hash("nik", NIK) != vault.lookup_hash("npwp", NIK)
    assert vault.lookup_hash("nik", NIK) != vault.lookup_hash("nik", NPWP)
    assert vault.lookup_hash("nik", NIK) != AesGcmVault(bytes(32)).lookup_hash("nik", NIK)


def test_the_lookup_hash_is_hmac_sha256_under_an_hkdf_derived_key():
    """An independent computation, so a change of derivation (which would orphan every
    stored hash) cannot slip in unnoticed."""
    expected = AesGcmVault(TEST_PII_KEY).lookup_hash("nik", NIK)
    lookup_key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"patungan/pii/lookup-hmac-sha256/v1"
    ).derive(TEST_PII_KEY)
    assert expected == hmac.new(lookup_key, f"nik:{NIK}".encode(), hashlib.sha256).hexdigest()


def test_the_vault_comes_from_settings_and_never_shows_its_key():
    settings = PiiSettings(
        env="test",
        entity="p2p",
        gcp_project="p",
        pii_key=SecretStr(base64.b64encode(TEST_PII_KEY).decode()),
    )
    vault = pii_vault(settings)
    assert vault.lookup_hash("nik", NIK) == fixed_key_vault().lookup_hash("nik", NIK)
    assert "key_id" in repr(vault)
    assert base64.b64encode(TEST_PII_KEY).decode() not in repr(vault)


def test_a_key_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        AesGcmVault(b"short")


# --- rotation: the current key seals, the previous still opens, the lookup key stays ---------

NEW_KEY = bytes(range(100, 132))
LOOKUP_KEY = bytes(range(32, 64))


def rotated() -> AesGcmVault:
    return AesGcmVault(NEW_KEY, previous=TEST_PII_KEY, lookup_key=TEST_PII_KEY)


def test_during_a_rotation_old_ciphertexts_open_and_new_ones_use_the_new_key():
    old = fixed_key_vault().encrypt("nik", NIK)
    vault = rotated()
    assert vault.decrypt("nik", old) == NIK
    fresh = vault.encrypt("nik", NIK)
    assert fresh.split(".")[1] == AesGcmVault(NEW_KEY).key_id != old.split(".")[1]
    # Once the previous key is gone, only what the new key sealed opens.
    assert AesGcmVault(NEW_KEY).decrypt("nik", fresh) == NIK
    with pytest.raises(ValueError, match="encrypted under key"):
        AesGcmVault(NEW_KEY).decrypt("nik", old)


def test_reseal_moves_a_value_to_the_current_key_once():
    old = fixed_key_vault().encrypt("npwp", NPWP)
    vault = rotated()
    resealed = vault.reseal("npwp", old)
    assert resealed is not None and AesGcmVault(NEW_KEY).decrypt("npwp", resealed) == NPWP
    assert vault.reseal("npwp", resealed) is None  # already current: nothing to do


def test_reseal_refuses_what_no_configured_key_opens_and_a_value_of_another_kind():
    vault = rotated()
    with pytest.raises(ValueError, match="encrypted under key"):
        vault.reseal("nik", AesGcmVault(bytes(32)).encrypt("nik", NIK))
    with pytest.raises(ValueError, match="not a npwp"):
        vault.reseal("npwp", fixed_key_vault().encrypt("nik", NIK))


def test_the_lookup_hash_follows_the_lookup_key_not_the_encryption_key():
    before = fixed_key_vault().lookup_hash("nik", NIK)
    assert rotated().lookup_hash("nik", NIK) == before
    assert AesGcmVault(NEW_KEY, lookup_key=TEST_PII_KEY).lookup_hash("nik", NIK) == before
    assert AesGcmVault(TEST_PII_KEY, lookup_key=LOOKUP_KEY).lookup_hash("nik", NIK) != before


def test_the_vault_reads_all_three_keys_from_settings():
    def b64(key: bytes) -> SecretStr:
        return SecretStr(base64.b64encode(key).decode())

    settings = PiiSettings(
        env="test",
        entity="p2p",
        gcp_project="p",
        pii_key=b64(NEW_KEY),
        pii_key_previous=b64(TEST_PII_KEY),
        pii_lookup_key=b64(TEST_PII_KEY),
    )
    vault = pii_vault(settings)
    assert vault.key_ids == (AesGcmVault(NEW_KEY).key_id, fixed_key_vault().key_id)
    assert vault.decrypt("nik", fixed_key_vault().encrypt("nik", NIK)) == NIK
    assert vault.lookup_hash("nik", NIK) == fixed_key_vault().lookup_hash("nik", NIK)
