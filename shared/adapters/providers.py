"""HTTP clients for the external data providers the five-C scorer reads, and the bank's
account inquiry.

Four credit-data providers, each behind its own base URL and API key (configuration passed
in, never read here): the civil registry (Dukcapil), the credit bureau (SLIK),
marketplace sales, and business profiles; and the bank's account inquiry, which names the
holder of an account before a payout goes to it (docs/lending-rules.md#disbursement).
Locally they are all served by the providers sandbox (`emulators/sandboxes/providers`);
`ProvidersConfig.sandbox(url, key)` points every client at it, and the same code talks to
real providers.

Contract: no method raises into the caller for a provider's failure. Each
returns the typed data `shared.domain.scoring` consumes, or a
`ProviderUnavailable` with the reason (timed out, HTTP 503 after three
attempts, HTTP 401, a malformed answer), which the scorer turns into a manual
review. Each call has a per-attempt timeout, bounded retries (tenacity: exponential
backoff with jitter) on timeouts, connection errors, 5xx and 429, and an overall
deadline.
Other 4xx answers are not retried: asking again will not change them.

Nothing is created at import time; the scoring function builds one
`ProvidersClient` on first use and keeps it. NIKs and names never reach logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from shared.adapters.http_client import PooledHttp
from shared.domain.scoring.providers import (
    BusinessProfile,
    CivilRegistryCheck,
    CreditBureauReport,
    MonthlyRevenue,
    ProviderData,
    ProviderName,
    ProviderUnavailable,
    StoreSales,
    month_key,
    shift_month,
)
from shared.platform.providers import AccountHolder, InquiryUnavailable, ProviderQuery

if TYPE_CHECKING:  # the settings are the function's own, imported by its main.py
    from shared.settings import ProviderSettings

logger = logging.getLogger(__name__)

SALES_MONTHS = 12
_Model = TypeVar("_Model", bound=BaseModel)
_T = TypeVar("_T")

# Every endpoint a client calls: the scorer's four providers and the bank's account inquiry.
Endpoint = ProviderName | Literal["bank_account_inquiry"]

# Where each provider lives under the sandbox's single URL.
SANDBOX_PATHS: Mapping[Endpoint, str] = MappingProxyType(
    {
        "civil_registry": "/dukcapil",
        "credit_bureau": "/slik",
        "ecommerce_sales": "/ecommerce",
        "business_profile": "/business-profile",
        "bank_account_inquiry": "/bank-accounts",
    }
)


@dataclass(frozen=True)
class ProviderEndpoint:
    """One provider: where it is, its key, and how patiently to ask it."""

    base_url: str
    api_key: str = field(repr=False)
    api_key_header: str = "X-API-Key"
    timeout_s: float = 2.0  # per attempt (connect, read, write each)
    max_attempts: int = 3
    backoff_s: float = 0.2  # before the 2nd attempt, doubling each time, plus up to 0.2 s jitter
    max_backoff_s: float = 2.0
    deadline_s: float = 8.0  # all attempts of one call together

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.timeout_s, self.deadline_s) <= 0 or self.backoff_s < 0:
            raise ValueError("timeouts and the deadline must be positive, backoff not negative")


@dataclass(frozen=True)
class ProvidersConfig:
    civil_registry: ProviderEndpoint
    credit_bureau: ProviderEndpoint
    ecommerce_sales: ProviderEndpoint
    business_profile: ProviderEndpoint
    bank_account_inquiry: ProviderEndpoint

    @classmethod
    def sandbox(cls, root_url: str, api_key: str, **options: Any) -> ProvidersConfig:
        """Every provider on the local sandbox at `root_url`; `options` tune each endpoint."""
        root = root_url.rstrip("/")
        endpoints = {
            name: ProviderEndpoint(base_url=root + path, api_key=api_key, **options)
            for name, path in SANDBOX_PATHS.items()
        }
        return cls(**endpoints)

    def endpoint(self, provider: Endpoint) -> ProviderEndpoint:
        endpoint: ProviderEndpoint = getattr(self, provider)
        return endpoint


def sales_until(applied_on: date) -> str:
    """The last complete month before an application (``YYYY-MM``): the sales asked for."""
    return shift_month(month_key(applied_on), -1)


class _Unavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _PastDeadline(stop_base):
    """Stop retrying when the next wait would end at or past the call's deadline."""

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self._deadline = deadline
        self._clock = clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._clock() + (retry_state.upcoming_sleep or 0) >= self._deadline


