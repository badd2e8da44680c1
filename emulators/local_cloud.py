"""The local cloud: Firestore, Pub/Sub and Cloud Storage emulators started and stopped together.

    with LocalCloud(LocalCloudConfig(firestore_port=0, pubsub_port=0, storage_port=0)) as cloud:
        os.environ.update(cloud.env)  # *_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT
        ...

`LocalCloud.start()` launches each emulator as a child process (through
`emulators.launcher.EmulatorProcess`), waits until every one has printed its
READY line, and raises `LocalCloudError` (having stopped whatever did start)
if one fails. `stop()` stops them all; the context manager does both. A port
of 0 means "pick a free one", so tests and the platform runner never depend on
fixed ports; the defaults are the official emulator ports (Firestore 8080,
Pub/Sub 8085, Storage 4443), with admin endpoints on the port + 1.

Firestore is started only when `emulators/firestore` is present. With
`use_gcloud=True`, Firestore and Pub/Sub come from the official gcloud
emulators (`gcloud beta emulators firestore|pubsub start --host-port=H:P`);
Storage always comes from fake-gcs-server, since gcloud has no Storage
emulator. gcloud must be on PATH, or `LocalCloudError` says how to get it.

Run as a module (`python -m emulators.local_cloud gcloud-wrap SERVICE --host H
--port P --project ID`), this file wraps one gcloud emulator so it follows the
READY-line convention; `LocalCloud` starts it that way.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from emulators.launcher import EmulatorProcess, free_port, free_port_pair
from emulators.supervisor import StartStop, supervise, tcp_open

DEFAULT_PROJECT = "patungan-local"
FIRESTORE_DEFAULT_PORT = 8080
PUBSUB_DEFAULT_PORT = 8085
STORAGE_DEFAULT_PORT = 4443
SERVICES = ("firestore", "pubsub", "storage")
GCLOUD_SERVICES = ("firestore", "pubsub")
GCLOUD_HINT = (
    "the official emulators need the Google Cloud SDK: install it "
    "(https://cloud.google.com/sdk/docs/install), then "
    "`gcloud components install beta pubsub-emulator cloud-firestore-emulator`; "
    "or drop --gcloud to use Patungan's own emulators"
)


class LocalCloudError(RuntimeError):
    """An emulator could not be started (the message says which and why)."""


def firestore_available() -> bool:
    """Whether Patungan's own Firestore emulator is present in this checkout."""
    try:
        return importlib.util.find_spec("emulators.firestore.__main__") is not None
    except ModuleNotFoundError:
        return False


@dataclass(frozen=True)
class LocalCloudConfig:
    """What to start and where. Ports: None = official default, 0 = any free port."""

    host: str = "127.0.0.1"
    project: str = DEFAULT_PROJECT
    firestore_port: int | None = None
    pubsub_port: int | None = None
    storage_port: int | None = None
    services: tuple[str, ...] = SERVICES
    use_gcloud: bool = False
    pubsub_args: tuple[str, ...] = ()  # extra flags, e.g. ("--min-ack-deadline", "1")
    firestore_args: tuple[str, ...] = ()
    storage_notify_topic: str | None = None  # projects/P/topics/T for object events
    echo: bool = False  # copy the emulators' output to ours, prefixed with their name
    ready_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        unknown = set(self.services) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}; choose from {SERVICES}")
        if self.storage_notify_topic and "pubsub" not in self.services:
            raise ValueError("storage notifications need the pubsub service")


