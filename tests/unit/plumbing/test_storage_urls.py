"""Signed URLs for borrower documents: V4, short-lived, bound to method, type and size,
and verifiable with the signer's public key (checked here from the published V4 algorithm)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from pydantic import SecretStr

from scripts.token import DEV_SIGNER_EMAIL, DevKeys
from shared.adapters.memory import FixedClock, MemoryDocumentStorage
from shared.adapters.storage import CloudStorageDocuments, IamSigner, KeySigner, document_storage
from shared.platform.documents import SignedUrl
from shared.settings import DocumentStorageSettings

OBJECT = "borrowers/u-ani/loans/loan-0001/ktp/3f2a.jpg"


@pytest.fixture(scope="module")
def signer_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return DevKeys.ensure(tmp_path_factory.mktemp("keys")).storage_signer


@pytest.fixture
def documents(signer_key: Path) -> CloudStorageDocuments:
    return CloudStorageDocuments(
        "patungan-docs-test",
        KeySigner.from_file(signer_key),
        ttl_s=600,
        max_bytes=5_000_000,
        endpoint="http://127.0.0.1:4443",
        clock=FixedClock(),
        client=storage.Client(project="patungan-test", credentials=AnonymousCredentials()),
    )


def verify_v4(signed: SignedUrl, signer_key: Path) -> dict[str, str]:
    """Recompute the GOOG4-RSA-SHA256 string-to-sign and check the signature; returns the query."""
    url = urlsplit(signed.url)
    raw_query, _, signature = url.query.partition("&X-Goog-Signature=")
    query = {k: v[0] for k, v in parse_qs(raw_query).items()}
    headers = {"host": url.netloc, **{k.lower(): v.strip() for k, v in signed.headers.items()}}
    signed_headers = query["X-Goog-SignedHeaders"].split(";")
    assert sorted(headers) == signed_headers
    canonical_request = "\n".join(
        [
            signed.method,
            url.path,
            raw_query,
            "".join(f"{name}:{headers[name]}\n" for name in signed_headers),
            query["X-Goog-SignedHeaders"],
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = query["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            query["X-Goog-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    private = serialization.load_pem_private_key(
        json.loads(signer_key.read_text())["private_key"].encode(), password=None
    )
    private.public_key().verify(  # type: ignore[union-attr, call-arg]
        bytes.fromhex(signature), string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return query


def test_an_upload_url_is_v4_signed_for_put_with_type_and_size_bound(documents, signer_key):
    signed = documents.upload_url(OBJECT, "image/jpeg")

    assert signed.method == "PUT"
    assert signed.url.startswith(f"http://127.0.0.1:4443/patungan-docs-test/{OBJECT}?")
    assert signed.headers == {
        "Content-Type": "image/jpeg",
        "x-goog-content-length-range": "0,5000000",
    }
    query = verify_v4(signed, signer_key)
    assert query["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    assert query["X-Goog-Credential"].startswith(f"{DEV_SIGNER_EMAIL}/")
    assert query["X-Goog-Expires"] == "600"
    assert query["X-Goog-SignedHeaders"] == "content-type;host;x-goog-content-length-range"
    assert signed.expires_at == FixedClock().now() + timedelta(seconds=600)


def test_a_download_url_is_v4_signed_for_get(documents, signer_key):
    signed = documents.download_url(OBJECT)
    assert signed.method == "GET"
    assert signed.headers == {}
    assert verify_v4(signed, signer_key)["X-Goog-SignedHeaders"] == "host"


def test_a_url_altered_by_the_client_no_longer_verifies(documents, signer_key):
    signed = documents.upload_url(OBJECT, "image/jpeg")
    bigger = SignedUrl(
        signed.url,
        "PUT",
        signed.expires_at,
        {**signed.headers, "x-goog-content-length-range": "0,99999999"},
    )
    with pytest.raises(InvalidSignature):
        verify_v4(bigger, signer_key)


@pytest.mark.parametrize("name", ["", "/etc/passwd", "borrowers/../admin/x", "a/../../b"])
def test_unsafe_object_names_are_refused(documents, name):
    with pytest.raises(ValueError, match="not a safe object name"):
        documents.upload_url(name, "image/jpeg")


def test_settings_choose_a_key_locally_and_iam_signblob_in_the_cloud(signer_key, monkeypatch):
    # Emulator fixtures of other suites export *_EMULATOR_HOST for the whole session; a
    # cloud process has none, and the settings rightly refuse them in prod.
    for name in ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    local = document_storage(
        DocumentStorageSettings(
            env="local",
            entity="p2p",
            gcp_project="patungan-p2p-local",
            documents_bucket="patungan-docs-local",
            storage_signing_key_json=SecretStr(signer_key.read_text()),
            storage_emulator_host="http://127.0.0.1:4443",
        )
    )
    assert isinstance(local.signer, KeySigner)
    assert local.endpoint == "http://127.0.0.1:4443"

    cloud = document_storage(
        DocumentStorageSettings(
            env="prod",
            entity="p2p",
            gcp_project="patungan-p2p-prod",
            documents_bucket="patungan-docs-prod",
        )
    )
    assert isinstance(cloud.signer, IamSigner)
    assert cloud.endpoint == "https://storage.googleapis.com"


def test_the_memory_fake_keeps_the_port_contract():
    storage = MemoryDocumentStorage("docs", FixedClock(), ttl_s=60)
    upload = storage.upload_url(OBJECT, "application/pdf")
    assert upload.method == "PUT" and upload.headers == {"Content-Type": "application/pdf"}
    assert storage.describe(OBJECT) is None
    storage.put(OBJECT, b"%PDF-1.7", "application/pdf")
    described = storage.describe(OBJECT)
    assert described is not None and (described.size, described.content_type) == (
        8,
        "application/pdf",
    )
