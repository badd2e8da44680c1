"""What a cold start loads: importing the plumbing or a function builds no client and loads no
Google client library, no settings machinery and nothing its first request does not use;
building a function's services loads its own settings and the clients its requests use,
no other (docs/architecture.md#cold-start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.platform_runner import LocalValues, local_environment
from scripts.token import DevKeys
from shared.deployment import LOCAL_ONLY_VARIABLES, plan_function
from shared.topology import FUNCTIONS

ROOT = Path(__file__).resolve().parents[3]

PLUMBING = [
    "shared.http.router",
    "shared.http.events",
    "shared.http.wiring",
    "shared.http.lazy",
    "shared.http.guard",
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

CLIENT_LIBRARIES = (
    "google.cloud.firestore",
    "google.cloud.pubsub",
    "google.cloud.storage",
    "google.api_core",
)
GOOGLE_CLIENTS = (*CLIENT_LIBRARIES, "grpc")
SETTINGS_LIBRARIES = ("pydantic_settings", "dotenv")

HTTP_FUNCTIONS = [fn.name for fn in FUNCTIONS if fn.kind == "http"]
# The functions benchmarks/cold-start.md measures, and the request it asks each.
MEASURED = ["loan_quote", "loan_review", "loan_applications", "users"]
# What only writing, deciding, scoring or an Idempotency-Key needs.
ONLY_WHEN_USED = (
    "shared.domain.events",
    "shared.domain.ledger",
    "shared.domain.scoring.engine",
    "shared.domain.scoring.scorecard",
    "shared.domain.scoring.features",
    "shared.platform.idempotency",
    "shared.services.write_offs",
    "shared.services.offers",
)


def fresh_python(script: str, env: dict[str, str] | None = None) -> Any:
    """What a fresh interpreter running `script` printed last, as JSON."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **(env or {})},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def loaded_by(statements: str, env: dict[str, str] | None = None) -> list[str]:
    """The modules a fresh interpreter has loaded after running `statements`."""
    modules: list[str] = fresh_python(
        f"import sys, json\n{statements}\nprint(json.dumps(sorted(sys.modules)))\n", env
    )
    return modules


def under(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_importing_the_plumbing_loads_no_google_client_and_no_settings_machinery():
    modules = loaded_by("\n".join(f"import {name}" for name in PLUMBING))
    assert under(modules, GOOGLE_CLIENTS + SETTINGS_LIBRARIES + ("shared.settings",)) == []


def test_the_firestore_adapter_speaks_grpc_without_the_client_library():
    modules = loaded_by("import shared.adapters.firestore")
    assert under(modules, CLIENT_LIBRARIES + SETTINGS_LIBRARIES + ("shared.settings",)) == []


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_an_http_functions_import_loads_no_client_no_settings_and_no_event_plumbing(function):
    modules = loaded_by(f"import functions.{function}.main")
    assert under(modules, GOOGLE_CLIENTS + SETTINGS_LIBRARIES) == []
    # Settings are read on the first request; the push consumer is for event functions.
    assert under(modules, ("shared.settings", "shared.http.events")) == []


@pytest.mark.parametrize("function", MEASURED)
def test_a_measured_functions_import_loads_only_what_its_requests_read(function):
    modules = loaded_by(f"import functions.{function}.main")
    assert under(modules, ONLY_WHEN_USED) == []
    if function != "loan_quote":  # every quote is checked against the caps
        assert under(modules, ("shared.domain.caps", "shared.domain.caps_table")) == []
    if function != "users":  # the others read a caller's role and status, not the record
        assert under(modules, ("shared.records.users", "shared.domain.identity")) == []


def local_env(function: str, keys: DevKeys) -> dict[str, str]:
    """`function`'s local environment, its emulators on a port nothing listens on."""
    values = LocalValues(
        project="patungan-local",
        entity="p2p-lending",
        jwks_url="http://127.0.0.1:1/jwks.json",
        documents_bucket="patungan-local-documents",
        providers_url="http://127.0.0.1:1",
        function_urls={function: "http://127.0.0.1:1"},
    )
    emulators = {name: "127.0.0.1:1" for name in LOCAL_ONLY_VARIABLES if name.endswith("_HOST")}
    planned = plan_function(next(fn for fn in FUNCTIONS if fn.name == function))
    return local_environment(planned, values, keys, emulators)


@pytest.mark.parametrize("function", MEASURED)
def test_building_a_functions_services_loads_its_own_settings_and_only_the_clients_it_calls(
    function, tmp_path
):
    env = local_env(function, DevKeys.ensure(tmp_path))
    # The calculator builds its store on the first product quote.
    build = "main.services.get().catalogue.get()" if function == "loan_quote" else ""
    modules = loaded_by(
        f"import functions.{function}.main as main\nmain.services.get()\n{build}", env=env
    )
    assert "shared.adapters.firestore_rpc" in modules  # the store is built, over gRPC...
    # ... without any client library: Firestore's is never loaded, and Pub/Sub's and
    # Storage's when an event is first published or a document first signed.
    assert under(modules, CLIENT_LIBRARIES) == []
    assert under(modules, SETTINGS_LIBRARIES) == []
    others = {f"shared.settings.functions.{fn.name}" for fn in FUNCTIONS} - {
        f"shared.settings.functions.{function}"
    }
    assert set(modules) & others == set()


# The caps tables are the law's figures, checked once at import so that a malformed row
# stops every function that loads them from starting rather than from pricing a loan.
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


def test_the_first_build_pauses_the_collector_and_freezes_what_the_instance_made():
    script = (
        "import gc, json\n"
        "from shared.http.lazy import Lazy\n"
        "seen = []\n"
        "def build():\n"
        "    seen.append(gc.isenabled())\n"
        "    return object()\n"
        "frozen = gc.get_freeze_count()\n"
        "Lazy(build).get()\n"
        "after_first = gc.get_freeze_count()\n"
        "Lazy(build).get()\n"
        "print(json.dumps({'paused': seen, 'collecting': gc.isenabled(),\n"
        "                  'frozen_first': after_first > frozen,\n"
        "                  'frozen_again': gc.get_freeze_count() > after_first}))\n"
    )
    found = fresh_python(script)
    # Paused during the first build only; a later build (a test's) runs as anything does.
    assert found["paused"] == [False, True]
    assert found["collecting"] is True
    assert found["frozen_first"] is True and found["frozen_again"] is False
