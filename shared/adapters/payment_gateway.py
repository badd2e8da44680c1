"""HTTP client for the payment gateway's platform API: virtual accounts and settlement reports.

Borrowers repay and lenders top up into virtual accounts (VA) the gateway issues; the
gateway notifies each payment with a signed callback (received by `payment_webhook`, not
here) and settles the day's payments the next day net of its fee. This client asks the
gateway for a loan's or a lender's VA and for a day's settlement report. Locally the
gateway is the payment gateway sandbox (`emulators/sandboxes/payment_gateway`), and the
same code talks to it.

Contract: a call returns the typed answer or raises a `PaymentGatewayError`:
`PaymentGatewayUnavailable` when the gateway did not answer usefully (timed out, a
connection error, 5xx or 429 after the attempts, a malformed answer), which a caller turns
into a 503 and asks again later; `PaymentGatewayRefused` when it refused the request
(any other 4xx: a wrong API key, a bad request), which asking again will not change.
Timeouts, connection errors, 5xx and 429 are retried (tenacity: exponential backoff with
jitter, at most `max_attempts`). Retrying an issue is safe: the gateway issues one VA per
kind and reference and answers the same number again.

Configuration is passed in, never read here; nothing is created at import time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from shared.adapters.http_client import PooledHttp
from shared.model import Model
from shared.platform.errors import TransientFailure

if TYPE_CHECKING:  # the settings are the function's own, imported by its main.py
    from shared.settings import PaymentGatewaySettings

VirtualAccountKind = Literal["loan", "lender"]
API_KEY_HEADER = "X-API-Key"
_Model = TypeVar("_Model", bound=BaseModel)
_GATEWAY_MODEL = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class PaymentGatewayError(Exception):
    """The gateway's answer could not be had (see the subclasses)."""


class PaymentGatewayUnavailable(PaymentGatewayError):
    """No useful answer after the attempts: timed out, no connection, 5xx or 429, malformed."""


class PaymentGatewayRefused(PaymentGatewayError):
    """The gateway refused the request with a 4xx that asking again will not change."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class VirtualAccount(Model):
    """A VA the gateway issued for one loan (repayments) or one lender (top-ups)."""

    model_config = _GATEWAY_MODEL

    number: str = Field(alias="virtualAccountNo", pattern=r"^[0-9]{16}$")
    kind: VirtualAccountKind
    reference: str = Field(min_length=1)
    name: str = Field(min_length=1)


class SettlementItem(Model):
    """One payment settled: what the payer paid, the gateway's fee, what reaches the escrow."""

    model_config = _GATEWAY_MODEL

    payment_request_id: str = Field(alias="paymentRequestId", min_length=1)
    virtual_account_no: str = Field(alias="virtualAccountNo", pattern=r"^[0-9]{16}$")
    paid_at: AwareDatetime = Field(alias="paidAt")
    amount: int = Field(gt=0, strict=True)  # whole rupiah: 1.5 or "150000" is malformed
    fee: int = Field(ge=0, strict=True)
    net: int = Field(ge=0, strict=True)

    @model_validator(mode="after")
    def _adds_up(self) -> SettlementItem:
        if self.amount != self.fee + self.net:
            raise ValueError(f"amount {self.amount} is not fee {self.fee} + net {self.net}")
        return self


class SettlementReport(Model):
    """The payments paid on one Jakarta calendar day, settled the next day net of fees."""

    model_config = _GATEWAY_MODEL

    settlement_date: date = Field(alias="settlementDate")
    currency: Literal["IDR"]
    items: tuple[SettlementItem, ...]
    total_amount: int = Field(alias="totalAmount", strict=True)
    total_fee: int = Field(alias="totalFee", strict=True)
    total_net: int = Field(alias="totalNet", strict=True)

    @model_validator(mode="after")
    def _totals_add_up(self) -> SettlementReport:
        totals = (self.total_amount, self.total_fee, self.total_net)
        sums = tuple(sum(getattr(i, f) for i in self.items) for f in ("amount", "fee", "net"))
        if totals != sums:
            raise ValueError(f"totals {totals} are not the items' sums {sums}")
        return self


class _Retryable(Exception):
    """A failure that asking again may cure: a timeout, a dropped connection, 5xx or 429."""


