"""``python -m emulators.sandboxes.ops_notifications``: run the sandbox until stopped.

Stops on SIGTERM, Ctrl-C, or when the process that started it exits.
Prints ``READY ops-notifications http://HOST:PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import sys
import threading

from emulators.sandboxes.ops_notifications import DEFAULT_PORT
from emulators.sandboxes.ops_notifications.server import OpsNotificationsSandbox
from emulators.supervisor import stop_requested


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.sandboxes.ops_notifications", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    server = OpsNotificationsSandbox((args.host, args.port), verbose=args.verbose)
    stop = stop_requested()
    serving = threading.Thread(
        target=server.serve_forever, name="ops-notifications-sandbox", daemon=True
    )
    serving.start()
    print(f"READY ops-notifications {server.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        print("STOPPED ops-notifications", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
