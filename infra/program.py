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
4. reads the organisation's bootstrap stack (`patungan:bootstrapStack`, a
   StackReference): the deployer to impersonate, the entity's folder, the tag that
   marks public functions;
5. composes the provider (pinned to the entity's project and region, labelling
   every resource, acting as the deployer), checks that the billing account bills
   in the manifest's currency, composes the `EntityProject` and the `Platform`, and
   exports what ops need (project, function URLs, buckets).

The topology arrives as arguments defaulting to `shared.topology`; nothing
here names a function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_gcp as gcp

from infra.archives import FunctionArchive, SourceTree, build_archive, missing_sources
from infra.components import EntityProject, Observability, Platform
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


class BillingCurrencyMismatch(ValueError):
    """The billing account bills in another currency than the manifest's budget is written in."""


@dataclass(frozen=True)
class Deployment:
    """What `run` deployed: the manifest and the components (for tests and the plan)."""

    manifest: EntityManifest
    entity: EntityProject
    platform: Platform
    observability: Observability
    problems: tuple[str, ...]  # preflight problems accepted by an offline preview
    exports: Mapping[str, pulumi.Input[Any]]


@dataclass(frozen=True)
class Bootstrap:
    """What an entity stack takes from the organisation's bootstrap stack."""

    deployer: pulumi.Output[str]  # impersonated for every call
    folder: pulumi.Output[str]  # the entity's folder id, where its project is created
    public_invoker_tag: pulumi.Output[str]  # `tagValues/...`: client-facing functions carry it

    @classmethod
    def read(cls, reference: str, entity: str) -> Bootstrap:
        outputs = pulumi.StackReference(reference)
        return cls(
            deployer=outputs.require_output("deployer_email"),
            folder=outputs.require_output("entity_folders").apply(
                lambda folders: _folder_of(folders, entity, reference)
            ),
            public_invoker_tag=outputs.require_output("public_invoker_tag_value"),
        )


def _folder_of(folders: Mapping[str, str], entity: str, reference: str) -> str:
    if entity not in folders:
        raise KeyError(
            f"bootstrap stack {reference} made no folder for entity {entity!r}: run it again "
            "after adding the entity's manifest (infra/README.md, 'Add an entity')"
        )
    return str(folders[entity])


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
        bootstrap_stack=patungan.get("bootstrapStack"),
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
    assert request.bootstrap_stack is not None  # the preflight requires it
    bootstrap = Bootstrap.read(request.bootstrap_stack, manifest.entity_id)
    provider = gcp.Provider(
        resource_name(prefix, "provider"),
        project=manifest.project_id,
        region=REGION,
        default_labels=manifest.labels,
        # Every call as the deployer: Resource Manager, Billing and Budgets calls are then
        # billed to its home project, the admin project, which has their APIs enabled.
        impersonate_service_account=bootstrap.deployer,
    )
    on_provider = pulumi.ResourceOptions(providers=[provider])
    currency = billing_currency(manifest, provider)
    entity = EntityProject(
        prefix,
        manifest,
        folder=bootstrap.folder,
        budget_currency=currency,
        opts=on_provider,
    )
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
        public_invoker_tag=bootstrap.public_invoker_tag,
        opts=on_provider,
    )
    observability = Observability(
        prefix, entity=entity, manifest=manifest, database=platform.database, opts=on_provider
    )
    exports: dict[str, pulumi.Input[Any]] = {
        "entity": manifest.entity_id,
        "project_id": entity.project_id,
        "project_number": entity.project_number,
        "documents_bucket": platform.documents.name,
        "function_urls": {name: f.url for name, f in platform.functions.items()},
        "budget": entity.budget.name,
    }
    for key, value in exports.items():
        pulumi.export(key, value)
    return Deployment(manifest, entity, platform, observability, tuple(problems), exports)


def billing_currency(manifest: EntityManifest, provider: gcp.Provider) -> pulumi.Output[str]:
    """The billing account's currency, once it is the manifest's (a budget must use it)."""
    account = gcp.organizations.get_billing_account_output(
        billing_account=manifest.billing.account_id,
        opts=pulumi.InvokeOutputOptions(provider=provider),
    )

    def same(currency: str) -> str:
        if currency != manifest.budget.currency:
            raise BillingCurrencyMismatch(
                f"{manifest.entity_id}: billing account {manifest.billing.account_id} bills in "
                f"{currency}, but the manifest's budget is in {manifest.budget.currency}: "
                "write the budget in the account's currency (infra/README.md, 'Budgets')"
            )
        return currency

    return account.currency_code.apply(same)


def _placeholder_archive(fn: Function, archive_dir: Path) -> FunctionArchive:
    """Stands in for a function whose folder does not exist yet (offline previews only)."""
    return FunctionArchive(
        function=fn.name, path=archive_dir / f"{fn.name}-MISSING.zip", digest="0" * 64
    )
