"""`python -m emulators`: start the whole local cloud and keep it up until Ctrl-C.

    python -m emulators [--host 127.0.0.1] [--project patungan-local]
        [--firestore-port 8080] [--pubsub-port 8085] [--storage-port 4443]
        [--only firestore,pubsub,storage] [--gcloud]
        [--storage-notify-topic projects/P/topics/T] [--verbose]

Starts Firestore (when `emulators/firestore` is present), Pub/Sub and Cloud
Storage on the official default ports (or the given ones; 0 picks a free
port), waits until each is ready, prints where they are and the `export`
lines for your shell, then waits. Ctrl-C (or SIGTERM) stops every emulator and
exits 0; if one emulator dies on its own, the others are stopped and the exit
code is 1. `--gcloud` runs the official gcloud Firestore and Pub/Sub emulators
instead (Storage is always fake-gcs-server).

To use the emulators from another shell: `eval "$(python -m emulators ...)"`
does not work (the command keeps running); copy the printed export lines.
"""

from __future__ import annotations

import argparse
import sys

from emulators.local_cloud import (
    DEFAULT_PROJECT,
    SERVICES,
    LocalCloud,
    LocalCloudConfig,
    LocalCloudError,
)
from emulators.supervisor import stop_requested


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m emulators",
        description="Start the local Firestore, Pub/Sub and Cloud Storage emulators together.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--project", default=DEFAULT_PROJECT, help="GOOGLE_CLOUD_PROJECT to use")
    parser.add_argument("--firestore-port", type=int, default=None, help="default 8080")
    parser.add_argument("--pubsub-port", type=int, default=None, help="default 8085")
    parser.add_argument("--storage-port", type=int, default=None, help="default 4443")
    parser.add_argument(
        "--only",
        default=",".join(SERVICES),
        help="comma-separated services to start (default: all)",
    )
    parser.add_argument(
        "--gcloud",
        action="store_true",
        help="use the official gcloud Firestore and Pub/Sub emulators (needs the Cloud SDK)",
    )
    parser.add_argument(
        "--storage-notify-topic",
        default=None,
        help="publish object-finalize events to this Pub/Sub topic (created if missing)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the emulators' own output")
    args = parser.parse_args(argv)
    args.services = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = set(args.services) - set(SERVICES)
    if unknown:
        parser.error(f"unknown services in --only: {sorted(unknown)}")
    return args


def _describe(cloud: LocalCloud) -> str:
    lines = ["Local cloud is up (Ctrl-C stops it):"]
    for name in SERVICES:
        emulator = cloud.emulators.get(name)
        if emulator is None:
            continue
        where = f"http://{emulator.address}" if name == "storage" else emulator.address
        admin = f"   admin {emulator.admin_url}" if emulator.admin_url else ""
        lines.append(f"  {name:<10} {where}{admin}")
    for name, reason in cloud.skipped.items():
        lines.append(f"  {name:<10} not started: {reason}")
    lines += ["", "Environment for the Google clients:", cloud.exports()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    try:
        config = LocalCloudConfig(
            host=args.host,
            project=args.project,
            firestore_port=args.firestore_port,
            pubsub_port=args.pubsub_port,
            storage_port=args.storage_port,
            services=args.services,
            use_gcloud=args.gcloud,
            storage_notify_topic=args.storage_notify_topic,
            echo=args.verbose,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = stop_requested()
    cloud = LocalCloud(config)
    try:
        cloud.start()
    except LocalCloudError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        print(_describe(cloud), flush=True)
        while not stop.wait(0.5):
            failed = cloud.failed()
            if failed:
                for name, tail in failed.items():
                    print(f"error: the {name} emulator stopped:\n{tail}", file=sys.stderr)
                return 1
        print("Stopping the local cloud.", flush=True)
        return 0
    finally:
        cloud.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
