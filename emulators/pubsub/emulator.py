"""The Pub/Sub emulator assembled: broker, gRPC server, push delivery and admin endpoint.

`PubSubEmulator(...).start()` binds the gRPC port (the one
`PUBSUB_EMULATOR_HOST` points at) and the admin HTTP port, and `stop()` ends
every stream, push worker and server. `python -m emulators.pubsub` wraps it in
a process; tests normally start that process through the fixtures rather than
this class, so the emulator runs with its own GIL.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulators.pubsub.admin import admin_server
from emulators.pubsub.broker import Broker, BrokerOptions
from emulators.pubsub.push import PushDispatcher, PushTokenSigner
from emulators.pubsub.service import build_server


@dataclass(frozen=True)
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8085
    admin_port: int | None = None  # None: port + 1
    min_ack_deadline_s: int = 10
    push_concurrency: int = 16
    push_signer: PushTokenSigner | None = None


class PubSubEmulator:
    """One running Pub/Sub emulator (gRPC + admin HTTP) in this process."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.push = PushDispatcher(concurrency=config.push_concurrency, signer=config.push_signer)
        self.broker = Broker(
            BrokerOptions(min_ack_deadline_s=config.min_ack_deadline_s),
            on_push_subscription=self.push.start_worker,
        )
        self.push.attach(self.broker)
        self._grpc = build_server(self.broker)
        self.port = self._grpc.add_insecure_port(f"{config.host}:{config.port}")
        if self.port == 0:
            raise OSError(f"cannot bind gRPC to {config.host}:{config.port}")
        admin_port = config.admin_port if config.admin_port is not None else self.port + 1
        self._admin = admin_server(self.broker, config.host, admin_port)

    @property
    def grpc_target(self) -> str:
        return f"{self.config.host}:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.config.host}:{self._admin.port}"

    def start(self) -> PubSubEmulator:
        self._grpc.start()
        self._admin.serve_in_background("pubsub-admin")
        return self

    def stop(self) -> None:
        self.broker.stop()
        self.push.stop()
        self._grpc.stop(grace=1).wait(3)
        self._admin.stop()
