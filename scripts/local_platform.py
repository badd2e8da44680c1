"""`python -m scripts.local_platform` (what `python3 dev.py up` runs): the whole platform locally.

    python -m scripts.local_platform [--ports default|free] [--verbose]
    python -m scripts.local_platform --check [--ports default|free]
    python -m scripts.local_platform --run-scheduled outbox_relay [--url URL]

Starts the emulators, the sandboxes (providers, ops channel, payment gateway), Pub/Sub
topics and push subscriptions (with dead-letter topics) from the topology, the entity's
products, and every function on its own functions-framework port
(`scripts.platform_runner.LocalPlatform`), then prints the function URLs and who may call
them, the scheduled jobs the local Cloud Scheduler runs (`scripts.local_scheduler`),
ready-to-use dev-issuer tokens for each role, and the environment exports (the payment
gateway's URL and API key among them), and waits. Ctrl-C (or SIGTERM) stops
everything and exits 0; if any part dies on its own the rest is stopped and the exit
code is 1. A port already taken stops the start before anything runs, naming it.

`--check` starts the platform, runs a smoke check — every function answers, a quote
of a seeded product, and one borrower registered, submitted and scored through the
real push subscription — stops it, and exits 0 when all passed, 1 otherwise. It
picks free ports unless `--ports default` is given, so it runs beside a platform
that is already up (CI, tests).

`--run-scheduled NAME` runs a scheduled function's job once, now, on a platform that
is already up (its function on the default port, or at `--url`): one POST as its
Cloud Scheduler job would send it; prints the answer, exits 0 on a 2xx, 1 otherwise.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from emulators.local_cloud import DEFAULT_PROJECT, LocalCloudError
from scripts.local_scheduler import run_job_now
from scripts.money_check import deposit_round_trip, funding_round_trip, virtual_account_top_up
from scripts.platform_client import PlatformClient, sandbox_applicant
from scripts.platform_runner import (
    LOCAL_ENTITY,
    LocalPlatform,
    LocalValues,
    PlatformConfig,
    PlatformError,
    local_job,
    who_may_call,
)
from scripts.token import DEFAULT_KEY_DIR, DevKeys
from shared.deployment import plan_function
from shared.topology import FUNCTIONS, function, local_port

TOKEN_ROLES = (
    ("borrower", "local-borrower"),
    ("lender", "local-lender"),
    ("admin.credit", "local-admin-credit"),
    ("admin.finance", "local-admin-finance"),
    ("admin.super", "local-admin-super"),
)


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.local_platform",
        description="Start the whole Patungan platform on localhost (Ctrl-C stops it).",
    )
    parser.add_argument(
        "--ports",
        choices=("default", "free"),
        default=None,
        help="default: emulator ports 8080/8085/4443, sandboxes 8090-8092, functions 8200+; "
        "free: any free ports (the default with --check)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--entity", default=LOCAL_ENTITY, help="whose products to seed")
    parser.add_argument("--project", default=DEFAULT_PROJECT)
    parser.add_argument(
        "--check", action="store_true", help="start, run a smoke check, stop; exit 0 or 1"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show every emulator's and function's output"
    )
    parser.add_argument(
        "--run-scheduled",
        metavar="NAME",
        choices=[fn.name for fn in FUNCTIONS if fn.schedule],
        help="run a scheduled function's job once on a running platform, then exit",
    )
    parser.add_argument(
        "--url", help="with --run-scheduled: the function's URL (default: its port on --host)"
    )
    parser.add_argument("--keys", type=Path, default=DEFAULT_KEY_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ports is None:
        args.ports = "free" if args.check else "default"
    return args


def describe(platform: LocalPlatform) -> str:
    """The functions table, tokens and exports printed once the platform is up."""
    rows = [("function", "kind", "URL", "who may call it")]
    for running in platform.functions.values():
        rows.append((running.name, running.kind, running.url, who_may_call(running)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["", "Functions:"]
    for name, kind, url, callers in rows:
        lines.append(f"  {name:<{widths[0]}}  {kind:<{widths[1]}}  {url:<{widths[2]}}  {callers}")
    jobs = platform.scheduled_jobs
    if jobs:
        lines += ["", "Scheduled jobs (the local Cloud Scheduler, as deployed):"]
        width = max(len(job.name) for job in jobs)
        for job in jobs:
            lines.append(f"  {job.name:<{width}}  {job.when}  POST {job.url}/ as {job.invoker}")
        lines.append(
            "  (a line shows each run that relays or fails; run one now with "
            f"`python -m scripts.local_platform --run-scheduled {jobs[0].name}"
            f"{_run_scheduled_options(platform, jobs[0].url)}`)"
        )
    lines += [
        "",
        "Tokens from the local dev issuer (valid 12 h; more with "
        "`python -m scripts.token --sub ID --role ROLE`):",
    ]
    for role, sub in TOKEN_ROLES:
        variable = "TOKEN_" + role.upper().replace(".", "_")
        lines.append(f"  # {role} (sub {sub})")
        lines.append(f"  export {variable}={platform.keys.issue(sub, role)}")
    quote = platform.url("loan_quote")
    lines += [
        "",
        "Try:",
        f"  curl -s {quote}/ -H 'Content-Type: application/json' -d "
        """'{"product_id": "working-capital-annuity", "principal": 50000000, "tenor": 12, """
        """"disbursement_date": "2027-01-04"}'""",
        f'  curl -s {platform.url("users")}/me -H "Authorization: Bearer $TOKEN_BORROWER"',
        "  python -m scripts.demo      # three borrowers from registration to decision",
        *_budget_alert_lines(platform),
        *_payment_lines(platform),
        "",
        "Environment for the Google clients and local tools:",
    ]
    exports = {
        **platform.cloud_env,
        "PATUNGAN_ENV": "local",
        "PATUNGAN_ENTITY": platform.config.entity,
        "PATUNGAN_GCP_PROJECT": platform.config.project,
        "PATUNGAN_PROVIDERS_URL": platform.providers_url,
        **platform.payment_gateway_environment,
    }
    lines += [f"export {name}={value}" for name, value in sorted(exports.items())]
    lines += [
        "# token verification, Storage signing, PII key: python -m scripts.token --print-env",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def _budget_alert_lines(platform: LocalPlatform) -> list[str]:
    """How to play Cloud Billing on this platform, and where ops messages show."""
    if "ops_alerts" not in platform.functions:
        return []
    config, options = platform.config, ""
    if config.ports == "free":
        pubsub = platform.cloud_env["PUBSUB_EMULATOR_HOST"]
        options += f" --pubsub {pubsub} --ops {platform.ops_notifications_url}"
    if config.project != DEFAULT_PROJECT:
        options += f" --project {config.project}"
    if config.entity != LOCAL_ENTITY:
        options += f" --entity {config.entity}"
    return [
        f"  python -m scripts.budget_alert --threshold 0.9{options}"
        "   # Cloud Billing → ops_alerts → ops",
        f"  curl -s {platform.ops_notifications_url}/messages   # what the ops channel received",
    ]


def _payment_lines(platform: LocalPlatform) -> list[str]:
    """How to play a payer into a virtual account of the payment gateway sandbox."""
    url = platform.payment_gateway_url
    gateway = "" if platform.config.ports == "default" else f" --gateway {url}"
    return [
        f"  python -m scripts.pay --va <virtual account> --amount 150000{gateway}"
        "   # a payer pays into a VA",
        f"  curl -s {url}/admin/payments   # every payment and its callback's delivery",
    ]


def _run_scheduled_options(platform: LocalPlatform, url: str) -> str:
    """The options `--run-scheduled` needs to reach this platform, beyond the defaults."""
    config, options = platform.config, ""
    if config.ports == "free":
        options += f" --url {url}"
    if config.project != DEFAULT_PROJECT:
        options += f" --project {config.project}"
    if config.keys_dir != DEFAULT_KEY_DIR:
        options += f" --keys {config.keys_dir}"
    return options


def run_scheduled(args: argparse.Namespace) -> int:
    """One run of a scheduled function's job, now, as `--run-scheduled` asks."""
    fn = function(args.run_scheduled)
    keys = DevKeys.ensure(args.keys)
    url = args.url or f"http://{args.host}:{local_port(fn)}"
    # Only the job's account and audience are read here: the other values play no part.
    values = LocalValues(
        args.project, args.entity, jwks_url="", documents_bucket="", providers_url=""
    )
    result = run_job_now(local_job(plan_function(fn), url, values), keys)
    print(f"scheduler: {fn.name} → {result.describe()}", flush=True)
    return 0 if result.succeeded else 1


def smoke_check(platform: LocalPlatform, say: Callable[[str], None] = print) -> bool:
    """Every function answers; a product quote; one borrower scored end to end; one lender's
    deposit confirmed, and a top-up through their virtual account; the borrower's loan
    funded by that lender."""
    ok = True

    def check(what: str, run: Callable[[], str]) -> None:
        nonlocal ok
        started = time.perf_counter()
        try:
            detail = run()
        except Exception as exc:
            ok = False
            say(f"  FAIL  {what}: {exc}")
            return
        say(f"  ok    {what}: {detail} ({time.perf_counter() - started:.2f} s)")

    with PlatformClient(platform.urls, platform.keys) as client:
        for name in platform.functions:

            def health(function: str = name) -> str:
                status = client.call(function, "GET").status_code
                if status >= 500:
                    raise RuntimeError(f"GET / answered {status}")
                return f"GET / answers {status}"

            check(f"{name} answers", health)

        def quote() -> str:
            answer = client.quote(
                {
                    "product_id": "working-capital-annuity",
                    "principal": 50_000_000,
                    "tenor": 12,
                    "disbursement_date": "2027-01-04",
                }
            )
            totals = answer["totals"]
            return (
                f"{len(answer['installments'])} installments, Rp {totals['payable']:,} payable "
                f"(VAT on fees Rp {totals['fee_vat']:,} included), "
                f"caps {'met' if answer['cap_check']['compliant'] else 'BREACHED'}"
            )

        check("quote of a seeded product", quote)

        approved: dict[str, str] = {}  # the borrower and the loan the funding check funds

        def journey() -> str:
            applicant = sandbox_applicant(random.SystemRandom())
            sub = f"check-{applicant.registration['nik']}"
            client.register(sub, applicant)
            submitted = time.perf_counter()
            loan_id = client.submit(sub, applicant)["loan_id"]
            loan = client.wait_for_decision(sub, loan_id)
            if loan["state"] == "approved":
                approved.update(borrower=sub, loan_id=loan_id)
            decision = loan["decision"]
            return (
                f"{loan_id} {loan['state']} (grade {decision['grade']}) "
                f"{time.perf_counter() - submitted:.2f} s after submission"
            )

        check("register, submit, scored through the push subscription", journey)
        lender: list[str] = []

        def deposit() -> str:
            sub, said = deposit_round_trip(client)
            lender.append(sub)
            return said

        def fund() -> str:
            if not lender or not approved:
                raise RuntimeError("needs the approved loan and the lender checked above")
            return funding_round_trip(client, lender[0], approved["borrower"], approved["loan_id"])

        def top_up() -> str:
            if not lender:
                raise RuntimeError("needs the lender checked above")
            return virtual_account_top_up(client, lender[0], platform.payment_gateway_url)

        check("a lender's deposit confirmed against the bank statement", deposit)
        check("a top-up through the lender's virtual account, signed by the gateway", top_up)
        check("the loan funded through auto-invest and by hand", fund)
    return ok


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    if args.run_scheduled:
        return run_scheduled(args)
    stop = threading.Event()
    starting = True

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if starting:  # unwind start(), which stops whatever it had started
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    platform = LocalPlatform(
        PlatformConfig(
            host=args.host,
            ports=args.ports,
            project=args.project,
            entity=args.entity,
            keys_dir=args.keys,
            echo=args.verbose,
        )
    )
    try:
        platform.start()
    except (PlatformError, LocalCloudError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("Interrupted while starting; everything started so far is stopped.", flush=True)
        return 130
    starting = False
    try:
        if args.check:
            print("Smoke check:", flush=True)
            passed = smoke_check(platform, lambda line: print(line, flush=True))
            print("Smoke check passed." if passed else "Smoke check FAILED.", flush=True)
            return 0 if passed else 1
        print(describe(platform), flush=True)
        while not stop.wait(0.5):
            failed = platform.failed()
            if failed:
                for name, tail in failed.items():
                    print(f"error: {name} stopped on its own:\n{tail}", file=sys.stderr)
                return 1
        print("Stopping Patungan.", flush=True)
        return 0
    finally:
        platform.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
