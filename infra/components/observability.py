"""`Observability`: what tells an entity's ops that something is wrong, and what lets them recover.

Declared per stack, in the entity's project:

- an e-mail notification channel per ops contact of the manifest, and alert
  policies sent to them, each with its runbook in `documentation`:
  - a dead letter is waiting (`dead-letter.*.hold` has undelivered messages);
  - a function answers 5xx (more than `FUNCTION_5XX_PER_S` per second over 5 min);
  - a Cloud Scheduler job attempt failed (a log-based condition);
  - the reconciliation reported drift (`RECONCILIATION_DRIFT_METRIC`, a log-based
    metric counting the log line the reconciliation job writes on drift:
    `jsonPayload.event="reconciliation.drift"`);
- Data Access audit logs (reads and writes, admin reads) for Firestore, Secret
  Manager and Cloud Storage: who read which borrower's data, and which key;
- a daily Firestore backup, kept `backup_retention_days` (point-in-time recovery
  covers the last 7 days; backups cover what PITR cannot: infra/README.md, "Recovery");
- Essential Contacts: the ops contacts for technical, security, suspension and
  incident notices, the billing contacts for billing ones.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.components.entity_project import EntityProject
from infra.manifest import EntityManifest
from infra.naming import resource_name
from shared.deployment import slug

FUNCTION_5XX_PER_S = 0.05  # about one failed request in every twenty seconds, sustained
ALERT_WINDOW = "300s"
RECONCILIATION_DRIFT_METRIC = "reconciliation-drift"
RECONCILIATION_DRIFT_FILTER = 'jsonPayload.event="reconciliation.drift"'
AUDITED_SERVICES = (
    "datastore.googleapis.com",  # Firestore
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
)
AUDIT_LOG_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")
OPS_CATEGORIES = ("TECHNICAL", "SECURITY", "SUSPENSION", "TECHNICAL_INCIDENTS")
BILLING_CATEGORIES = ("BILLING",)
RUNBOOK = "infra/README.md"


class Observability(pulumi.ComponentResource):
    """Alerts, audit logs, backups and contacts of one entity project."""

    channels: list[gcp.monitoring.NotificationChannel]
    alerts: dict[str, gcp.monitoring.AlertPolicy]

    def __init__(
        self,
        name: str,
        *,
        entity: EntityProject,
        manifest: EntityManifest,
        database: gcp.firestore.Database,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("patungan:infra:Observability", name, None, opts)
        self._name = name
        self.entity = entity
        self.project_id = entity.project_id
        self.manifest = manifest
        monitored = self._fenced("monitoring.googleapis.com")
        self.channels = [
            gcp.monitoring.NotificationChannel(
                resource_name(name, "channel", email),
                project=self.project_id,
                display_name=f"{manifest.entity_id} ops: {email}",
                type="email",
                labels={"email_address": email},
                opts=monitored,
            )
            for email in manifest.contacts.ops
        ]
        drift = gcp.logging.Metric(
            resource_name(name, "log-metric", RECONCILIATION_DRIFT_METRIC),
            project=self.project_id,
            name=RECONCILIATION_DRIFT_METRIC,
            description="Reconciliation runs that found the ledger and the balances apart.",
            filter=RECONCILIATION_DRIFT_FILTER,
            metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(
                metric_kind="DELTA", value_type="INT64", unit="1"
            ),
            opts=self._fenced("logging.googleapis.com"),
        )
        self.alerts = {
            "dead-letters": self._threshold(
                "dead-letters",
                "A dead letter is waiting",
                'resource.type = "pubsub_subscription" AND '
                'metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages" AND '
                'resource.label.subscription_id = starts_with("dead-letter.")',
                0,
                "ALIGN_MAX",
                "An event could not be delivered after every retry. Inspect it on its `.hold` "
                f"subscription and re-publish it after the fix ({RUNBOOK}, 'Dead letters').",
            ),
            "function-5xx": self._threshold(
                "function-5xx",
                "A function answers 5xx",
                'resource.type = "cloud_run_revision" AND '
                'metric.type = "run.googleapis.com/request_count" AND '
                'metric.label.response_code_class = "5xx"',
                FUNCTION_5XX_PER_S,
                "ALIGN_RATE",
                "A function fails requests (bad input is a 4xx, so this is our fault). Read its "
                "logs by `resource.labels.service_name`.",
            ),
            "scheduler-failures": self._log_match(
                "scheduler-failures",
                "A scheduled job failed",
                'resource.type = "cloud_scheduler_job" AND severity >= ERROR',
                "A Cloud Scheduler attempt failed (the job retries). Read the job's log and "
                "its function's.",
            ),
            "reconciliation-drift": self._threshold(
                "reconciliation-drift",
                "The ledger and the balances drifted apart",
                f'metric.type = "logging.googleapis.com/user/{RECONCILIATION_DRIFT_METRIC}"',
                0,
                "ALIGN_SUM",
                "The daily reconciliation found a difference. Stop money movements of the "
                "accounts it names and investigate before the next run.",
                after=[drift],
            ),
        }
        self._audit_logs()
        self.backups = gcp.firestore.BackupSchedule(
            resource_name(name, "firestore-backups", "daily"),
            project=self.project_id,
            database=database.name,
            retention=f"{manifest.backup_retention_days * 86_400}s",
            daily_recurrence=gcp.firestore.BackupScheduleDailyRecurrenceArgs(),  # type: ignore[no-untyped-call]
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._contacts()
        self.register_outputs({"alerts": {key: a.name for key, a in self.alerts.items()}})

    def _fenced(self, *apis: str, **options: object) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self,
            depends_on=self.entity.fence(*apis),
            **options,  # type: ignore[arg-type]
        )

    def _policy(
        self,
        key: str,
        title: str,
        condition: gcp.monitoring.AlertPolicyConditionArgs,
        runbook: str,
        *,
        strategy: gcp.monitoring.AlertPolicyAlertStrategyArgs | None = None,
        after: list[pulumi.Resource] | None = None,
    ) -> gcp.monitoring.AlertPolicy:
        return gcp.monitoring.AlertPolicy(
            resource_name(self._name, "alert", key),
            project=self.project_id,
            display_name=f"{self.manifest.entity_id}: {title}",
            combiner="OR",
            conditions=[condition],
            notification_channels=[c.name for c in self.channels],
            documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                content=runbook, mime_type="text/markdown"
            ),
            alert_strategy=strategy,
            severity="ERROR",
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*self.entity.fence("monitoring.googleapis.com"), *(after or [])],
            ),
        )

    def _threshold(
        self,
        key: str,
        title: str,
        series: str,
        threshold: float,
        aligner: str,
        runbook: str,
        *,
        after: list[pulumi.Resource] | None = None,
    ) -> gcp.monitoring.AlertPolicy:
        condition = gcp.monitoring.AlertPolicyConditionArgs(
            display_name=title,
            condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                filter=series,
                comparison="COMPARISON_GT",
                threshold_value=threshold,
                duration="0s",
                aggregations=[
                    gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                        alignment_period=ALERT_WINDOW, per_series_aligner=aligner
                    )
                ],
            ),
        )
        return self._policy(key, title, condition, runbook, after=after)

    def _log_match(
        self, key: str, title: str, log_filter: str, runbook: str
    ) -> gcp.monitoring.AlertPolicy:
        condition = gcp.monitoring.AlertPolicyConditionArgs(
            display_name=title,
            condition_matched_log=gcp.monitoring.AlertPolicyConditionConditionMatchedLogArgs(
                filter=log_filter
            ),
        )
        # Log-matched conditions must say how often they may notify.
        strategy = gcp.monitoring.AlertPolicyAlertStrategyArgs(
            notification_rate_limit=gcp.monitoring.AlertPolicyAlertStrategyNotificationRateLimitArgs(
                period=ALERT_WINDOW
            )
        )
        return self._policy(key, title, condition, runbook, strategy=strategy)

    def _audit_logs(self) -> None:
        for service in AUDITED_SERVICES:
            gcp.projects.IAMAuditConfig(
                resource_name(self._name, "audit-logs", service.removesuffix(".googleapis.com")),
                project=self.project_id,
                service=service,
                audit_log_configs=[
                    gcp.projects.IAMAuditConfigAuditLogConfigArgs(log_type=log_type)
                    for log_type in AUDIT_LOG_TYPES
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _contacts(self) -> None:
        parent = self.project_id.apply(lambda project: f"projects/{project}")
        contacts = self.manifest.contacts
        for role, emails, categories in (
            ("ops", contacts.ops, OPS_CATEGORIES),
            ("billing", contacts.billing, BILLING_CATEGORIES),
        ):
            for email in emails:
                gcp.essentialcontacts.Contact(
                    resource_name(self._name, "contact", role, slug(email)),
                    parent=parent,
                    email=email,
                    language_tag="en",
                    notification_category_subscriptions=list(categories),
                    opts=self._fenced("essentialcontacts.googleapis.com"),
                )
