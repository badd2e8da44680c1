"""The platform plan: how every function of the topology is deployed and wired, derived once.

`platform_plan(licence)` reads `shared/topology.py` and returns a `PlatformPlan`:
per function, under the OJK licence of the entity that deploys it,

- its environment: each variable's name and what its value is filled from
  (`Source`), never the value itself;
- its secrets: the variable each Secret Manager secret is mounted as, and which
  version (the current one; and the previous one too for keys that overlap
  during a rotation);
- one push subscription per consumed topic (event functions): its name, the path
  it pushes to, its ack deadline, retry backoff, dead-letter topic and the
  subscription holding the dead letters, and the account whose OIDC token it sends
  (the audience is the function's URL, `Source.PUSH_TOKEN_AUDIENCE`, which the
  function verifies with that account, `Source.PUSH_ACCOUNT`);
- its Cloud Scheduler job (scheduled functions): schedule, time zone, retries,
  attempt deadline and the account it calls as (the audience is the URL the
  function verifies, `Source.SCHEDULER_TOKEN_AUDIENCE`);
- who may invoke it, and its instance limits.

Two consumers read it: the Pulumi program (`infra/components/function/`) and the
local runner (`scripts/platform_runner.py`). They differ only in the values they
fill the sources with — Identity Platform or the dev issuer, the function's own
account or the dev signer, Secret Manager or local values, Google's URLs or
localhost — never in names or wiring. The local runner adds only what exists
offline alone: the emulator hosts, and the key the dev signer signs with
(`LOCAL_ONLY_VARIABLES`), which the settings refuse in the cloud.

Names are derived here too: a function's service name (`service_name`), its
service accounts (`account_id`), its subscriptions and dead-letter topics.
Pure: no I/O, no Google imports.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum, auto
from typing import Literal, TypeVar

from shared.topology import (
    FUNCTIONS,
    SCHEDULER_TIME_ZONE,
    SECRETS,
    TOPICS,
    Function,
    Secret,
    Topic,
    deployed_under,
)

# Service account ids: 6-30 characters, lowercase letters, digits and hyphens, from a letter.
ACCOUNT_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# Cloud Run service names: up to 49 characters (functions share their service's name).
SERVICE_NAME_PATTERN = re.compile(r"^[a-z](?:[a-z0-9-]{0,47}[a-z0-9])?$")

# Prefixes of the service accounts each function gets.
RUNTIME_ACCOUNT = "fn"  # the identity a function runs as
PUSH_ACCOUNT = "push"  # the OIDC identity of an event function's push subscriptions
SCHEDULER_ACCOUNT = "cron"  # the OIDC identity of a scheduled function's Scheduler job

# A topic keeps its messages 7 days, so a new audit or analytics consumer can seek back a week.
# Pub/Sub keeps a dead letter 31 days on its topic (the most it keeps: time to replay) and
# 7 days on the subscription holding it; a subscription must never expire while idle.
TOPIC_RETENTION_S = 7 * 86_400
DEAD_LETTER_TOPIC_RETENTION_S = 31 * 86_400
SUBSCRIPTION_RETENTION_S = 7 * 86_400
HOLD_ACK_DEADLINE_S = 60
# Cloud Scheduler's default: the retry interval doubles five times, then grows linearly.
SCHEDULER_MAX_DOUBLINGS = 5
# Scheduler allows attempt deadlines of 15 s to 30 min; a job gets its function's whole timeout.
SCHEDULER_DEADLINE_RANGE_S = (15, 1800)
SCHEDULER_DEADLINE_MARGIN_S = 30
PROVIDER_CREDENTIALS = "provider-api-key"  # the secret's name
PAYMENT_GATEWAY_CREDENTIALS = "payment-gateway-api-key"
# Variables only an offline run sets; the settings refuse them in any cloud environment.
LOCAL_ONLY_VARIABLES = frozenset(
    {
        "FIRESTORE_EMULATOR_HOST",
        "PUBSUB_EMULATOR_HOST",
        "STORAGE_EMULATOR_HOST",
        # The dev signer's key: locally there is no IAM signBlob to sign document URLs with.
        "PATUNGAN_STORAGE_SIGNING_KEY_FILE",
    }
)


class Source(StrEnum):
    """What a variable's value is filled from; each consumer knows its own value of each."""

    ENVIRONMENT = auto()  # `PATUNGAN_ENV`: the manifest's env, or local
    ENTITY = auto()
    PROJECT = auto()
    FUNCTION_NAME = auto()  # the topology name
    PUBSUB_ENDPOINT = auto()  # the regional endpoint; unset offline
    USER_TOKEN_ISSUER = auto()  # Identity Platform, or the dev issuer
    USER_TOKEN_AUDIENCE = auto()
    USER_TOKEN_KEYS = auto()  # the issuer's JWKS URL
    # The OIDC tokens of the platform's own service accounts (Scheduler jobs, push
    # subscriptions): Google's issuer and keys, or the dev issuer's.
    SERVICE_TOKEN_ISSUER = auto()
    SERVICE_TOKEN_KEYS = auto()
    SCHEDULER_TOKEN_AUDIENCE = auto()  # the URL its job calls
    SCHEDULER_ACCOUNT = auto()  # the email of the job's account
    PUSH_TOKEN_AUDIENCE = auto()  # the URL the push subscriptions name as audience
    PUSH_ACCOUNT = auto()  # the email of the push subscriptions' account
    DOCUMENTS_BUCKET = auto()
    URL_SIGNER = auto()  # the email of the account signing document URLs
    PROVIDERS_URL = auto()
    PAYMENT_GATEWAY_URL = auto()
    ESCROW_ACCOUNT = auto()  # JSON: the entity's escrow bank account
    MIN_DEPOSIT = auto()  # the entity's smallest deposit (optional: the settings' default)
    MIN_WITHDRAWAL = auto()
    MIN_COMMITMENT = auto()  # the entity's funding rules (optional: the settings' defaults)
    MAX_LENDERS_PER_LOAN = auto()
    CONCENTRATION_FLOOR = auto()
    MEMBERS_ONLY = auto()
    CAP_TABLE = auto()


