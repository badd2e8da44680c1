"""The sandbox's HTTP server: routing, API-key check, latency and failure injection.

Stdlib only (`emulators.json_http`: body, routing and JSON answers). Provider endpoints
need the configured API key; `/health` and `/admin/*` do not (the sandbox binds
to localhost and is never deployed).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime
from http import HTTPStatus
from typing import Any, Literal
from zoneinfo import ZoneInfo

from emulators.json_http import BadRequest, JsonHandler, JsonServer
from emulators.sandboxes.providers import PROVIDER_NAMES
from emulators.sandboxes.providers.records import (
    ACCOUNT_NUMBER,
    BANK_CODE,
    MONTH,
    STORE_ID,
    SandboxRecords,
    shift_month,
)

FailMode = Literal["5xx", "timeout"]
JAKARTA = ZoneInfo("Asia/Jakarta")


@dataclass(frozen=True)
class Fault:
    """How one provider misbehaves: added latency, and failures (a 503 or a hang)."""

    delay_ms: int = 0
    fail_rate: float = 0.0  # probability that a request fails
    fail_next: int = 0  # the next N requests fail, before fail_rate applies
    fail_mode: FailMode = "5xx"
    hang_ms: int = 10_000  # how long a "timeout" holds the connection before dropping it

    @classmethod
    def parse(cls, values: dict[str, Any], base: Fault | None = None) -> Fault:
        """A fault from JSON or CLI values; raises ValueError naming the bad field."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown fault fields {unknown}; known: {sorted(known)}")
        fault = replace(base or cls(), **values)
        for name in ("delay_ms", "fail_next", "hang_ms"):
            value = getattr(fault, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        rate = fault.fail_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"fail_rate must be between 0 and 1, got {rate!r}")
        if fault.fail_mode not in ("5xx", "timeout"):
            raise ValueError(f"fail_mode must be '5xx' or 'timeout', got {fault.fail_mode!r}")
        return replace(fault, fail_rate=float(rate))


class FaultBoard:
    """The current fault of every provider, changed at run time through /admin/faults."""

    def __init__(self, initial: dict[str, Fault] | None = None, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults = {name: Fault() for name in PROVIDER_NAMES} | (initial or {})
        self._random = random.Random(seed)  # noqa: S311 - fault injection, not security

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: asdict(fault) for name, fault in self._faults.items()}

    def set(self, provider: str, values: dict[str, Any]) -> Fault:
        with self._lock:
            fault = Fault.parse(values, base=Fault())
            self._faults[provider] = fault
            return fault

    def reset(self) -> None:
        """Every provider back to no fault (including faults given on the command line)."""
        with self._lock:
            self._faults = {name: Fault() for name in PROVIDER_NAMES}

    def next_request(self, provider: str) -> tuple[Fault, bool]:
        """The provider's fault and whether this request fails (consumes `fail_next`)."""
        with self._lock:
            fault = self._faults[provider]
            if fault.fail_next > 0:
                self._faults[provider] = replace(fault, fail_next=fault.fail_next - 1)
                return fault, True
            return fault, fault.fail_rate > 0 and self._random.random() < fault.fail_rate


