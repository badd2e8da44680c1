"""Fixtures for the infra suite: every entity stack simulated once per session, offline.

- `source_tree`: a temporary tree whose `functions/<name>/main.py` exists for
  every topology function (a one-line entry point), with a snapshot of the real
  `shared/` and the real `pyproject.toml` and `requirements.lock` — the program
  builds real archives from it whatever functions have landed so far, and a
  colleague saving a file in `shared/` mid-session cannot change them.
- `deployable_entities`: a copy of the committed manifests with the placeholder
  billing account and parent ids and providers URL replaced, so the preflight passes.
- `stack_secrets`: a value for every declared secret, as ops set them with
  `pulumi config set --secret` (the PII key shaped as the functions require).
- `organization`: the bootstrap stack (infra/bootstrap) simulated with a deployable
  copy of the organisation manifest; its exports answer the entity stacks'
  StackReference, as they do for real.
- `simulations`: `{entity: Simulation}` for every committed stack file, run
  through the real code path (`infra.program.run`, no placeholders accepted).
- `simulate_stack(...)`: runs one more stack on demand (other topologies,
  other configuration); the Pulumi runtime is reset for each run.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.archives import SourceTree
from infra.manifest import ENTITIES_DIR, known_entities
from infra.offline import (
    REPOSITORY,
    Simulation,
    bootstrap_reference,
    simulate,
    simulate_organization,
)
from infra.organization import ORGANIZATION_FILE
from infra.preflight import secret_config_key
from shared.topology import FUNCTIONS, SECRETS
from tests.infra.sources import write_function_stubs


@pytest.fixture(scope="session")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> SourceTree:
    functions_dir = tmp_path_factory.mktemp("functions")
    write_function_stubs(functions_dir, FUNCTIONS)
    real = SourceTree.of_repository(REPOSITORY)
    shared = tmp_path_factory.mktemp("snapshot") / "shared"
    shutil.copytree(real.shared_dir, shared, ignore=shutil.ignore_patterns("__pycache__"))
    return SourceTree(
        functions_dir=functions_dir,
        shared_dir=shared,
        pyproject=real.pyproject,
        lock_file=real.lock_file,
    )


@pytest.fixture(scope="session")
def deployable_entities(tmp_path_factory: pytest.TempPathFactory) -> Path:
    entities = tmp_path_factory.mktemp("entities")
    for number, entity in enumerate(known_entities(), start=1):
        manifest = json.loads((ENTITIES_DIR / f"{entity}.json").read_text(encoding="utf-8"))
        manifest["billing"]["account_id"] = f"01A2B3-C4D5E6-F7A8B{number}"
        manifest["providers_url"] = f"https://credit-data.{entity}.example/v1"
        manifest["payment_gateway_url"] = f"https://payment-gateway.{entity}.example/v1"
        manifest["contacts"] = {
            "ops": [f"ops@{entity}.example", f"oncall@{entity}.example"],
            "billing": [f"finance@{entity}.example"],
        }
        (entities / f"{entity}.json").write_text(json.dumps(manifest), encoding="utf-8")
    return entities


@pytest.fixture(scope="session")
def stack_secrets() -> dict[str, str]:
    values = {s.name: f"value-of-{s.name}" for s in SECRETS}
    # The PII key is 32 random bytes, base64 (infra/README.md): the functions check its shape.
    values["pii-encryption-key"] = base64.b64encode(bytes(range(32))).decode()
    values["pii-lookup-key"] = base64.b64encode(bytes(range(32, 64))).decode()
    # An incoming webhook's URL, https, with its key in it (infra/README.md, "Secrets").
    values["ops-webhook-url"] = "https://chat.googleapis.com/v1/spaces/X/messages?key=k&token=t"
    # The notification service's intake, https, with its key in it.
    values["notifications-url"] = "https://notify.p2p-lending.example/v1/notifications?key=k"
    return {f"patungan:{secret_config_key(s)}": values[s.name] for s in SECRETS}


@pytest.fixture(scope="session")
def deployable_organization(tmp_path_factory: pytest.TempPathFactory) -> Path:
    manifest = json.loads(ORGANIZATION_FILE.read_text(encoding="utf-8"))
    manifest |= {
        "organization_id": "246813579024",
        "customer_id": "C01b2c3d4",
        "billing_account": "01A2B3-C4D5E6-F7A8B9",
        "operators": "group:patungan-ops@patungan.example",
    }
    path = tmp_path_factory.mktemp("organization") / "organization.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def organization(deployable_organization: Path, deployable_entities: Path) -> Simulation:
    return simulate_organization(
        manifest_path=deployable_organization, entities_dir=deployable_entities
    )


@pytest.fixture(scope="session")
def simulate_stack(
    source_tree: SourceTree,
    deployable_entities: Path,
    stack_secrets: dict[str, str],
    organization: Simulation,
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., Simulation]:
    archives = tmp_path_factory.mktemp("archives")

    def run(stack: str, **options: Any) -> Simulation:
        options.setdefault("tree", source_tree)
        options.setdefault("entities_dir", deployable_entities)
        options.setdefault("stack_outputs", {bootstrap_reference(): organization.exports})
        options["config_overrides"] = {**stack_secrets, **options.get("config_overrides", {})}
        return simulate(stack, archive_dir=archives, **options)

    return run


@pytest.fixture(scope="session")
def simulations(simulate_stack: Callable[..., Simulation]) -> dict[str, Simulation]:
    stacks = sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for p in REPOSITORY.glob("Pulumi.*.yaml")
    )
    return {stack: simulate_stack(stack) for stack in stacks}
