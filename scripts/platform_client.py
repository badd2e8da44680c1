"""A client of the running platform's HTTP functions, and applicants to send through it.

Used by the demo (`python -m scripts.demo`), the runner's smoke check
(`python -m scripts.local_platform --check`), the platform benchmark and the
end-to-end tests, so all of them speak to the functions exactly as a client app
does: JSON over HTTP, a bearer token from the dev issuer (`scripts.token.DevKeys`),
an `Idempotency-Key` on every creating request.

`Applicant` holds one borrower's registration and application bodies:
- `persona_applicant(key)`: a reference persona of scorecard v1
  (`shared/domain/scorecards/personas.json`), whom the providers sandbox knows;
- `sandbox_applicant(rng, record=...)`: a fresh borrower built from the sandbox's
  documented rules (emulators/sandboxes/providers/README.md): a valid NIK whose sequence digit
  picks the bureau record, a `grow-` (or other) store. Each NIK registers once per
  platform, so tests and benchmarks draw new ones.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import httpx

from scripts.token import DevKeys

DECIDED_STATES = frozenset({"approved", "in_review", "rejected"})
OPEN_STATES = frozenset(
    {"submitted", "scored", "in_review", "approved", "offer_accepted", "funding"}
)
DECISION_OF_STATE = {"approved": "approve", "in_review": "review", "rejected": "reject"}
PERSONA_PRODUCTS = {
    "strong_msme": "working-capital-annuity",
    "thin_file": "working-capital-annuity",
    "risky": "expansion-equal-principal",
}
# The NIK's 13th digit (first of the sequence) chooses the sandbox's bureau record.
SandboxRecord = Literal["clean", "not_found", "thin_file", "late_payer", "defaulted"]
_SEQUENCE_DIGIT: dict[SandboxRecord, str] = {
    "clean": "1",
    "not_found": "6",
    "thin_file": "7",
    "late_payer": "8",
    "defaulted": "9",
}


class PlatformCallFailed(RuntimeError):
    """A call answered something the caller did not expect (the message shows the problem)."""

    def __init__(self, what: str, response: httpx.Response) -> None:
        detail = response.text[:600]
        super().__init__(f"{what}: HTTP {response.status_code} {detail}")
        self.response = response


@dataclass(frozen=True)
class Applicant:
    """One borrower: who they are (registration) and what they ask for (application)."""

    label: str
    registration: dict[str, Any]
    application: dict[str, Any]
    expected_decision: str | None = None

    @property
    def full_name(self) -> str:
        return str(self.registration["full_name"])


def persona_applicant(key: str) -> Applicant:
    """A reference persona (`strong_msme`, `thin_file`, `risky`) as the demo registers it."""
    from shared.domain.scorecards.personas import load_personas

    persona = load_personas()[key]
    who, business, app = persona.applicant, persona.business, persona.application
    registration = {
        "role": "borrower",
        "full_name": who.full_name,
        "birth_date": who.birth_date.isoformat(),
        "nik": who.nik,
        "npwp": who.nik,  # a resident individual's NPWP is their NIK
        "phone": who.phone,
        "bank_account": {
            "bank_code": "014",
            "account_number": f"88{who.nik[-8:]}",
            "account_holder": who.full_name,
        },
        "borrower_profile": {
            "business_name": business.name,
            "sector": business.sector,
            "province_code": business.province_code,
            "years_in_business": str(business.years_in_business),
            "store_ids": list(business.store_ids),
        },
    }
    application: dict[str, Any] = {
        "product_id": PERSONA_PRODUCTS[key],
        "principal": app.principal,
        "tenor": app.tenor_months,
        "purpose": app.purpose,
        "capital": {
            "inventory_value": app.inventory_value,
            "account_balances": app.account_balances,
            "owner_equity": app.owner_equity,
        },
    }
    if app.collateral_value:
        application["collateral"] = {
            "description": "warranty on production equipment",
            "value": app.collateral_value,
        }
    return Applicant(who.full_name, registration, application, persona.expected_decision)


def sandbox_applicant(
    rng: random.Random,
    *,
    record: SandboxRecord = "clean",
    store_prefix: str = "grow",
    principal: int = 50_000_000,
    tenor: int = 12,
) -> Applicant:
    """A new borrower the sandbox answers for by its rules (see the module docstring)."""
    birth = date(1970, 1, 1) + timedelta(days=rng.randrange(0, 30 * 365))
    female = rng.random() < 0.5
    day = birth.day + (40 if female else 0)
    nik = (
        "31"  # DKI Jakarta
        + f"{rng.randrange(1, 100):02d}"
        + f"{rng.randrange(1, 100):02d}"
        + f"{day:02d}{birth:%m%y}"
        + _SEQUENCE_DIGIT[record]
        + f"{rng.randrange(0, 1000):03d}"
    )
    tag = f"{rng.getrandbits(40):010x}"
    name = f"Pelaku Usaha {tag[:6].upper()}"
    registration = {
        "role": "borrower",
        "full_name": name,
        "birth_date": birth.isoformat(),
        "nik": nik,
        "npwp": nik,
        "phone": f"+62812{rng.randrange(10_000_000, 99_999_999)}",
        "bank_account": {
            "bank_code": "014",
            "account_number": f"{rng.randrange(10**9, 10**10)}",
            "account_holder": name,
        },
        "borrower_profile": {
            "business_name": f"Toko {tag[:6].upper()}",
            "sector": "food_and_beverage",
            "province_code": "31",
            "years_in_business": "5",
            "store_ids": [f"{store_prefix}-{tag}"],
        },
    }
    application = {
        "product_id": "working-capital-annuity",
        "principal": principal,
        "tenor": tenor,
        "purpose": "working_capital",
        "capital": {
            "inventory_value": 60_000_000,
            "account_balances": 30_000_000,
            "owner_equity": 150_000_000,
        },
        "collateral": {"description": "warranty on a delivery van", "value": 40_000_000},
    }
    return Applicant(name, registration, application)


@dataclass
class PlatformClient:
    """Calls the functions at `urls` (function name -> base URL) as `sub` with `role`."""

    urls: Mapping[str, str]
    keys: DevKeys
    timeout_s: float = 15.0
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Local calls: never through a proxy the developer's environment may name.
        self._http = httpx.Client(trust_env=False, timeout=self.timeout_s)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- raw calls ------------------------------------------------------------------------

    def headers(
        self, sub: str | None, role: str | None = "borrower", *, idempotency_key: str | None = None
    ) -> dict[str, str]:
        headers: dict[str, str] = {}
        if sub is not None:
            headers["Authorization"] = f"Bearer {self.keys.issue(sub, role)}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def call(
        self,
        function: str,
        method: str,
        path: str = "/",
        *,
        sub: str | None = None,
        role: str | None = "borrower",
        json: Any = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """One request; nothing is checked (tests assert on the answer)."""
        merged = {**self.headers(sub, role, idempotency_key=idempotency_key), **(headers or {})}
        return self._http.request(
            method, f"{self.urls[function]}{path}", json=json, headers=merged, content=content
        )

    # --- the journey ----------------------------------------------------------------------

    def quote(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._expect(self.call("loan_quote", "POST", json=body), 200, "quote")

    def me(self, sub: str) -> dict[str, Any] | None:
        response = self.call("users", "GET", "/me", sub=sub)
        if response.status_code == 404:
            return None
        return self._expect(response, 200, "read my profile")

    def register(self, sub: str, applicant: Applicant) -> dict[str, Any]:
        response = self.call(
            "users",
            "POST",
            sub=sub,
            json=applicant.registration,
            idempotency_key=f"register-{sub}",
        )
        return self._expect(response, 201, f"register {applicant.label}")

    def submit(self, sub: str, applicant: Applicant, *, key: str | None = None) -> dict[str, Any]:
        response = self.call(
            "loan_applications",
            "POST",
            sub=sub,
            json=applicant.application,
            idempotency_key=key or f"submit-{uuid.uuid4()}",
        )
        return self._expect(response, 202, f"submit {applicant.label}'s application")

    def application(self, sub: str, loan_id: str, role: str = "borrower") -> dict[str, Any]:
        response = self.call("loan_applications", "GET", f"/{loan_id}", sub=sub, role=role)
        return self._expect(response, 200, f"read {loan_id}")

    def applications(self, sub: str) -> list[dict[str, Any]]:
        response = self.call("loan_applications", "GET", "/?limit=100", sub=sub)
        return list(self._expect(response, 200, "list my applications")["applications"])

    def cancel(self, sub: str, loan_id: str, reason: str) -> dict[str, Any]:
        response = self.call(
            "loan_applications",
            "POST",
            f"/{loan_id}/cancel",
            sub=sub,
            json={"reason": reason},
            idempotency_key=f"cancel-{loan_id}",
        )
        return self._expect(response, 200, f"cancel {loan_id}")

    def accept(self, sub: str, loan_id: str, agreement_version: str) -> dict[str, Any]:
        response = self.call(
            "loan_applications",
            "POST",
            f"/{loan_id}/accept",
            sub=sub,
            json={"agreement_version": agreement_version},
            idempotency_key=f"accept-{loan_id}",
        )
        return self._expect(response, 200, f"accept the offer on {loan_id}")

    def review_queue(self, reviewer: str) -> list[dict[str, Any]]:
        response = self.call("loan_review", "GET", "/?limit=100", sub=reviewer, role="admin.credit")
        return list(self._expect(response, 200, "read the review queue")["applications"])

    def review_case(self, reviewer: str, loan_id: str) -> dict[str, Any]:
        response = self.call("loan_review", "GET", f"/{loan_id}", sub=reviewer, role="admin.credit")
        return self._expect(response, 200, f"read review case {loan_id}")

    def approve(self, reviewer: str, loan_id: str, narrative: str) -> dict[str, Any]:
        response = self.call(
            "loan_review",
            "POST",
            f"/{loan_id}/approve",
            sub=reviewer,
            role="admin.credit",
            json={"narrative": narrative},
            idempotency_key=f"approve-{loan_id}",
        )
        return self._expect(response, 200, f"approve {loan_id}")

    def wait_for_decision(
        self, sub: str, loan_id: str, *, timeout_s: float = 20.0, poll_s: float = 0.02
    ) -> dict[str, Any]:
        """Poll the application until scoring has decided it (approved, in review, rejected)."""
        deadline = time.monotonic() + timeout_s
        while True:
            loan = self.application(sub, loan_id)
            if loan["state"] in DECIDED_STATES:
                return loan
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{loan_id} was not scored within {timeout_s:.0f} s (state {loan['state']})"
                )
            time.sleep(poll_s)

    @staticmethod
    def _expect(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
        if response.status_code != status:
            raise PlatformCallFailed(what, response)
        body: dict[str, Any] = response.json()
        return body
