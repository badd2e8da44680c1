"""The Cloud Scheduler job of a scheduled function, and the only account that may invoke it.

The job runs in asia-southeast2 on the plan's time zone (Asia/Jakarta) and
POSTs `{}` to the function's `https://<region>-<project>.cloudfunctions.net/<name>`
URL with an OIDC token of its own account, that URL as audience; it retries as
the plan says. The function verifies the same token in code (its issuer
settings are Google's, `shared/deployment.py`, `Source.SCHEDULER_TOKEN_*`).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pulumi_gcp as gcp

from infra.components.function.identity import settled
from infra.components.function.invokers import invoker
from infra.naming import resource_name
from shared.deployment import FunctionPlan
from shared.topology import REGION

if TYPE_CHECKING:
    from infra.components.function import DeployedFunction


def scheduled_function_url(project_id: str, plan: FunctionPlan) -> str:
    """The cloudfunctions.net URL of a function: its Scheduler job's target and audience."""
    return f"https://{REGION}-{project_id}.cloudfunctions.net/{plan.service_name}"


def scheduler_job(owner: DeployedFunction) -> gcp.cloudscheduler.Job:
    plan, caller = owner.plan, owner.identity.scheduler
    job = plan.job
    assert (
        job is not None and caller is not None
    )  # the plan schedules it, identity made its account
    grant = invoker(owner, "scheduler", caller.member)
    url = scheduled_function_url(owner.platform.manifest.project_id, plan)
    return gcp.cloudscheduler.Job(
        resource_name(owner.resource_prefix, "schedule"),
        project=owner.platform.project_id,
        region=REGION,
        name=job.name,
        description=f"{plan.name}: {plan.function.description}",
        schedule=job.schedule,
        time_zone=job.time_zone,
        attempt_deadline=f"{job.attempt_deadline_s}s",
        retry_config=gcp.cloudscheduler.JobRetryConfigArgs(
            retry_count=job.retry_count,
            min_backoff_duration=f"{job.min_backoff_s}s",
            max_backoff_duration=f"{job.max_backoff_s}s",
            max_doublings=job.max_doublings,
        ),
        http_target=gcp.cloudscheduler.JobHttpTargetArgs(
            uri=url,
            http_method=job.http_method,
            body=base64.b64encode(job.body).decode(),
            headers={"Content-Type": "application/json"},
            oidc_token=gcp.cloudscheduler.JobHttpTargetOidcTokenArgs(
                service_account_email=caller.email, audience=url
            ),
        ),
        opts=owner.child(
            depends_on=[
                *owner.platform.entity.fence("cloudscheduler.googleapis.com"),
                # Its first runs would be refused until its account may invoke.
                settled(owner, "scheduler", [grant]),
            ]
        ),
    )
