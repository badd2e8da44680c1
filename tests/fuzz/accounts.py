"""The accounts the fuzzer calls as, each a real account of the local platform.

A caller's role is what their stored account says, never their token's claim, so every role
the fuzzer acts as is a registered account: a borrower, a lender and a staff member registered
through `POST /users` for the run, and the admins the runner founds (`scripts.local_staff`).
`unregistered` is a fresh token subject on every request, so that a registration the fuzzer
happens to get accepted never turns it into a registered caller; `deactivated` is a borrower
an `admin.super` deactivated through `POST /users/{id}/deactivate`; `scheduler` sends the
token the local Cloud Scheduler's job for the function sends.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scripts.local_scheduler import ScheduledJob, account_unique_id
from scripts.local_staff import LOCAL_STAFF
from scripts.platform_client import Applicant, PlatformClient, sandbox_applicant
from scripts.token import DevKeys
from shared.domain.permissions import ROLES
from tests.fuzz.gateway import SIGN_AS_PARTNER
from tests.fuzz.spec import ANONYMOUS, DEACTIVATED, PARTNER, SCHEDULER, UNREGISTERED


class AccountSetupFailed(RuntimeError):
    """The platform refused to set up an account the harness needs (the message says why)."""


@dataclass
class FuzzAccounts:
    """Bearer headers for every caller kind (tests/fuzz/spec.py)."""

    keys: DevKeys
    subs: dict[str, str]  # caller → account id, for every registered caller
    jobs: dict[str, ScheduledJob]  # scheduled function → its local Cloud Scheduler job
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    def headers(self, caller: str, function: str) -> dict[str, str]:
        return self.identity(caller, function)[1]

    def identity(self, caller: str, function: str) -> tuple[str | None, dict[str, str]]:
        """(the account id the request speaks for, its bearer header) for one request to
        `function`."""
        if caller == ANONYMOUS:
            return None, {}
        if caller == PARTNER:  # no token: the gateway session signs the request as it goes
            return None, {SIGN_AS_PARTNER: "payment-gateway"}
        if caller == SCHEDULER:
            job = self.jobs[function]
            return account_unique_id(job.invoker), {
                "Authorization": f"Bearer {job.token(self.keys)}"
            }
        if caller == UNREGISTERED:
            sub = f"fuzz-unregistered-{uuid.uuid4().hex[:12]}"
            return sub, {"Authorization": f"Bearer {self.keys.issue(sub, None)}"}
        sub = self.subs[caller]
        if caller not in self._tokens:
            role = caller if caller in ROLES else "borrower"  # deactivated: a borrower
            self._tokens[caller] = self.keys.issue(sub, role)
        return sub, {"Authorization": f"Bearer {self._tokens[caller]}"}


def lender_registration(applicant: Applicant) -> dict[str, Any]:
    """A resident individual lender, from a sandbox applicant's identity."""
    registration = {k: v for k, v in applicant.registration.items() if k != "borrower_profile"}
    return {**registration, "role": "lender", "lender_profile": {"residency": "resident"}}


def staff_registration(applicant: Applicant) -> dict[str, Any]:
    """An employee with a verified identity and no admin role, from a sandbox applicant's."""
    keep = ("full_name", "birth_date", "nik", "phone")
    return {"role": "staff", **{k: applicant.registration[k] for k in keep}}


def register_accounts(
    client: PlatformClient, jobs: Sequence[ScheduledJob], rng: random.Random
) -> FuzzAccounts:
    """Register the run's borrower, lender, staff member and deactivated borrower; the
    scheduler calls as the local Cloud Scheduler's `jobs` do."""
    run = uuid.uuid4().hex[:8]
    bodies = {
        "borrower": sandbox_applicant(rng).registration,
        "lender": lender_registration(sandbox_applicant(rng)),
        "staff": staff_registration(sandbox_applicant(rng)),
        DEACTIVATED: sandbox_applicant(rng).registration,
    }
    subs = {member.role: member.sub for member in LOCAL_STAFF}  # the runner's admins
    for caller, body in bodies.items():
        sub = f"fuzz-{caller}-{run}"
        _expect(
            client.call(
                "users", "POST", sub=sub, role=None, json=body, idempotency_key=f"register-{sub}"
            ),
            201,
            f"registering the {caller} account",
        )
        subs[caller] = sub
    _expect(
        client.call(
            "users",
            "POST",
            f"/{subs[DEACTIVATED]}/deactivate",
            sub=subs["admin.super"],
            role="admin.super",
        ),
        200,
        "deactivating the deactivated account",
    )
    missing = set(ROLES) - set(subs)
    if missing:
        raise AccountSetupFailed(f"no account for role(s) {sorted(missing)}")
    return FuzzAccounts(client.keys, subs, {job.name: job for job in jobs})


def _expect(response: Any, status: int, what: str) -> None:
    if response.status_code != status:
        raise AccountSetupFailed(f"{what}: HTTP {response.status_code} {response.text[:400]}")
