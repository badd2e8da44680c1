"""`DeployedFunction`: one topology function as a Cloud Function (2nd gen), and its wiring.

For every function:
- its own service account, granted only what the topology says it touches:
  Firestore (`datastore.viewer` or `datastore.user`), the documents bucket
  (`objectViewer`, plus `objectCreator` to write), signing URLs as itself
  (`serviceAccountTokenCreator` on itself only), publishing to each topic it
  publishes (`pubsub.publisher` on that topic only) and reading each secret it
  declares (`secretAccessor` on that secret only);
- its source archive (named by content hash) uploaded to the sources bucket;
- the function: python312, entry point `<name>`, built by the build account
  into the entity's repository, memory / timeout / max instances from the
  topology, exactly the environment its settings class reads (from the entity
  manifest), secrets mounted as variables.

And how it is invoked (the function's Cloud Run service holds the grant):
- client-facing HTTP: `allUsers` may invoke — every request is authenticated
  in code (bearer token or webhook signature);
- event: only the push subscription's OIDC account may invoke, over internal
  ingress; the subscription pushes to `<url>/projects/<p>/topics/<t>` (the
  path names the topic for functions-framework; the token's audience is the
  bare URL, which Cloud Run checks), retries with backoff and dead-letters to the
  function's own dead-letter topic (kept on a pull subscription for replay),
  with the Pub/Sub service agent allowed to publish there and to pull from the
  subscription, which dead-lettering requires;
- scheduled HTTP: only its Cloud Scheduler job's OIDC account may invoke; the
  job runs in asia-southeast2 on Asia/Jakarta time and posts to the function's
  `https://<region>-<project>.cloudfunctions.net/<name>` URL with that URL as
  the token's audience. The function verifies the token in code too: its
  issuer settings are Google's OIDC issuer (not Identity Platform), its
  audience that URL — known before the function exists, unlike the run.app
  URL — and `PATUNGAN_SCHEDULER_INVOKER` the job's account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from infra.archives import FunctionArchive
from infra.naming import (
    PUSH_ACCOUNT,
    RUNTIME_ACCOUNT,
    SCHEDULER_ACCOUNT,
    account_id,
    function_id,
    resource_name,
)
from shared.topology import (
    REGION,
    SCHEDULER_TIME_ZONE,
    Function,
    dead_letter_topic,
    secret,
    subscription_name,
)

if TYPE_CHECKING:
    from infra.components.platform import Platform

RUNTIME = "python312"
INVOKER_ROLE = "roles/run.invoker"  # 2nd gen functions are invoked through Cloud Run
FIRESTORE_ROLES = {"read": "roles/datastore.viewer", "read_write": "roles/datastore.user"}
DOCUMENT_ROLES = {
    "read": ("roles/storage.objectViewer",),
    # Create, never overwrite or delete: the bucket's retention policy agrees.
    "read_write": ("roles/storage.objectViewer", "roles/storage.objectCreator"),
}
DEAD_LETTER_TOPIC_RETENTION = "2678400s"  # 31 days, the most Pub/Sub keeps: time to replay
HOLD_RETENTION = "604800s"  # 7 days, the most a subscription keeps
NEVER_EXPIRE = ""  # an idle subscription must not be deleted by Pub/Sub
# Whoever holds the providers' API key calls them, so is told where they are.
PROVIDER_CREDENTIALS = "provider-api-key"  # the secret's name
# Identity Platform (Firebase Auth) ID tokens: issuer prefix and signing keys.
IDENTITY_PLATFORM_ISSUER = "https://securetoken.google.com/"
IDENTITY_PLATFORM_KEYS_URL = (
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
)
# Google-signed OIDC ID tokens (what Cloud Scheduler sends): issuer and signing keys.
GOOGLE_OIDC_ISSUER = "https://accounts.google.com"
GOOGLE_OIDC_KEYS_URL = "https://www.googleapis.com/oauth2/v3/certs"


def scheduled_function_url(project_id: str, fn: Function) -> str:
    """The cloudfunctions.net URL of a function: its Scheduler job's target and audience."""
    return f"https://{REGION}-{project_id}.cloudfunctions.net/{function_id(fn)}"


