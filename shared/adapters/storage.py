"""Cloud Storage behind the `DocumentStorage` port: V4 signed URLs for borrower documents.

Borrowers upload KTP scans, invoices and collateral photos straight to a
private bucket with a short-lived signed PUT URL, and admins read them with a
signed GET URL; the documents never pass through a function.

- Upload URLs sign the `Content-Type` and an `x-goog-content-length-range:
  0,<max bytes>` header: the client must send both exactly (they are returned in
  `SignedUrl.headers`), so it cannot upload another type or a larger file.
- URLs expire after `signed_url_ttl_s` (15 minutes by default).

Signing, chosen by `DocumentStorageSettings`:
- locally, with a service-account key (`PATUNGAN_STORAGE_SIGNING_KEY_FILE`, or
  the JSON inline) — `python -m scripts.token` creates a dev one — and URLs
  point at `STORAGE_EMULATOR_HOST`;
- in the cloud, with no key at all: IAM `signBlob` as the function's own
  service account (`storage_signer_email`, default the runtime account, which
  needs `roles/iam.serviceAccountTokenCreator` on itself).

Google libraries are imported inside methods, on first use.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.platform.clock import Clock, SystemClock
from shared.platform.documents import DocumentStorage, SignedUrl, StoredObject

if TYPE_CHECKING:
    from shared.settings import DocumentStorageSettings

DEFAULT_ENDPOINT = "https://storage.googleapis.com"


class UrlSigner(ABC):
    """How V4 signatures are produced: the keyword arguments `generate_signed_url` needs."""

    @abstractmethod
    def signing_arguments(self) -> dict[str, Any]: ...


class KeySigner(UrlSigner):
    """Signs with a service-account private key (local and tests only).

    The key is loaded on the first signature, as `IamSigner` fetches its credentials: a
    request that signs nothing never pays for loading an RSA private key."""

    def __init__(self, service_account_info: dict[str, Any]) -> None:
        self._info = service_account_info
        self._credentials: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path) -> KeySigner:
        return cls(json.loads(path.read_text()))

    def signing_arguments(self) -> dict[str, Any]:
        from google.oauth2 import service_account

        with self._lock:
            if self._credentials is None:
                self._credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                    self._info
                )
        return {"credentials": self._credentials}


class IamSigner(UrlSigner):
    """Signs through IAM signBlob with the runtime's credentials (Cloud Functions)."""

    def __init__(self, signer_email: str | None = None) -> None:
        self._signer_email = signer_email
        self._credentials: Any = None
        self._lock = threading.Lock()

    def signing_arguments(self) -> dict[str, Any]:
        import google.auth
        from google.auth.transport.requests import Request

        with self._lock:
            if self._credentials is None:
                self._credentials, _ = google.auth.default(
                    scopes=["https://www.googleapis.com/auth/cloud-platform"]
                )
            if not self._credentials.valid:
                self._credentials.refresh(Request())
            email = self._signer_email or self._credentials.service_account_email
            return {"service_account_email": email, "access_token": self._credentials.token}


class CloudStorageDocuments(DocumentStorage):
    """Borrower documents in one private bucket."""

    def __init__(
        self,
        bucket: str,
        signer: UrlSigner,
        *,
        ttl_s: int = 900,
        max_bytes: int = 10 * 1024 * 1024,
        endpoint: str | None = None,
        project: str | None = None,
        clock: Clock | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.signer = signer
        self.ttl = timedelta(seconds=ttl_s)
        self.max_bytes = max_bytes
        self.endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self.project = project
        self.clock = clock or SystemClock()
        self._client = client
        self._lock = threading.Lock()

    def _blob(self, object_name: str) -> Any:
        from google.cloud.storage import Blob, Bucket

        if not object_name or object_name.startswith("/") or ".." in object_name.split("/"):
            raise ValueError(f"not a safe object name: {object_name!r}")
        return Blob(object_name, Bucket(None, self.bucket))

    def _sign(self, object_name: str, method: str, headers: dict[str, str]) -> SignedUrl:
        # The library computes expiry from its own clock; ours only reports it.
        expires_at = self.clock.now() + self.ttl
        url = self._blob(object_name).generate_signed_url(
            version="v4",
            expiration=self.ttl,
            method=method,
            headers=dict(headers) or None,  # the library adds Host to the dict it is given
            api_access_endpoint=self.endpoint,
            client=self._storage_client(),  # consulted for the universe domain only
            **self.signer.signing_arguments(),
        )
        return SignedUrl(url=url, method=method, expires_at=expires_at, headers=headers)  # type: ignore[arg-type]

    def upload_url(self, object_name: str, content_type: str) -> SignedUrl:
        return self._sign(
            object_name,
            "PUT",
            {
                "Content-Type": content_type,
                "x-goog-content-length-range": f"0,{self.max_bytes}",
            },
        )

    def download_url(self, object_name: str) -> SignedUrl:
        return self._sign(object_name, "GET", {})

    def _storage_client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from google.cloud import storage

                    self._client = storage.Client(project=self.project)
        return self._client

    def describe(self, object_name: str) -> StoredObject | None:
        blob = self._storage_client().bucket(self.bucket).get_blob(object_name)
        if blob is None:
            return None
        return StoredObject(object_name, int(blob.size or 0), blob.content_type)

    def read(self, object_name: str, max_bytes: int) -> bytes | None:
        blob = self._storage_client().bucket(self.bucket).get_blob(object_name)
        if blob is None:
            return None
        if int(blob.size or 0) > max_bytes:
            raise ValueError(f"{object_name} is larger than {max_bytes} bytes")
        data: bytes = blob.download_as_bytes()
        if len(data) > max_bytes:  # overwritten with a larger file since it was sized
            raise ValueError(f"{object_name} is larger than {max_bytes} bytes")
        return data


def document_storage(
    settings: DocumentStorageSettings, clock: Clock | None = None
) -> CloudStorageDocuments:
    """The borrower-documents storage `settings` describe."""
    signer: UrlSigner
    if settings.storage_signing_key_file is not None:
        signer = KeySigner.from_file(settings.storage_signing_key_file)
    elif settings.storage_signing_key_json is not None:
        signer = KeySigner(json.loads(settings.storage_signing_key_json.get_secret_value()))
    else:
        signer = IamSigner(settings.storage_signer_email)
    return CloudStorageDocuments(
        settings.documents_bucket,
        signer,
        ttl_s=settings.signed_url_ttl_s,
        max_bytes=settings.max_document_bytes,
        endpoint=settings.storage_emulator_host,
        project=settings.gcp_project,
        clock=clock,
    )
