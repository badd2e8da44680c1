"""The whole Patungan platform on localhost, as one importable context manager.

    with LocalPlatform(PlatformConfig(ports="free")) as platform:
        platform.url("loan_applications")          # http://127.0.0.1:PORT
        platform.keys.issue("u-1", "borrower")     # a token the functions accept
        ...

`LocalPlatform.start()` brings up, in order, printing progress as it goes:
1. the local cloud (`emulators.local_cloud.LocalCloud`: Firestore, Pub/Sub,
   Storage) and the providers sandbox (`python -m emulators.sandboxes.providers`), together;
2. the dev keys (`scripts.token.DevKeys`: token issuer, Storage signer, PII key);
3. Pub/Sub wired from `shared/topology.py` exactly as the Pulumi program wires it
   (infra/components/function.py): every topic, and for each event function its
   dead-letter topic, a `<dead-letter>.hold` pull subscription keeping dead letters,
   and its push subscription (ack deadline, retry backoff, maximum delivery
   attempts from the topology) pushing to the function's local URL at the path
   `/projects/<project>/topics/<topic>`, from which functions-framework names the
   topic in the CloudEvent's source (emulators/README.md, "Push");
4. the documents bucket, and the entity's products (the sample catalogue,
   `shared/domain/data/products.json`, restricted to the products the entity's
   manifest `infra/entities/<entity>.json` sells), through `publish_catalogue`;
5. every function of the topology under `functions-framework --target <name>
   --source functions/<name>/main.py --port <port>`, each in its own process group
   with the environment infra gives it in production (`function_environment`:
   the same `PATUNGAN_*` names read by the same settings classes, local values),
   and waits until each answers HTTP (an HTTP function has then built its settings
   and clients; an event function builds them on its first delivery);
6. the local Cloud Scheduler (`scripts.local_scheduler.LocalScheduler`): for every
   scheduled function, its job as infra deploys it (schedule in the topology's time
   zone, POST `{}` to the function's URL with a dev-issuer token naming the job's
   account, `email_verified`, the function's audience, its retry config).
   `PlatformConfig(schedule_every_s=1.0)` runs the jobs every second instead (tests).

`stop()` tells every part to stop at once (SIGTERM to each process group, SIGKILL
after a grace period) and waits for them; the context manager does both, and a
failed start stops whatever had started before raising `PlatformError`.

Ports: `PlatformConfig(ports="default")` uses the emulators' official ports (Firestore
8080/8081, Pub/Sub 8085/8086, Storage 4443), the sandbox's 8090 and the topology's
function ports (8200 + index) and refuses to start, naming them, when any is taken;
`ports="free"` lets the OS pick, for tests and benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from emulators.launcher import EmulatorProcess, free_port
from emulators.local_cloud import (
    DEFAULT_PROJECT,
    FIRESTORE_DEFAULT_PORT,
    PUBSUB_DEFAULT_PORT,
    STORAGE_DEFAULT_PORT,
    LocalCloud,
    LocalCloudConfig,
)
from emulators.sandboxes.providers import DEFAULT_API_KEY as SANDBOX_API_KEY
from emulators.supervisor import StartStop, stop_process_group
from infra.naming import SCHEDULER_ACCOUNT, account_id
from scripts.local_scheduler import LocalScheduler, ScheduledJob, scheduled_job
from scripts.token import DEFAULT_KEY_DIR, DevKeys
from shared.platform.outbox import EventPublisher, OutboundMessage
from shared.topology import (
    FUNCTIONS,
    TOPICS,
    Function,
    dead_letter_topic,
    local_port,
    secret,
    subscription_name,
)

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ENTITY = "p2p-lending"
PROVIDERS_DEFAULT_PORT = 8090
LOCAL_PAYMENT_WEBHOOK_KEY = "local-payment-webhook-key"  # only ever signs local test webhooks
DEAD_LETTER_HOLD_ACK_DEADLINE_S = 60
Progress = Callable[[str], None]
# Variables a developer's shell may carry that would change what a function reads; each
# function gets exactly the ones `function_environment` gives it.
_INHERITED_BUT_OVERRIDDEN = ("PATUNGAN_", "K_SERVICE", "GOOGLE_CLOUD_PROJECT")
_CLIENT_HOSTS = ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST")


class PlatformError(RuntimeError):
    """The platform could not start (the message says which part and why)."""


def _print(message: str) -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class PlatformConfig:
    """What to start and where (see the module docstring)."""

    host: str = "127.0.0.1"
    ports: Literal["default", "free"] = "default"
    project: str = DEFAULT_PROJECT
    entity: str = LOCAL_ENTITY
    keys_dir: Path = DEFAULT_KEY_DIR
    functions: tuple[str, ...] = tuple(fn.name for fn in FUNCTIONS)
    documents_bucket: str = "patungan-local-documents"
    echo: bool = False  # copy every child's output to ours, prefixed with its name
    progress: Progress = _print
    ready_timeout_s: float = 60.0
    pubsub_args: tuple[str, ...] = ()
    # Run scheduled functions at this fixed interval instead of their cron schedule (tests).
    schedule_every_s: float | None = None


@dataclass(frozen=True)
class RunningFunction:
    """One function of the platform and where it listens."""

    fn: Function
    port: int
    url: str

    @property
    def name(self) -> str:
        return self.fn.name


def function_environment(
    fn: Function,
    *,
    project: str,
    entity: str,
    emulators: dict[str, str],
    keys: DevKeys,
    providers_url: str,
    documents_bucket: str,
) -> dict[str, str]:
    """The variables a function reads, as infra sets them in production, with local values.

    Mirrors `infra/components/function.py` (`_environment` and the Secret Manager
    mounts of `fn.secrets`) name for name; what differs is only where values point:
    the dev token issuer's public key instead of Identity Platform's JWKS, a dev
    service-account key signing Storage URLs instead of IAM signBlob, the local PII
    key, the sandbox's API key, and the emulators. The providers' base URL
    (`PATUNGAN_PROVIDERS_URL`) goes to the functions that call the providers, the
    ones holding the provider API key.
    """
    dev = keys.environment()
    env = {
        "PATUNGAN_ENV": "local",
        "PATUNGAN_ENTITY": entity,
        "PATUNGAN_GCP_PROJECT": project,
        "PATUNGAN_FUNCTION_NAME": fn.name,
        **{name: emulators[name] for name in _CLIENT_HOSTS if name in emulators},
    }
    if fn.kind == "http":
        env |= {
            name: dev[name]
            for name in (
                "PATUNGAN_AUTH_ISSUER",
                "PATUNGAN_AUTH_AUDIENCE",
                "PATUNGAN_AUTH_PUBLIC_KEY_FILE",
            )
        }
    if fn.documents != "none":
        env["PATUNGAN_DOCUMENTS_BUCKET"] = documents_bucket
    if fn.signs_document_urls:
        env["PATUNGAN_STORAGE_SIGNING_KEY_FILE"] = dev["PATUNGAN_STORAGE_SIGNING_KEY_FILE"]
    local_secrets = {
        "pii-encryption-key": dev["PATUNGAN_PII_KEY"],
        "provider-api-key": SANDBOX_API_KEY,
        "payment-webhook-hmac-key": LOCAL_PAYMENT_WEBHOOK_KEY,
    }
    for name in fn.secrets:
        env[secret(name).env_var] = local_secrets[name]
    if "provider-api-key" in fn.secrets:
        env["PATUNGAN_PROVIDERS_URL"] = providers_url
    if fn.schedule:
        # The account its Cloud Scheduler job calls as, named as infra names it; locally
        # the dev issuer mints that account's token (`scripts.token`).
        env["PATUNGAN_SCHEDULER_INVOKER"] = scheduler_invoker(fn, project)
    return env


def scheduler_invoker(fn: Function, project: str) -> str:
    """The e-mail of the service account a scheduled function's Scheduler job calls as."""
    return f"{account_id(SCHEDULER_ACCOUNT, fn.name)}@{project}.iam.gserviceaccount.com"


