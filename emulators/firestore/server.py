"""Assembles and runs the emulator: gRPC server, admin HTTP server, housekeeping.

`FirestoreEmulator(...).start()` binds both ports (failing loudly if either is
taken), loads `--data-dir`, and starts a housekeeping thread that expires
abandoned transactions. `stop()` stops serving and saves `--data-dir`.
`wait()` blocks until `request_shutdown()` is called (by a signal handler or
`POST /shutdown`).
"""

from __future__ import annotations

import logging
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc

from emulators.firestore import admin, persistence
from emulators.firestore.engine import EngineSettings, FirestoreEngine
from emulators.firestore.service import UnimplementedHandler, firestore_handler
from emulators.json_http import JsonServer

logger = logging.getLogger(__name__)

_MESSAGE_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    admin_port: int | None = None  # default: port + 1
    data_dir: Path | None = None
    max_workers: int = 512
    housekeeping_seconds: float = 1.0


class FirestoreEmulator:
    def __init__(self, options: ServerOptions, settings: EngineSettings | None = None) -> None:
        self.options = options
        self.engine = FirestoreEngine(settings)
        self.admin_port = options.admin_port if options.admin_port else options.port + 1
        self._stop_requested = threading.Event()
        self._housekeeping_stop = threading.Event()
        self._grpc: grpc.Server | None = None
        self._admin: JsonServer | None = None
        self._threads: list[threading.Thread] = []

    @property
    def ready_line(self) -> str:
        host = self.options.host
        return (
            f"READY firestore grpc={host}:{self.options.port} admin=http://{host}:{self.admin_port}"
        )

    def start(self) -> FirestoreEmulator:
        options = self.options
        if options.data_dir is not None:
            loaded = persistence.load(self.engine, options.data_dir)
            logger.info("loaded %d documents from %s", loaded, options.data_dir)
        server = grpc.server(
            futures.ThreadPoolExecutor(
                max_workers=options.max_workers, thread_name_prefix="firestore-rpc"
            ),
            options=[
                ("grpc.so_reuseport", 0),  # a taken port must fail, not be shared
                ("grpc.max_receive_message_length", _MESSAGE_LIMIT),
                ("grpc.max_send_message_length", _MESSAGE_LIMIT),
            ],
        )
        server.add_generic_rpc_handlers((firestore_handler(self.engine), UnimplementedHandler()))
        bound = server.add_insecure_port(f"{options.host}:{options.port}")
        if bound != options.port:
            raise OSError(f"cannot bind the gRPC port {options.host}:{options.port}")
        self._admin = admin.admin_server(
            options.host, self.admin_port, self.engine, self.request_shutdown
        )
        server.start()
        self._grpc = server
        self._threads.append(self._admin.serve_in_background("firestore-admin"))
        housekeeping = threading.Thread(
            target=self._housekeep, name="firestore-housekeeping", daemon=True
        )
        housekeeping.start()
        self._threads.append(housekeeping)
        return self

    def _housekeep(self) -> None:
        while not self._housekeeping_stop.wait(self.options.housekeeping_seconds):
            try:
                self.engine.maintain()
            except Exception:  # housekeeping must never take the emulator down
                logger.exception("housekeeping failed")

    def request_shutdown(self) -> None:
        self._stop_requested.set()

    def wait(self, poll_seconds: float = 0.5) -> None:
        # Short waits keep the main thread responsive to signals.
        while not self._stop_requested.wait(poll_seconds):
            pass

    def stop(self) -> None:
        self._housekeeping_stop.set()
        if self._admin is not None:
            self._admin.stop()
        if self._grpc is not None:
            self._grpc.stop(grace=1.0).wait()
        if self.options.data_dir is not None:
            saved = persistence.save(self.engine, self.options.data_dir)
            logger.info("saved %d documents to %s", saved, self.options.data_dir)
