"""`Platform`: the data stores, messaging, secrets and functions of one entity's project.

Everything here sits in asia-southeast2:
- Firestore (native mode) with point-in-time recovery and delete protection,
  the composite indexes the platform's queries need and the TTL policies that
  empty its plumbing collections (both declared in `shared/indexes.py`);
- a borrower-documents bucket (retention policy: nothing deleted or replaced
  before the manifest's retention, locked if ops chose to) and a function-source
  bucket, both with uniform access and public access prevention enforced;
- an Artifact Registry repository for the functions' images, and the one
  service account that builds them: it writes logs and that repository's images,
  and reads the sources from our bucket and from the `gcf-v2-sources-<number>-<region>`
  bucket Cloud Functions copies them to (a project grant conditioned on that
  bucket's name, since Cloud Functions creates it);
- the Pub/Sub service agent, created explicitly (it appears asynchronously
  otherwise), which dead-letters as itself;
- Identity Platform, the issuer of the end users' tokens (infra/README.md says
  what it keeps, and where);
- every topology topic the platform publishes, its messages stored only in Jakarta
  (a topic published from outside, Cloud Billing's budget notifications, is the entity
  project's own budget topic, subscribed to here like the others);
- every declared secret, replicated only to asia-southeast2 (user-managed,
  never automatic), with its current value from the stack's secret config
  when the stack sets one (every secret a function mounts has one: the
  preflight sees to it; a secret nothing mounts yet may stay empty), and for
  a key that overlaps during rotation its previous value while the stack keeps
  one (infra/README.md, "Rotate a secret");
- one `DeployedFunction` per function the platform plan deploys (the entity's
  licence decides which, `shared/deployment.py`).

The component takes the plan and the topology as arguments: nothing here names
a function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import pulumi
import pulumi_gcp as gcp

from infra.archives import FunctionArchive
from infra.components.entity_project import EntityProject
from infra.components.function import DeployedFunction
from infra.manifest import EntityManifest
from infra.naming import BUILD_ACCOUNT_ID, resource_name
from shared.deployment import TOPIC_RETENTION_S, PlatformPlan
from shared.indexes import COMPOSITE_INDEXES, TTL_FIELD, TTL_POLICIES, CompositeIndex, TtlPolicy
from shared.topology import BUDGET_ALERTS_TOPIC, REGION, Secret, Topic

DATABASE_ID = "(default)"
FUNCTIONS_REPOSITORY = "functions"
SECONDS_PER_DAY = 86_400


def function_sources_condition(project_number: str) -> str:
    """The IAM condition naming the bucket Cloud Functions copies sources to, and its objects."""
    bucket = f"projects/_/buckets/gcf-v2-sources-{project_number}-{REGION}"
    return f'resource.name == "{bucket}" || resource.name.startsWith("{bucket}/objects/")'


class Platform(pulumi.ComponentResource):
    """The Patungan platform inside one entity project, deployed from the topology."""

    database: gcp.firestore.Database
    ttl_fields: dict[str, gcp.firestore.Field]
    indexes: dict[str, gcp.firestore.Index]
    documents: gcp.storage.Bucket
    sources: gcp.storage.Bucket
    repository: gcp.artifactregistry.Repository
    builder: gcp.serviceaccount.Account
    topics: dict[str, gcp.pubsub.Topic]
    secrets: dict[str, gcp.secretmanager.Secret]
    secret_versions: dict[str, gcp.secretmanager.SecretVersion]
    previous_secret_versions: dict[str, gcp.secretmanager.SecretVersion]
    functions: dict[str, DeployedFunction]

    def __init__(
        self,
        name: str,
        *,
        entity: EntityProject,
        manifest: EntityManifest,
        plan: PlatformPlan,
        topics: Sequence[Topic],
        secrets: Sequence[Secret],
        secret_values: Mapping[str, pulumi.Input[str]],
        archives: Mapping[str, FunctionArchive],
        public_invoker_tag: pulumi.Input[str],
        previous_secret_values: Mapping[str, pulumi.Input[str]] | None = None,
        indexes: Sequence[CompositeIndex] = COMPOSITE_INDEXES,
        ttl_policies: Sequence[TtlPolicy] = TTL_POLICIES,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("patungan:infra:Platform", name, None, opts)
        self.prefix = name
        self.entity = entity
        self.manifest = manifest
        self.project_id = entity.project_id
        self.public_invoker_tag = public_invoker_tag
        # Dead-lettering acts as Pub/Sub's service agent; Google creates it some time after the
        # API is on, so it is asked for here and granted through its output.
        self.pubsub_agent_identity = gcp.projects.ServiceIdentity(
            resource_name(name, "service-agent", "pubsub"),
            project=self.project_id,
            service="pubsub.googleapis.com",
            opts=self.fenced("pubsub.googleapis.com"),
        )
        self.pubsub_agent: pulumi.Output[str] = self.pubsub_agent_identity.member
        self.identity_platform = self._identity_platform()
        self.database = self._firestore()
        self.ttl_fields = {p.collection: self._ttl_policy(p) for p in ttl_policies}
        self.indexes = {i.key: self._composite_index(i) for i in indexes}
        self.documents = self._documents_bucket()
        self.sources = self._bucket(
            "function-sources", "sources", protect=False, retention_days=None
        )
        self.repository = self._repository()
        self.builder, self.build_grants = self._build_identity()
        self.topics = {
            t.name: self.topic(t.name, retention=f"{TOPIC_RETENTION_S}s")
            for t in topics
            if t.published_by is None
        } | self._external_topics(topics)
        self.secrets, self.secret_versions = self._secrets(secrets, secret_values)
        self.previous_secret_versions = self._previous_versions(
            secrets, previous_secret_values or {}
        )
        self.functions = {
            planned.name: DeployedFunction(
                resource_name(name, "function", planned.name),
                plan=planned,
                platform=self,
                archive=archives[planned.name],
                opts=pulumi.ResourceOptions(parent=self),
            )
            for planned in plan.functions
        }
        self.register_outputs(
            {
                "documents_bucket": self.documents.name,
                "function_urls": {n: f.url for n, f in self.functions.items()},
            }
        )

    def secret_version(
        self, secret: str, which: Literal["current", "previous"]
    ) -> gcp.secretmanager.SecretVersion:
        """The version a mount pins; with no rotation under way the previous is the current."""
        if which == "previous" and secret in self.previous_secret_versions:
            return self.previous_secret_versions[secret]
        return self.secret_versions[secret]

    def fenced(self, *apis: str, **options: object) -> pulumi.ResourceOptions:
        """Options for a child that uses `apis`: parented here, waiting for APIs and policy."""
        return pulumi.ResourceOptions(
            parent=self,
            depends_on=self.entity.fence(*apis),
            **options,  # type: ignore[arg-type]
        )

    def topic(
        self, topic_id: str, *, retention: str, parent: pulumi.Resource | None = None
    ) -> gcp.pubsub.Topic:
        """A topic whose messages are stored, and published and delivered, only in Jakarta."""
        return gcp.pubsub.Topic(
            resource_name(self.prefix, "topic", topic_id),
            project=self.project_id,
            name=topic_id,
            message_storage_policy=gcp.pubsub.TopicMessageStoragePolicyArgs(
                allowed_persistence_regions=[REGION],
                enforce_in_transit=True,
            ),
            message_retention_duration=retention,
            opts=pulumi.ResourceOptions(
                parent=parent or self, depends_on=self.entity.fence("pubsub.googleapis.com")
            ),
        )

    def _external_topics(self, topics: Sequence[Topic]) -> dict[str, gcp.pubsub.Topic]:
        """Topics published from outside the platform exist where their publisher is set up:
        Cloud Billing's is the entity project's budget topic."""
        made_elsewhere = {BUDGET_ALERTS_TOPIC: self.entity.budget_topic}
        external = [t for t in topics if t.published_by is not None]
        unknown = [t.name for t in external if t.name not in made_elsewhere]
        if unknown:
            raise ValueError(f"no resource of the entity project is the topic {unknown}")
        return {t.name: made_elsewhere[t.name] for t in external}

    def _firestore(self) -> gcp.firestore.Database:
        return gcp.firestore.Database(
            resource_name(self.prefix, "firestore"),
            project=self.project_id,
            name=DATABASE_ID,
            location_id=REGION,
            type="FIRESTORE_NATIVE",
            concurrency_mode="PESSIMISTIC",
            app_engine_integration_mode="DISABLED",
            point_in_time_recovery_enablement="POINT_IN_TIME_RECOVERY_ENABLED",
            delete_protection_state="DELETE_PROTECTION_ENABLED",
            deletion_policy="PREVENT",
            opts=self.fenced("firestore.googleapis.com", protect=True),
        )

    def _ttl_policy(self, policy: TtlPolicy) -> gcp.firestore.Field:
        """Firestore deletes the collection's documents once their `expire_at` has passed."""
        return gcp.firestore.Field(
            resource_name(self.prefix, "firestore-ttl", policy.collection),
            project=self.project_id,
            database=self.database.name,
            collection=policy.collection,
            field=TTL_FIELD,
            ttl_config=gcp.firestore.FieldTtlConfigArgs(),  # expire at the timestamp itself
            # No single-field indexes: nothing queries the expiry, and indexing an
            # ever-increasing timestamp would make a write hot spot.
            index_config=gcp.firestore.FieldIndexConfigArgs(),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _composite_index(self, index: CompositeIndex) -> gcp.firestore.Index:
        return gcp.firestore.Index(
            resource_name(self.prefix, "firestore-index", index.key),
            project=self.project_id,
            database=self.database.name,
            collection=index.collection,
            query_scope="COLLECTION",
            fields=[
                gcp.firestore.IndexFieldArgs(field_path=f.path, array_config=f.mode)
                if f.mode == "CONTAINS"
                else gcp.firestore.IndexFieldArgs(field_path=f.path, order=f.mode)
                for f in index.fields
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _identity_platform(self) -> gcp.identityplatform.Config:
        """End users sign in here; its tokens are what client-facing functions verify."""
        return gcp.identityplatform.Config(
            resource_name(self.prefix, "identity-platform"),
            project=self.project_id,
            sign_in=gcp.identityplatform.ConfigSignInArgs(
                email=gcp.identityplatform.ConfigSignInEmailArgs(
                    enabled=True, password_required=True
                ),
                phone_number=gcp.identityplatform.ConfigSignInPhoneNumberArgs(enabled=True),
            ),
            # Indonesian numbers only: one-time codes are sent to +62 numbers and nowhere else.
            sms_region_config=gcp.identityplatform.ConfigSmsRegionConfigArgs(
                allowlist_only=gcp.identityplatform.ConfigSmsRegionConfigAllowlistOnlyArgs(
                    allowed_regions=["ID"]
                )
            ),
            autodelete_anonymous_users=True,
            opts=self.fenced("identitytoolkit.googleapis.com"),
        )

    def _documents_bucket(self) -> gcp.storage.Bucket:
        return self._bucket(
            "documents",
            "documents",
            protect=True,
            retention_days=self.manifest.documents_retention_days,
            locked=self.manifest.lock_retention,
        )

    def _bucket(
        self,
        suffix: str,
        kind: str,
        *,
        protect: bool,
        retention_days: int | None,
        locked: bool = False,
    ) -> gcp.storage.Bucket:
        retention = (
            gcp.storage.BucketRetentionPolicyArgs(
                retention_period=str(retention_days * SECONDS_PER_DAY),
                # Locked, the retention can never be shortened or removed: ops' decision.
                is_locked=locked,
            )
            if retention_days
            else None
        )
        return gcp.storage.Bucket(
            resource_name(self.prefix, "bucket", kind),
            project=self.project_id,
            name=f"{self.manifest.project_id}-{suffix}",
            location=REGION.upper(),
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            retention_policy=retention,
            force_destroy=False,
            opts=self.fenced("storage.googleapis.com", protect=protect),
        )

    def _repository(self) -> gcp.artifactregistry.Repository:
        return gcp.artifactregistry.Repository(
            resource_name(self.prefix, "repository", FUNCTIONS_REPOSITORY),
            project=self.project_id,
            location=REGION,
            repository_id=FUNCTIONS_REPOSITORY,
            format="DOCKER",
            description="Container images Cloud Build makes from the function sources.",
            cleanup_policies=[
                # Keep the last images of every function (rollbacks), drop the rest after 30 days.
                gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                    id="keep-recent",
                    action="KEEP",
                    most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(
                        keep_count=5
                    ),
                ),
                gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                    id="delete-old",
                    action="DELETE",
                    condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(
                        older_than=f"{30 * SECONDS_PER_DAY}s", tag_state="ANY"
                    ),
                ),
            ],
            opts=self.fenced("artifactregistry.googleapis.com"),
        )

    def _build_identity(self) -> tuple[gcp.serviceaccount.Account, list[pulumi.Resource]]:
        builder = gcp.serviceaccount.Account(
            resource_name(self.prefix, "account", BUILD_ACCOUNT_ID),
            project=self.project_id,
            account_id=BUILD_ACCOUNT_ID,
            display_name="Builds the Cloud Functions of this entity",
            opts=self.fenced("iam.googleapis.com"),
        )
        child = pulumi.ResourceOptions(parent=self)
        grants: list[pulumi.Resource] = [
            # Build logs can only be granted project-wide.
            gcp.projects.IAMMember(
                resource_name(self.prefix, "grant", "builder-logs"),
                project=self.project_id,
                role="roles/logging.logWriter",
                member=builder.member,
                opts=child,
            ),
            gcp.artifactregistry.RepositoryIamMember(
                resource_name(self.prefix, "grant", "builder-images"),
                project=self.project_id,
                location=REGION,
                repository=self.repository.repository_id,
                role="roles/artifactregistry.writer",
                member=builder.member,
                opts=child,
            ),
            gcp.storage.BucketIAMMember(
                resource_name(self.prefix, "grant", "builder-sources"),
                bucket=self.sources.name,
                role="roles/storage.objectViewer",
                member=builder.member,
                opts=child,
            ),
            # Cloud Functions copies each source into a bucket of its own, which it creates on
            # the first deploy, and builds from there: read it, and no other bucket.
            gcp.projects.IAMMember(
                resource_name(self.prefix, "grant", "builder-function-sources"),
                project=self.project_id,
                role="roles/storage.objectViewer",
                member=builder.member,
                condition=gcp.projects.IAMMemberConditionArgs(
                    title="Cloud Functions source copies",
                    description="The gcf-v2-sources bucket of this project and region only.",
                    expression=self.entity.project_number.apply(function_sources_condition),
                ),
                opts=child,
            ),
        ]
        return builder, grants

    def _secrets(
        self, secrets: Sequence[Secret], values: Mapping[str, pulumi.Input[str]]
    ) -> tuple[dict[str, gcp.secretmanager.Secret], dict[str, gcp.secretmanager.SecretVersion]]:
        created: dict[str, gcp.secretmanager.Secret] = {}
        versions: dict[str, gcp.secretmanager.SecretVersion] = {}
        for declared in secrets:
            secret = gcp.secretmanager.Secret(
                resource_name(self.prefix, "secret", declared.name),
                project=self.project_id,
                secret_id=declared.name,
                replication=gcp.secretmanager.SecretReplicationArgs(
                    user_managed=gcp.secretmanager.SecretReplicationUserManagedArgs(
                        replicas=[
                            gcp.secretmanager.SecretReplicationUserManagedReplicaArgs(
                                location=REGION
                            )
                        ]
                    )
                ),
                annotations={"purpose": declared.description},
                deletion_protection=True,
                opts=self.fenced("secretmanager.googleapis.com"),
            )
            created[declared.name] = secret
            if declared.name not in values:
                # Nothing mounts it yet: ops set patungan:secret-<name> once something will.
                continue
            versions[declared.name] = self._secret_version(secret, declared, values[declared.name])
        return created, versions

    def _previous_versions(
        self, secrets: Sequence[Secret], values: Mapping[str, pulumi.Input[str]]
    ) -> dict[str, gcp.secretmanager.SecretVersion]:
        return {
            declared.name: self._secret_version(
                self.secrets[declared.name], declared, values[declared.name], "previous"
            )
            for declared in secrets
            if declared.previous_env_var and declared.name in values
        }

    def _secret_version(
        self,
        secret: gcp.secretmanager.Secret,
        declared: Secret,
        value: pulumi.Input[str],
        which: str = "",
    ) -> gcp.secretmanager.SecretVersion:
        return gcp.secretmanager.SecretVersion(
            resource_name(self.prefix, "secret-version", declared.name, which),
            secret=secret.id,
            secret_data=value,
            # A replaced value stays readable: data encrypted under an old key must
            # still decrypt until it has been re-encrypted.
            deletion_policy="ABANDON",
            opts=pulumi.ResourceOptions(parent=self),
        )
