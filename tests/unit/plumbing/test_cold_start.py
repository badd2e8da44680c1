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


# The caps tables are the law's figures, checked once at import so that a malformed row
# stops every function from starting rather than from pricing a loan.
BUILT_AT_IMPORT = ["shared.domain.caps.CapTable", "shared.domain.caps_table.CapRow"]


def test_importing_every_function_builds_no_validator_of_ours_but_the_caps_tables():
    """Every model of ours is built on first use (`shared.model.Model`): importing all the
    functions' code, which defines every request, answer and record, builds none of them."""
    functions = sorted(p.parent.name for p in (ROOT / "functions").glob("*/main.py"))
    script = (
        "import json, pydantic\n"
        f"for name in {functions!r}: __import__(f'functions.{{name}}.main')\n"
        "def every(cls):\n"
        "    for sub in cls.__subclasses__():\n"
        "        yield sub\n"
        "        yield from every(sub)\n"
        "ours = {m for m in every(pydantic.BaseModel) if m.__module__.startswith('shared.')}\n"
        "built = [m for m in ours if m.__pydantic_complete__]\n"
        "built = sorted(f'{m.__module__}.{m.__qualname__}' for m in built)\n"
        "print(json.dumps({'ours': len(ours), 'built': built}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    found = json.loads(result.stdout)
    assert found["ours"] > 200  # the import reached the models
    assert found["built"] == BUILT_AT_IMPORT