@dataclass(frozen=True)
class Variable:
    """One environment variable of a function and what fills it (`optional`: may stay unset)."""

    name: str
    source: Source
    optional: bool = False


@dataclass(frozen=True)
class SecretMount:
    """A Secret Manager secret mounted as a variable, pinned to its current or previous version."""

    variable: str
    secret: str
    version: Literal["current", "previous"]


@dataclass(frozen=True)
class PushSubscription:
    """The push subscription feeding one consumed topic to an event function."""

    name: str
    topic: str
    function: str
    ack_deadline_s: int
    min_backoff_s: int
    max_backoff_s: int
    max_delivery_attempts: int
    dead_letter_topic: str
    hold_subscription: str  # a pull subscription keeping the dead letters for replay
    invoker_account: str  # the account id whose OIDC token it sends (Source.PUSH_ACCOUNT)

    def path(self, project: str) -> str:
        """What it appends to the function's URL: functions-framework reads the topic from it."""
        return f"/projects/{project}/topics/{self.topic}"


@dataclass(frozen=True)
class SchedulerJob:
    """The Cloud Scheduler job of a scheduled function: POST `{}` to it, as its own account."""

    name: str
    schedule: str
    time_zone: str
    retry_count: int
    min_backoff_s: int
    max_backoff_s: int
    max_doublings: int
    attempt_deadline_s: int
    invoker_account: str  # the account id; the audience is Source.SCHEDULER_TOKEN_AUDIENCE
    http_method: str = "POST"
    body: bytes = b"{}"


# Client apps over HTTPS (public at the edge, every request authenticated in code), the push
# subscriptions' OIDC account, or the Scheduler job's.
Invokers = Literal["clients", "push", "scheduler"]
T = TypeVar("T")


@dataclass(frozen=True)
class FunctionPlan:
    """How one function is deployed: identity, environment, secrets, feeds and callers."""

    function: Function
    service_name: str
    runtime_account: str
    environment: tuple[Variable, ...]
    secrets: tuple[SecretMount, ...]
    subscriptions: tuple[PushSubscription, ...]
    job: SchedulerJob | None
    invoked_by: Invokers
    min_instances: int

    @property
    def name(self) -> str:
        return self.function.name

    @property
    def public_ingress(self) -> bool:
        """Reachable from the internet; Pub/Sub pushes and Scheduler jobs count as internal."""
        return self.invoked_by == "clients"

    def fill(self, value_of: Callable[[Source], T | None]) -> dict[str, T]:
        """The environment with each source's value; an optional variable without one is left out.

        Raises `ValueError` when a required variable's source has no value.
        """
        filled: dict[str, T] = {}
        for variable in self.environment:
            value = value_of(variable.source)
            if value is None:
                if not variable.optional:
                    raise ValueError(f"{self.name}: {variable.name} needs a {variable.source}")
                continue
            filled[variable.name] = value
        return filled


@dataclass(frozen=True)
class PlatformPlan:
    """Every function an entity of `licence` deploys, and the topology's topics."""

    licence: str
    functions: tuple[FunctionPlan, ...]
    topics: tuple[str, ...]  # every entity keeps every topic: a producer may publish to any

    def function(self, name: str) -> FunctionPlan:
        for planned in self.functions:
            if planned.name == name:
                return planned
        deployed = ", ".join(p.name for p in self.functions)
        raise KeyError(f"licence {self.licence!r} deploys no function {name!r} ({deployed})")

    @property
    def subscriptions(self) -> tuple[PushSubscription, ...]:
        return tuple(s for planned in self.functions for s in planned.subscriptions)

    @property
    def dead_letter_topics(self) -> tuple[str, ...]:
        return tuple(s.dead_letter_topic for s in self.subscriptions)

    @property
    def jobs(self) -> tuple[SchedulerJob, ...]:
        return tuple(planned.job for planned in self.functions if planned.job is not None)


def slug(value: str) -> str:
    """Lowercase letters, digits, single hyphens: `loan.offer_accepted` → `loan-offer-accepted`."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def service_name(fn: Function) -> str:
    """The GCP name of the function and of its Cloud Run service (`loan_quote` → `loan-quote`)."""
    name = fn.name.replace("_", "-").lower()
    if not SERVICE_NAME_PATTERN.match(name):
        raise ValueError(f"function {fn.name!r} cannot be a Cloud Run service name ({name!r})")
    return name


def account_id(prefix: str, name: str) -> str:
    """A valid, stable service account id for `name` under `prefix` (e.g. `fn-scoring`).

    Names that would be too long keep their readable start and end in six hex
    characters of their hash, so two long names that share a start stay apart.
    """
    base = f"{prefix}-{slug(name)}".strip("-")
    if len(base) < 6:
        base = f"{base}-sa"
    if len(base) > 30:
        digest = hashlib.sha256(name.encode()).hexdigest()[:6]
        base = f"{base[:23].rstrip('-')}-{digest}"
    if not ACCOUNT_ID_PATTERN.match(base):
        raise ValueError(f"cannot derive a service account id from {prefix!r} and {name!r}")
    return base


def account_email(account: str, project: str) -> str:
    return f"{account}@{project}.iam.gserviceaccount.com"


def subscription_name(fn: Function, topic: str) -> str:
    """The push subscription feeding `topic` to event function `fn`."""
    return f"push.{fn.name}.{topic}"


def dead_letter_topic(fn: Function, topic: str) -> str:
    """Where `fn`'s subscription to `topic` sends what it could not deliver."""
    return f"dead-letter.{fn.name}.{topic}"


def attempt_deadline_s(fn: Function) -> int:
    low, high = SCHEDULER_DEADLINE_RANGE_S
    return min(max(fn.timeout_s + SCHEDULER_DEADLINE_MARGIN_S, low), high)


def environment(fn: Function) -> tuple[Variable, ...]:
    """The variables `fn`'s settings read, each with what fills it (secrets are mounted apart)."""
    variables = [
        Variable("PATUNGAN_ENV", Source.ENVIRONMENT),
        Variable("PATUNGAN_ENTITY", Source.ENTITY),
        Variable("PATUNGAN_GCP_PROJECT", Source.PROJECT),
        # The topology name; K_SERVICE, the fallback, is the hyphenated service name.
        Variable("PATUNGAN_FUNCTION_NAME", Source.FUNCTION_NAME),
    ]
    if fn.publishes:
        variables.append(Variable("PATUNGAN_PUBSUB_ENDPOINT", Source.PUBSUB_ENDPOINT, True))
    if fn.schedule:
        # Called by its Scheduler job alone, with an OIDC token naming the job's account.
        variables += [
            Variable("PATUNGAN_AUTH_ISSUER", Source.SERVICE_TOKEN_ISSUER),
            Variable("PATUNGAN_AUTH_AUDIENCE", Source.SCHEDULER_TOKEN_AUDIENCE),
            Variable("PATUNGAN_AUTH_JWKS_URL", Source.SERVICE_TOKEN_KEYS),
            Variable("PATUNGAN_SCHEDULER_INVOKER", Source.SCHEDULER_ACCOUNT),
        ]
    elif fn.kind == "event":
        # Pushed to by its subscriptions alone, with an OIDC token naming their account.
        variables += [
            Variable("PATUNGAN_AUTH_ISSUER", Source.SERVICE_TOKEN_ISSUER),
            Variable("PATUNGAN_AUTH_AUDIENCE", Source.PUSH_TOKEN_AUDIENCE),
            Variable("PATUNGAN_AUTH_JWKS_URL", Source.SERVICE_TOKEN_KEYS),
            Variable("PATUNGAN_PUSH_INVOKER", Source.PUSH_ACCOUNT),
        ]
    elif fn.kind == "http" and fn.verifies_tokens:
        variables += [
            Variable("PATUNGAN_AUTH_ISSUER", Source.USER_TOKEN_ISSUER),
            Variable("PATUNGAN_AUTH_AUDIENCE", Source.USER_TOKEN_AUDIENCE),
            Variable("PATUNGAN_AUTH_JWKS_URL", Source.USER_TOKEN_KEYS),
        ]
    if fn.documents != "none":
        variables.append(Variable("PATUNGAN_DOCUMENTS_BUCKET", Source.DOCUMENTS_BUCKET))
    if fn.signs_document_urls:
        variables.append(Variable("PATUNGAN_STORAGE_SIGNER_EMAIL", Source.URL_SIGNER))
    if fn.escrow_account:
        variables += [
            Variable("PATUNGAN_ESCROW_ACCOUNT", Source.ESCROW_ACCOUNT),
            Variable("PATUNGAN_MIN_DEPOSIT", Source.MIN_DEPOSIT, True),
            Variable("PATUNGAN_MIN_WITHDRAWAL", Source.MIN_WITHDRAWAL, True),
        ]
    if fn.funding_rules:
        variables += [
            Variable("PATUNGAN_MIN_COMMITMENT", Source.MIN_COMMITMENT, True),
            Variable("PATUNGAN_MAX_LENDERS_PER_LOAN", Source.MAX_LENDERS_PER_LOAN, True),
            Variable("PATUNGAN_CONCENTRATION_FLOOR", Source.CONCENTRATION_FLOOR, True),
            Variable("PATUNGAN_MEMBERS_ONLY", Source.MEMBERS_ONLY, True),
            Variable("PATUNGAN_CAP_TABLE", Source.CAP_TABLE, True),
        ]
    if PROVIDER_CREDENTIALS in fn.secrets:
        # Whoever holds the providers' API key calls them, so is told where they are.
        variables.append(Variable("PATUNGAN_PROVIDERS_URL", Source.PROVIDERS_URL))
    if PAYMENT_GATEWAY_CREDENTIALS in fn.secrets:
        variables.append(Variable("PATUNGAN_PAYMENT_GATEWAY_URL", Source.PAYMENT_GATEWAY_URL))
    return tuple(variables)