def local_scheduled_job(
    fn: Function, url: str, env: dict[str, str], *, every_s: float | None = None
) -> ScheduledJob:
    """The local Scheduler job of `fn`, calling it as `env` (its environment) expects.

    As in production, the token names the account the function was told is its
    scheduler (`PATUNGAN_SCHEDULER_INVOKER`) and carries the audience it verifies
    (`PATUNGAN_AUTH_AUDIENCE`: the function's URL there, the dev audience here).
    """
    return scheduled_job(
        fn,
        url=url,
        invoker=env["PATUNGAN_SCHEDULER_INVOKER"],
        audience=env["PATUNGAN_AUTH_AUDIENCE"],
        every_s=every_s,
    )


def who_may_call(fn: Function) -> str:
    """Who may call a function, from its routes (HTTP) or its subscription (event)."""
    if fn.kind == "event":
        return f"Pub/Sub push ({subscription_name(fn)} on {fn.consumes})"
    if fn.schedule:
        return f"its Cloud Scheduler job ({fn.schedule})"
    import importlib

    router = getattr(importlib.import_module(f"functions.{fn.name}.main"), "router", None)
    if router is None:
        return "anyone (public)" if fn.public else "bearer token"
    callers: list[str] = []
    if any(r.roles is None and not r.signed_in for r in router.routes):
        callers.append("anyone (no token)")
    if any(r.signed_in for r in router.routes):
        callers.append("any signed-in user")
    roles = sorted({role for r in router.routes for role in (r.roles or ())})
    callers.extend(roles)
    return ", ".join(callers)


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


