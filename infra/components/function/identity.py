"""A function's identities: the account it runs as, the accounts that call it, and its grants.

The runtime account is granted only what the topology says the function
touches: Firestore (`datastore.viewer` or `datastore.user`), the documents
bucket (`objectViewer`, plus `objectCreator` to write), signing URLs as itself
(`serviceAccountTokenCreator` on itself only), publishing to each topic it
publishes (`pubsub.publisher` on that topic only) and reading each secret it
mounts (`secretAccessor` on that secret only). The push and Scheduler accounts
get nothing here: only the invoker role on the function (`invokers`, `schedule`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp
import pulumiverse_time as time

from infra.naming import resource_name
from shared.deployment import PUSH_ACCOUNT, RUNTIME_ACCOUNT, SCHEDULER_ACCOUNT

if TYPE_CHECKING:
    from infra.components.function import DeployedFunction

# A grant takes effect about two minutes after the API call that made it (sometimes seven or
# more); `depends_on` only orders the calls. What needs a grant waits this long after it.
IAM_PROPAGATION = "150s"
FIRESTORE_ROLES = {"read": "roles/datastore.viewer", "read_write": "roles/datastore.user"}
DOCUMENT_ROLES = {
    "read": ("roles/storage.objectViewer",),
    # Create, never overwrite or delete: the bucket's retention policy agrees.
    "read_write": ("roles/storage.objectViewer", "roles/storage.objectCreator"),
}


class FunctionIdentity:
    """The accounts of one function, created as children of its component, and its grants."""

    def __init__(self, owner: DeployedFunction) -> None:
        self._owner = owner
        plan = owner.plan
        self.runtime = self._account(
            RUNTIME_ACCOUNT, plan.runtime_account, f"Runs the {plan.name} function"
        )
        # Created before the function: it is told which account its Scheduler job calls as.
        self.scheduler = (
            self._account(
                SCHEDULER_ACCOUNT, plan.job.invoker_account, f"Runs {plan.name} on its schedule"
            )
            if plan.job is not None
            else None
        )
        self.pusher = (
            self._account(
                PUSH_ACCOUNT,
                plan.subscriptions[0].invoker_account,
                f"Pushes {', '.join(s.topic for s in plan.subscriptions)} to {plan.name}",
            )
            if plan.subscriptions
            else None
        )
        self.grants = self._runtime_grants()

    def _account(self, role: str, account: str, description: str) -> gcp.serviceaccount.Account:
        owner = self._owner
        return gcp.serviceaccount.Account(
            resource_name(owner.resource_prefix, "account", role),
            project=owner.platform.project_id,
            account_id=account,
            display_name=description,
            opts=owner.child(depends_on=owner.platform.entity.services_for("iam.googleapis.com")),
        )

    def _runtime_grants(self) -> list[pulumi.Resource]:
        owner = self._owner
        fn, platform, member = owner.plan.function, owner.platform, self.runtime.member
        name, project = owner.resource_prefix, platform.project_id
        grants: list[pulumi.Resource] = []
        if fn.firestore != "none":
            grants.append(
                gcp.projects.IAMMember(
                    resource_name(name, "grant", "firestore"),
                    project=project,
                    role=FIRESTORE_ROLES[fn.firestore],
                    member=member,
                    opts=owner.child(),
                )
            )
        if fn.documents != "none":
            for role in DOCUMENT_ROLES[fn.documents]:
                grants.append(
                    gcp.storage.BucketIAMMember(
                        resource_name(name, "grant", "documents", role.rsplit(".", 1)[-1]),
                        bucket=platform.documents.name,
                        role=role,
                        member=member,
                        opts=owner.child(),
                    )
                )
        if fn.signs_document_urls:
            # signBlob as itself, and as nobody else.
            grants.append(
                gcp.serviceaccount.IAMMember(
                    resource_name(name, "grant", "sign-as-self"),
                    service_account_id=self.runtime.name,
                    role="roles/iam.serviceAccountTokenCreator",
                    member=member,
                    opts=owner.child(),
                )
            )
        for topic_name in fn.publishes:
            grants.append(
                gcp.pubsub.TopicIAMMember(
                    resource_name(name, "grant", "publish", topic_name),
                    project=project,
                    topic=platform.topics[topic_name].name,
                    role="roles/pubsub.publisher",
                    member=member,
                    opts=owner.child(),
                )
            )
        for secret_name in fn.secrets:
            grants.append(
                gcp.secretmanager.SecretIamMember(
                    resource_name(name, "grant", "secret", secret_name),
                    project=project,
                    secret_id=platform.secrets[secret_name].secret_id,
                    role="roles/secretmanager.secretAccessor",
                    member=member,
                    opts=owner.child(),
                )
            )
        return grants


def settled(owner: DeployedFunction, label: str, grants: Sequence[pulumi.Resource]) -> time.Sleep:
    """A wait of `IAM_PROPAGATION` after `grants`, for whatever cannot work before they apply.

    On create only: an update that adds no grant waits for nothing.
    """
    return time.Sleep(
        resource_name(owner.resource_prefix, "iam-settled", label),
        create_duration=IAM_PROPAGATION,
        opts=owner.child(depends_on=list(grants)),
    )
