"""The function itself: its source archive and the Cloud Function (2nd gen) built from it.

python312, entry point `<name>`, built by the entity's build account into its
Artifact Registry repository, memory, timeout and instance limits from the plan,
and the plan's environment filled with the cloud's values:

- user tokens: Identity Platform of the entity's project (issuer, audience, JWKS);
- scheduler tokens (scheduled functions): Google's OIDC issuer and keys, the
  function's `cloudfunctions.net` URL as audience, its job's account as invoker;
- push tokens (event functions): Google's OIDC issuer and keys, the function's
  deterministic `run.app` URL as audience (the one its push subscriptions name and
  push to), their account as invoker;
- documents: the bucket, and the function's own account as URL signer (IAM
  signBlob, never a key file);
- Pub/Sub: the regional endpoint, so messages are published inside Jakarta too;
- secrets: each mounted at the version the stack pinned (a rotation deploys a new
  revision), the previous version too for keys that overlap during a rotation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from infra.archives import FunctionArchive
from infra.components.function.identity import settled
from infra.components.function.invokers import run_app_url
from infra.components.function.schedule import scheduled_function_url
from infra.naming import resource_name
from shared.deployment import Source
from shared.topology import REGION

if TYPE_CHECKING:
    from infra.components.function import DeployedFunction

RUNTIME = "python312"
# Identity Platform (Firebase Auth) ID tokens: issuer prefix and signing keys.
IDENTITY_PLATFORM_ISSUER = "https://securetoken.google.com/"
IDENTITY_PLATFORM_KEYS_URL = (
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
)
# Google-signed OIDC ID tokens (what Cloud Scheduler and Pub/Sub push send): issuer and keys.
GOOGLE_OIDC_ISSUER = "https://accounts.google.com"
GOOGLE_OIDC_KEYS_URL = "https://www.googleapis.com/oauth2/v3/certs"
# Topics enforce in-transit residency: publish through Jakarta's own endpoint.
REGIONAL_PUBSUB_ENDPOINT = f"{REGION}-pubsub.googleapis.com:443"


def cloud_values(owner: DeployedFunction) -> Callable[[Source], pulumi.Input[str] | None]:
    """What each source of the plan is filled with in the entity's project."""
    plan, platform, identity = owner.plan, owner.platform, owner.identity
    manifest = platform.manifest
    project = manifest.project_id
    values: dict[Source, pulumi.Input[str] | None] = {
        Source.ENVIRONMENT: manifest.env,
        Source.ENTITY: manifest.entity_id,
        Source.PROJECT: project,
        Source.FUNCTION_NAME: plan.name,
        Source.PUBSUB_ENDPOINT: REGIONAL_PUBSUB_ENDPOINT,
        Source.USER_TOKEN_ISSUER: f"{IDENTITY_PLATFORM_ISSUER}{project}",
        Source.USER_TOKEN_AUDIENCE: project,
        Source.USER_TOKEN_KEYS: IDENTITY_PLATFORM_KEYS_URL,
        Source.SERVICE_TOKEN_ISSUER: GOOGLE_OIDC_ISSUER,
        Source.SERVICE_TOKEN_KEYS: GOOGLE_OIDC_KEYS_URL,
        # Known before the function exists, unlike the URL it reports.
        Source.SCHEDULER_TOKEN_AUDIENCE: scheduled_function_url(project, plan),
        Source.SCHEDULER_ACCOUNT: identity.scheduler.email if identity.scheduler else None,
        Source.PUSH_TOKEN_AUDIENCE: run_app_url(owner),
        Source.PUSH_ACCOUNT: identity.pusher.email if identity.pusher else None,
        Source.DOCUMENTS_BUCKET: platform.documents.name,
        Source.URL_SIGNER: identity.runtime.email,
        Source.PROVIDERS_URL: manifest.providers_url,
        Source.PAYMENT_GATEWAY_URL: manifest.payment_gateway_url,
        Source.ESCROW_ACCOUNT: (
            manifest.escrow_account.model_dump_json() if manifest.escrow_account else None
        ),
        Source.MIN_DEPOSIT: str(manifest.money_limits.min_deposit),
        Source.MIN_WITHDRAWAL: str(manifest.money_limits.min_withdrawal),
        Source.MIN_COMMITMENT: str(manifest.funding_rules.min_commitment),
        Source.MAX_LENDERS_PER_LOAN: str(manifest.funding_rules.max_lenders_per_loan),
        Source.CONCENTRATION_FLOOR: str(manifest.funding_rules.concentration_floor),
        Source.MEMBERS_ONLY: str(manifest.funding_rules.members_only).lower(),
        Source.CAP_TABLE: manifest.funding_rules.cap_table,
    }
    return values.get


def cloud_function(
    owner: DeployedFunction, archive: FunctionArchive
) -> gcp.cloudfunctionsv2.Function:
    plan, platform = owner.plan, owner.platform
    fn = plan.function
    source = gcp.storage.BucketObject(
        resource_name(owner.resource_prefix, "source"),
        bucket=platform.sources.name,
        name=archive.object_name,
        source=pulumi.FileAsset(str(archive.path)),
        opts=owner.child(),
    )
    secret_variables = [
        gcp.cloudfunctionsv2.FunctionServiceConfigSecretEnvironmentVariableArgs(
            key=mount.variable,
            project_id=platform.project_id,
            secret=platform.secrets[mount.secret].secret_id,
            version=platform.secret_version(mount.secret, mount.version).version,
        )
        for mount in plan.secrets
    ]
    return gcp.cloudfunctionsv2.Function(
        resource_name(owner.resource_prefix, "function"),
        project=platform.project_id,
        location=REGION,
        name=plan.service_name,
        description=fn.description,
        labels={"function": plan.service_name},
        build_config=gcp.cloudfunctionsv2.FunctionBuildConfigArgs(
            runtime=RUNTIME,
            entry_point=fn.entry_point,
            source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceArgs(
                storage_source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceStorageSourceArgs(
                    bucket=platform.sources.name, object=source.name
                )
            ),
            service_account=platform.builder.id,
            docker_repository=platform.repository.id,
        ),
        service_config=gcp.cloudfunctionsv2.FunctionServiceConfigArgs(
            service_account_email=owner.identity.runtime.email,
            available_memory=f"{fn.memory_mb}Mi",
            timeout_seconds=fn.timeout_s,
            min_instance_count=plan.min_instances,
            max_instance_count=fn.max_instances,
            # Pub/Sub pushes and Scheduler jobs from this project count as internal.
            ingress_settings="ALLOW_ALL" if plan.public_ingress else "ALLOW_INTERNAL_ONLY",
            all_traffic_on_latest_revision=True,
            environment_variables=plan.fill(cloud_values(owner)),
            secret_environment_variables=secret_variables or None,
        ),
        opts=owner.child(
            depends_on=[
                *platform.entity.fence(
                    "cloudfunctions.googleapis.com",
                    "run.googleapis.com",
                    "cloudbuild.googleapis.com",
                ),
                # The build reads sources and writes images as the builder, and the function
                # reads its secrets as itself: both only once their grants apply.
                settled(owner, "grants", [*platform.build_grants, *owner.identity.grants]),
                *(platform.secret_version(m.secret, m.version) for m in plan.secrets),
            ]
        ),
    )