@dataclass(frozen=True)
class RunningEmulator:
    """One started emulator: where clients reach it."""

    name: str
    host: str
    port: int
    admin_url: str | None  # None for gcloud emulators (no admin endpoint)
    ready_line: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class LocalCloud(StartStop):
    """Start, expose and stop the local emulators (see the module docstring)."""

    config: LocalCloudConfig = field(default_factory=LocalCloudConfig)
    emulators: dict[str, RunningEmulator] = field(default_factory=dict, init=False)
    skipped: dict[str, str] = field(default_factory=dict, init=False)  # service -> why
    _processes: dict[str, EmulatorProcess] = field(default_factory=dict, init=False)

    # ------------------------------------------------------------------ public

    def start(self) -> LocalCloud:
        config = self.config
        wanted = list(config.services)
        if "firestore" in wanted and not config.use_gcloud and not firestore_available():
            wanted.remove("firestore")
            self.skipped["firestore"] = "emulators/firestore is not in this checkout"
        needs_gcloud = config.use_gcloud and any(s in GCLOUD_SERVICES for s in wanted)
        if needs_gcloud and shutil.which("gcloud") is None:
            raise LocalCloudError(f"gcloud is not on PATH: {GCLOUD_HINT}")
        first = [s for s in wanted if not (s == "storage" and config.storage_notify_topic)]
        later = [s for s in wanted if s not in first]
        try:
            self._start_together(first)
            if config.storage_notify_topic:
                self._ensure_topic(config.storage_notify_topic)
            self._start_together(later)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every emulator this cloud started (safe to call twice)."""
        processes, self._processes = self._processes, {}
        for process in processes.values():
            process.stop()
        self.emulators.clear()

    def failed(self) -> dict[str, str]:
        """Emulators that have exited since they started: name -> the tail of their output."""
        return {
            name: process.tail() for name, process in self._processes.items() if not process.running
        }

    def process_ids(self) -> dict[str, int]:
        """Each running emulator's process id (the root of its process tree)."""
        pids = {name: process.pid for name, process in self._processes.items()}
        return {name: pid for name, pid in pids.items() if pid is not None}

    @property
    def env(self) -> dict[str, str]:
        """The environment variables the Google clients read to find the emulators."""
        env = {"GOOGLE_CLOUD_PROJECT": self.config.project}
        if "firestore" in self.emulators:
            env["FIRESTORE_EMULATOR_HOST"] = self.emulators["firestore"].address
        if "pubsub" in self.emulators:
            env["PUBSUB_EMULATOR_HOST"] = self.emulators["pubsub"].address
        if "storage" in self.emulators:
            env["STORAGE_EMULATOR_HOST"] = f"http://{self.emulators['storage'].address}"
        return env

    def exports(self) -> str:
        """`export NAME=value` lines for a POSIX shell."""
        return "\n".join(f"export {name}={value}" for name, value in sorted(self.env.items()))

    @property
    def firestore_host(self) -> str | None:
        return self.env.get("FIRESTORE_EMULATOR_HOST")

    @property
    def pubsub_host(self) -> str | None:
        return self.env.get("PUBSUB_EMULATOR_HOST")

    @property
    def storage_url(self) -> str | None:
        return self.env.get("STORAGE_EMULATOR_HOST")

    # ------------------------------------------------------------------ internals

    def _start_together(self, services: list[str]) -> None:
        if not services:
            return
        plans = {name: self._plan(name) for name in services}
        with ThreadPoolExecutor(max_workers=len(plans)) as pool:
            futures = {name: pool.submit(self._start_one, *plan) for name, plan in plans.items()}
        errors = []
        for name, future in futures.items():
            error = future.exception()
            if error is not None:
                errors.append(f"{name}: {error}")
        if errors:
            raise LocalCloudError("could not start the local cloud:\n" + "\n".join(errors))

    def _plan(self, name: str) -> tuple[str, EmulatorProcess, int, bool]:
        config = self.config
        host = config.host
        if name == "storage":
            port = self._port(config.storage_port, STORAGE_DEFAULT_PORT, pair=False)
            args = ["--host", host, "--port", str(port)]
            if config.storage_notify_topic:
                args += ["--notify-topic", config.storage_notify_topic]
                args += ["--pubsub-host", self.emulators["pubsub"].address]
            process = self._python(name, "emulators.storage", args)
            return name, process, port, False
        default = FIRESTORE_DEFAULT_PORT if name == "firestore" else PUBSUB_DEFAULT_PORT
        requested = config.firestore_port if name == "firestore" else config.pubsub_port
        port = self._port(requested, default, pair=not config.use_gcloud)
        if config.use_gcloud:
            args = ["gcloud-wrap", name, "--host", host, "--port", str(port)]
            args += ["--project", config.project]
            return name, self._python(name, "emulators.local_cloud", args), port, True
        extra = config.firestore_args if name == "firestore" else config.pubsub_args
        args = ["--host", host, "--port", str(port), *extra]
        return name, self._python(name, f"emulators.{name}", args), port, False

    def _python(self, name: str, module: str, args: list[str]) -> EmulatorProcess:
        return EmulatorProcess.python_module(
            name,
            module,
            *args,
            ready_timeout=self.config.ready_timeout_s,
            echo=self.config.echo,
        )

    def _port(self, requested: int | None, default: int, *, pair: bool) -> int:
        if requested is None:
            return default
        if requested == 0:
            return free_port_pair(self.config.host) if pair else free_port(self.config.host)
        return requested

    def _start_one(self, name: str, process: EmulatorProcess, port: int, gcloud: bool) -> None:
        try:
            process.start()
        except RuntimeError as exc:
            raise LocalCloudError(str(exc)) from exc
        self._processes[name] = process
        admin = None if gcloud or name == "storage" else f"http://{self.config.host}:{port + 1}"
        self.emulators[name] = RunningEmulator(
            name, self.config.host, port, admin, process.ready_line
        )

    def _ensure_topic(self, topic: str) -> None:
        """Create the notification topic in the Pub/Sub emulator if it is not there yet."""
        import grpc
        from google.api_core import exceptions
        from google.pubsub_v1.services.publisher import PublisherClient
        from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

        channel = grpc.insecure_channel(self.emulators["pubsub"].address)
        publisher = PublisherClient(transport=PublisherGrpcTransport(channel=channel))
        try:
            publisher.create_topic(name=topic, timeout=10)
        except exceptions.AlreadyExists:
            pass
        finally:
            channel.close()


# ---------------------------------------------------------------------- gcloud wrapper


def gcloud_command(service: str, host: str, port: int, project: str) -> list[str]:
    """The gcloud command line that starts one official emulator."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise LocalCloudError(f"gcloud is not on PATH: {GCLOUD_HINT}")
    return [
        gcloud, "beta", "emulators", service, "start",
        f"--host-port={host}:{port}", f"--project={project}", "--quiet",
    ]  # fmt: skip


def _gcloud_wrap_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.local_cloud gcloud-wrap")
    parser.add_argument("service", choices=GCLOUD_SERVICES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--project", default=DEFAULT_PROJECT)
    args = parser.parse_args(argv)
    try:
        command = gcloud_command(args.service, args.host, args.port, args.project)
    except LocalCloudError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 2
    return supervise(
        f"gcloud {args.service}",
        command,
        ready=tcp_open(args.host, args.port),
        ready_line=f"READY {args.service} grpc={args.host}:{args.port} source=gcloud",
    )


def _main(argv: list[str]) -> int:
    if not argv or argv[0] != "gcloud-wrap":
        print(
            "usage: python -m emulators.local_cloud gcloud-wrap SERVICE --port P "
            "(to start the local cloud, run `python -m emulators`)",
            file=sys.stderr,
        )
        return 2
    return _gcloud_wrap_main(argv[1:])


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
