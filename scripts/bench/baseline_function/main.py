"""The cold-start baseline: the naive function every Patungan function should beat.

It imports the Firestore, Pub/Sub and Storage clients eagerly, at module import, builds
all three on its first request and answers after one Firestore read — what a function
written without any care for cold starts does. `scripts/bench/cold_start.py` measures
each HTTP function's cold first response against it, in the same run.
"""

from __future__ import annotations

import os
from typing import Any

import functions_framework
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore, pubsub_v1
from google.cloud.storage import Client as StorageClient

_clients: dict[str, Any] = {}


@functions_framework.http
def baseline(request: Any) -> Any:
    if not _clients:
        project = os.environ["PATUNGAN_GCP_PROJECT"]
        _clients["firestore"] = firestore.Client(project=project)
        _clients["pubsub"] = pubsub_v1.PublisherClient()
        _clients["storage"] = StorageClient(
            project=project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": os.environ["STORAGE_EMULATOR_HOST"]},
        )
    snapshot = _clients["firestore"].collection("products").document("none").get()
    return {"exists": snapshot.exists}
