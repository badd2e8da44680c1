"""Settings fail fast, name every offending variable, refuse unsafe combinations, and never
echo a secret."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

import shared.settings as settings_package
from shared.settings import (
    DEV_AUDIENCE,
    DEV_ISSUER,
    ConfigurationError,
    DocumentStorageSettings,
    HttpSettings,
    PiiSettings,
    PlatformSettings,
    ProviderSettings,
    load_settings,
)
from shared.topology import FUNCTIONS

PII_KEY = base64.b64encode(bytes(range(32))).decode()
NEW_PII_KEY = base64.b64encode(bytes(range(100, 132))).decode()
LOOKUP_KEY = base64.b64encode(bytes(range(32, 64))).decode()
JWKS_URL = (
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
)
SECRET_LOOKING = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1uZXZlci1sZWFr"


class UsersSettings(HttpSettings, PiiSettings):
    """What the users function will declare."""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "FIRESTORE_EMULATOR_HOST",
        "PUBSUB_EMULATOR_HOST",
        "STORAGE_EMULATOR_HOST",
        "K_SERVICE",
    ):
        monkeypatch.delenv(name, raising=False)
    import os

    for name in list(os.environ):
        if name.startswith("PATUNGAN_"):
            monkeypatch.delenv(name)


def local(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    values = {
        "PATUNGAN_ENV": "local",
        "PATUNGAN_ENTITY": "p2p",
        "PATUNGAN_GCP_PROJECT": "patungan-p2p-local",
        "PATUNGAN_AUTH_ISSUER": DEV_ISSUER,
        "PATUNGAN_AUTH_AUDIENCE": DEV_AUDIENCE,
        "PATUNGAN_AUTH_PUBLIC_KEY_PEM": "-----BEGIN PUBLIC KEY-----",
        "PATUNGAN_PII_KEY": PII_KEY,
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def cloud(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    values = {
        "PATUNGAN_ENV": "prod",
        "PATUNGAN_GCP_PROJECT": "patungan-p2p-prod",
        "PATUNGAN_AUTH_ISSUER": "https://securetoken.google.com/patungan-p2p-prod",
        "PATUNGAN_AUTH_AUDIENCE": "patungan-p2p-prod",
        "PATUNGAN_AUTH_JWKS_URL": JWKS_URL,
        "PATUNGAN_PII_KEY_PREVIOUS": PII_KEY,
        "PATUNGAN_PII_LOOKUP_KEY": LOOKUP_KEY,
        **extra,
    }
    local(monkeypatch, **values)
    monkeypatch.delenv("PATUNGAN_AUTH_PUBLIC_KEY_PEM")


def test_a_complete_local_configuration_loads(monkeypatch):
    local(monkeypatch, FIRESTORE_EMULATOR_HOST="127.0.0.1:8080")
    settings = load_settings(UsersSettings)
    assert settings.offline
    assert settings.firestore_emulator_host == "127.0.0.1:8080"
    assert settings.pii_key_bytes() == bytes(range(32))
    assert settings.transaction_max_attempts == 5


def test_a_complete_cloud_configuration_loads(monkeypatch):
    cloud(monkeypatch, K_SERVICE="users")
    settings = load_settings(UsersSettings)
    assert not settings.offline
    assert settings.function_name == "users"


def test_every_missing_variable_is_named_at_once(monkeypatch):
    with pytest.raises(ConfigurationError) as error:
        load_settings(UsersSettings)
    message = str(error.value)
    for name in (
        "PATUNGAN_ENV",
        "PATUNGAN_ENTITY",
        "PATUNGAN_GCP_PROJECT",
        "PATUNGAN_AUTH_ISSUER",
        "PATUNGAN_AUTH_AUDIENCE",
        "PATUNGAN_PII_KEY",
    ):
        assert name in message


@pytest.mark.parametrize(
    "emulator", ["FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST"]
)
def test_an_emulator_host_in_a_cloud_environment_is_refused(monkeypatch, emulator):
    cloud(monkeypatch, **{emulator: "localhost:8080"})
    with pytest.raises(ConfigurationError, match=f"{emulator} set while PATUNGAN_ENV=prod"):
        load_settings(UsersSettings)


def test_the_dev_issuer_in_a_cloud_environment_is_refused(monkeypatch):
    cloud(monkeypatch, PATUNGAN_AUTH_ISSUER=DEV_ISSUER)
    with pytest.raises(ConfigurationError, match="dev token issuer"):
        load_settings(UsersSettings)


def test_the_cloud_needs_identity_platform_keys_over_https(monkeypatch):
    cloud(monkeypatch, PATUNGAN_AUTH_JWKS_URL="http://keys.example/jwks")
    with pytest.raises(ConfigurationError, match="https"):
        load_settings(UsersSettings)
    cloud(monkeypatch)
    monkeypatch.delenv("PATUNGAN_AUTH_JWKS_URL")
    monkeypatch.setenv("PATUNGAN_AUTH_PUBLIC_KEY_PEM", "-----BEGIN PUBLIC KEY-----")
    with pytest.raises(ConfigurationError, match="PATUNGAN_AUTH_JWKS_URL is required"):
        load_settings(UsersSettings)


def test_exactly_one_token_key_source(monkeypatch):
    local(monkeypatch, PATUNGAN_AUTH_JWKS_URL="https://keys.example/jwks")
    with pytest.raises(ConfigurationError, match="exactly one token key source"):
        load_settings(HttpSettings)


def test_symmetric_token_algorithms_are_refused(monkeypatch):
    local(monkeypatch, PATUNGAN_AUTH_ALGORITHMS='["HS256"]')
    with pytest.raises(ConfigurationError, match="asymmetric"):
        load_settings(HttpSettings)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("not base64 at all!", "not valid base64"),
        (base64.b64encode(b"short").decode(), "must decode to 32 bytes, got 5"),
    ],
)
def test_a_malformed_pii_key_is_refused_without_echoing_it(monkeypatch, key, reason):
    local(monkeypatch, PATUNGAN_PII_KEY=key)
    with pytest.raises(ConfigurationError) as error:
        load_settings(PiiSettings)
    assert reason in str(error.value)
    assert key not in str(error.value)


def test_a_secret_never_appears_in_the_error(monkeypatch):
    local(monkeypatch, PATUNGAN_PII_KEY=SECRET_LOOKING, PATUNGAN_ENV="nowhere")
    with pytest.raises(ConfigurationError) as error:
        load_settings(UsersSettings)
    assert SECRET_LOOKING not in str(error.value)
    assert "PATUNGAN_ENV" in str(error.value)


@pytest.mark.parametrize(
    "variable", ["PATUNGAN_PII_KEY", "PATUNGAN_PII_KEY_PREVIOUS", "PATUNGAN_PII_LOOKUP_KEY"]
)
def test_each_malformed_pii_key_is_named_without_echoing_it(monkeypatch, variable):
    malformed = base64.b64encode(b"a-secret-that-is-short").decode()
    local(monkeypatch, **{variable: malformed})
    with pytest.raises(ConfigurationError) as error:
        load_settings(PiiSettings)
    assert f"{variable} must decode to 32 bytes" in str(error.value)
    assert malformed not in str(error.value)


def test_a_cloud_function_without_the_lookup_key_is_refused(monkeypatch):
    cloud(monkeypatch)
    monkeypatch.delenv("PATUNGAN_PII_LOOKUP_KEY")
    with pytest.raises(ConfigurationError, match="PATUNGAN_PII_LOOKUP_KEY is required"):
        load_settings(PiiSettings)


def test_a_rotation_without_the_lookup_key_is_refused_even_offline(monkeypatch):
    # Hashing with the new key would make every stored hash unfindable.
    local(monkeypatch, PATUNGAN_PII_KEY=NEW_PII_KEY, PATUNGAN_PII_KEY_PREVIOUS=PII_KEY)
    with pytest.raises(ConfigurationError, match="differs from PATUNGAN_PII_KEY"):
        load_settings(PiiSettings)


def test_during_a_rotation_the_keys_are_read_for_what_each_does(monkeypatch):
    cloud(monkeypatch, PATUNGAN_PII_KEY=NEW_PII_KEY, PATUNGAN_PII_KEY_PREVIOUS=PII_KEY)
    settings = load_settings(PiiSettings)
    assert settings.pii_key_bytes() == bytes(range(100, 132))
    assert settings.pii_key_previous_bytes() == bytes(range(32))
    assert settings.pii_lookup_key_bytes() == bytes(range(32, 64))
    assert NEW_PII_KEY not in repr(settings) and LOOKUP_KEY not in repr(settings)


def test_offline_the_lookup_key_is_the_pii_key(monkeypatch):
    local(monkeypatch)
    settings = load_settings(PiiSettings)
    assert settings.pii_key_previous_bytes() is None
    assert settings.pii_lookup_key_bytes() == settings.pii_key_bytes()


def test_the_pii_key_is_hidden_in_the_settings_repr(monkeypatch):
    local(monkeypatch)
    assert PII_KEY not in repr(load_settings(PiiSettings))


def test_provider_settings_default_their_patience_and_hide_the_api_key(monkeypatch):
    local(
        monkeypatch,
        PATUNGAN_PROVIDERS_URL="http://127.0.0.1:8090",
        PATUNGAN_PROVIDER_API_KEY=SECRET_LOOKING,
    )
    settings = load_settings(ProviderSettings)
    assert (settings.provider_timeout_s, settings.provider_deadline_s) == (2.0, 8.0)
    assert SECRET_LOOKING not in repr(settings)


def test_provider_settings_name_the_missing_key_and_refuse_a_zero_timeout(monkeypatch):
    local(
        monkeypatch, PATUNGAN_PROVIDERS_URL="http://127.0.0.1:8090", PATUNGAN_PROVIDER_TIMEOUT_S="0"
    )
    with pytest.raises(ConfigurationError) as error:
        load_settings(ProviderSettings)
    assert "PATUNGAN_PROVIDER_API_KEY" in str(error.value)
    assert "PATUNGAN_PROVIDER_TIMEOUT_S" in str(error.value)


def test_storage_signs_with_a_key_locally_and_through_iam_in_the_cloud(monkeypatch):
    local(monkeypatch, PATUNGAN_DOCUMENTS_BUCKET="patungan-docs-local")
    with pytest.raises(ConfigurationError, match="required locally"):
        load_settings(DocumentStorageSettings)

    local(monkeypatch, PATUNGAN_STORAGE_SIGNING_KEY_FILE="/tmp/dev-signer.json")
    assert load_settings(DocumentStorageSettings).storage_signing_key_file is not None

    cloud(
        monkeypatch,
        PATUNGAN_DOCUMENTS_BUCKET="patungan-docs-prod",
        PATUNGAN_STORAGE_SIGNING_KEY_FILE="/tmp/dev-signer.json",
    )
    with pytest.raises(ConfigurationError, match="refused when PATUNGAN_ENV=prod"):
        load_settings(DocumentStorageSettings)
    monkeypatch.delenv("PATUNGAN_STORAGE_SIGNING_KEY_FILE")
    assert load_settings(DocumentStorageSettings).documents_bucket == "patungan-docs-prod"


def test_overrides_take_precedence_over_the_environment(monkeypatch):
    local(monkeypatch)
    settings = load_settings(PlatformSettings, entity="koperasi")
    assert settings.entity == "koperasi"


def test_a_json_value_that_is_not_json_is_named_without_echoing_it(monkeypatch):
    local(monkeypatch, PATUNGAN_CORS_ALLOWED_ORIGINS="https://admin.example.co.id")
    with pytest.raises(ConfigurationError) as error:
        load_settings(HttpSettings)
    assert "PATUNGAN_CORS_ALLOWED_ORIGINS: is not valid JSON" in str(error.value)
    assert "admin.example.co.id" not in str(error.value)


def test_a_json_value_is_read_as_json_and_checked(monkeypatch):
    local(monkeypatch, PATUNGAN_CORS_ALLOWED_ORIGINS='["https://admin.example.co.id"]')
    assert load_settings(HttpSettings).cors_allowed_origins == ("https://admin.example.co.id",)
    local(monkeypatch, PATUNGAN_CORS_ALLOWED_ORIGINS='["ftp://admin"]')
    with pytest.raises(ConfigurationError, match="PATUNGAN_CORS_ALLOWED_ORIGINS"):
        load_settings(HttpSettings)


def test_variable_names_are_read_whatever_their_case(monkeypatch):
    local(monkeypatch)
    monkeypatch.delenv("PATUNGAN_ENTITY")
    monkeypatch.setenv("patungan_entity", "koperasi")
    assert load_settings(PlatformSettings).entity == "koperasi"


def test_every_function_reads_its_own_settings_class_from_its_own_module():
    assert set(settings_package.FUNCTION_SETTINGS) == {fn.name for fn in FUNCTIONS}
    for fn in FUNCTIONS:
        settings_class = settings_package.settings_class_of(fn.name)
        assert settings_class.__module__ == f"shared.settings.functions.{fn.name}"
        assert issubclass(settings_class, PlatformSettings)
        assert getattr(settings_package, settings_class.__name__) is settings_class


def test_a_functions_settings_load_no_other_functions_settings():
    script = (
        "import sys, json\n"
        "from shared.settings import UsersSettings\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('shared.settings'))))\n"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == [
        "shared.settings",
        "shared.settings.base",
        "shared.settings.functions",
        "shared.settings.functions.users",
        "shared.settings.http",
        "shared.settings.pii",
        "shared.settings.providers",
    ]
