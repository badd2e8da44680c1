"""The program: read the stack configuration once, check it, and deploy one entity.

`run(...)` is what `infra/__main__.py` calls under `pulumi up` and what
`infra.offline` calls under mocks — one code path. It:

1. reads the stack's configuration (`read_stack_config`, the only place Pulumi
   configuration is read): the request the preflight checks and the secrets' values;
2. runs the preflight and raises `PreflightRefused` on any problem (unless a
   caller previewing offline asks to proceed with placeholders);
3. derives the platform plan for the manifest's licence (`shared/deployment.py`:
   which functions the entity deploys, and how each is wired) and builds the
   source archive of every function it deploys;
4. composes the provider (pinned to the entity's project and region, labelling
   every resource), the `EntityProject` and the `Platform`, and exports what
   ops need (project, function URLs, buckets).

The topology arrives as arguments defaulting to `shared.topology`; nothing
here names a function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_gcp as gcp

from infra.archives import FunctionArchive, SourceTree, build_archive, missing_sources
from infra.components import EntityProject, Platform
from infra.manifest import ENTITIES_DIR, EntityManifest
from infra.naming import resource_name
from infra.preflight import (
    PreflightRefused,
    StackRequest,
    check,
    mounted_secrets,
    previous_secret_config_key,
    secret_config_key,
)
from shared.deployment import PlatformPlan, platform_plan
from shared.topology import FUNCTIONS, REGION, SECRETS, TOPICS, Function, Secret, Topic

# What an offline preview uses where a real deploy would refuse.
PLACEHOLDER_SECRET = "offline-placeholder"  # noqa: S105 — never deployed: preview only


@dataclass(frozen=True)
class Deployment:
    """What `run` deployed: the manifest and the components (for tests and the plan)."""

    manifest: EntityManifest
    entity: EntityProject
    platform: Platform
    problems: tuple[str, ...]  # preflight problems accepted by an offline preview


@dataclass(frozen=True)
class SecretValues:
    """The secrets' values the stack sets: current ones, and previous ones during a rotation."""

    current: Mapping[str, pulumi.Input[str]]
    previous: Mapping[str, pulumi.Input[str]]


def read_stack_config(
    secrets: Sequence[Secret] = SECRETS,
) -> tuple[StackRequest, SecretValues]:
    """What decides what is deployed where, and the value of every secret the stack sets."""
    patungan, gcp_config = pulumi.Config("patungan"), pulumi.Config("gcp")
    secret_values = {
        s.name: value
        for s in secrets
        if (value := patungan.get_secret(secret_config_key(s))) is not None
    }
    previous_values = {
        s.name: value
        for s in secrets
        if s.previous_env_var
        and (value := patungan.get_secret(previous_secret_config_key(s))) is not None
    }
    request = StackRequest(
        stack=pulumi.get_stack(),
        entity=patungan.get("entity"),
        project=gcp_config.get("project"),
        region=gcp_config.get("region"),
        secrets_with_values=frozenset(secret_values),
        quota_project=patungan.get("quotaProject"),
    )
    return request, SecretValues(secret_values, previous_values)


def run(
    tree: SourceTree,
    archive_dir: Path,
    *,
    functions: Sequence[Function] = FUNCTIONS,
    topics: Sequence[Topic] = TOPICS,
    secrets: Sequence[Secret] = SECRETS,
    entities_dir: Path = ENTITIES_DIR,
    preview_with_placeholders: bool = False,
) -> Deployment:
    """Deploy the stack's entity, or refuse. Placeholders are for offline previews only."""
    request, values = read_stack_config(secrets)
    manifest, problems = check(request, tree, functions, topics, secrets, entities_dir)
    if manifest is None or (problems and not preview_with_placeholders):
        raise PreflightRefused(request.stack, problems)
    plan = entity_plan(manifest, functions, topics, secrets)
    deployed = [planned.function for planned in plan.functions]
    missing = set(missing_sources(deployed, tree))
    archives = {
        fn.name: (
            _placeholder_archive(fn, archive_dir)
            if str(tree.function_dir(fn) / "main.py") in missing
            else build_archive(fn, tree, archive_dir)
        )
        for fn in deployed
    }
    # A mounted secret without a value is a preflight problem, so only a preview gets here.
    placeholders = {
        name: pulumi.Output.secret(PLACEHOLDER_SECRET)
        for name in mounted_secrets(deployed)
        if name not in values.current
    }
    return deploy_entity(
        manifest,
        request,
        plan=plan,
        archives=archives,
        secret_values=SecretValues({**placeholders, **values.current}, values.previous),
        topics=topics,
        secrets=secrets,
        problems=problems,
    )


def entity_plan(
    manifest: EntityManifest,
    functions: Sequence[Function] = FUNCTIONS,
    topics: Sequence[Topic] = TOPICS,
    secrets: Sequence[Secret] = SECRETS,
) -> PlatformPlan:
    """The platform plan of the manifest's licence, with the instances it keeps warm."""
    return platform_plan(
        manifest.ojk_licence.value,
        functions=functions,
        topics=topics,
        secrets=secrets,
        min_instances=manifest.min_instances,
    )


def deploy_entity(
    manifest: EntityManifest,
    request: StackRequest,
    *,
    plan: PlatformPlan,
    archives: Mapping[str, FunctionArchive],
    secret_values: SecretValues,
    topics: Sequence[Topic],
    secrets: Sequence[Secret],
    problems: Sequence[str] = (),
) -> Deployment:
    """Compose the entity's provider, project and platform, and export the stack outputs."""
    prefix = manifest.entity_id
    provider = gcp.Provider(
        resource_name(prefix, "provider"),
        project=manifest.project_id,
        region=REGION,
        default_labels=manifest.labels,
        # With user credentials, budget and API calls need a quota project of their own.
        billing_project=request.quota_project,
        user_project_override=True if request.quota_project else None,
    )
    entity = EntityProject(prefix, manifest, opts=pulumi.ResourceOptions(providers=[provider]))
    platform = Platform(
        prefix,
        entity=entity,
        manifest=manifest,
        plan=plan,
        topics=topics,
        secrets=secrets,
        secret_values=secret_values.current,
        previous_secret_values=secret_values.previous,
        archives=archives,
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    pulumi.export("entity", manifest.entity_id)
    pulumi.export("project_id", entity.project_id)
    pulumi.export("project_number", entity.project_number)
    pulumi.export("documents_bucket", platform.documents.name)
    pulumi.export("function_urls", {name: f.url for name, f in platform.functions.items()})
    pulumi.export("budget", entity.budget.name)
    return Deployment(manifest, entity, platform, tuple(problems))


def _placeholder_archive(fn: Function, archive_dir: Path) -> FunctionArchive:
    """Stands in for a function whose folder does not exist yet (offline previews only)."""
    return FunctionArchive(
        function=fn.name, path=archive_dir / f"{fn.name}-MISSING.zip", digest="0" * 64
    )