class _Retryable(Exception):
    """A failure that asking again may cure: a timeout, a dropped connection, 5xx or 429."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _pick(model: type[_Model], body: object) -> _Model:
    """The domain model from a provider's JSON, ignoring fields it does not know."""
    if not isinstance(body, dict):
        raise _Unavailable("malformed response: expected a JSON object")
    try:
        return model.model_validate({k: body[k] for k in model.model_fields if k in body})
    except ValidationError as exc:
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise _Unavailable(f"malformed response: bad or missing {where}") from None


class ProvidersClient(PooledHttp):
    """Synchronous clients for the four providers and the account inquiry over one pooled
    `httpx.Client`.

    Implements the scorer's `ProviderDataSource` port (`gather`), the users
    service's `IdentityRegistry` (`verify_identity`) and the disbursements'
    `BankAccountInquiry` (`inquire_bank_account`).
    """

    def __init__(
        self,
        config: ProvidersConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        super().__init__(transport=transport)
        self._sleep = sleep
        self._clock = clock

    # --- one request, with retries ------------------------------------------------

    def _request(
        self,
        provider: Endpoint,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
        not_found_ok: bool = False,
    ) -> Any:
        """The JSON body of a 2xx answer (None for an allowed 404); raises `_Unavailable`.

        Timeouts, connection errors, 5xx and 429 are retried by tenacity: exponential
        backoff with jitter (so many scorers do not retry in step), at most
        `max_attempts`, and never past the call's deadline.
        """
        endpoint = self.config.endpoint(provider)
        url = endpoint.base_url.rstrip("/") + path
        headers = {endpoint.api_key_header: endpoint.api_key, "Accept": "application/json"}
        deadline = self._clock() + endpoint.deadline_s
        attempts = 0

        def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            timeout = min(endpoint.timeout_s, deadline - self._clock())
            try:
                response = self._http.request(
                    method, url, headers=headers, json=json, params=params, timeout=timeout
                )
            except httpx.TimeoutException:
                raise _Retryable(f"timed out ({timeout:.2g} s per attempt)") from None
            except httpx.TransportError as exc:
                raise _Retryable(f"connection failed ({type(exc).__name__})") from None
            status = response.status_code
            if 200 <= status < 300:
                try:
                    return response.json()
                except ValueError:
                    raise _Unavailable("malformed response: not JSON") from None
            if status == httpx.codes.NOT_FOUND and not_found_ok:
                return None
            if status < 500 and status != httpx.codes.TOO_MANY_REQUESTS:
                hint = " (check the API key)" if status in (401, 403) else ""
                raise _Unavailable(f"HTTP {status} {response.reason_phrase}{hint}, not retried")
            raise _Retryable(f"HTTP {status} {response.reason_phrase}".rstrip())

        retrying = Retrying(
            sleep=self._sleep,
            retry=retry_if_exception_type(_Retryable),
            wait=wait_exponential_jitter(
                multiplier=endpoint.backoff_s, max=endpoint.max_backoff_s, jitter=endpoint.backoff_s
            ),
            stop=stop_after_attempt(endpoint.max_attempts) | _PastDeadline(deadline, self._clock),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            tried = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
            if attempts < endpoint.max_attempts:
                tried += f"; the {endpoint.deadline_s:g} s deadline ran out"
            raise _Unavailable(f"{exc.problem} {tried}") from None

    def _guarded(self, provider: ProviderName, call: Callable[[], _T]) -> _T | ProviderUnavailable:
        started = self._clock()
        try:
            result = call()
        except _Unavailable as exc:
            reason = exc.reason
        except Exception as exc:  # a client bug must not crash scoring either
            logger.exception("provider call failed unexpectedly", extra={"provider": provider})
            reason = f"unexpected error: {type(exc).__name__}"
        else:
            logger.debug(
                "provider answered",
                extra={"provider": provider, "elapsed_ms": round(1000 * (self._clock() - started))},
            )
            return result
        logger.warning(
            "provider unavailable",
            extra={
                "provider": provider,
                "reason": reason,
                "elapsed_ms": round(1000 * (self._clock() - started)),
            },
        )
        return ProviderUnavailable(provider=provider, reason=reason)

    # --- the four providers ------------------------------------------------------------

    def verify_identity(
        self, nik: str, full_name: str, birth_date: date
    ) -> CivilRegistryCheck | ProviderUnavailable:
        """Dukcapil: do this NIK, name and date of birth belong to one registered person?"""

        def call() -> CivilRegistryCheck:
            body = self._request(
                "civil_registry",
                "POST",
                "/v1/verify",
                json={"nik": nik, "full_name": full_name, "birth_date": birth_date.isoformat()},
            )
            return _pick(CivilRegistryCheck, body)

        return self._guarded("civil_registry", call)

    def credit_report(self, nik: str) -> CreditBureauReport | ProviderUnavailable:
        """SLIK: worst collectability in 12 months, history, existing debt and outstanding."""

        def call() -> CreditBureauReport:
            body = self._request("credit_bureau", "POST", "/v1/inquiries", json={"nik": nik})
            return _pick(CreditBureauReport, body)

        return self._guarded("credit_bureau", call)

    def store_sales(
        self, store_ids: Iterable[str], until: str, months: int = SALES_MONTHS
    ) -> tuple[StoreSales, ...] | ProviderUnavailable:
        """Monthly net revenue per store up to `until` (``YYYY-MM``); unknown stores left out."""

        def call() -> tuple[StoreSales, ...]:
            found: list[StoreSales] = []
            for store_id in store_ids:
                body = self._request(
                    "ecommerce_sales",
                    "GET",
                    f"/v1/stores/{quote(store_id, safe='')}/monthly-sales",
                    params={"until": until, "months": months},
                    not_found_ok=True,
                )
                if body is None:
                    logger.info("store not found", extra={"store_id": store_id})
                    continue
                if not isinstance(body, dict) or body.get("currency", "IDR") != "IDR":
                    raise _Unavailable("malformed response: sales must be in IDR")
                entries = body.get("months")
                if not isinstance(entries, list):
                    raise _Unavailable("malformed response: bad or missing months")
                found.append(
                    StoreSales(
                        store_id=store_id,
                        months=tuple(_pick(MonthlyRevenue, entry) for entry in entries),
                    )
                )
            return tuple(found)

        return self._guarded("ecommerce_sales", call)

    def business_profiles(
        self, store_ids: Iterable[str]
    ) -> tuple[BusinessProfile, ...] | ProviderUnavailable:
        """Rating, reviews and years listed per store; unknown stores are left out."""

        def call() -> tuple[BusinessProfile, ...]:
            found: list[BusinessProfile] = []
            for store_id in store_ids:
                body = self._request(
                    "business_profile",
                    "GET",
                    f"/v1/stores/{quote(store_id, safe='')}",
                    not_found_ok=True,
                )
                if body is not None:
                    found.append(_pick(BusinessProfile, {**body, "store_id": store_id}))
            return tuple(found)

        return self._guarded("business_profile", call)

    # --- the bank's account inquiry ------------------------------------------------------

    def inquire_bank_account(
        self, bank_code: str, account_number: str
    ) -> AccountHolder | InquiryUnavailable | None:
        """The bank's account inquiry: the name account `account_number` at bank `bank_code`
        is held in; None when the bank has no such account (404)."""
        started = self._clock()
        try:
            body = self._request(
                "bank_account_inquiry",
                "POST",
                "/v1/inquiries",
                json={"bank_code": bank_code, "account_number": account_number},
                not_found_ok=True,
            )
            if body is None:
                return None
            holder = body.get("account_holder") if isinstance(body, dict) else None
            if not isinstance(holder, str) or not holder.strip():
                raise _Unavailable("malformed response: bad or missing account_holder")
            return AccountHolder(account_holder=holder)
        except _Unavailable as exc:
            reason = exc.reason
        except Exception as exc:  # a client bug must not become a 500 either
            logger.exception(
                "provider call failed unexpectedly", extra={"provider": "bank_account_inquiry"}
            )
            reason = f"unexpected error: {type(exc).__name__}"
        logger.warning(
            "provider unavailable",
            extra={
                "provider": "bank_account_inquiry",
                "reason": reason,
                "elapsed_ms": round(1000 * (self._clock() - started)),
            },
        )
        return InquiryUnavailable(reason=reason)

    def gather(self, query: ProviderQuery) -> ProviderData:
        """Ask all four providers at once; the slowest one sets the time taken."""
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="provider") as pool:
            registry = pool.submit(
                self.verify_identity, query.nik, query.full_name, query.birth_date
            )
            bureau = pool.submit(self.credit_report, query.nik)
            sales = pool.submit(self.store_sales, query.store_ids, sales_until(query.applied_on))
            profiles = pool.submit(self.business_profiles, query.store_ids)
            return ProviderData(
                civil_registry=registry.result(),
                credit_bureau=bureau.result(),
                ecommerce_sales=sales.result(),
                business_profile=profiles.result(),
            )


def providers_client(settings: ProviderSettings) -> ProvidersClient:
    """The clients configured by `PATUNGAN_PROVIDERS_URL`, `_PROVIDER_API_KEY` and timings."""
    return ProvidersClient(
        ProvidersConfig.sandbox(
            settings.providers_url,
            settings.provider_api_key.get_secret_value(),
            timeout_s=settings.provider_timeout_s,
            deadline_s=settings.provider_deadline_s,
        )
    )


class InMemoryProviders:
    """A `ProviderDataSource` for unit tests: canned answers by NIK, and the queries it saw."""

    def __init__(
        self, answers: Mapping[str, ProviderData], default: ProviderData | None = None
    ) -> None:
        self._answers = dict(answers)
        self._default = default
        self.queries: list[ProviderQuery] = []

    def gather(self, query: ProviderQuery) -> ProviderData:
        self.queries.append(query)
        answer = self._answers.get(query.nik, self._default)
        if answer is not None:
            return answer
        reason = "no canned answer for this NIK"
        return ProviderData(
            civil_registry=ProviderUnavailable(provider="civil_registry", reason=reason),
            credit_bureau=ProviderUnavailable(provider="credit_bureau", reason=reason),
            ecommerce_sales=ProviderUnavailable(provider="ecommerce_sales", reason=reason),
            business_profile=ProviderUnavailable(provider="business_profile", reason=reason),
        )


class InMemoryBankAccounts:
    """A `BankAccountInquiry` for unit tests: the accounts a test opened, by bank and number,
    and the inquiries it saw; `down` makes every inquiry unavailable."""

    def __init__(self) -> None:
        self.holders: dict[tuple[str, str], str] = {}
        self.down = False
        self.inquiries: list[tuple[str, str]] = []

    def open(self, bank_code: str, account_number: str, account_holder: str) -> None:
        self.holders[(bank_code, account_number)] = account_holder

    def inquire_bank_account(
        self, bank_code: str, account_number: str
    ) -> AccountHolder | InquiryUnavailable | None:
        self.inquiries.append((bank_code, account_number))
        if self.down:
            return InquiryUnavailable(reason="timed out (simulated)")
        holder = self.holders.get((bank_code, account_number))
        return None if holder is None else AccountHolder(account_holder=holder)