class PaymentGatewayClient(PooledHttp):
    """The platform's client of the gateway, over one pooled `httpx.Client`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 5.0,
        max_attempts: int = 3,
        backoff_s: float = 0.2,
        max_backoff_s: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if timeout_s <= 0 or backoff_s < 0:
            raise ValueError("the timeout must be positive, the backoff not negative")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._wait = wait_exponential_jitter(
            multiplier=backoff_s, max=max_backoff_s, jitter=backoff_s
        )
        self._sleep = sleep
        super().__init__(timeout_s=timeout_s, transport=transport)

    # --- the gateway's API -----------------------------------------------------------

    def issue_virtual_account(
        self, kind: VirtualAccountKind, reference: str, name: str
    ) -> VirtualAccount:
        """The VA of a loan (`kind="loan"`, its id) or a lender (`"lender"`, theirs), issued
        on the first call; every later call answers the same VA."""
        body = self._request(
            "POST",
            "/v1/virtual-accounts",
            json={"kind": kind, "reference": reference, "name": name},
        )
        return _parse(VirtualAccount, body)

    def settlement_report(self, day: date) -> SettlementReport:
        """What the gateway settles for the payments paid on `day` (Jakarta calendar day)."""
        body = self._request("GET", f"/v1/settlements/{quote(day.isoformat(), safe='')}")
        return _parse(SettlementReport, body)

    # --- one request, with retries ---------------------------------------------------

    def _request(self, method: str, path: str, *, json: Mapping[str, Any] | None = None) -> Any:
        url = self.base_url + path
        headers = {API_KEY_HEADER: self._api_key, "Accept": "application/json"}
        attempts = 0

        def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            try:
                response = self._http.request(
                    method, url, headers=headers, json=json, timeout=self._timeout_s
                )
            except httpx.TimeoutException:
                raise _Retryable(f"timed out ({self._timeout_s:g} s per attempt)") from None
            except httpx.TransportError as exc:
                raise _Retryable(f"connection failed ({type(exc).__name__})") from None
            status = response.status_code
            if 200 <= status < 300:
                try:
                    return response.json()
                except ValueError:
                    raise PaymentGatewayUnavailable("malformed response: not JSON") from None
            if status < 500 and status != httpx.codes.TOO_MANY_REQUESTS:
                hint = " (check the API key)" if status in (401, 403) else ""
                raise PaymentGatewayRefused(
                    status, f"{method} {path}: HTTP {status} {_error(response)}{hint}"
                )
            raise _Retryable(f"HTTP {status} {response.reason_phrase}".rstrip())

        retrying = Retrying(
            sleep=self._sleep,
            retry=retry_if_exception_type(_Retryable),
            wait=self._wait,
            stop=stop_after_attempt(self._max_attempts),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            tried = f"{attempts} attempt{'s' if attempts > 1 else ''}"
            raise PaymentGatewayUnavailable(f"{method} {path}: {exc} after {tried}") from None


def _parse(model: type[_Model], body: object) -> _Model:
    """The typed answer from the gateway's JSON, or `PaymentGatewayUnavailable`."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise PaymentGatewayUnavailable(f"malformed response: {where}") from None


def _error(response: httpx.Response) -> str:
    """The gateway's `{"error": ...}` message, or the reason phrase."""
    try:
        message = response.json().get("error")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else response.reason_phrase


__all__ = [
    "PaymentGatewayClient",
    "PaymentGatewayError",
    "PaymentGatewayRefused",
    "PaymentGatewayUnavailable",
    "SettlementItem",
    "SettlementReport",
    "VirtualAccount",
]


class GatewayIssuer:
    """`shared.services.payments.VirtualAccountIssuer` over the gateway's API: a gateway that
    cannot be reached (or answers 5xx after the retries) is a `TransientFailure` (503 with
    `Retry-After`), so the client asks again later."""

    def __init__(self, client: PaymentGatewayClient) -> None:
        self._client = client

    @classmethod
    def from_settings(cls, settings: PaymentGatewaySettings) -> GatewayIssuer:
        return cls(
            PaymentGatewayClient(
                settings.payment_gateway_url,
                settings.payment_gateway_api_key.get_secret_value(),
                timeout_s=settings.payment_gateway_timeout_s,
            )
        )

    def issue(self, kind: VirtualAccountKind, reference: str, name: str) -> str:
        try:
            return self._client.issue_virtual_account(kind, reference, name).number
        except PaymentGatewayUnavailable as exc:
            raise TransientFailure(f"the payment gateway is unavailable: {exc}", 5) from exc
