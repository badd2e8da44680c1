"""Signed URLs against the Storage emulator: a borrower uploads with the URL and the headers
it came with, the platform sees the object, and an admin downloads it."""

from __future__ import annotations

import httpx
import pytest

from scripts.token import DevKeys
from shared.adapters.storage import CloudStorageDocuments, KeySigner

pytestmark = pytest.mark.emulator

KTP_SCAN = b"\xff\xd8\xff\xe0" + b"KTP scan " * 200


@pytest.fixture
def documents(storage_emulator, storage_client, tmp_path) -> CloudStorageDocuments:
    bucket = storage_client.create_bucket(storage_emulator.unique_bucket("docs"))
    signer = KeySigner.from_file(DevKeys.ensure(tmp_path / "keys").storage_signer)
    return CloudStorageDocuments(
        bucket.name,
        signer,
        ttl_s=300,
        max_bytes=1_000_000,
        endpoint=storage_emulator.url,
        client=storage_client,
    )


def test_a_document_uploaded_with_a_signed_url_can_be_described_and_downloaded(documents):
    name = "borrowers/u-ani/loans/loan-0001/ktp/scan.jpg"
    assert documents.describe(name) is None

    upload = documents.upload_url(name, "image/jpeg")
    put = httpx.put(upload.url, content=KTP_SCAN, headers=dict(upload.headers), timeout=10)
    assert put.status_code in (200, 201), put.text

    described = documents.describe(name)
    assert described is not None
    assert (described.size, described.content_type) == (len(KTP_SCAN), "image/jpeg")

    download = documents.download_url(name)
    got = httpx.get(download.url, timeout=10)
    assert got.status_code == 200
    assert got.content == KTP_SCAN