class FunctionProcess:
    """One function under functions-framework (gunicorn) in its own process group."""

    def __init__(
        self,
        fn: Function,
        host: str,
        port: int,
        env: dict[str, str],
        *,
        echo: bool = False,
        listeners: Sequence[Callable[[str, str], None]] = (),
    ) -> None:
        self.fn = fn
        self.host = host
        self.port = port
        self.env = env
        self.echo = echo
        self.listeners = list(listeners)
        self.output: deque[str] = deque(maxlen=400)
        self._proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def argv(self) -> list[str]:
        source = ROOT / self.fn.source_dir / "main.py"
        return [
            *functions_framework_command(),
            "--target", self.fn.entry_point,
            "--source", str(source),
            "--host", self.host,
            "--port", str(self.port),
        ]  # fmt: skip

    def start(self, ready_timeout_s: float) -> None:
        """Start the function under `emulators.supervisor`, which binds it to this process.

        A function runs in its own session (Ctrl-C reaches the runner only, which stops
        the functions in order), so nothing kills it when the runner is SIGKILLed.
        PR_SET_PDEATHSIG would, but it fires when the *thread* that forked exits (and
        `LocalPlatform.start` may run on any thread), and its `preexec_fn` is unsafe here,
        where output threads already run. The supervisor forks from its own main thread
        with it, watches its own parent, and stops the function's whole process group
        (gunicorn's workers too) once the runner is gone.
        """
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(_INHERITED_BUT_OVERRIDDEN) and name not in _CLIENT_HOSTS
        }
        supervised = [
            sys.executable, "-m", "emulators.supervisor", self.fn.name,
            "--ready-tcp", f"{self.host}:{self.port}",
            "--ready-timeout", str(ready_timeout_s),
            "--", *self.argv,
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            supervised,
            cwd=ROOT,
            env={**inherited, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches the runner only; it stops us in order
        )
        threading.Thread(target=self._pump, name=f"{self.fn.name}-output", daemon=True).start()

    def _pump(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.rstrip("\n")
            self.output.append(line)
            if self.echo:
                print(f"[{self.fn.name}] {line}", flush=True)
            for listener in self.listeners:
                listener(self.fn.name, line)

    def wait_ready(self, timeout_s: float) -> None:
        """Until the function answers HTTP and has built its dependencies (its first request).

        Any answer below 500 means functions-framework serves and the function's
        settings loaded; a 500 here is a configuration error, shown from its output.
        """
        deadline = time.monotonic() + timeout_s
        with httpx.Client(trust_env=False, timeout=10.0) as client:
            while True:
                if not self.running:
                    raise PlatformError(
                        f"{self.fn.name} exited with {self.returncode} before it was ready:\n"
                        f"{self.tail()}"
                    )
                try:
                    response = self._probe(client)
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise PlatformError(
                            f"{self.fn.name} did not answer on {self.url} within "
                            f"{timeout_s:.0f} s:\n{self.tail()}"
                        ) from None
                    time.sleep(0.05)
                    continue
                if response.status_code >= 500:
                    raise PlatformError(
                        f"{self.fn.name} answered {response.status_code} to its first request "
                        f"(usually its settings: see below):\n{self.tail()}"
                    )
                return

    def _probe(self, client: httpx.Client) -> httpx.Response:
        # An HTTP function builds its services (settings, clients) before routing any
        # request. An event function builds them on its first delivery: a GET only shows
        # that functions-framework serves (405), which is what its push subscription needs.
        return client.get(f"{self.url}/")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(list(self.output)[-lines:])

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def stop(self, grace_s: float = 10.0) -> None:
        if self._proc is not None:
            stop_process_group(self._proc, grace_s)


@dataclass
class LocalPlatform(StartStop):
    """Start, describe and stop the whole platform (see the module docstring)."""

    config: PlatformConfig = field(default_factory=PlatformConfig)
    output_listeners: list[Callable[[str, str], None]] = field(default_factory=list)
    cloud: LocalCloud | None = field(default=None, init=False)
    keys: DevKeys = field(init=False)
    providers_url: str = field(default="", init=False)
    products: tuple[str, ...] = field(default=(), init=False)
    functions: dict[str, RunningFunction] = field(default_factory=dict, init=False)
    _sandbox: EmulatorProcess | None = field(default=None, init=False)
    _processes: dict[str, FunctionProcess] = field(default_factory=dict, init=False)
    _scheduler: LocalScheduler | None = field(default=None, init=False)

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
            self._start_cloud_and_sandbox()
            with self._step("dev keys"):
                self.keys = DevKeys.ensure(config.keys_dir)
            self._wire_pubsub()
            self._create_documents_bucket()
            self._seed_products()
            self._start_functions()
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
        sandbox, self._sandbox = self._sandbox, None
        cloud, self.cloud = self.cloud, None
        stops: list[Callable[[], object]] = [process.stop for process in processes.values()]
        if scheduler is not None:  # an attempt in flight ends when its function stops
            stops.insert(0, scheduler.stop)
        stops += [part.stop for part in (sandbox, cloud) if part is not None]
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

    def push_endpoint(self, fn: Function) -> str:
        """Where the push subscription of event function `fn` delivers."""
        assert fn.consumes is not None
        return f"{self._function_url(fn)}/{self.topic_path(fn.consumes)}"

    @property
    def scheduled_jobs(self) -> list[ScheduledJob]:
        """The local Cloud Scheduler's jobs (one per scheduled function), as it runs them."""
        return list(self._scheduler.jobs) if self._scheduler is not None else []

    def environment_of(self, function_name: str) -> dict[str, str]:
        """The environment a started function was given (secrets included: local values)."""
        return dict(self._processes[function_name].env)

    def failed(self) -> dict[str, str]:
        """Parts that have exited since they started: name -> the tail of their output."""
        failed = dict(self.cloud.failed()) if self.cloud is not None else {}
        if self._sandbox is not None and not self._sandbox.running:
            failed["providers"] = self._sandbox.tail()
        for name, process in self._processes.items():
            if not process.running:
                failed[name] = process.tail()
        return failed

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
        import grpc
        from google.pubsub_v1.services.publisher import PublisherClient
        from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
        from google.pubsub_v1.services.subscriber import SubscriberClient
        from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

        address = self.cloud_env["PUBSUB_EMULATOR_HOST"]
        publisher = PublisherClient(
            transport=PublisherGrpcTransport(channel=grpc.insecure_channel(address))
        )
        subscriber = SubscriberClient(
            transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(address))
        )
        return publisher, subscriber

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
        }
        for fn in self._selected_functions():
            ports[f"function {fn.name}"] = local_port(fn)
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

    def _selected_functions(self) -> list[Function]:
        unknown = set(self.config.functions) - {fn.name for fn in FUNCTIONS}
        if unknown:
            raise PlatformError(f"no such functions in the topology: {sorted(unknown)}")
        return [fn for fn in FUNCTIONS if fn.name in self.config.functions]

    def _function_port(self, fn: Function) -> int:
        return free_port(self.config.host) if self.config.ports == "free" else local_port(fn)

    def _function_url(self, fn: Function) -> str:
        return self.functions[fn.name].url

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
                pubsub_args=config.pubsub_args,
                echo=config.echo,
                ready_timeout_s=config.ready_timeout_s,
            )
        )
        sandbox_port = 0 if config.ports == "free" else PROVIDERS_DEFAULT_PORT
        self._sandbox = EmulatorProcess.python_module(
            "providers",
            "emulators.sandboxes.providers",
            "--host", config.host,
            "--port", str(sandbox_port),
            "--api-key", SANDBOX_API_KEY,
            ready_timeout=config.ready_timeout_s,
            echo=config.echo,
        )  # fmt: skip
        config.progress("  starting firestore, pubsub, storage and the providers sandbox …")
        timings: dict[str, float] = {}

        def start_cloud() -> None:
            started = time.perf_counter()
            assert self.cloud is not None
            self.cloud.start()
            timings["emulators"] = time.perf_counter() - started

        def start_sandbox() -> None:
            started = time.perf_counter()
            assert self._sandbox is not None
            self._sandbox.start()
            timings["sandbox"] = time.perf_counter() - started

        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(start_cloud), pool.submit(start_sandbox)]
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
        # "READY providers http://HOST:PORT"
        self.providers_url = self._sandbox.ready_line.split()[2]
        config.progress(f"  providers {self.providers_url} … ready ({timings['sandbox']:.1f} s)")

    def _wire_pubsub(self) -> None:
        from google.api_core import exceptions
        from google.pubsub_v1 import types

        started = time.perf_counter()
        publisher, subscriber = self.pubsub_clients()
        # Ports first: push endpoints name the functions' URLs before the functions start.
        for fn in self._selected_functions():
            port = self._function_port(fn)
            self.functions[fn.name] = RunningFunction(fn, port, f"http://{self.config.host}:{port}")
        topics = [t.name for t in TOPICS]
        event_functions = [fn for fn in self._selected_functions() if fn.kind == "event"]
        topics += [dead_letter_topic(fn) for fn in event_functions]
        for name in topics:
            with contextlib.suppress(exceptions.AlreadyExists):
                publisher.create_topic(name=self.topic_path(name), timeout=10)
        for fn in event_functions:
            assert fn.consumes is not None
            dead_letters = self.topic_path(dead_letter_topic(fn))
            subscriber.create_subscription(
                request=types.Subscription(
                    name=self.subscription_path(f"{dead_letter_topic(fn)}.hold"),
                    topic=dead_letters,
                    ack_deadline_seconds=DEAD_LETTER_HOLD_ACK_DEADLINE_S,
                ),
                timeout=10,
            )
            subscriber.create_subscription(
                request=types.Subscription(
                    name=self.subscription_path(subscription_name(fn)),
                    topic=self.topic_path(fn.consumes),
                    ack_deadline_seconds=fn.ack_deadline_s,
                    push_config=types.PushConfig(push_endpoint=self.push_endpoint(fn)),
                    retry_policy=types.RetryPolicy(
                        minimum_backoff={"seconds": fn.min_backoff_s},
                        maximum_backoff={"seconds": fn.max_backoff_s},
                    ),
                    dead_letter_policy=types.DeadLetterPolicy(
                        dead_letter_topic=dead_letters,
                        max_delivery_attempts=fn.max_delivery_attempts,
                    ),
                ),
                timeout=10,
            )
        self.config.progress(
            f"  pub/sub: {len(topics)} topics, {len(event_functions)} push subscription(s) "
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

    def _start_functions(self) -> None:
        config = self.config
        assert self.cloud is not None
        selected = self._selected_functions()
        config.progress(f"  starting {len(selected)} functions under functions-framework …")
        for fn in selected:
            running = self.functions[fn.name]
            env = function_environment(
                fn,
                project=config.project,
                entity=config.entity,
                emulators=self.cloud_env,
                keys=self.keys,
                providers_url=self.providers_url,
                documents_bucket=config.documents_bucket,
            )
            process = FunctionProcess(
                fn,
                config.host,
                running.port,
                env,
                echo=config.echo,
                listeners=self.output_listeners,
            )
            self._processes[fn.name] = process
            process.start(config.ready_timeout_s)
        started = time.perf_counter()

        def wait(process: FunctionProcess) -> None:
            process.wait_ready(config.ready_timeout_s)
            config.progress(
                f"  {process.fn.name:<17} {process.url} … ready "
                f"({time.perf_counter() - started:.1f} s)"
            )

        with ThreadPoolExecutor(max_workers=len(self._processes)) as pool:
            futures = [pool.submit(wait, p) for p in self._processes.values()]
        errors = [str(f.exception()) for f in futures if f.exception() is not None]
        if errors:
            raise PlatformError("functions failed to start:\n" + "\n\n".join(errors))

    def _start_scheduler(self) -> None:
        jobs = [
            local_scheduled_job(
                process.fn,
                process.url,
                process.env,
                every_s=self.config.schedule_every_s,
            )
            for process in self._processes.values()
            if process.fn.schedule
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
    "FunctionProcess",
    "LocalPlatform",
    "PlatformConfig",
    "PlatformError",
    "RunningFunction",
    "function_environment",
    "local_scheduled_job",
    "who_may_call",
]
