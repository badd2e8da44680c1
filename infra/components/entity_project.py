"""`EntityProject`: one business entity's GCP project and the fences around it.

It creates the project (`patungan-<entity>-<env>`, labelled `entity`, `env`,
`cost-center`, no default network, protected from deletion) in the entity's
folder, which the organisation's bootstrap stack made with the policies the
project inherits (locations pinned to asia-southeast2, no default network, no
automatic Editor grant to default service accounts, domain-restricted sharing)
and its logging settings (every log bucket in asia-southeast2). It enables the
APIs the platform needs in dependency order (never disabling them on destroy),
sets a monthly budget filtered to this project alone, in the billing account's
currency, whose notifications (actual and forecast thresholds) Cloud Billing
publishes to the topology's `billing.budget-alerts` topic, created here (the
`ops_alerts` function consumes it; `Platform` subscribes it like the platform's own
topics), and routes the `_Default` log sink into a regional log bucket whose
retention ops may lock (`lock_retention`).

Resources in the project depend on `fence(<apis they use>)`: the enabled APIs,
so nothing is created before the services it needs are on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.manifest import EntityManifest
from infra.naming import resource_name
from shared.topology import BUDGET_ALERTS_TOPIC, REGION

LOG_BUCKET_ID = "platform-logs"
# Cloud Billing publishes budget notifications as this Google-managed account.
BILLING_BUDGET_PUBLISHER = "serviceAccount:billing-budget-alert@system.gserviceaccount.com"
# What the `_Default` sink routes (everything but the audit logs `_Required` keeps).
DEFAULT_SINK_FILTER = " AND ".join(
    f'NOT LOG_ID("{log}")'
    for log in (
        "cloudaudit.googleapis.com/activity",
        "externalaudit.googleapis.com/activity",
        "cloudaudit.googleapis.com/system_event",
        "externalaudit.googleapis.com/system_event",
        "cloudaudit.googleapis.com/access_transparency",
        "externalaudit.googleapis.com/access_transparency",
    )
)


@dataclass(frozen=True)
class Api:
    """A Google API the platform uses and the APIs that must be enabled before it."""

    service: str
    needs: tuple[str, ...] = ()


# In dependency order: every API comes after the APIs it needs.
PLATFORM_APIS: tuple[Api, ...] = (
    Api("serviceusage.googleapis.com"),
    Api("cloudresourcemanager.googleapis.com", ("serviceusage.googleapis.com",)),
    Api("iam.googleapis.com", ("cloudresourcemanager.googleapis.com",)),
    Api("iamcredentials.googleapis.com", ("iam.googleapis.com",)),  # signBlob for signed URLs
    Api("billingbudgets.googleapis.com", ("serviceusage.googleapis.com",)),
    Api("logging.googleapis.com", ("serviceusage.googleapis.com",)),
    Api("pubsub.googleapis.com", ("iam.googleapis.com",)),
    Api("storage.googleapis.com", ("iam.googleapis.com",)),
    Api("firestore.googleapis.com", ("iam.googleapis.com",)),
    Api("secretmanager.googleapis.com", ("iam.googleapis.com",)),
    Api("artifactregistry.googleapis.com", ("iam.googleapis.com", "storage.googleapis.com")),
    Api(
        "cloudbuild.googleapis.com",
        ("artifactregistry.googleapis.com", "logging.googleapis.com", "storage.googleapis.com"),
    ),
    Api("run.googleapis.com", ("artifactregistry.googleapis.com", "iam.googleapis.com")),
    Api(
        "cloudfunctions.googleapis.com",
        (
            "cloudbuild.googleapis.com",
            "run.googleapis.com",
            "artifactregistry.googleapis.com",
            "storage.googleapis.com",
            "pubsub.googleapis.com",
            "logging.googleapis.com",
        ),
    ),
    Api("cloudscheduler.googleapis.com", ("run.googleapis.com", "iam.googleapis.com")),
    Api("identitytoolkit.googleapis.com", ("serviceusage.googleapis.com",)),  # Identity Platform
    Api("monitoring.googleapis.com", ("serviceusage.googleapis.com",)),
    Api("essentialcontacts.googleapis.com", ("cloudresourcemanager.googleapis.com",)),
)


class EntityProject(pulumi.ComponentResource):
    """The GCP project of one business entity, fenced to asia-southeast2 and to its budget."""

    project: gcp.organizations.Project
    services: dict[str, gcp.projects.Service]
    budget_topic: gcp.pubsub.Topic
    budget: gcp.billing.Budget
    log_bucket: gcp.logging.ProjectBucketConfig
    default_sink: gcp.logging.ProjectSink

    def __init__(
        self,
        name: str,
        manifest: EntityManifest,
        *,
        folder: pulumi.Input[str],
        budget_currency: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("patungan:infra:EntityProject", name, None, opts)
        self._name = name
        self.manifest = manifest
        parent = manifest.parent
        in_organization = parent is not None and parent.kind == "organization"
        self.project = gcp.organizations.Project(
            resource_name(name, "project"),
            project_id=manifest.project_id,
            name=manifest.display_name,
            billing_account=manifest.billing.account_id,
            labels=manifest.labels,
            auto_create_network=False,
            deletion_policy="PREVENT",
            org_id=parent.id if parent is not None and in_organization else None,
            folder_id=None if in_organization else (parent.id if parent else folder),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.project_id: pulumi.Output[str] = self.project.project_id
        self.project_number: pulumi.Output[str] = self.project.number
        self.services = self._enable_apis()
        self.budget_topic, self.budget = self._budget(budget_currency)
        self.log_bucket, self.default_sink = self._regional_logs()
        self.register_outputs(
            {"project_id": self.project_id, "project_number": self.project_number}
        )

    def services_for(self, *apis: str) -> list[pulumi.Resource]:
        """The enabled-API resources a resource using `apis` must wait for."""
        return [self.services[api] for api in apis]

    def fence(self, *apis: str) -> list[pulumi.Resource]:
        """What a resource using `apis` waits for (the folder's policies predate the project)."""
        return self.services_for(*apis)

    def _enable_apis(self) -> dict[str, gcp.projects.Service]:
        services: dict[str, gcp.projects.Service] = {}
        for api in PLATFORM_APIS:
            services[api.service] = gcp.projects.Service(
                resource_name(self._name, "api", api.service.removesuffix(".googleapis.com")),
                project=self.project_id,
                service=api.service,
                # Disabling an API on destroy would break whatever else still uses it.
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[services[need] for need in api.needs]
                ),
            )
        return services

    def _budget(self, currency: pulumi.Input[str]) -> tuple[gcp.pubsub.Topic, gcp.billing.Budget]:
        manifest = self.manifest
        topic = gcp.pubsub.Topic(
            resource_name(self._name, "topic", BUDGET_ALERTS_TOPIC),
            project=self.project_id,
            name=BUDGET_ALERTS_TOPIC,
            # Storage stays in Jakarta; transit is not enforced because Cloud Billing
            # publishes from outside the region.
            message_storage_policy=gcp.pubsub.TopicMessageStoragePolicyArgs(
                allowed_persistence_regions=[REGION]
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=self.fence("pubsub.googleapis.com")
            ),
        )
        gcp.pubsub.TopicIAMMember(
            resource_name(self._name, "grant", "budget-alerts-publisher"),
            project=self.project_id,
            topic=topic.name,
            role="roles/pubsub.publisher",
            member=BILLING_BUDGET_PUBLISHER,
            opts=pulumi.ResourceOptions(parent=self),
        )
        budget = gcp.billing.Budget(
            resource_name(self._name, "budget"),
            billing_account=manifest.billing.account_id,
            display_name=manifest.budget_name,
            budget_filter=gcp.billing.BudgetBudgetFilterArgs(
                # This project and nothing else: the entity pays for what it runs.
                projects=[self.project_number.apply(lambda n: f"projects/{n}")],
                calendar_period="MONTH",
            ),
            amount=gcp.billing.BudgetAmountArgs(
                specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(
                    # The billing account's currency, checked against the manifest's.
                    currency_code=currency,
                    units=str(manifest.budget.amount),
                )
            ),
            threshold_rules=[
                gcp.billing.BudgetThresholdRuleArgs(
                    threshold_percent=float(threshold.fraction),
                    spend_basis="CURRENT_SPEND"
                    if threshold.basis == "actual"
                    else "FORECASTED_SPEND",
                )
                for threshold in manifest.budget.thresholds
            ],
            all_updates_rule=gcp.billing.BudgetAllUpdatesRuleArgs(
                pubsub_topic=topic.id,
                schema_version="1.0",
                disable_default_iam_recipients=False,  # billing admins still get the emails
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=self.services_for("billingbudgets.googleapis.com")
            ),
        )
        return topic, budget

    def _regional_logs(self) -> tuple[gcp.logging.ProjectBucketConfig, gcp.logging.ProjectSink]:
        bucket = gcp.logging.ProjectBucketConfig(
            resource_name(self._name, "log-bucket", LOG_BUCKET_ID),
            project=self.project_id,
            bucket_id=LOG_BUCKET_ID,
            location=REGION,
            retention_days=self.manifest.log_retention_days,
            # Locked, nobody (owners included) can shorten the retention: ops' decision.
            locked=self.manifest.lock_retention,
            description="Every log but the audit trail (_Required), kept in Jakarta.",
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=self.fence("logging.googleapis.com")
            ),
        )
        # `_Default` exists in every project: the provider adopts and rewrites it.
        sink = gcp.logging.ProjectSink(
            resource_name(self._name, "log-sink", "default"),
            project=self.project_id,
            name="_Default",
            destination=pulumi.Output.all(self.project_id, bucket.bucket_id).apply(
                lambda args: (
                    f"logging.googleapis.com/projects/{args[0]}/locations/{REGION}/buckets/{args[1]}"
                )
            ),
            filter=DEFAULT_SINK_FILTER,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=self.fence("logging.googleapis.com")
            ),
        )
        return bucket, sink
