"""`python -m emulators.firestore --host 127.0.0.1 --port 8080 [--data-dir DIR]`

Serves the Firestore API over gRPC on --port and the admin HTTP endpoint on
--admin-port (default --port + 1), prints one `READY firestore grpc=H:P
admin=http://H:P+1` line once both accept connections, and exits 0 on SIGINT,
SIGTERM, `POST /shutdown` or when the process that started it exits (after
saving --data-dir when given).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from emulators.firestore.engine import EngineSettings
from emulators.firestore.server import FirestoreEmulator, ServerOptions
from emulators.firestore.transactions import TransactionSettings
from emulators.supervisor import stop_requested


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.firestore",
        description="Firestore emulator with serializable transactions (gRPC).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="gRPC port")
    parser.add_argument("--admin-port", type=int, default=None, help="default: --port + 1")
    parser.add_argument("--data-dir", type=Path, default=None, help="load on start, save on stop")
    parser.add_argument(
        "--max-workers",
        type=int,
        default=512,
        help="gRPC worker threads (a lock wait and an open Listen stream hold one each)",
    )
    parser.add_argument(
        "--lock-wait-seconds",
        type=float,
        default=10.0,
        help="how long a transaction waits for a lock before giving up",
    )
    parser.add_argument(
        "--transaction-idle-seconds",
        type=float,
        default=60.0,
        help="an idle read-write transaction expires after this long",
    )
    parser.add_argument(
        "--transaction-max-seconds",
        type=float,
        default=270.0,
        help="a read-write transaction expires this long after it began (production: 270)",
    )
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = EngineSettings(
        transactions=TransactionSettings(
            lock_wait_seconds=args.lock_wait_seconds,
            idle_timeout_seconds=args.transaction_idle_seconds,
            max_lifetime_seconds=args.transaction_max_seconds,
        )
    )
    emulator = FirestoreEmulator(
        ServerOptions(
            host=args.host,
            port=args.port,
            admin_port=args.admin_port,
            data_dir=args.data_dir,
            max_workers=args.max_workers,
        ),
        settings,
    )
    # A signal or our parent exiting ends wait() below, as POST /shutdown does.
    stop_requested(on_stop=emulator.request_shutdown)
    try:
        emulator.start()
    except (OSError, RuntimeError) as error:  # grpcio raises RuntimeError when it cannot bind
        print(f"firestore emulator: cannot start: {error}", file=sys.stderr, flush=True)
        return 1
    print(emulator.ready_line, flush=True)
    emulator.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