class DeployedFunction(pulumi.ComponentResource):
    """A topology function running in the entity's project, reachable only as intended."""

    account: gcp.serviceaccount.Account
    function: gcp.cloudfunctionsv2.Function
    url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        fn: Function,
        platform: Platform,
        archive: FunctionArchive,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("patungan:infra:Function", name, None, opts)
        self._name = name
        self.fn = fn
        self.platform = platform
        self.project_id = platform.project_id
        self.gcp_name = function_id(fn)
        self.account = self._account(RUNTIME_ACCOUNT, f"Runs the {fn.name} function")
        # Created first: the function is told which account its Scheduler job calls as.
        self.scheduler_account = (
            self._account(SCHEDULER_ACCOUNT, f"Runs {fn.name} on its schedule")
            if fn.schedule
            else None
        )
        grants = self._runtime_grants()
        source = gcp.storage.BucketObject(
            resource_name(name, "source"),
            bucket=platform.sources.name,
            name=archive.object_name,
            source=pulumi.FileAsset(str(archive.path)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.function = self._function(source, grants)
        self.url = self.function.service_config.apply(_service_uri)
        if fn.client_facing:
            # Public at the network edge; the function authenticates every request itself.
            self._invoker("public", pulumi.Output.from_input("allUsers"))
        if fn.kind == "event":
            self._push_subscription()
        if fn.schedule:
            self._scheduler_job()
        self.register_outputs({"url": self.url, "account": self.account.email})

    def _child(self, **options: object) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **options)  # type: ignore[arg-type]

    def _account(self, prefix: str, description: str) -> gcp.serviceaccount.Account:
        return gcp.serviceaccount.Account(
            resource_name(self._name, "account", prefix),
            project=self.project_id,
            account_id=account_id(prefix, self.fn.name),
            display_name=description,
            opts=self._child(depends_on=self.platform.entity.services_for("iam.googleapis.com")),
        )

    def _runtime_grants(self) -> list[pulumi.Resource]:
        fn, platform, member = self.fn, self.platform, self.account.member
        grants: list[pulumi.Resource] = []
        if fn.firestore != "none":
            grants.append(
                gcp.projects.IAMMember(
                    resource_name(self._name, "grant", "firestore"),
                    project=self.project_id,
                    role=FIRESTORE_ROLES[fn.firestore],
                    member=member,
                    opts=self._child(),
                )
            )
        if fn.documents != "none":
            for role in DOCUMENT_ROLES[fn.documents]:
                grants.append(
                    gcp.storage.BucketIAMMember(
                        resource_name(self._name, "grant", "documents", role.rsplit(".", 1)[-1]),
                        bucket=platform.documents.name,
                        role=role,
                        member=member,
                        opts=self._child(),
                    )
                )
        if fn.signs_document_urls:
            # signBlob as itself, and as nobody else.
            grants.append(
                gcp.serviceaccount.IAMMember(
                    resource_name(self._name, "grant", "sign-as-self"),
                    service_account_id=self.account.name,
                    role="roles/iam.serviceAccountTokenCreator",
                    member=member,
                    opts=self._child(),
                )
            )
        for topic_name in fn.publishes:
            grants.append(
                gcp.pubsub.TopicIAMMember(
                    resource_name(self._name, "grant", "publish", topic_name),
                    project=self.project_id,
                    topic=platform.topics[topic_name].name,
                    role="roles/pubsub.publisher",
                    member=member,
                    opts=self._child(),
                )
            )
        for secret_name in fn.secrets:
            grants.append(
                gcp.secretmanager.SecretIamMember(
                    resource_name(self._name, "grant", "secret", secret_name),
                    project=self.project_id,
                    secret_id=platform.secrets[secret_name].secret_id,
                    role="roles/secretmanager.secretAccessor",
                    member=member,
                    opts=self._child(),
                )
            )
        return grants

    def _environment(self) -> dict[str, pulumi.Input[str]]:
        """Exactly the variables the function's settings class reads (`shared/settings.py`).

        Every function: `PlatformSettings`. HTTP functions: `HttpSettings` (Identity
        Platform tokens of this project). Document access: `DocumentStorageSettings`
        (the bucket; signing through IAM as itself, never with a key file). Holders of
        the provider key: where the providers are. Secrets are mounted separately.
        Tested against each function's settings class in tests/infra/test_function_settings.py.
        """
        fn, manifest = self.fn, self.platform.manifest
        env: dict[str, pulumi.Input[str]] = {
            "PATUNGAN_ENV": manifest.env,
            "PATUNGAN_ENTITY": manifest.entity_id,
            "PATUNGAN_GCP_PROJECT": manifest.project_id,
            # The topology name; K_SERVICE, the fallback, is the hyphenated service name.
            "PATUNGAN_FUNCTION_NAME": fn.name,
        }
        if PROVIDER_CREDENTIALS in fn.secrets:
            env["PATUNGAN_PROVIDERS_URL"] = manifest.providers_url
        if self.scheduler_account is not None:
            # Called by its Scheduler job alone, with a Google-signed OIDC token.
            env |= {
                "PATUNGAN_AUTH_ISSUER": GOOGLE_OIDC_ISSUER,
                "PATUNGAN_AUTH_AUDIENCE": scheduled_function_url(manifest.project_id, fn),
                "PATUNGAN_AUTH_JWKS_URL": GOOGLE_OIDC_KEYS_URL,
                "PATUNGAN_SCHEDULER_INVOKER": self.scheduler_account.email,
            }
        elif fn.kind == "http":
            env |= {
                "PATUNGAN_AUTH_ISSUER": f"{IDENTITY_PLATFORM_ISSUER}{manifest.project_id}",
                "PATUNGAN_AUTH_AUDIENCE": manifest.project_id,
                "PATUNGAN_AUTH_JWKS_URL": IDENTITY_PLATFORM_KEYS_URL,
            }
        if fn.documents != "none":
            env["PATUNGAN_DOCUMENTS_BUCKET"] = self.platform.documents.name
        if fn.signs_document_urls:
            env["PATUNGAN_STORAGE_SIGNER_EMAIL"] = self.account.email
        return env

    def _function(
        self, source: gcp.storage.BucketObject, grants: list[pulumi.Resource]
    ) -> gcp.cloudfunctionsv2.Function:
        fn, platform = self.fn, self.platform
        secret_variables = [
            gcp.cloudfunctionsv2.FunctionServiceConfigSecretEnvironmentVariableArgs(
                key=secret(name).env_var,
                project_id=self.project_id,
                secret=platform.secrets[name].secret_id,
                version="latest",
            )
            for name in fn.secrets
        ]
        return gcp.cloudfunctionsv2.Function(
            resource_name(self._name, "function"),
            project=self.project_id,
            location=REGION,
            name=self.gcp_name,
            description=fn.description,
            labels={"function": self.gcp_name},
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
                service_account_email=self.account.email,
                available_memory=f"{fn.memory_mb}Mi",
                timeout_seconds=fn.timeout_s,
                min_instance_count=0,
                max_instance_count=fn.max_instances,
                # Pub/Sub pushes and Scheduler jobs from this project count as internal.
                ingress_settings="ALLOW_ALL" if fn.client_facing else "ALLOW_INTERNAL_ONLY",
                all_traffic_on_latest_revision=True,
                environment_variables=self._environment(),
                secret_environment_variables=secret_variables or None,
            ),
            opts=self._child(
                depends_on=[
                    *platform.entity.fence(
                        "cloudfunctions.googleapis.com",
                        "run.googleapis.com",
                        "cloudbuild.googleapis.com",
                    ),
                    *platform.build_grants,
                    *grants,
                    *(platform.secret_versions[name] for name in fn.secrets),
                ]
            ),
        )

    def _invoker(self, suffix: str, member: pulumi.Input[str]) -> gcp.cloudrunv2.ServiceIamMember:
        return gcp.cloudrunv2.ServiceIamMember(
            resource_name(self._name, "invoker", suffix),
            project=self.project_id,
            location=REGION,
            name=self.function.name,  # the function's Cloud Run service shares its name
            role=INVOKER_ROLE,
            member=member,
            opts=self._child(),
        )

    def _push_subscription(self) -> None:
        fn, platform = self.fn, self.platform
        assert fn.consumes is not None  # validate_topology: event functions consume a topic
        pusher = self._account(PUSH_ACCOUNT, f"Pushes {fn.consumes} to {fn.name}")
        self._invoker("push", pusher.member)
        dead_letters = platform.topic(
            dead_letter_topic(fn), retention=DEAD_LETTER_TOPIC_RETENTION, parent=self
        )
        # Without a subscription a dead letter would be dropped: hold them for inspection.
        gcp.pubsub.Subscription(
            resource_name(self._name, "subscription", "dead-letter-hold"),
            project=self.project_id,
            name=f"{dead_letter_topic(fn)}.hold",
            topic=dead_letters.id,
            ack_deadline_seconds=60,
            message_retention_duration=HOLD_RETENTION,
            expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=NEVER_EXPIRE),
            opts=self._child(),
        )
        consumed = platform.topics[fn.consumes]
        subscription = gcp.pubsub.Subscription(
            resource_name(self._name, "subscription", "push"),
            project=self.project_id,
            name=subscription_name(fn),
            topic=consumed.id,
            ack_deadline_seconds=fn.ack_deadline_s,
            push_config=gcp.pubsub.SubscriptionPushConfigArgs(
                # The path is the topic's name, `projects/<p>/topics/<t>`: functions-framework
                # reads it to name the topic in the CloudEvent's source (a bare URL leaves the
                # source's topic empty). The local runner pushes to the same path.
                push_endpoint=pulumi.Output.concat(self.url, "/", consumed.id),
                oidc_token=gcp.pubsub.SubscriptionPushConfigOidcTokenArgs(
                    service_account_email=pusher.email, audience=self.url
                ),
            ),
            retry_policy=gcp.pubsub.SubscriptionRetryPolicyArgs(
                minimum_backoff=f"{fn.min_backoff_s}s", maximum_backoff=f"{fn.max_backoff_s}s"
            ),
            dead_letter_policy=gcp.pubsub.SubscriptionDeadLetterPolicyArgs(
                dead_letter_topic=dead_letters.id,
                max_delivery_attempts=fn.max_delivery_attempts,
            ),
            message_retention_duration=HOLD_RETENTION,
            expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=NEVER_EXPIRE),
            opts=self._child(),
        )
        gcp.pubsub.TopicIAMMember(
            resource_name(self._name, "grant", "dead-letter-publisher"),
            project=self.project_id,
            topic=dead_letters.name,
            role="roles/pubsub.publisher",
            member=platform.pubsub_agent,
            opts=self._child(),
        )
        gcp.pubsub.SubscriptionIAMMember(
            resource_name(self._name, "grant", "dead-letter-subscriber"),
            project=self.project_id,
            subscription=subscription.name,
            role="roles/pubsub.subscriber",
            member=platform.pubsub_agent,
            opts=self._child(),
        )

    def _scheduler_job(self) -> None:
        fn, caller = self.fn, self.scheduler_account
        assert fn.schedule is not None and caller is not None
        self._invoker("scheduler", caller.member)
        url = scheduled_function_url(self.platform.manifest.project_id, fn)
        gcp.cloudscheduler.Job(
            resource_name(self._name, "schedule"),
            project=self.project_id,
            region=REGION,
            name=self.gcp_name,
            description=f"{fn.name}: {fn.description}",
            schedule=fn.schedule,
            time_zone=SCHEDULER_TIME_ZONE,
            # Scheduler allows 15 s to 30 min; give the function its whole timeout.
            attempt_deadline=f"{min(max(fn.timeout_s + 30, 15), 1800)}s",
            retry_config=gcp.cloudscheduler.JobRetryConfigArgs(
                retry_count=fn.max_delivery_attempts - 1,
                min_backoff_duration=f"{fn.min_backoff_s}s",
                max_backoff_duration=f"{fn.max_backoff_s}s",
            ),
            http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                uri=url,
                http_method="POST",
                oidc_token=gcp.cloudscheduler.JobHttpTargetOidcTokenArgs(
                    service_account_email=caller.email, audience=url
                ),
            ),
            opts=self._child(
                depends_on=self.platform.entity.fence("cloudscheduler.googleapis.com")
            ),
        )


def _service_uri(config: object) -> str:
    """The run.app URL of the function's service: where push subscriptions post (their audience)."""
    uri = getattr(config, "uri", None)
    if not uri:
        raise ValueError("Cloud Functions returned no service URI for a deployed function")
    return str(uri)
