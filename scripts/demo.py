"""`python -m scripts.demo`: three borrowers from registration to their decisions, over HTTP.

    python -m scripts.demo                   # against `python3 dev.py up` (default ports)
    python -m scripts.demo --start           # start a platform on free ports, run, stop it
    python -m scripts.demo --url users=http://127.0.0.1:8200 ...   # another platform

Walks the three reference personas of scorecard v1 (shared/domain/scorecards/
personas.json), whom the providers sandbox answers for exactly: Siti (a strong
MSME, expected to be approved), Rudi (a thin file, expected to go to review) and
Dedi (risky, expected to be rejected). Each one registers with `users` (identity
checked with the civil registry), submits an application to `loan_applications`,
and is scored by `scoring` through the real `loan.submitted` push subscription;
the demo polls the application until it is decided and prints the decision and
its reasons. The approved borrower accepts the priced offer (funding opens); the
one in review is approved with a narrative through `loan_review` by the local
platform's `admin.credit` staff member (`scripts.local_staff`, founded when the
platform starts), then accepts too.

The demo can run again against the same platform: each persona keeps the same user
id (`demo-<persona>`), is registered only once (a NIK registers once per platform),
and an application left open by an earlier run is cancelled first. A persona the
platform does not take a new application from yet (a rejected borrower cools off
for the product's `cooling_off_days`; so does one who cancelled too often) shows
the decision of its latest application instead.

Exits 0 when every decision is the persona's expected one, 1 when one differs, 2
when the platform cannot be reached or answers something unexpected.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from scripts.local_staff import GRANTED
from scripts.platform_client import (
    DECISION_OF_STATE,
    OPEN_STATES,
    Applicant,
    PlatformCallFailed,
    PlatformClient,
    persona_applicant,
)
from scripts.token import DEFAULT_KEY_DIR, DevKeys
from shared.topology import function, local_port

PERSONAS = (
    ("strong_msme", "a strong MSME"),
    ("thin_file", "a thin file"),
    ("risky", "a risky borrower"),
)
USED_FUNCTIONS = ("users", "loan_applications", "loan_review")
# A staff member whose stored account holds admin.credit: a token's role claim grants nothing.
REVIEWER = next(member.sub for member in GRANTED if member.role == "admin.credit")
COOLING_OFF = "urn:patungan:problem:cooling-off"  # the platform's refusal of a new application
REVIEW_NARRATIVE = (
    "New coffee cart with four months of steadily growing marketplace sales and no bureau "
    "history; small principal against monthly revenue. Approved at the grade's price."
)
Say = Callable[[str], None]


@dataclass(frozen=True)
class Outcome:
    persona: str
    name: str
    expected: str
    decision: str
    loan_id: str
    final_state: str
    seconds_to_decision: float


def rupiah(amount: int) -> str:
    return f"Rp {amount:,}"


def _say(line: str) -> None:
    print(line, flush=True)


def walk(client: PlatformClient, key: str, label: str, say: Say = _say) -> Outcome:
    """One persona from registration to decision (and, when approved, an accepted offer)."""
    applicant: Applicant = persona_applicant(key)
    sub = f"demo-{key}"
    say(f"\n{applicant.full_name}, {label} (expected: {applicant.expected_decision})")

    profile = client.me(sub)
    earlier = profile is not None
    if profile is None:
        profile = client.register(sub, applicant)
    verified = "identity verified" if profile["identity_verified"] else "identity NOT verified"
    say(
        f"  {'registered':<14} {sub}, NIK {profile['nik_masked']}, {verified} with the civil "
        f"registry{' (by an earlier run)' if earlier else ''}"
    )

    for loan in client.applications(sub):
        if loan["state"] in OPEN_STATES:
            client.cancel(sub, loan["id"], "replaced by a new demo run")
            say(f"  {'cancelled':<14} {loan['id']} left open by an earlier run ({loan['state']})")

    app = applicant.application
    submitted_at = time.perf_counter()
    try:
        loan_id = client.submit(sub, applicant)["loan_id"]
    except PlatformCallFailed as refused:
        standing = _standing_application(client, sub, refused)
        if standing is None:
            raise
        say(f"  {'not submitted':<14} {refused.response.json()['detail']}")
        decision = standing["decision"]
        seconds = (
            datetime.fromisoformat(decision["decided_at"])
            - datetime.fromisoformat(standing["submitted_at"])
        ).total_seconds()
        verdict = decision["decision"]
        _say_scored(decision, f"{seconds:.2f} s after submission, in {standing['id']}", say)
        return _outcome(key, applicant, standing, verdict, seconds)
    say(
        f"  {'submitted':<14} {loan_id}: {rupiah(app['principal'])} over {app['tenor']} months "
        f"({app['product_id']}, {app['purpose']})"
    )
    loan = client.wait_for_decision(sub, loan_id)
    seconds = time.perf_counter() - submitted_at
    verdict = DECISION_OF_STATE[loan["state"]]
    _say_scored(loan["decision"], f"{seconds:.2f} s after submission", say)

    if loan["state"] == "in_review":
        queue = [case["id"] for case in client.review_queue(REVIEWER)]
        place = f"#{queue.index(loan_id) + 1} of {len(queue)}" if loan_id in queue else "not listed"
        say(f"  {'in review':<14} the admin.credit queue: {place}")
        loan = client.approve(REVIEWER, loan_id, REVIEW_NARRATIVE)
        say(f'  {"approved by":<14} {REVIEWER}: "{loan["review"]["narrative"][:70]}…"')
    if loan["state"] == "approved":
        offer = loan["offer"]
        first, totals = offer["terms"]["installments"][0], offer["terms"]["totals"]
        say(
            f"  {'offer':<14} {float(offer['rate']) * 100:.2f}% per {offer['rate_period']}, "
            f"first installment {rupiah(first['total'])}, total payable "
            f"{rupiah(totals['payable'])} (VAT on fees {rupiah(totals['fee_vat'])} included)"
        )
        loan = client.accept(sub, loan_id, offer["agreement_version"])
        say(
            f"  {'accepted':<14} agreement {offer['agreement_version']}; {loan['state']} until "
            f"{loan['funding_closes_on']}"
        )
    return _outcome(key, applicant, loan, verdict, seconds)


def _standing_application(
    client: PlatformClient, sub: str, refused: PlatformCallFailed
) -> dict[str, Any] | None:
    """The persona's latest scored application when the platform refuses a new one for now
    (cooling off after a rejection or after too many cancellations); None for any other
    refusal."""
    response = refused.response
    if response.status_code != 409 or response.json().get("type") != COOLING_OFF:
        return None
    # Newest first: the application whose rejection (or cancellation) started the wait.
    return next((loan for loan in client.applications(sub) if loan["decision"]), None)


def _say_scored(decision: Mapping[str, Any], when: str, say: Say) -> None:
    say(
        f"  {'scored':<14} {decision['decision'].upper()}: grade {decision['grade']}, score "
        f"{decision['score']} ({decision['model_version']}), {when}"
    )
    for reason in decision["reasons"][:4]:
        say(f"  {'':<14} - {reason}")


def _outcome(
    key: str, applicant: Applicant, loan: Mapping[str, Any], verdict: str, seconds: float
) -> Outcome:
    return Outcome(
        persona=key,
        name=applicant.full_name,
        expected=str(applicant.expected_decision),
        decision=verdict,
        loan_id=loan["id"],
        final_state=loan["state"],
        seconds_to_decision=seconds,
    )


def run_demo(urls: Mapping[str, str], keys: DevKeys, say: Say = _say) -> list[Outcome]:
    """Walk the three personas against the functions at `urls`."""
    say("Patungan demo: three borrowers from registration to decision")
    for name in USED_FUNCTIONS:
        say(f"  {name:<18} {urls[name]}")
    with PlatformClient(urls, keys) as client:
        return [walk(client, key, label, say) for key, label in PERSONAS]


def summary(outcomes: list[Outcome]) -> tuple[str, bool]:
    lines = ["", "persona       borrower          expected  decision  now         time"]
    as_expected = True
    for o in outcomes:
        mark = "ok" if o.decision == o.expected else "DIFFERS"
        as_expected &= o.decision == o.expected
        lines.append(
            f"{o.persona:<13} {o.name:<17} {o.expected:<9} {o.decision:<9} {o.final_state:<11} "
            f"{o.seconds_to_decision:.2f} s  {mark}"
        )
    lines.append(
        "Every decision is the expected one."
        if as_expected
        else "A decision differs from the persona's expected one (see above)."
    )
    return "\n".join(lines), as_expected


def _urls(args: argparse.Namespace) -> dict[str, str]:
    urls = {name: f"http://{args.host}:{local_port(function(name))}" for name in USED_FUNCTIONS}
    for item in args.url:
        name, sep, url = item.partition("=")
        if not sep or name not in USED_FUNCTIONS:
            raise SystemExit(f"--url takes NAME=URL with NAME one of {', '.join(USED_FUNCTIONS)}")
        urls[name] = url.rstrip("/")
    return urls


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.demo",
        description="Walk three borrowers (good, thin file, bad) from registration to decision.",
    )
    parser.add_argument(
        "--start", action="store_true", help="start a platform on free ports for the demo"
    )
    parser.add_argument("--host", default="127.0.0.1", help="where `dev.py up` runs")
    parser.add_argument(
        "--url",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a function's base URL (users, loan_applications, loan_review); repeatable",
    )
    parser.add_argument(
        "--keys",
        type=Path,
        default=DEFAULT_KEY_DIR,
        help="the dev keys the platform trusts (default .local/dev-keys)",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    try:
        if args.start:
            from scripts.platform_runner import LocalPlatform, PlatformConfig

            config = PlatformConfig(ports="free", keys_dir=args.keys, functions=_demo_functions())
            with LocalPlatform(config) as platform:
                outcomes = run_demo(platform.urls, platform.keys)
        else:
            outcomes = run_demo(_urls(args), DevKeys.ensure(args.keys))
    except httpx.TransportError as exc:
        print(
            f"\nerror: the platform does not answer ({exc}). Start it with `python3 dev.py up` "
            "(or run the demo with --start).",
            file=sys.stderr,
        )
        return 2
    except (PlatformCallFailed, TimeoutError, RuntimeError) as exc:
        # RuntimeError: a platform started with --start failed (PlatformError, LocalCloudError)
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    text, as_expected = summary(outcomes)
    print(text, flush=True)
    return 0 if as_expected else 1


def _demo_functions() -> tuple[str, ...]:
    return (*USED_FUNCTIONS, "scoring")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
