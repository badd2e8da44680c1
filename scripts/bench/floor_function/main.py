"""The cold-start floor: the least any Patungan function pays before its first answer.

Every function validates with pydantic and reads Firestore, so this one does only that: it
imports pydantic and the platform's Firestore RPCs (`shared/adapters/firestore_rpc.py`, the
gRPC calls the unit of work makes), opens the channel on its first request, reads one
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
        from shared.adapters.firestore_rpc import FirestoreRpc

        _clients["firestore"] = FirestoreRpc.connect(
            os.environ["PATUNGAN_GCP_PROJECT"],
            emulator_host=os.environ.get("FIRESTORE_EMULATOR_HOST"),
        )
    rpc = _clients["firestore"]
    [found] = rpc.batch_get([rpc.document_path("products", "none")]).values()
    return Answer(exists=found is not None).model_dump()