class ProvidersSandbox(JsonServer):
    def __init__(
        self,
        address: tuple[str, int],
        *,
        api_key: str,
        api_key_header: str,
        faults: FaultBoard,
        records: SandboxRecords,
        verbose: bool = False,
    ) -> None:
        super().__init__(address, SandboxHandler, verbose=verbose)
        self.host = address[0]
        self.api_key = api_key
        self.api_key_header = api_key_header
        self.faults = faults
        self.records = records
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class SandboxHandler(JsonHandler):
    server: ProvidersSandbox
    server_version = "PatunganProvidersSandbox/1"

    # --- routes ----------------------------------------------------------------

    def route(self, method: str, path: list[str], query: dict[str, str]) -> None:
        match method, path:
            case "GET", ["health"]:
                self.reply(HTTPStatus.OK, {"status": "ok"})
            case "GET", ["admin", "faults"]:
                self.reply(HTTPStatus.OK, self.server.faults.snapshot())
            case "DELETE", ["admin", "faults"]:
                self.server.faults.reset()
                self.reply(HTTPStatus.OK, self.server.faults.snapshot())
            case "PUT", ["admin", "faults", provider]:
                self._set_fault(provider)
            case "POST", ["dukcapil", "v1", "verify"]:
                self._provider("civil_registry", self._verify_identity)
            case "POST", ["slik", "v1", "inquiries"]:
                self._provider("credit_bureau", self._credit_report)
            case "GET", ["ecommerce", "v1", "stores", store_id, "monthly-sales"]:
                self._provider("ecommerce_sales", lambda: self._sales(store_id, query))
            case "GET", ["business-profile", "v1", "stores", store_id]:
                self._provider("business_profile", lambda: self._profile(store_id))
            case "POST", ["bank-accounts", "v1", "inquiries"]:
                self._provider("bank_account_inquiry", self._account_inquiry)
            case _:
                self.no_route()

    def _set_fault(self, provider: str) -> None:
        if provider not in PROVIDER_NAMES:
            self.reply(
                HTTPStatus.NOT_FOUND,
                {"error": f"unknown provider {provider!r}; known: {list(PROVIDER_NAMES)}"},
            )
            return
        try:
            fault = self.server.faults.set(provider, self.body)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        self.reply(HTTPStatus.OK, {provider: asdict(fault)})

    def _provider(self, name: str, answer: Any) -> None:
        supplied = self.headers.get(self.server.api_key_header)
        if supplied != self.server.api_key:
            self.reply(
                HTTPStatus.UNAUTHORIZED,
                {"error": f"missing or wrong {self.server.api_key_header} header"},
            )
            return
        fault, fails = self.server.faults.next_request(name)
        if fault.delay_ms and self.server.stopping.wait(fault.delay_ms / 1000):
            return
        if fails and fault.fail_mode == "timeout":
            # Hold the connection, then drop it without an answer.
            self.server.stopping.wait(fault.hang_ms / 1000)
            self.close_connection = True
            return
        if fails:
            self.reply(HTTPStatus.SERVICE_UNAVAILABLE, {"error": f"{name}: injected failure"})
            return
        status, body = answer()
        self.reply(status, body)

    # --- provider answers --------------------------------------------------------

    def _verify_identity(self) -> tuple[int, Any]:
        body = self.body
        nik, name, born = body.get("nik"), body.get("full_name"), body.get("birth_date")
        if not isinstance(nik, str) or not isinstance(name, str) or not isinstance(born, str):
            raise BadRequest("nik, full_name and birth_date (YYYY-MM-DD) are required strings")
        try:
            birth_date = date.fromisoformat(born)
        except ValueError:
            raise BadRequest("birth_date must be YYYY-MM-DD") from None
        return HTTPStatus.OK, self.server.records.civil_registry(nik, name, birth_date)

    def _credit_report(self) -> tuple[int, Any]:
        nik = self.body.get("nik")
        if not isinstance(nik, str) or len(nik) != 16 or not nik.isdigit():
            raise BadRequest("nik must be a string of 16 digits")
        return HTTPStatus.OK, self.server.records.credit_bureau(nik)

    def _account_inquiry(self) -> tuple[int, Any]:
        bank_code, number = self.body.get("bank_code"), self.body.get("account_number")
        if not isinstance(bank_code, str) or not BANK_CODE.match(bank_code):
            raise BadRequest("bank_code must be a string of 3 digits")
        if not isinstance(number, str) or not ACCOUNT_NUMBER.match(number):
            raise BadRequest("account_number must be a string of 6-20 digits")
        account = self.server.records.bank_account(bank_code, number)
        if account is None:
            return HTTPStatus.NOT_FOUND, {"error": "no such account at this bank"}
        return HTTPStatus.OK, account

    def _sales(self, store_id: str, query: dict[str, str]) -> tuple[int, Any]:
        if not STORE_ID.match(store_id):
            raise BadRequest("store id must be 1-64 letters, digits, '.', '_', ':' or '-'")
        today = datetime.now(JAKARTA).date()
        until = query.get("until") or shift_month(f"{today.year:04d}-{today.month:02d}", -1)
        if not MONTH.match(until):
            raise BadRequest("until must be YYYY-MM")
        try:
            months = int(query.get("months", "12"))
        except ValueError:
            raise BadRequest("months must be an integer") from None
        if not 1 <= months <= 24:
            raise BadRequest("months must be between 1 and 24")
        sales = self.server.records.store_sales(store_id, until, months)
        if sales is None:
            return HTTPStatus.NOT_FOUND, {"error": "store not found"}
        return HTTPStatus.OK, sales

    def _profile(self, store_id: str) -> tuple[int, Any]:
        if not STORE_ID.match(store_id):
            raise BadRequest("store id must be 1-64 letters, digits, '.', '_', ':' or '-'")
        profile = self.server.records.business_profile(store_id)
        if profile is None:
            return HTTPStatus.NOT_FOUND, {"error": "store not found"}
        return HTTPStatus.OK, profile
