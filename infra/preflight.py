"""The preflight: what must hold before a stack may touch Google Cloud.

`pulumi up -s <stack>` deploys the entity whose manifest is named like the
stack, into the project that manifest derives, and nowhere else. The
preflight refuses (`PreflightRefused`, listing every problem at once) when:

- identity: the stack's `patungan:entity` is not the stack name, the manifest
  is missing or invalid, the stack's `gcp:project` is not the manifest's
  project, or `gcp:region` is set to anything but asia-southeast2;
- readiness: the manifest still carries placeholder (all-zero) billing or
  parent ids or a placeholder providers URL (a host under `.invalid`, which
  never resolves), a function the entity's licence deploys has no
  `functions/<name>/main.py`, a secret such a function mounts has no value in
  the stack's secret config, the manifest keeps warm a function it does not
  deploy or beyond its maximum, or the topology or the names derived from it
  are unsound. A declared secret no
  function mounts yet (the payment gateway's webhook key, until the payments
  function lands) needs no value: asking ops for one would make them invent a
  key nothing checks. Its secret is created empty, ready for the real value.

Whatever the ambient credentials' default project, every resource goes through
the program's own provider, pinned to the manifest's project (the stack files
also disable the gcp default provider, which the engine enforces).

`StackRequest` is what the stack asks for; `program.read_stack_config` builds
it from the Pulumi configuration, tests build it directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from infra.archives import SourceTree, missing_sources
from infra.manifest import ENTITIES_DIR, EntityManifest, ManifestError, load_manifest
from infra.naming import naming_problems
from shared.deployment import platform_plan
from shared.topology import REGION, Function, Secret, Topic, validate_topology

# RFC 2606 reserves `.invalid`: a name there can never resolve, so it marks a placeholder.
PLACEHOLDER_DOMAIN = ".invalid"
SECRET_CONFIG_PREFIX = "secret-"  # noqa: S105 — a config key prefix: patungan:secret-<name>


def secret_config_key(secret: Secret) -> str:
    """The stack config key (namespace `patungan`) holding a secret's current value."""
    return f"{SECRET_CONFIG_PREFIX}{secret.name}"


def previous_secret_config_key(secret: Secret) -> str:
    """The key holding a rotated secret's previous value while its overlap lasts."""
    return f"{secret_config_key(secret)}-previous"


def mounted_secrets(functions: Sequence[Function]) -> frozenset[str]:
    """The secrets some function mounts: the ones a deploy needs a value for."""
    return frozenset(name for fn in functions for name in fn.secrets)


@dataclass(frozen=True)
class StackRequest:
    """What a stack asks to deploy: its name and the configuration that decides the target."""

    stack: str
    entity: str | None  # patungan:entity
    project: str | None  # gcp:project
    region: str | None = None  # gcp:region
    secrets_with_values: frozenset[str] = field(default_factory=frozenset)
    bootstrap_stack: str | None = None  # patungan:bootstrapStack


class PreflightRefused(RuntimeError):
    """The stack may not be deployed; `problems` says why, one sentence each."""

    def __init__(self, stack: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"preflight refused stack {stack!r}:\n{lines}")


def identity_problems(request: StackRequest, manifest: EntityManifest) -> list[str]:
    """Disagreements between the stack, its manifest and the project it would write to."""
    problems: list[str] = []
    if request.entity != request.stack:
        problems.append(
            f"stack {request.stack!r} sets patungan:entity to {request.entity!r}: "
            f"a stack deploys the entity of the same name"
        )
    if request.project != manifest.project_id:
        problems.append(
            f"stack {request.stack!r} targets project {request.project!r} (gcp:project) but "
            f"entity {manifest.entity_id!r} lives in {manifest.project_id!r}"
        )
    if request.region is not None and request.region != REGION:
        problems.append(f"gcp:region is {request.region!r}; Patungan runs only in {REGION}")
    return problems


