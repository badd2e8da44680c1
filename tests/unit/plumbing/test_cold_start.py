"""Importing the plumbing builds no client and loads no Google client library: a function's
cold start pays only for what its first request needs (docs/architecture.md#performance)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PLUMBING = [
    "shared.http.router",
    "shared.http.events",
    "shared.http.wiring",
    "shared.http.lazy",
    "shared.http.guard",
    "shared.adapters.firestore",
    "shared.adapters.pubsub",
    "shared.adapters.storage",
    "shared.adapters.auth",
    "shared.adapters.crypto",
    "shared.platform.store",
    "shared.platform.outbox",
    "shared.platform.idempotency",
    "shared.platform.callers",
    "shared.platform.event_origin",
]


def test_importing_the_plumbing_loads_no_google_client_and_no_settings_machinery():
    script = (
        "import sys, json\n"
        f"for name in {PLUMBING!r}: __import__(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(("
        "'google.cloud.firestore', 'google.cloud.pubsub', 'google.cloud.storage', "
        "'google.api_core', 'grpc', 'pydantic_settings')))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []
