"""The whole Patungan platform on localhost, as one importable context manager.

    with LocalPlatform(PlatformConfig(ports="free")) as platform:
        platform.url("loan_applications")          # http://127.0.0.1:PORT
        platform.keys.issue("u-1", "borrower")     # a token the functions accept
        ...

What runs and how it is wired is the platform plan of the entity's licence
(`shared.deployment.platform_plan`, the plan the Pulumi program deploys): the
runner only fills its sources with local values (`local_values`). `start()`
brings up, in order, printing progress as it goes:
1. the dev keys (`scripts.token.DevKeys`: token issuer, Storage signer, PII key);
2. the local cloud (`emulators.local_cloud.LocalCloud`: Firestore, Pub/Sub,
   Storage) and the sandboxes (`python -m emulators.sandboxes.providers`, the
   credit-data providers; `python -m emulators.sandboxes.ops_notifications`, the ops
   channel `ops_alerts` posts to, whose messages `ops_messages()` reads back;
   `python -m emulators.sandboxes.payment_gateway`, the payment gateway, at
   `payment_gateway_url`, with no callback URL until the platform sets one),
   together; the Pub/Sub emulator signs push tokens with the dev issuer's key
   (`--push-auth-key`), as Google signs them in the cloud; then the dev issuer's JWKS
   on a local URL (`scripts.dev_issuer_keys.LocalJwks`), where the functions fetch
   token keys as they fetch Identity Platform's and Google's in the cloud;
3. Pub/Sub as planned: every topic, and for each push subscription its dead-letter
   topic, the pull subscription holding the dead letters, and the subscription
   itself (ack deadline, retry backoff, maximum delivery attempts, retention)
   pushing to the function's local URL at the plan's path
   `/projects/<project>/topics/<topic>`, from which functions-framework names the
   topic in the CloudEvent's source (emulators/README.md, "Push"), with an OIDC
   token of the planned push account for the function's URL as audience, which the
   function verifies as it does in the cloud;
4. the documents bucket, and the entity's products (the sample catalogue,
   `shared/domain/data/products.json`, restricted to the products the entity's
   manifest `infra/entities/<entity>.json` sells), through `publish_catalogue`;
5. every planned function under `functions-framework --target <name> --source
   functions/<name>/main.py --port <port>`, supervised (`emulators.launcher`:
   it dies with the runner) with exactly the planned environment, local values,
   plus the emulator hosts and the dev signer's key (`LOCAL_ONLY_VARIABLES`), and
   waits until each answers HTTP (an HTTP function has then built its settings and
   clients; an event function builds them on its first delivery); then founds the
   local staff (`scripts.local_staff`: two admin.super, an admin.credit and an
   admin.finance, as an entity founds them) when the users function runs;
6. the local Cloud Scheduler (`scripts.local_scheduler.LocalScheduler`): every
   planned job (schedule in its time zone, POST `{}` to the function's URL with a
   dev-issuer token naming the job's account, `email_verified`, the audience the
   function verifies, its retries). `PlatformConfig(schedule_every_s=1.0)` runs
   the jobs every second instead (tests).

`stop()` tells every part to stop at once (SIGTERM to each process group, SIGKILL
after a grace period) and waits for them; the context manager does both, and a
failed start stops whatever had started before raising `PlatformError`.

Ports: `PlatformConfig(ports="default")` uses the emulators' official ports (Firestore
8080/8081, Pub/Sub 8085/8086, Storage 4443), the sandboxes' 8090-8092 and the topology's
function ports (8200 + index) and refuses to start, naming them, when any is taken;
`ports="free"` lets the OS pick, for tests and benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from emulators.launcher import EmulatorProcess, HttpProbe, free_port
from emulators.local_cloud import (
    DEFAULT_PROJECT,
    FIRESTORE_DEFAULT_PORT,
    PUBSUB_DEFAULT_PORT,
    STORAGE_DEFAULT_PORT,
    LocalCloud,
    LocalCloudConfig,
)
from emulators.sandboxes.ops_notifications import DEFAULT_PORT as OPS_NOTIFICATIONS_DEFAULT_PORT
from emulators.sandboxes.payment_gateway import DEFAULT_API_KEY as PAYMENT_GATEWAY_API_KEY
from emulators.sandboxes.payment_gateway import DEFAULT_PORT as PAYMENT_GATEWAY_DEFAULT_PORT
from emulators.sandboxes.providers import DEFAULT_API_KEY as SANDBOX_API_KEY
from emulators.supervisor import StartStop
from scripts.dev_issuer_keys import LocalJwks
from scripts.local_scheduler import LocalScheduler, ScheduledJob
from scripts.token import DEFAULT_KEY_DIR, DEV_KEY_ID, DEV_SIGNER_EMAIL, DevKeys
from shared.deployment import (
    HOLD_ACK_DEADLINE_S,
    SUBSCRIPTION_RETENTION_S,
    FunctionPlan,
    PlatformPlan,
    PushSubscription,
    SecretMount,
    Source,
    account_email,
    platform_plan,
)
from shared.platform.escrow import EscrowAccount, FundingRules, MoneyLimits
from shared.platform.outbox import EventPublisher, OutboundMessage
from shared.settings import DEV_AUDIENCE, DEV_ISSUER
from shared.topology import local_port

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ENTITY = "p2p-lending"
PROVIDERS_DEFAULT_PORT = 8090
LOCAL_PAYMENT_WEBHOOK_KEY = "local-payment-webhook-key"  # only ever signs local test webhooks
OPS_WEBHOOK = "ops"  # the sandbox webhook ops_alerts posts to
# The local entity's escrow account: what deposit instructions name and statements are of.
LOCAL_ESCROW_ACCOUNT = EscrowAccount(
    bank_code="014",
    bank_name="Bank Central Asia",
    account_number="8880012345",
    account_name="PT Patungan Dana Bersama (escrow)",
)
LOCAL_MONEY_LIMITS = MoneyLimits()
LOCAL_FUNDING_RULES = FundingRules()
Progress = Callable[[str], None]
# What a developer's shell may carry that would change what a function reads: each function
# gets exactly the planned values of these (`EmulatorProcess(replaces=...)`).
PLATFORM_VARIABLES = (
    "PATUNGAN_",
    "K_SERVICE",
    "GOOGLE_CLOUD_PROJECT",
    "FIRESTORE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
)
_CLIENT_HOSTS = PLATFORM_VARIABLES[3:]


class PlatformError(RuntimeError):
    """The platform could not start (the message says which part and why)."""


def _print(message: str) -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class PlatformConfig:
    """What to start and where (see the module docstring).

    `functions`: the functions to start (None: every function the entity's licence deploys).
    """

    host: str = "127.0.0.1"
    ports: Literal["default", "free"] = "default"
    project: str = DEFAULT_PROJECT
    entity: str = LOCAL_ENTITY
    keys_dir: Path = DEFAULT_KEY_DIR
    functions: tuple[str, ...] | None = None
    documents_bucket: str = "patungan-local-documents"
    echo: bool = False  # copy every child's output to ours, prefixed with its name
    progress: Progress = _print
    ready_timeout_s: float = 60.0
    pubsub_args: tuple[str, ...] = ()
    # Run scheduled functions at this fixed interval instead of their cron schedule (tests).
    schedule_every_s: float | None = None


@dataclass(frozen=True)
class RunningFunction:
    """One planned function of the platform and where it listens."""

    plan: FunctionPlan
    port: int
    url: str

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def kind(self) -> str:
        return self.plan.function.kind


@dataclass(frozen=True)
class LocalValues:
    """What the plan's sources are locally: the dev issuer, the dev signer, the emulators."""

    project: str
    entity: str
    jwks_url: str
    documents_bucket: str
    providers_url: str
    payment_gateway_url: str = ""
    function_urls: Mapping[str, str] = field(default_factory=dict)  # name → local URL
    ops_webhook_url: str = ""  # the ops-notifications sandbox's webhook (a secret deployed)
    # The notification service's intake: the ops-notifications sandbox's (a secret deployed).
    notifications_url: str = ""

    def of(self, planned: FunctionPlan) -> Callable[[Source], str | None]:
        job = planned.job
        pushed_by = planned.subscriptions[0].invoker_account if planned.subscriptions else None
        values: dict[Source, str | None] = {
            Source.ENVIRONMENT: "local",
            Source.ENTITY: self.entity,
            Source.PROJECT: self.project,
            Source.FUNCTION_NAME: planned.name,
            Source.PUBSUB_ENDPOINT: None,  # the emulator host decides
            Source.USER_TOKEN_ISSUER: DEV_ISSUER,
            Source.USER_TOKEN_AUDIENCE: DEV_AUDIENCE,
            Source.USER_TOKEN_KEYS: self.jwks_url,
            Source.SERVICE_TOKEN_ISSUER: DEV_ISSUER,
            Source.SERVICE_TOKEN_KEYS: self.jwks_url,
            Source.SCHEDULER_TOKEN_AUDIENCE: DEV_AUDIENCE,
            Source.SCHEDULER_ACCOUNT: self.account(job.invoker_account) if job else None,
            # As in the cloud: the function's own URL, so a token for one function opens no other.
            Source.PUSH_TOKEN_AUDIENCE: self.function_urls.get(planned.name),
            Source.PUSH_ACCOUNT: self.account(pushed_by) if pushed_by else None,
            Source.DOCUMENTS_BUCKET: self.documents_bucket,
            Source.URL_SIGNER: DEV_SIGNER_EMAIL,
            Source.PROVIDERS_URL: self.providers_url,
            Source.PAYMENT_GATEWAY_URL: self.payment_gateway_url,
            Source.ESCROW_ACCOUNT: LOCAL_ESCROW_ACCOUNT.model_dump_json(),
            Source.MIN_DEPOSIT: str(LOCAL_MONEY_LIMITS.min_deposit),
            Source.MIN_WITHDRAWAL: str(LOCAL_MONEY_LIMITS.min_withdrawal),
            Source.MIN_COMMITMENT: str(LOCAL_FUNDING_RULES.min_commitment),
            Source.MAX_LENDERS_PER_LOAN: str(LOCAL_FUNDING_RULES.max_lenders_per_loan),
            Source.CONCENTRATION_FLOOR: str(LOCAL_FUNDING_RULES.concentration_floor),
            Source.MEMBERS_ONLY: str(LOCAL_FUNDING_RULES.members_only).lower(),
            Source.CAP_TABLE: LOCAL_FUNDING_RULES.cap_table,
        }
        return values.get

    def account(self, account_id: str) -> str:
        """A planned account's email, in the local project (the dev issuer mints its tokens)."""
        return account_email(account_id, self.project)


def local_secret(mount: SecretMount, keys: DevKeys, values: LocalValues) -> str:
    """A secret's local value; no rotation happens locally, so the previous is the current."""
    secrets = {
        "pii-encryption-key": keys.pii_key.read_text().strip(),
        # The key every local hash was made with (the PII key's default offline).
        "pii-lookup-key": keys.pii_key.read_text().strip(),
        "provider-api-key": SANDBOX_API_KEY,
        "ops-webhook-url": values.ops_webhook_url,
        "notifications-url": values.notifications_url,
        "payment-webhook-hmac-key": LOCAL_PAYMENT_WEBHOOK_KEY,
        "payment-gateway-api-key": PAYMENT_GATEWAY_API_KEY,
    }
    return secrets[mount.secret]


def local_environment(
    planned: FunctionPlan, values: LocalValues, keys: DevKeys, emulators: dict[str, str]
) -> dict[str, str]:
    """A function's whole environment: the planned variables and secrets with local values,
    plus what exists offline only (the emulator hosts, the dev signer's key file)."""
    env = planned.fill(values.of(planned))
    env |= {mount.variable: local_secret(mount, keys, values) for mount in planned.secrets}
    env |= {name: emulators[name] for name in _CLIENT_HOSTS if name in emulators}
    if "PATUNGAN_STORAGE_SIGNER_EMAIL" in env:
        env["PATUNGAN_STORAGE_SIGNING_KEY_FILE"] = str(keys.storage_signer)
    return env


def local_job(
    planned: FunctionPlan, url: str, values: LocalValues, *, every_s: float | None = None
) -> ScheduledJob:
    """The local Scheduler job of a scheduled function, calling it as the plan says."""
    job = planned.job
    if job is None:
        raise ValueError(f"{planned.name} has no schedule")
    value_of = values.of(planned)
    return ScheduledJob.planned(
        job,
        name=planned.name,
        url=url,
        invoker=values.account(job.invoker_account),
        audience=str(value_of(Source.SCHEDULER_TOKEN_AUDIENCE)),
        every_s=every_s,
    )


def who_may_call(running: RunningFunction) -> str:
    """Who may call a function, from its routes (HTTP) or the plan (event, scheduled)."""
    planned = running.plan
    if planned.invoked_by == "push":
        feeds = ", ".join(f"{s.name} on {s.topic}" for s in planned.subscriptions)
        return f"Pub/Sub push ({feeds})"
    if planned.job is not None:
        return f"its Cloud Scheduler job ({planned.job.schedule})"
    import importlib

    module = importlib.import_module(f"functions.{planned.name}.main")
    router = getattr(module, "router", None)
    if router is None:
        return "anyone (public)" if planned.function.public else "bearer token"
    callers: list[str] = []
    if any(r.roles is None and not r.signed_in for r in router.routes):
        callers.append("anyone (no token)")
    if any(r.signed_in for r in router.routes):
        callers.append("any signed-in user")
    roles = sorted({role for r in router.routes for role in (r.roles or ())})
    callers.extend(roles)
    return ", ".join(callers)


def emulator_pubsub_clients(address: str) -> tuple[Any, Any]:
    """(publisher, subscriber) GAPIC clients on the Pub/Sub emulator at `address`."""
    import grpc
    from google.pubsub_v1.services.publisher import PublisherClient
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
    from google.pubsub_v1.services.subscriber import SubscriberClient
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    publisher = PublisherClient(
        transport=PublisherGrpcTransport(channel=grpc.insecure_channel(address))
    )
    subscriber = SubscriberClient(
        transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(address))
    )
    return publisher, subscriber


def ops_messages(ops_notifications_url: str) -> list[dict[str, Any]]:
    """The messages the ops-notifications sandbox at that URL received, oldest first."""
    import httpx

    answer = httpx.get(
        f"{ops_notifications_url}/messages", params={"webhook": OPS_WEBHOOK}, trust_env=False
    )
    answer.raise_for_status()
    messages: list[dict[str, Any]] = answer.json()["messages"]
    return messages


def payment_gateway_environment(url: str) -> dict[str, str]:
    """`PATUNGAN_PAYMENT_GATEWAY_URL` and `_API_KEY` for the payment gateway sandbox at `url`."""
    return {
        "PATUNGAN_PAYMENT_GATEWAY_URL": url,
        "PATUNGAN_PAYMENT_GATEWAY_API_KEY": PAYMENT_GATEWAY_API_KEY,
    }


def functions_framework_command() -> list[str]:
    """The venv's `functions-framework` script, else `python -m functions_framework`."""
    script = Path(sys.executable).with_name("functions-framework")
    if script.exists():
        return [str(script)]
    found = shutil.which("functions-framework")
    return [found] if found else [sys.executable, "-m", "functions_framework"]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


@contextlib.contextmanager
def client_environment(env: dict[str, str]) -> Iterator[None]:
    """Set the Google clients' emulator variables while a client is built, then restore them.

    The client libraries read `*_EMULATOR_HOST` when a client is constructed; setting
    them only for that moment keeps this process's environment (a test session may run
    other emulators) as it was.
    """
    names = (*_CLIENT_HOSTS, "GOOGLE_CLOUD_PROJECT")
    previous = {name: os.environ.get(name) for name in names}
    os.environ.update({name: env[name] for name in names if name in env})
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def function_process(
    running: RunningFunction,
    host: str,
    env: dict[str, str],
    *,
    config: PlatformConfig,
    listeners: Sequence[Callable[[str, str], None]],
) -> EmulatorProcess:
    """A function under functions-framework, ready once it answers HTTP below 500.

    An HTTP function builds its services (settings, clients) before routing any request,
    so its first GET shows a configuration error as a 500. An event function builds them
    on its first delivery: a GET only shows that functions-framework serves (405), which
    is what its push subscription needs.
    """
    fn = running.plan.function
    argv = [
        *functions_framework_command(),
        "--target", fn.entry_point,
        "--source", str(ROOT / fn.source_dir / "main.py"),
        "--host", host,
        "--port", str(running.port),
    ]  # fmt: skip
    return EmulatorProcess(
        fn.name,
        argv,
        env=env,
        replaces=PLATFORM_VARIABLES,
        probe=HttpProbe(host, running.port),
        ready_timeout=config.ready_timeout_s,
        echo=config.echo,
        listeners=listeners,
    )