def readiness_problems(
    request: StackRequest,
    manifest: EntityManifest,
    tree: SourceTree,
    functions: Sequence[Function],
    topics: Sequence[Topic],
    secrets: Sequence[Secret],
) -> list[str]:
    """What a deploy of this manifest and topology needs and does not have yet."""
    problems: list[str] = []
    if set(manifest.billing.account_id) <= {"0", "-"}:
        problems.append(
            f"{manifest.entity_id}: billing account {manifest.billing.account_id} is a "
            "placeholder; put the real account id in the manifest"
        )
    if manifest.parent is not None and set(manifest.parent.id) == {"0"}:
        problems.append(
            f"{manifest.entity_id}: {manifest.parent.kind} id {manifest.parent.id} is a "
            "placeholder; put the real id in the manifest"
        )
    if request.bootstrap_stack is None:
        problems.append(
            f"stack {request.stack!r} names no bootstrap stack: pulumi config set --stack "
            f"{request.stack} patungan:bootstrapStack organization/patungan-bootstrap/<stack> "
            "(the deployer it impersonates and the folder its project goes in come from there)"
        )
    placeholder_contacts = [
        email
        for email in (*manifest.contacts.ops, *manifest.contacts.billing)
        if email.endswith(PLACEHOLDER_DOMAIN)
    ]
    if placeholder_contacts:
        problems.append(
            f"{manifest.entity_id}: contacts {', '.join(placeholder_contacts)} are placeholders; "
            "put the entity's ops and billing contacts in the manifest"
        )
    if (urlsplit(manifest.providers_url).hostname or "").endswith(PLACEHOLDER_DOMAIN):
        problems.append(
            f"{manifest.entity_id}: providers_url {manifest.providers_url} is a placeholder; "
            "put the credit-data providers' real URL in the manifest"
        )
    if (urlsplit(manifest.payment_gateway_url).hostname or "").endswith(PLACEHOLDER_DOMAIN):
        problems.append(
            f"{manifest.entity_id}: payment_gateway_url {manifest.payment_gateway_url} is a "
            "placeholder; put the payment gateway's real API URL in the manifest"
        )
    try:
        deployed = [
            planned.function
            for planned in platform_plan(
                manifest.ojk_licence.value,
                functions=functions,
                topics=topics,
                secrets=secrets,
                min_instances=manifest.min_instances,
            ).functions
        ]
    except KeyError as exc:
        problems.append(f"{manifest.entity_id}: {exc.args[0]}")
        deployed = list(functions)
    problems.extend(warm_problems(manifest, deployed))
    problems.extend(f"function source missing: {path}" for path in missing_sources(deployed, tree))
    mounted = mounted_secrets(deployed)
    problems.extend(
        f"secret {s.name!r} has no value: pulumi config set --secret --stack "
        f"{request.stack} patungan:{secret_config_key(s)} <value>"
        for s in secrets
        if s.name in mounted and s.name not in request.secrets_with_values
    )
    problems.extend(
        f"topology: {p}" for p in validate_topology(tuple(functions), tuple(topics), tuple(secrets))
    )
    problems.extend(f"naming: {p}" for p in naming_problems(functions, topics))
    return problems


def warm_problems(manifest: EntityManifest, functions: Sequence[Function]) -> list[str]:
    """Warm instances the manifest asks for that its functions cannot have."""
    limits = {fn.name: fn.max_instances for fn in functions}
    return [
        f"{manifest.entity_id}: min_instances {count} for {name!r} exceeds its max instances "
        f"{limits[name]}"
        for name, count in sorted(manifest.min_instances.items())
        if name in limits and count > limits[name]
    ]


def check(
    request: StackRequest,
    tree: SourceTree,
    functions: Sequence[Function],
    topics: Sequence[Topic],
    secrets: Sequence[Secret],
    entities_dir: Path = ENTITIES_DIR,
) -> tuple[EntityManifest | None, list[str]]:
    """The stack's manifest (None when it cannot be loaded) and every preflight problem."""
    try:
        manifest = load_manifest(request.stack, entities_dir)
    except ManifestError as exc:
        return None, [str(exc)]
    return manifest, [
        *identity_problems(request, manifest),
        *readiness_problems(request, manifest, tree, functions, topics, secrets),
    ]
