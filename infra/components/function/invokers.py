"""Who may invoke a function: client apps at the public edge, or its push subscriptions.

The grant sits on the function's Cloud Run service (2nd gen functions are
invoked through Cloud Run):

- client-facing HTTP: `allUsers` may invoke — every request is authenticated in
  code (bearer token or webhook signature). The organisation's domain-restricted
  sharing refuses `allUsers` everywhere but on resources tagged
  `public-invoker=allowed` (the bootstrap stack's one exception), so the function's
  Cloud Run service is tagged first;
- event: only the push subscriptions' OIDC account may invoke, over internal
  ingress. One push subscription per consumed topic pushes to
  `<url>/projects/<p>/topics/<t>` (the path names the topic for
  functions-framework; the token's audience is the bare URL, which Cloud Run
  checks and the function verifies again in code), where `<url>` is the function's
  deterministic run.app URL (`run_app_url`: the function is told it before it
  exists), retries with backoff and dead-letters to its own dead-letter topic,
  whose messages a pull subscription holds for replay. The Pub/Sub service agent
  may publish there and pull from the subscription, which dead-lettering requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from infra.components.function.identity import settled
from infra.naming import resource_name
from shared.deployment import (
    DEAD_LETTER_TOPIC_RETENTION_S,
    HOLD_ACK_DEADLINE_S,
    SUBSCRIPTION_RETENTION_S,
    PushSubscription,
)
from shared.topology import REGION

if TYPE_CHECKING:
    from infra.components.function import DeployedFunction

INVOKER_ROLE = "roles/run.invoker"  # 2nd gen functions are invoked through Cloud Run
NEVER_EXPIRE = ""  # an idle subscription must not be deleted by Pub/Sub


def run_app_url(owner: DeployedFunction) -> pulumi.Output[str]:
    """The function's deterministic Cloud Run URL, `https://<service>-<project number>.<region>
    .run.app`: known before the function exists (unlike the URL it reports), so its push
    subscriptions' audience can be in its own environment. Cloud Run accepts it as audience."""
    return pulumi.Output.concat(
        "https://",
        owner.plan.service_name,
        "-",
        owner.platform.entity.project_number,
        f".{REGION}.run.app",
    )


def invoker(
    owner: DeployedFunction,
    suffix: str,
    member: pulumi.Input[str],
    after: Sequence[pulumi.Resource] = (),
) -> gcp.cloudrunv2.ServiceIamMember:
    return gcp.cloudrunv2.ServiceIamMember(
        resource_name(owner.resource_prefix, "invoker", suffix),
        project=owner.platform.project_id,
        location=REGION,
        name=owner.function.name,  # the function's Cloud Run service shares its name
        role=INVOKER_ROLE,
        member=member,
        opts=owner.child(depends_on=list(after)),
    )


def allow_clients(owner: DeployedFunction) -> gcp.cloudrunv2.ServiceIamMember:
    """Public at the network edge; the function authenticates every request itself."""
    platform = owner.platform
    tag = gcp.tags.LocationTagBinding(
        resource_name(owner.resource_prefix, "tag", "public-invoker"),
        parent=pulumi.Output.all(platform.entity.project_number, owner.function.name).apply(
            lambda args: (
                f"//run.googleapis.com/projects/{args[0]}/locations/{REGION}/services/{args[1]}"
            )
        ),
        tag_value=platform.public_invoker_tag,
        location=REGION,
        opts=owner.child(),
    )
    # The policy sees the tag some time after the binding: the grant waits for it.
    return invoker(owner, "public", "allUsers", after=[settled(owner, "public-tag", [tag])])


def push_subscriptions(owner: DeployedFunction) -> list[gcp.pubsub.Subscription]:
    pusher = owner.identity.pusher
    assert pusher is not None  # identity made it: the plan has subscriptions
    grant = invoker(owner, "push", pusher.member)
    return [_push(owner, planned, pusher, grant) for planned in owner.plan.subscriptions]


def _push(
    owner: DeployedFunction,
    planned: PushSubscription,
    pusher: gcp.serviceaccount.Account,
    invoker_grant: pulumi.Resource,
) -> gcp.pubsub.Subscription:
    platform, prefix = owner.platform, owner.resource_prefix
    never_expire = gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=NEVER_EXPIRE)
    dead_letters = platform.topic(
        planned.dead_letter_topic, retention=f"{DEAD_LETTER_TOPIC_RETENTION_S}s", parent=owner
    )
    # Without a subscription a dead letter would be dropped: hold them for inspection.
    gcp.pubsub.Subscription(
        resource_name(prefix, "subscription", "hold", planned.topic),
        project=platform.project_id,
        name=planned.hold_subscription,
        topic=dead_letters.id,
        ack_deadline_seconds=HOLD_ACK_DEADLINE_S,
        message_retention_duration=f"{SUBSCRIPTION_RETENTION_S}s",
        expiration_policy=never_expire,
        opts=owner.child(),
    )
    consumed = platform.topics[planned.topic]
    url = run_app_url(owner)
    publisher = gcp.pubsub.TopicIAMMember(
        resource_name(prefix, "grant", "dead-letter-publisher", planned.topic),
        project=platform.project_id,
        topic=dead_letters.name,
        role="roles/pubsub.publisher",
        member=platform.pubsub_agent,
        opts=owner.child(),
    )
    subscription = gcp.pubsub.Subscription(
        resource_name(prefix, "subscription", "push", planned.topic),
        project=platform.project_id,
        name=planned.name,
        topic=consumed.id,
        ack_deadline_seconds=planned.ack_deadline_s,
        push_config=gcp.pubsub.SubscriptionPushConfigArgs(
            # The path is the topic's name, `projects/<p>/topics/<t>`: functions-framework
            # reads it to name the topic in the CloudEvent's source (a bare URL leaves the
            # source's topic empty). The local runner pushes to the same path.
            push_endpoint=pulumi.Output.concat(url, planned.path(platform.manifest.project_id)),
            # The audience the function verifies (PATUNGAN_AUTH_AUDIENCE), as Cloud Run does.
            oidc_token=gcp.pubsub.SubscriptionPushConfigOidcTokenArgs(
                service_account_email=pusher.email, audience=url
            ),
        ),
        retry_policy=gcp.pubsub.SubscriptionRetryPolicyArgs(
            minimum_backoff=f"{planned.min_backoff_s}s",
            maximum_backoff=f"{planned.max_backoff_s}s",
        ),
        dead_letter_policy=gcp.pubsub.SubscriptionDeadLetterPolicyArgs(
            dead_letter_topic=dead_letters.id,
            max_delivery_attempts=planned.max_delivery_attempts,
        ),
        message_retention_duration=f"{SUBSCRIPTION_RETENTION_S}s",
        expiration_policy=never_expire,
        # Its first pushes are refused until the pusher may invoke, and its dead letters are
        # lost until the agent may publish them: it starts once both grants apply.
        opts=owner.child(
            depends_on=[settled(owner, f"push-{planned.topic}", [invoker_grant, publisher])]
        ),
    )
    gcp.pubsub.SubscriptionIAMMember(
        resource_name(prefix, "grant", "dead-letter-subscriber", planned.topic),
        project=platform.project_id,
        subscription=subscription.name,
        role="roles/pubsub.subscriber",
        member=platform.pubsub_agent,
        opts=owner.child(),
    )
    return subscription
