"""Cloud Storage through the real client against fake-gcs-server: what borrowers' documents need."""

from __future__ import annotations

import datetime as dt
import io
import os

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core import exceptions
from google.oauth2 import service_account

pytestmark = pytest.mark.emulator

AGREEMENT_PDF = b"%PDF-1.7\n" + b"perjanjian pinjaman " * 100


@pytest.fixture
def bucket(storage_emulator, storage_client):
    return storage_client.create_bucket(storage_emulator.unique_bucket("loan-docs"))


def test_buckets_live_in_jakarta(bucket):
    assert bucket.location == "ASIA-SOUTHEAST2"


def test_a_simple_upload_keeps_bytes_and_content_type(bucket):
    blob = bucket.blob("loans/L-1/agreement.pdf")
    blob.upload_from_string(AGREEMENT_PDF, content_type="application/pdf")

    stored = bucket.get_blob("loans/L-1/agreement.pdf")
    assert stored.content_type == "application/pdf"
    assert stored.size == len(AGREEMENT_PDF)
    assert stored.download_as_bytes() == AGREEMENT_PDF


def test_a_resumable_upload_in_chunks_arrives_whole(bucket):
    scan = os.urandom(600 * 1024)  # a KTP scan larger than one 256 KiB chunk
    blob = bucket.blob("borrowers/B-1/ktp.jpg", chunk_size=256 * 1024)

    blob.upload_from_file(io.BytesIO(scan), content_type="image/jpeg", size=len(scan))

    stored = bucket.get_blob("borrowers/B-1/ktp.jpg")
    assert stored.content_type == "image/jpeg"
    assert stored.download_as_bytes() == scan


def test_a_resumable_session_url_points_back_at_the_emulator(storage_emulator, bucket):
    blob = bucket.blob("borrowers/B-2/npwp.pdf")

    session_url = blob.create_resumable_upload_session(content_type="application/pdf")
    response = httpx.put(session_url, content=b"%PDF npwp", timeout=10)

    assert session_url.startswith(storage_emulator.url)
    assert response.status_code == 200
    assert bucket.get_blob("borrowers/B-2/npwp.pdf").download_as_bytes() == b"%PDF npwp"


def test_if_generation_match_refuses_a_stale_or_duplicate_write(bucket):
    blob = bucket.blob("loans/L-1/schedule.json")
    blob.upload_from_string(b'{"version": 1}', if_generation_match=0)  # create only
    first_generation = bucket.get_blob("loans/L-1/schedule.json").generation

    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("loans/L-1/schedule.json").upload_from_string(
            b'{"version": "other writer"}', if_generation_match=0
        )
    bucket.blob("loans/L-1/schedule.json").upload_from_string(
        b'{"version": 2}', if_generation_match=first_generation
    )
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("loans/L-1/schedule.json").upload_from_string(
            b'{"version": "stale"}', if_generation_match=first_generation
        )

    assert bucket.get_blob("loans/L-1/schedule.json").download_as_bytes() == b'{"version": 2}'


def test_listing_by_prefix_sees_one_loan_and_delimiter_groups_loans(storage_client, bucket):
    for name in (
        "loans/L-1/agreement.pdf",
        "loans/L-1/disbursement.pdf",
        "loans/L-2/agreement.pdf",
        "lenders/R-1/statement.pdf",
    ):
        bucket.blob(name).upload_from_string(b"x", content_type="application/pdf")

    one_loan = [b.name for b in storage_client.list_blobs(bucket, prefix="loans/L-1/")]
    grouped = storage_client.list_blobs(bucket, prefix="loans/", delimiter="/")
    list(grouped)  # prefixes fill in as pages are read

    assert one_loan == ["loans/L-1/agreement.pdf", "loans/L-1/disbursement.pdf"]
    assert grouped.prefixes == {"loans/L-1/", "loans/L-2/"}


@pytest.fixture(scope="module")
def signing_credentials():
    """Service-account credentials made from an RSA key generated here (never a real key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return service_account.Credentials.from_service_account_info(
        {
            "type": "service_account",
            "project_id": "patungan-test",
            "private_key_id": "local-test-key",
            "private_key": pem,
            "client_email": "documents@patungan-test.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


def test_signed_urls_upload_and_download_against_the_emulator(
    storage_emulator, bucket, signing_credentials
):
    blob = bucket.blob("borrowers/B-3/selfie.jpg")
    expiry = dt.timedelta(minutes=15)
    upload_url = blob.generate_signed_url(
        version="v4",
        method="PUT",
        content_type="image/jpeg",
        expiration=expiry,
        credentials=signing_credentials,
    )

    uploaded = httpx.put(
        upload_url, content=b"\xff\xd8selfie", headers={"Content-Type": "image/jpeg"}, timeout=10
    )
    download_url = blob.generate_signed_url(
        version="v4", method="GET", expiration=expiry, credentials=signing_credentials
    )
    downloaded = httpx.get(download_url, timeout=10)

    assert upload_url.startswith(storage_emulator.url + "/")
    assert "X-Goog-Signature=" in upload_url
    assert uploaded.status_code == 200
    assert downloaded.status_code == 200
    assert downloaded.content == b"\xff\xd8selfie"
    assert bucket.get_blob("borrowers/B-3/selfie.jpg").content_type == "image/jpeg"


def test_a_missing_object_is_not_found(bucket):
    with pytest.raises(exceptions.NotFound):
        bucket.blob("loans/L-404/agreement.pdf").download_as_bytes()
