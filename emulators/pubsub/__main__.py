"""`python -m emulators.pubsub`: run the Pub/Sub emulator until SIGINT or SIGTERM.

    python -m emulators.pubsub --host 127.0.0.1 --port 8085 [--admin-port 8086]
        [--min-ack-deadline 10] [--push-concurrency 16]
        [--push-auth-key key.pem [--push-auth-issuer URL] [--push-auth-key-id KID]]

Prints one line once both ports serve, for example
`READY pubsub grpc=127.0.0.1:8085 admin=http://127.0.0.1:8086`, then serves
until interrupted (or until the process that started it exits) and exits 0.
`--min-ack-deadline` below 10 lets tests use ack deadlines production would
refuse; the default is faithful.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emulators.pubsub.broker import DEFAULT_ACK_DEADLINE_S, MAX_ACK_DEADLINE_S
from emulators.pubsub.emulator import EmulatorConfig, PubSubEmulator
from emulators.pubsub.push import PushTokenSigner
from emulators.supervisor import stop_requested


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.pubsub", description="Local Google Cloud Pub/Sub emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8085, help="gRPC port (default 8085)")
    parser.add_argument("--admin-port", type=int, default=None, help="admin HTTP port (port + 1)")
    parser.add_argument(
        "--min-ack-deadline",
        type=int,
        default=DEFAULT_ACK_DEADLINE_S,
        help="shortest ack deadline accepted, in seconds (production: 10; tests may use 1)",
    )
    parser.add_argument(
        "--push-concurrency",
        type=int,
        default=16,
        help="most push requests in flight per subscription (default 16)",
    )
    parser.add_argument(
        "--push-auth-key",
        type=Path,
        help="RSA private key (PEM) signing push tokens for subscriptions with oidc_token",
    )
    parser.add_argument("--push-auth-issuer", default="https://accounts.google.com")
    parser.add_argument("--push-auth-key-id", default=None)
    args = parser.parse_args(argv)
    if not 1 <= args.min_ack_deadline <= MAX_ACK_DEADLINE_S:
        parser.error(f"--min-ack-deadline must be between 1 and {MAX_ACK_DEADLINE_S}")
    if args.push_concurrency < 1:
        parser.error("--push-concurrency must be at least 1")
    return args


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    signer = None
    if args.push_auth_key is not None:
        signer = PushTokenSigner(
            args.push_auth_key.read_bytes(), args.push_auth_issuer, args.push_auth_key_id
        )
    try:
        emulator = PubSubEmulator(
            EmulatorConfig(
                host=args.host,
                port=args.port,
                admin_port=args.admin_port,
                min_ack_deadline_s=args.min_ack_deadline,
                push_concurrency=args.push_concurrency,
                push_signer=signer,
            )
        )
    except (OSError, RuntimeError) as exc:
        print(f"pubsub emulator cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    stop = stop_requested()
    emulator.start()
    print(f"READY pubsub grpc={emulator.grpc_target} admin={emulator.admin_url}", flush=True)
    while not stop.wait(1.0):  # short waits keep the main thread responsive to signals
        pass
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
