"""`DeployedFunction`: one planned function as a Cloud Function (2nd gen), and its wiring.

The plan (`shared.deployment.FunctionPlan`) says what each function gets; the
modules here turn it into resources, one concern each, as infrastructure modules
are usually split:

- `identity`: the function's own service account and exactly the grants the
  topology declares for it;
- `service`: its content-hash-named source archive and the function itself, its
  environment filled with the cloud's values of the plan's sources;
- `invokers`: who may invoke it — client apps at the public edge, or only the
  push subscriptions' OIDC account (`push`), which pushes each consumed topic
  and dead-letters what it cannot deliver;
- `schedule`: the Cloud Scheduler job of a scheduled function, and the only
  account that may invoke it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from infra.archives import FunctionArchive
from infra.components.function.identity import FunctionIdentity
from infra.components.function.invokers import allow_clients, push_subscriptions
from infra.components.function.schedule import scheduled_function_url, scheduler_job
from infra.components.function.service import cloud_function
from shared.deployment import FunctionPlan

if TYPE_CHECKING:
    from infra.components.platform import Platform

__all__ = ["DeployedFunction", "scheduled_function_url"]


class DeployedFunction(pulumi.ComponentResource):
    """A planned function running in the entity's project, reachable only as intended."""

    identity: FunctionIdentity
    function: gcp.cloudfunctionsv2.Function
    url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        plan: FunctionPlan,
        platform: Platform,
        archive: FunctionArchive,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("patungan:infra:Function", name, None, opts)
        self.resource_prefix = name
        self.plan = plan
        self.platform = platform
        self.identity = FunctionIdentity(self)
        self.function = cloud_function(self, archive)
        self.url = self.function.service_config.apply(_service_uri)
        if plan.invoked_by == "clients":
            allow_clients(self)
        elif plan.invoked_by == "push":
            push_subscriptions(self)
        else:
            scheduler_job(self)
        self.register_outputs({"url": self.url, "account": self.identity.runtime.email})

    def child(self, **options: object) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **options)  # type: ignore[arg-type]


def _service_uri(config: object) -> str:
    """The run.app URL of the function's service: where push subscriptions post (their audience)."""
    uri = getattr(config, "uri", None)
    if not uri:
        raise ValueError("Cloud Functions returned no service URI for a deployed function")
    return str(uri)
