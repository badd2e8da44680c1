"""Benchmark the Pub/Sub emulator; writes benchmarks/pubsub-emulator.md.

    python -m scripts.bench.pubsub_emulator [--messages 5000] [--output PATH]

(`nox -s bench_emulators` runs it.) Starts `python -m emulators.pubsub` on free
ports and measures, with the real `google-cloud-pubsub` client:

1. publish throughput: `--messages` event-sized messages through one batching
   `PublisherClient`, until every future has resolved;
2. publish latency: one message at a time, `publish(...).result()`;
3. publish -> push delivery latency: a push subscription to a small HTTP
   receiver in this process, messages published at a steady pace (so the
   figure is delivery latency, not queueing), p50/p99 from the publish call to
   the receiver's first byte;
4. messages per second through a push subscription into a functions-framework
   `@cloud_event` function served the way `functions-framework` serves it
   (gunicorn, separate process), counted by the emulator's acknowledgements.

Timings include the client libraries and the loopback network, which is what
a developer's tests pay. Progress goes to stdout; the report records the
machine and its load, since this machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from emulators.launcher import ROOT, EmulatorProcess, free_port, free_port_pair

PROJECT = "patungan-bench"
DEFAULT_OUTPUT = ROOT / "benchmarks" / "pubsub-emulator.md"
EVENT = {
    "event_id": "7d1c7c1e-2b7a-4c43-9d0e-1f5a2b3c4d5e",
    "type": "loan.submitted",
    "schema_version": 1,
    "entity": "p2p",
    "occurred_at": "2026-01-05T09:30:00+07:00",
    "causation_id": None,
    "data": {"loan_id": "L-000123", "borrower_id": "B-000045", "principal": 50_000_000},
}
CONSUMER = '''
import json

import functions_framework


@functions_framework.cloud_event
def consume_loan_event(cloud_event):
    """Parses the event as a real consumer would, then acknowledges by returning."""
    import base64

    json.loads(base64.b64decode(cloud_event.data["message"]["data"]))
'''


def log(message: str) -> None:
    print(f"[bench pubsub] {message}", flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f}s")


class Receiver:
    """A push endpoint that timestamps each delivery by the `seq` attribute."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                arrived = time.perf_counter()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                seq = int(body["message"]["attributes"]["seq"])
                with receiver.lock:
                    receiver.arrivals.setdefault(seq, arrived)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/push"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def cloud_event_function(directory: Path) -> Iterator[str]:
    """The consumer function under functions-framework's own server; yields its URL."""
    source = directory / "main.py"
    source.write_text(textwrap.dedent(CONSUMER))
    port = free_port()
    command = [sys.executable, "-m", "functions_framework", "--target", "consume_loan_event"]
    command += ["--source", str(source), "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=directory,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_acks(admin: httpx.Client, subscription: str, count: int, timeout: float) -> float:
    """Poll the emulator's stats until `count` acks; returns the perf_counter when seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = admin.get(f"/stats/{subscription}").json()
        if stats["acknowledged"] >= count:
            return time.perf_counter()
        time.sleep(0.01)
    raise RuntimeError(f"{subscription}: only {stats['acknowledged']} of {count} acknowledged")


def run(messages: int, output: Path) -> dict[str, Any]:
    import google.cloud.pubsub_v1 as pubsub_v1

    results: dict[str, Any] = {"load_before": load_average()}
    port = free_port_pair()
    log(f"starting the emulator on 127.0.0.1:{port}")
    with EmulatorProcess.python_module("pubsub", "emulators.pubsub", "--port", str(port)):
        os.environ["PUBSUB_EMULATOR_HOST"] = f"127.0.0.1:{port}"
        admin = httpx.Client(base_url=f"http://127.0.0.1:{port + 1}", timeout=10, trust_env=False)
        publisher = pubsub_v1.PublisherClient()
        # The default client waits up to 10 ms to fill a batch; latency figures use one that
        # sends each message at once, so they show the emulator, not the batching delay.
        unbatched = pubsub_v1.PublisherClient(
            batch_settings=pubsub_v1.types.BatchSettings(max_messages=1)
        )
        subscriber = pubsub_v1.SubscriberClient()
        payload = json.dumps(EVENT).encode()
        results["payload_bytes"] = len(payload)

        # 1. Publish throughput (a pull subscription keeps a copy, as in production).
        topic = publisher.create_topic(name=f"projects/{PROJECT}/topics/throughput").name
        subscriber.create_subscription(
            name=f"projects/{PROJECT}/subscriptions/throughput-keep", topic=topic
        )
        log(f"publishing {messages} messages through one batching client")
        started = time.perf_counter()
        futures = [publisher.publish(topic, payload, seq=str(i)) for i in range(messages)]
        for future in futures:
            future.result(timeout=120)
        elapsed = time.perf_counter() - started
        results["publish_throughput"] = messages / elapsed
        log(f"  {results['publish_throughput']:.0f} messages/s")

        # 2. One-at-a-time publish latency.
        samples = min(500, messages)
        log(f"publishing {samples} messages one at a time")
        latencies = []
        for i in range(samples):
            began = time.perf_counter()
            unbatched.publish(topic, payload, seq=str(i)).result(timeout=30)
            latencies.append(time.perf_counter() - began)
        results["publish_latency_ms"] = (
            1000 * percentile(latencies, 0.5),
            1000 * percentile(latencies, 0.99),
        )
        log("  p50 {:.2f} ms, p99 {:.2f} ms".format(*results["publish_latency_ms"]))

        # 3. Publish -> push latency.
        receiver = Receiver()
        push_topic = publisher.create_topic(name=f"projects/{PROJECT}/topics/latency").name
        subscriber.create_subscription(
            name=f"projects/{PROJECT}/subscriptions/latency-push",
            topic=push_topic,
            push_config={"push_endpoint": receiver.url},
        )
        pushes = min(1000, messages)
        log(f"publishing {pushes} messages at 200/s to a push subscription")
        sent: dict[int, float] = {}
        for i in range(pushes):
            sent[i] = time.perf_counter()
            unbatched.publish(push_topic, payload, seq=str(i))
            time.sleep(0.005)
        deadline = time.monotonic() + 60
        while len(receiver.arrivals) < pushes and time.monotonic() < deadline:
            time.sleep(0.05)
        receiver.close()
        delays = [receiver.arrivals[i] - sent[i] for i in range(pushes) if i in receiver.arrivals]
        if len(delays) < pushes:
            raise RuntimeError(f"only {len(delays)} of {pushes} pushes arrived")
        results["push_latency_ms"] = (
            1000 * percentile(delays, 0.5),
            1000 * percentile(delays, 0.99),
        )
        log("  p50 {:.2f} ms, p99 {:.2f} ms".format(*results["push_latency_ms"]))

        # 4. Push into a functions-framework CloudEvent function.
        with (
            tempfile.TemporaryDirectory() as directory,
            cloud_event_function(Path(directory)) as function_url,
        ):
            ff_topic = publisher.create_topic(name=f"projects/{PROJECT}/topics/loan.submitted").name
            ff_subscription = f"projects/{PROJECT}/subscriptions/loan-submitted-push"
            subscriber.create_subscription(
                name=ff_subscription,
                topic=ff_topic,
                push_config={"push_endpoint": f"{function_url}/{ff_topic}"},
            )
            through = min(3000, messages)
            log(f"pushing {through} messages into a functions-framework function")
            started = time.perf_counter()
            for future in [publisher.publish(ff_topic, payload) for _ in range(through)]:
                future.result(timeout=120)
            finished = wait_for_acks(admin, ff_subscription, through, timeout=300)
            stats = admin.get(f"/stats/{ff_subscription}").json()
            results["function_throughput"] = through / (finished - started)
            results["function_nacks"] = stats["nacked"] + stats["expired"]
            log(f"  {results['function_throughput']:.0f} messages/s end to end")
        results["counts"] = {
            "throughput": messages,
            "latency": samples,
            "push": pushes,
            "function": through,
        }
        publisher.stop()
        unbatched.stop()
        subscriber.close()
        admin.close()
    results["load_after"] = load_average()
    write_report(results, output)
    log(f"report written to {output}")
    return results


def write_report(results: dict[str, Any], output: Path) -> None:
    counts = results["counts"]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    p50, p99 = results["publish_latency_ms"]
    push50, push99 = results["push_latency_ms"]
    rows = [
        ("publish throughput", f"**{results['publish_throughput']:,.0f} messages/s**"),
        ("publish latency, one at a time", f"p50 **{p50:.2f} ms**, p99 **{p99:.2f} ms**"),
        ("publish → push delivery latency", f"p50 **{push50:.2f} ms**, p99 **{push99:.2f} ms**"),
        (
            "push into a functions-framework `@cloud_event` function",
            f"**{results['function_throughput']:,.0f} messages/s**",
        ),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    text = f"""\
# Pub/Sub emulator benchmark

Written by `python -m scripts.bench.pubsub_emulator` (`nox -s bench_emulators`) on {now}.

| measurement | result |
|---|---|
{table}

How each figure is taken (real `google-cloud-pubsub` client over loopback gRPC, so the
client library's batching and threads are included; the emulator runs in its own process
with default options, push concurrency 16):

- publish throughput: {counts["throughput"]:,} messages of {results["payload_bytes"]} bytes
  (a loan event) through one batching `PublisherClient`, until every future resolved;
- publish latency: {counts["latency"]} messages, each `publish(...).result()` before the next,
  from a client that sends every message at once (`BatchSettings(max_messages=1)`); the
  default client adds up to 10 ms of batching delay on top;
- publish → push latency: {counts["push"]} messages published at 200/s (same unbatched
  client) to a push subscription, from the publish call to the endpoint receiving the POST;
- push into a function: {counts["function"]:,} messages to a push subscription whose
  endpoint is a `@cloud_event` function under `functions-framework`'s own gunicorn server
  (one worker, separate process), from the first publish to the emulator counting the
  last acknowledgement; nacks and expired deadlines during the run:
  {results["function_nacks"]}.

Machine: {os.cpu_count()} CPU(s), {cpu_model()}, Python {platform.python_version()},
{platform.system()} {platform.release()}. Load average (1/5/15 min) before the run:
{results["load_before"]}; after: {results["load_after"]}.

The machine was shared with other engineers' builds and test runs while this ran, so
read the figures as a floor rather than a ceiling, and rerun on a quiet machine before
comparing two versions of the emulator.
"""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.pubsub_emulator")
    parser.add_argument("--messages", type=int, default=5000, help="publish throughput sample")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    # nox passes the same arguments to every emulator benchmark: ignore the others' ones.
    args, ignored = parser.parse_known_args(argv)
    if ignored:
        log(f"ignoring arguments meant for another benchmark: {' '.join(ignored)}")
    run(args.messages, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
