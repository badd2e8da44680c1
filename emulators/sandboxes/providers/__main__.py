"""``python -m emulators.sandboxes.providers``: run the providers sandbox until stopped.

Stops on SIGTERM, Ctrl-C, or when the process that started it exits.

Prints ``READY providers http://HOST:PORT`` once it accepts connections.
Faults can be set at start (``--fault credit_bureau:fail_next=2,fail_mode=timeout``)
or at run time (``PUT /admin/faults/<provider>``); see README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from typing import Any

from emulators.sandboxes.providers import DEFAULT_API_KEY, DEFAULT_API_KEY_HEADER, PROVIDER_NAMES
from emulators.sandboxes.providers.records import SandboxRecords
from emulators.sandboxes.providers.server import Fault, FaultBoard, ProvidersSandbox
from emulators.supervisor import stop_requested


def parse_fault(spec: str) -> tuple[str, Fault]:
    """``provider:key=value,key=value`` → (provider, Fault)."""
    provider, _, settings = spec.partition(":")
    if provider not in PROVIDER_NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown provider {provider!r}; known: {', '.join(PROVIDER_NAMES)}"
        )
    values: dict[str, Any] = {}
    for item in filter(None, settings.split(",")):
        key, sep, raw = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"{item!r} is not key=value")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw  # a bare word such as fail_mode=timeout
    try:
        return provider, Fault.parse(values)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.sandboxes.providers", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("PROVIDERS_SANDBOX_API_KEY", DEFAULT_API_KEY),
        help="the key provider endpoints accept (env PROVIDERS_SANDBOX_API_KEY)",
    )
    parser.add_argument("--api-key-header", default=DEFAULT_API_KEY_HEADER)
    parser.add_argument(
        "--fault",
        action="append",
        type=parse_fault,
        default=[],
        metavar="PROVIDER:KEY=VALUE,...",
        help="delay_ms, fail_rate, fail_next, fail_mode (5xx|timeout), hang_ms; repeatable",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for fail_rate draws")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    server = ProvidersSandbox(
        (args.host, args.port),
        api_key=args.api_key,
        api_key_header=args.api_key_header,
        faults=FaultBoard(dict(args.fault), seed=args.seed),
        records=SandboxRecords.load(),
        verbose=args.verbose,
    )
    stop = stop_requested()
    serving = threading.Thread(target=server.serve_forever, name="providers-sandbox", daemon=True)
    serving.start()
    print(f"READY providers {server.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stopping.set()  # releases requests held by delays and hangs
        server.shutdown()
        server.server_close()
        print("STOPPED providers", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