@dataclass
class LocalPlatform(StartStop):
    """Start, describe and stop the whole platform (see the module docstring)."""

    config: PlatformConfig = field(default_factory=PlatformConfig)
    output_listeners: list[Callable[[str, str], None]] = field(default_factory=list)
    cloud: LocalCloud | None = field(default=None, init=False)
    keys: DevKeys = field(init=False)
    providers_url: str = field(default="", init=False)
    ops_notifications_url: str = field(default="", init=False)
    payment_gateway_url: str = field(default="", init=False)
    products: tuple[str, ...] = field(default=(), init=False)
    functions: dict[str, RunningFunction] = field(default_factory=dict, init=False)
    _sandboxes: dict[str, EmulatorProcess] = field(default_factory=dict, init=False)
    _jwks: LocalJwks | None = field(default=None, init=False)
    _processes: dict[str, EmulatorProcess] = field(default_factory=dict, init=False)
    _scheduler: LocalScheduler | None = field(default=None, init=False)
    _plan: PlatformPlan | None = field(default=None, init=False)

    # ------------------------------------------------------------------ public

    def start(self) -> LocalPlatform:
        config = self.config
        say = config.progress
        started = time.perf_counter()
        say(
            f"Starting Patungan locally (entity {config.entity}, project {config.project}, "
            f"{'free' if config.ports == 'free' else 'default'} ports)"
        )
        self._refuse_taken_ports()
        try:
            with self._step("dev keys"):
                self.keys = DevKeys.ensure(config.keys_dir)
            self._start_cloud_and_sandbox()
            with self._step("dev issuer keys (JWKS)"):
                self._jwks = LocalJwks(self.keys, config.host).start()
            self._wire_pubsub()
            self._create_documents_bucket()
            self._seed_products()
            self._start_functions()
            self._point_the_gateway_at_the_webhook()
            self._seed_staff()
            self._start_scheduler()
        except BaseException:
            self.stop()
            raise
        say(f"Patungan is up ({time.perf_counter() - started:.1f} s).")
        return self

    def stop(self) -> None:
        """Stop everything this platform started, all parts at once (safe to call twice).

        Every part is told to stop at the same moment rather than one after another, so
        that each has its SIGTERM even if this process is killed while waiting for them.
        """
        scheduler, self._scheduler = self._scheduler, None
        processes, self._processes = self._processes, {}
        sandboxes, self._sandboxes = self._sandboxes, {}
        jwks, self._jwks = self._jwks, None
        cloud, self.cloud = self.cloud, None
        stops: list[Callable[[], object]] = [process.stop for process in processes.values()]
        if scheduler is not None:  # an attempt in flight ends when its function stops
            stops.insert(0, scheduler.stop)
        stops += [sandbox.stop for sandbox in sandboxes.values()]
        stops += [part.stop for part in (jwks, cloud) if part is not None]
        if stops:
            with ThreadPoolExecutor(max_workers=len(stops)) as pool:
                for future in [pool.submit(stop) for stop in stops]:
                    future.result()
        self.functions.clear()

    def url(self, function_name: str) -> str:
        return self.functions[function_name].url

    @property
    def urls(self) -> dict[str, str]:
        return {name: running.url for name, running in self.functions.items()}

    @property
    def cloud_env(self) -> dict[str, str]:
        """`*_EMULATOR_HOST` and `GOOGLE_CLOUD_PROJECT`, for the Google clients."""
        assert self.cloud is not None, "the platform is not started"
        return self.cloud.env

    @property
    def pubsub_admin_url(self) -> str:
        assert self.cloud is not None, "the platform is not started"
        admin = self.cloud.emulators["pubsub"].admin_url
        assert admin is not None
        return admin

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.config.project}/topics/{topic}"

    def subscription_path(self, subscription: str) -> str:
        return f"projects/{self.config.project}/subscriptions/{subscription}"

    @property
    def plan(self) -> PlatformPlan:
        """The platform plan of the entity's licence: what runs, and how it is wired."""
        if self._plan is None:
            from infra.manifest import load_manifest

            self._plan = platform_plan(load_manifest(self.config.entity).ojk_licence.value)
        return self._plan

    def push_endpoint(self, subscription: PushSubscription) -> str:
        """Where a planned push subscription delivers: its function's URL and the plan's path."""
        return f"{self.url(subscription.function)}{subscription.path(self.config.project)}"

    @property
    def scheduled_jobs(self) -> list[ScheduledJob]:
        """The local Cloud Scheduler's jobs (one per scheduled function), as it runs them."""
        return list(self._scheduler.jobs) if self._scheduler is not None else []

    def environment_of(self, function_name: str) -> dict[str, str]:
        """The environment a started function was given (secrets included: local values)."""
        return dict(self._processes[function_name].environment)

    def failed(self) -> dict[str, str]:
        """Parts that have exited since they started: name -> the tail of their output."""
        failed = dict(self.cloud.failed()) if self.cloud is not None else {}
        for name, sandbox in self._sandboxes.items():
            if not sandbox.running:
                failed[name] = sandbox.tail()
        for name, process in self._processes.items():
            if not process.running:
                failed[name] = process.tail()
        return failed

    def process_ids(self) -> dict[str, int]:
        """Each running part's process id, the root of its process tree (a function's
        functions-framework and gunicorn worker run under it): emulators, sandboxes, functions."""
        ids = self.cloud.process_ids() if self.cloud is not None else {}
        parts = {**self._sandboxes, **self._processes}
        ids |= {name: pid for name, part in parts.items() if part and (pid := part.pid) is not None}
        return ids

    def function_output(self, function_name: str) -> str:
        """The recent output (structured log lines) of a function."""
        return self._processes[function_name].tail(400)

    def firestore_client(self) -> Any:
        """A `google.cloud.firestore.Client` on the platform's emulator and project."""
        from google.cloud import firestore

        with client_environment(self.cloud_env):
            return firestore.Client(project=self.config.project)

    def pubsub_clients(self) -> tuple[Any, Any]:
        """(publisher, subscriber) GAPIC clients on the platform's Pub/Sub emulator."""
        return emulator_pubsub_clients(self.cloud_env["PUBSUB_EMULATOR_HOST"])

    def ops_messages(self) -> list[dict[str, Any]]:
        """What the ops channel received (the ops-notifications sandbox), oldest first."""
        return ops_messages(self.ops_notifications_url)

    @property
    def payment_gateway_environment(self) -> dict[str, str]:
        """The variables a function reads to reach the payment gateway (the sandbox here)."""
        return payment_gateway_environment(self.payment_gateway_url)

    # ------------------------------------------------------------------ steps

    @contextlib.contextmanager
    def _step(self, what: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.config.progress(f"  {what} … ready ({time.perf_counter() - started:.1f} s)")

    def _planned_ports(self) -> dict[str, int]:
        ports = {
            "firestore": FIRESTORE_DEFAULT_PORT,
            "firestore admin": FIRESTORE_DEFAULT_PORT + 1,
            "pubsub": PUBSUB_DEFAULT_PORT,
            "pubsub admin": PUBSUB_DEFAULT_PORT + 1,
            "storage": STORAGE_DEFAULT_PORT,
            "providers sandbox": PROVIDERS_DEFAULT_PORT,
            "ops-notifications sandbox": OPS_NOTIFICATIONS_DEFAULT_PORT,
            "payment gateway sandbox": PAYMENT_GATEWAY_DEFAULT_PORT,
        }
        for planned in self._selected_functions():
            ports[f"function {planned.name}"] = local_port(planned.function)
        return ports

    def _refuse_taken_ports(self) -> None:
        if self.config.ports == "free":
            return
        taken = [
            f"{port} ({what})"
            for what, port in self._planned_ports().items()
            if port_in_use(self.config.host, port)
        ]
        if taken:
            raise PlatformError(
                f"port{'s' if len(taken) > 1 else ''} already in use on {self.config.host}: "
                f"{', '.join(taken)}. Stop whatever holds "
                f"{'them' if len(taken) > 1 else 'it'} (`ss -ltnp` shows who; an earlier "
                "`dev.py up` or `python -m emulators` still running?), or start with "
                "`--ports free`."
            )

    def _selected_functions(self) -> list[FunctionPlan]:
        plan = self.plan
        if self.config.functions is None:
            return list(plan.functions)
        deployed = {planned.name for planned in plan.functions}
        unknown = set(self.config.functions) - deployed
        if unknown:
            raise PlatformError(
                f"the {self.config.entity} entity ({plan.licence}) deploys no function named "
                f"{', '.join(sorted(unknown))}; it deploys {', '.join(sorted(deployed))}"
            )
        return [planned for planned in plan.functions if planned.name in self.config.functions]

    def _function_port(self, planned: FunctionPlan) -> int:
        if self.config.ports == "free":
            return free_port(self.config.host)
        return local_port(planned.function)

    @property
    def _values(self) -> LocalValues:
        assert self._jwks is not None, "the dev issuer's keys are not served"
        return LocalValues(
            project=self.config.project,
            entity=self.config.entity,
            jwks_url=self._jwks.url,
            documents_bucket=self.config.documents_bucket,
            providers_url=self.providers_url,
            payment_gateway_url=self.payment_gateway_url,
            function_urls=self.urls,
            ops_webhook_url=f"{self.ops_notifications_url}/webhooks/{OPS_WEBHOOK}",
            notifications_url=f"{self.ops_notifications_url}/v1/notifications",
        )

    def _start_cloud_and_sandbox(self) -> None:
        config = self.config
        port = 0 if config.ports == "free" else None
        self.cloud = LocalCloud(
            LocalCloudConfig(
                host=config.host,
                project=config.project,
                firestore_port=port,
                pubsub_port=port,
                storage_port=port,
                pubsub_args=(*config.pubsub_args, *self._push_signing()),
                echo=config.echo,
                ready_timeout_s=config.ready_timeout_s,
            )
        )
        free = config.ports == "free"
        self._sandboxes = {
            "providers": EmulatorProcess.python_module(
                "providers",
                "emulators.sandboxes.providers",
                "--host", config.host,
                "--port", str(0 if free else PROVIDERS_DEFAULT_PORT),
                "--api-key", SANDBOX_API_KEY,
                ready_timeout=config.ready_timeout_s,
                echo=config.echo,
            ),
            "ops-notifications": EmulatorProcess.python_module(
                "ops-notifications",
                "emulators.sandboxes.ops_notifications",
                "--host", config.host,
                "--port", str(0 if free else OPS_NOTIFICATIONS_DEFAULT_PORT),
                ready_timeout=config.ready_timeout_s,
                echo=config.echo,
            ),
            # No callback URL: the platform sets it (PUT /admin/callback-url) once its
            # webhook function runs; payments made before are kept and sent then.
            "payment_gateway": EmulatorProcess.python_module(
                "payment_gateway",
                "emulators.sandboxes.payment_gateway",
                "--host", config.host,
                "--port", str(0 if free else PAYMENT_GATEWAY_DEFAULT_PORT),
                "--api-key", PAYMENT_GATEWAY_API_KEY,
                "--signing-key", LOCAL_PAYMENT_WEBHOOK_KEY,  # what payment_webhook verifies
                "--callback-url", "",
                ready_timeout=config.ready_timeout_s,
                echo=config.echo,
            ),
        }  # fmt: skip
        config.progress("  starting firestore, pubsub, storage and the sandboxes …")
        timings: dict[str, float] = {}

        def start(name: str, part: LocalCloud | EmulatorProcess) -> None:
            started = time.perf_counter()
            part.start()
            timings[name] = time.perf_counter() - started

        parts: dict[str, LocalCloud | EmulatorProcess] = {"emulators": self.cloud}
        parts |= self._sandboxes
        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            futures = [pool.submit(start, *item) for item in parts.items()]
        errors = [str(f.exception()) for f in futures if f.exception() is not None]
        if errors:
            raise PlatformError("could not start the local cloud:\n" + "\n".join(errors))
        if self.cloud.skipped:
            raise PlatformError(
                "the platform needs every emulator: "
                + "; ".join(f"{name}: {why}" for name, why in self.cloud.skipped.items())
            )
        for name, emulator in self.cloud.emulators.items():
            where = f"http://{emulator.address}" if name == "storage" else emulator.address
            config.progress(f"  {name:<9} {where} … ready ({timings['emulators']:.1f} s)")
        # "READY <name> http://HOST:PORT"
        urls = {name: sandbox.ready_line.split()[2] for name, sandbox in self._sandboxes.items()}
        self.providers_url, self.ops_notifications_url, self.payment_gateway_url = (
            urls["providers"],
            urls["ops-notifications"],
            urls["payment_gateway"],
        )
        for name, url in urls.items():
            config.progress(f"  {name} {url} … ready ({timings[name]:.1f} s)")

    def _push_signing(self) -> tuple[str, ...]:
        """The Pub/Sub emulator's flags signing push tokens as the dev issuer: Google signs
        them in the cloud, and the functions verify both through the same code."""
        return (
            "--push-auth-key", str(self.keys.issuer_private),
            "--push-auth-issuer", DEV_ISSUER,
            "--push-auth-key-id", DEV_KEY_ID,
        )  # fmt: skip

    def _wire_pubsub(self) -> None:
        from google.api_core import exceptions
        from google.pubsub_v1 import types

        started = time.perf_counter()
        publisher, subscriber = self.pubsub_clients()
        selected = self._selected_functions()
        # Ports first: push endpoints name the functions' URLs before the functions start.
        for planned in selected:
            port = self._function_port(planned)
            url = f"http://{self.config.host}:{port}"
            self.functions[planned.name] = RunningFunction(planned, port, url)
        subscriptions = [s for planned in selected for s in planned.subscriptions]
        # Whose token each push carries, for which audience: the plan's sources, filled locally.
        pushers = {planned.name: self._values.of(planned) for planned in selected}
        # Topics keep no retention here: how long the cloud keeps messages (7 days, dead
        # letters 31) is a span no local run reaches.
        topics = [*self.plan.topics, *(s.dead_letter_topic for s in subscriptions)]
        for name in topics:
            with contextlib.suppress(exceptions.AlreadyExists):
                publisher.create_topic(name=self.topic_path(name), timeout=10)
        kept = {"seconds": SUBSCRIPTION_RETENTION_S}
        never_expire = types.ExpirationPolicy()
        for subscription in subscriptions:
            dead_letters = self.topic_path(subscription.dead_letter_topic)
            subscriber.create_subscription(
                request=types.Subscription(
                    name=self.subscription_path(subscription.hold_subscription),
                    topic=dead_letters,
                    ack_deadline_seconds=HOLD_ACK_DEADLINE_S,
                    message_retention_duration=kept,
                    expiration_policy=never_expire,
                ),
                timeout=10,
            )
            subscriber.create_subscription(
                request=types.Subscription(
                    name=self.subscription_path(subscription.name),
                    topic=self.topic_path(subscription.topic),
                    ack_deadline_seconds=subscription.ack_deadline_s,
                    push_config=types.PushConfig(
                        push_endpoint=self.push_endpoint(subscription),
                        oidc_token=types.PushConfig.OidcToken(
                            service_account_email=pushers[subscription.function](
                                Source.PUSH_ACCOUNT
                            ),
                            audience=pushers[subscription.function](Source.PUSH_TOKEN_AUDIENCE),
                        ),
                    ),
                    retry_policy=types.RetryPolicy(
                        minimum_backoff={"seconds": subscription.min_backoff_s},
                        maximum_backoff={"seconds": subscription.max_backoff_s},
                    ),
                    dead_letter_policy=types.DeadLetterPolicy(
                        dead_letter_topic=dead_letters,
                        max_delivery_attempts=subscription.max_delivery_attempts,
                    ),
                    message_retention_duration=kept,
                    expiration_policy=never_expire,
                ),
                timeout=10,
            )
        self.config.progress(
            f"  pub/sub: {len(topics)} topics, {len(subscriptions)} push subscription(s) "
            f"with dead-letter topics … ready ({time.perf_counter() - started:.1f} s)"
        )

    def _create_documents_bucket(self) -> None:
        from google.api_core import exceptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage  # type: ignore[attr-defined,unused-ignore]

        with self._step(f"storage bucket {self.config.documents_bucket}"):
            with client_environment(self.cloud_env):  # the client prefers the variable
                client = storage.Client(
                    project=self.config.project,
                    credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                    client_options={"api_endpoint": self.cloud_env["STORAGE_EMULATOR_HOST"]},
                )
            with contextlib.suppress(exceptions.Conflict):
                client.create_bucket(self.config.documents_bucket, location="asia-southeast2")

    def _seed_products(self) -> None:
        from infra.manifest import load_manifest
        from shared.adapters.firestore import FirestoreUnitOfWork
        from shared.domain.products import ProductCatalogue
        from shared.services.catalogue import publish_catalogue, sample_catalogue

        started = time.perf_counter()
        wanted = load_manifest(self.config.entity).products
        sample = sample_catalogue()
        missing = sorted(set(wanted) - {p.id for p in sample.products})
        if missing:
            raise PlatformError(
                f"the {self.config.entity} manifest sells products the sample catalogue "
                f"(shared/domain/data/products.json) does not have: {', '.join(missing)}"
            )
        catalogue = ProductCatalogue(products=tuple(p for p in sample.products if p.id in wanted))
        client = self.firestore_client()
        try:
            uow = FirestoreUnitOfWork(client, _NoEvents())
            self.products = publish_catalogue(uow, catalogue, datetime.now(UTC))
        finally:
            client.close()
        self.config.progress(
            f"  products: {', '.join(self.products)} … seeded "
            f"({time.perf_counter() - started:.1f} s)"
        )

    def _point_the_gateway_at_the_webhook(self) -> None:
        """The gateway sandbox calls the local `payment_webhook` (as ops configure the real
        gateway's callback URL at onboarding), signing with the key the webhook verifies."""
        import httpx

        webhook = self.functions.get("payment_webhook")
        if webhook is None:
            return  # not selected in this run
        answer = httpx.put(
            f"{self.payment_gateway_url}/admin/callback-url",
            json={"url": f"{webhook.url}/notifications"},
            timeout=10,
            trust_env=False,
        )
        answer.raise_for_status()

    def _start_functions(self) -> None:
        config = self.config
        assert self.cloud is not None
        values = self._values
        selected = self._selected_functions()
        config.progress(f"  starting {len(selected)} functions under functions-framework …")
        for planned in selected:
            running = self.functions[planned.name]
            env = local_environment(planned, values, self.keys, self.cloud_env)
            self._processes[planned.name] = function_process(
                running, config.host, env, config=config, listeners=self.output_listeners
            )
        started = time.perf_counter()

        def start(name: str, process: EmulatorProcess) -> None:
            process.start()
            config.progress(
                f"  {name:<17} {self.functions[name].url} … ready "
                f"({time.perf_counter() - started:.1f} s)"
            )

        with ThreadPoolExecutor(max_workers=len(self._processes)) as pool:
            futures = [pool.submit(start, *item) for item in self._processes.items()]
        errors = [str(f.exception()) for f in futures if f.exception() is not None]
        if errors:
            raise PlatformError("functions failed to start:\n" + "\n\n".join(errors))

    def _seed_staff(self) -> None:
        """The local staff, so the admin tokens `dev.py up` prints are accepted."""
        if "users" not in self.functions:
            return
        from scripts.local_staff import seed_staff
        from scripts.platform_client import PlatformClient

        started = time.perf_counter()
        with PlatformClient(self.urls, self.keys) as client:
            staff = seed_staff(client, self.environment_of("users"), PLATFORM_VARIABLES)
        self.config.progress(
            f"  staff: {', '.join(f'{m.sub} ({m.role})' for m in staff)} … seeded "
            f"({time.perf_counter() - started:.1f} s)"
        )

    def _start_scheduler(self) -> None:
        values = self._values
        jobs = [
            local_job(running.plan, running.url, values, every_s=self.config.schedule_every_s)
            for running in self.functions.values()
            if running.plan.job is not None
        ]
        if not jobs:
            return
        self._scheduler = LocalScheduler(jobs, self.keys, self.config.progress).start()
        for job in jobs:
            self.config.progress(f"  scheduler: {job.name} {job.when} … started")


class _NoEvents(EventPublisher):
    """The seeding transaction's publisher: seeding emits no events, so any publish is a bug."""

    def publish(self, messages: Sequence[OutboundMessage]) -> None:
        if messages:
            raise RuntimeError("seeding the catalogue must not publish events")


__all__ = [
    "LOCAL_ENTITY",
    "LocalPlatform",
    "LocalValues",
    "PlatformConfig",
    "PlatformError",
    "RunningFunction",
    "emulator_pubsub_clients",
    "local_environment",
    "local_job",
    "ops_messages",
    "payment_gateway_environment",
    "who_may_call",
]