def secret_mounts(fn: Function, secrets: Sequence[Secret] = SECRETS) -> tuple[SecretMount, ...]:
    declared_by_name = {s.name: s for s in secrets}
    mounts: list[SecretMount] = []
    for name in fn.secrets:
        declared = declared_by_name[name]
        mounts.append(SecretMount(declared.env_var, name, "current"))
        if declared.previous_env_var:
            mounts.append(SecretMount(declared.previous_env_var, name, "previous"))
    return tuple(mounts)


def push_subscriptions(fn: Function) -> tuple[PushSubscription, ...]:
    return tuple(
        PushSubscription(
            name=subscription_name(fn, topic),
            topic=topic,
            function=fn.name,
            ack_deadline_s=fn.ack_deadline_s,
            min_backoff_s=fn.min_backoff_s,
            max_backoff_s=fn.max_backoff_s,
            max_delivery_attempts=fn.max_delivery_attempts,
            dead_letter_topic=dead_letter_topic(fn, topic),
            hold_subscription=f"{dead_letter_topic(fn, topic)}.hold",
            invoker_account=account_id(PUSH_ACCOUNT, fn.name),
        )
        for topic in fn.consumes
    )


def scheduler_job(fn: Function) -> SchedulerJob | None:
    if fn.schedule is None:
        return None
    return SchedulerJob(
        name=service_name(fn),
        schedule=fn.schedule,
        time_zone=SCHEDULER_TIME_ZONE,
        # A run is attempted `max_delivery_attempts` times in all, like a push delivery.
        retry_count=fn.max_delivery_attempts - 1,
        min_backoff_s=fn.min_backoff_s,
        max_backoff_s=fn.max_backoff_s,
        max_doublings=SCHEDULER_MAX_DOUBLINGS,
        attempt_deadline_s=attempt_deadline_s(fn),
        invoker_account=account_id(SCHEDULER_ACCOUNT, fn.name),
    )


def invoked_by(fn: Function) -> Invokers:
    if fn.kind == "event":
        return "push"
    return "scheduler" if fn.schedule else "clients"


def plan_function(
    fn: Function, *, secrets: Sequence[Secret] = SECRETS, min_instances: int | None = None
) -> FunctionPlan:
    return FunctionPlan(
        function=fn,
        service_name=service_name(fn),
        runtime_account=account_id(RUNTIME_ACCOUNT, fn.name),
        environment=environment(fn),
        secrets=secret_mounts(fn, secrets),
        subscriptions=push_subscriptions(fn),
        job=scheduler_job(fn),
        invoked_by=invoked_by(fn),
        min_instances=fn.min_instances if min_instances is None else min_instances,
    )


def platform_plan(
    licence: str,
    *,
    functions: Sequence[Function] = FUNCTIONS,
    topics: Sequence[Topic] = TOPICS,
    secrets: Sequence[Secret] = SECRETS,
    min_instances: Mapping[str, int] | None = None,
) -> PlatformPlan:
    """The plan of an entity holding `licence`; `min_instances` overrides the topology's."""
    warm = dict(min_instances or {})
    planned = tuple(
        plan_function(fn, secrets=secrets, min_instances=warm.get(fn.name))
        for fn in deployed_under(licence, tuple(functions))
    )
    unknown = sorted(set(warm) - {p.name for p in planned})
    if unknown:
        raise KeyError(
            f"min instances for functions licence {licence!r} does not deploy: {unknown}"
        )
    return PlatformPlan(licence, planned, tuple(t.name for t in topics))
