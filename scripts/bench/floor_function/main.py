"""The cold-start floor: the least any Patungan function pays before its first answer.

Every function validates with pydantic and reads Firestore, so this one does only that: it
imports pydantic and the Firestore client, builds the client on its first request, reads one
document and answers through a one-field model. `scripts/bench/cold_start.py` measures it
beside the naive baseline: the distance between the floor and the baseline is what a
function's own code (routing, settings, token checks, use cases, records) may spend and still
beat the baseline.
"""

from __future__ import annotations

import os
from typing import Any

import functions_framework
from pydantic import BaseModel


class Answer(BaseModel):
    exists: bool


_clients: dict[str, Any] = {}


@functions_framework.http
def floor(request: Any) -> Any:
    if not _clients:
        from google.cloud import firestore

        _clients["firestore"] = firestore.Client(project=os.environ["PATUNGAN_GCP_PROJECT"])
    snapshot = _clients["firestore"].collection("products").document("none").get()
    return Answer(exists=snapshot.exists).model_dump()
