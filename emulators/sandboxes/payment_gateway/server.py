"""The payment gateway sandbox's HTTP server: virtual accounts, payments, callbacks, settlements.

Stdlib only (`emulators.json_http`: body, routing and JSON answers; `http.client` for
the callbacks). The platform's API (`/v1/virtual-accounts`, `/v1/settlements`) needs the
configured API key; the payer's endpoints (`/v1/payments`), `/health` and `/admin/*` do
not: the sandbox binds to localhost and is never deployed, and a developer or a test plays
the payer.

Every payment is notified at once: `POST /v1/payments` makes the first callback before it
answers, so a test sees the platform's answer in the response. A callback the platform
did not take (an answer other than 2xx, or no answer) is retried by one background thread
with doubling backoff, up to `max_attempts` in all. The callback is signed as Bank
Indonesia's SNAP signs a notification (`signature`, README.md in this folder), so the
platform verifies it exactly as it will verify the real gateway's.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import http.client
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from emulators.json_http import BadRequest, JsonHandler, JsonServer
from emulators.sandboxes.payment_gateway import API_KEY_HEADER, PARTNER_SERVICE_ID

WIB = timezone(timedelta(hours=7), "WIB")  # Jakarta: UTC+7 all year, no daylight saving
KINDS = ("loan", "lender")
MAX_REFERENCE = 128
MAX_NAME = 255
CALLBACK_TIMEOUT_S = 10.0
MAX_ANSWER_BYTES = 64 * 1024  # of the platform's answer to a callback, kept for display


def sign(signing_key: str, method: str, path: str, body: bytes, timestamp: str) -> str:
    """The X-SIGNATURE of a callback: base64(HMAC-SHA512(key, stringToSign)), where
    stringToSign = METHOD:PATH:lowercase hex SHA-256 of the body:X-TIMESTAMP."""
    string_to_sign = f"{method}:{path}:{hashlib.sha256(body).hexdigest()}:{timestamp}"
    digest = hmac.new(signing_key.encode(), string_to_sign.encode(), hashlib.sha512).digest()
    return base64.b64encode(digest).decode()


def signed_path(url: str) -> str:
    """The PATH of stringToSign: the callback URL's path, plus `?query` when it has one."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def rfc3339(moment: datetime) -> str:
    """A moment in Jakarta time to the second, e.g. ``2026-12-04T09:30:00+07:00``."""
    return moment.astimezone(WIB).replace(microsecond=0).isoformat()


def check_callback_url(url: Any) -> str:
    """An http(s) URL with a host, or "" (payments are then kept until one is set)."""
    if not isinstance(url, str):
        raise ValueError("url must be a string (an empty one stops delivery)")
    if url == "":
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url must be an http or https URL with a host, got {url!r}")
    return url


@dataclass(frozen=True)
class VirtualAccount:
    """A VA the gateway issued to the platform for one loan or one lender."""

    number: str
    kind: str
    reference: str
    name: str

    def public(self) -> dict[str, Any]:
        return {
            "virtualAccountNo": self.number,
            "kind": self.kind,
            "reference": self.reference,
            "name": self.name,
        }


@dataclass
class Payment:
    """One payment into a VA and how its notification to the platform went."""

    id: str
    external_id: str
    sequence: int
    account: VirtualAccount
    amount: int
    fee: int
    paid_at: datetime
    status: str = "pending"  # delivered | failed | pending (an attempt is still to come)
    attempts: int = 0  # every callback sent, redeliveries included
    automatic: int = 0  # the attempts counted against max_attempts (first + retries)
    retry_scheduled: bool = False
    last_status: int | None = None
    last_body: Any = None
    last_error: str | None = None
    delivered_at: str | None = None

    def callback_body(self) -> bytes:
        """The notification's body, compact UTF-8 JSON: the same bytes on every send."""
        body = {
            "partnerServiceId": PARTNER_SERVICE_ID,
            "customerNo": self.account.number[len(PARTNER_SERVICE_ID) :],
            "virtualAccountNo": self.account.number,
            "virtualAccountName": self.account.name,
            "paymentRequestId": self.id,
            "paidAmount": {"value": f"{self.amount}.00", "currency": "IDR"},
            "trxDateTime": rfc3339(self.paid_at),
        }
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()

    def public(self) -> dict[str, Any]:
        return {
            "paymentRequestId": self.id,
            "virtualAccountNo": self.account.number,
            "amount": self.amount,
            "paidAt": rfc3339(self.paid_at),
            "delivery": {
                "status": self.status,
                "attempts": self.attempts,
                "lastStatus": self.last_status,
                "lastBody": self.last_body,
                "lastError": self.last_error,
                "deliveredAt": self.delivered_at,
                "externalId": self.external_id,
            },
        }


@dataclass
class Faults:
    """Misbehaviour of the platform's API (VA and settlement endpoints) only."""

    delay_ms: int = 0
    fail_next: int = 0  # the next N requests are answered 503

    @classmethod
    def parse(cls, values: dict[str, Any]) -> Faults:
        unknown = sorted(set(values) - {"delay_ms", "fail_next"})
        if unknown:
            raise ValueError(f"unknown fault fields {unknown}; known: ['delay_ms', 'fail_next']")
        faults = cls(**values)
        for name in ("delay_ms", "fail_next"):
            value = getattr(faults, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        return faults


class NoCallbackUrl(Exception):
    """A redelivery was asked for while no callback URL is set."""


@dataclass
class Gateway:
    """The sandbox's state (VAs, payments, keys, faults) and its callback sender.

    One lock guards the state; callbacks are sent outside it, so a slow platform holds
    up nothing but its own delivery.
    """

    signing_key: str
    callback_url: str
    partner_id: str
    fee: int
    max_attempts: int
    backoff_s: float
    faults: Faults = field(default_factory=Faults)
    stopping: threading.Event = field(default_factory=threading.Event, init=False)
    _lock: threading.Condition = field(default_factory=threading.Condition, init=False)
    _accounts: dict[str, VirtualAccount] = field(default_factory=dict, init=False)  # by number
    _issued: dict[tuple[str, str], str] = field(default_factory=dict, init=False)  # kind, ref
    _payments: dict[str, Payment] = field(default_factory=dict, init=False)  # by id, in order
    _retries: list[tuple[float, int, str]] = field(default_factory=list, init=False)
    _sequence: int = field(default=0, init=False)
    # X-EXTERNAL-ID: microseconds since the epoch at start, then one more per payment, so
    # ids never repeat across a reset or a restart of the sandbox.
    _external_id: int = field(default_factory=lambda: time.time_ns() // 1000, init=False)

    # --- virtual accounts ------------------------------------------------------------

    def issue(self, kind: str, reference: str, name: str) -> tuple[VirtualAccount, bool]:
        """The VA of this kind and reference, and whether it was issued by this call.

        The number is "8808" and 12 digits of a SHA-256 of kind and reference, so the same
        loan or lender gets the same number in every sandbox; a collision with another VA
        takes the next salted hash. Issuing again returns the first VA unchanged.
        """
        with self._lock:
            number = self._issued.get((kind, reference))
            if number is not None:
                return self._accounts[number], False
            salt = 0
            while True:
                seed = f"{kind}:{reference}" + (f"#{salt}" if salt else "")
                digits = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**12
                number = f"{PARTNER_SERVICE_ID}{digits:012d}"
                if number not in self._accounts:
                    break
                salt += 1
            account = VirtualAccount(number, kind, reference, name)
            self._accounts[number] = account
            self._issued[(kind, reference)] = number
            return account, True

    def account(self, number: str) -> VirtualAccount | None:
        with self._lock:
            return self._accounts.get(number)

    # --- payments --------------------------------------------------------------------

    def pay(self, number: str, amount: int, paid_at: datetime) -> Payment | None:
        """Record a payment into a VA (None when no such VA was issued); not yet notified."""
        with self._lock:
            account = self._accounts.get(number)
            if account is None:
                return None
            self._sequence += 1
            self._external_id = max(self._external_id + 1, time.time_ns() // 1000)
            payment = Payment(
                id=f"pgw-{uuid.uuid4().hex[:20]}",
                external_id=str(self._external_id),
                sequence=self._sequence,
                account=account,
                amount=amount,
                fee=min(self.fee, amount),  # a payment below the fee is all fee
                paid_at=paid_at,
            )
            self._payments[payment.id] = payment
            return payment

    def payment(self, payment_id: str) -> dict[str, Any] | None:
        with self._lock:
            payment = self._payments.get(payment_id)
            return payment.public() if payment else None

    def payments(self) -> list[dict[str, Any]]:
        with self._lock:
            return [payment.public() for payment in self._payments.values()]

    def settlement(self, day: date) -> dict[str, Any]:
        """The report of what was paid on a Jakarta calendar day: each payment, its fee, net."""
        with self._lock:
            paid = [p for p in self._payments.values() if p.paid_at.astimezone(WIB).date() == day]
        paid.sort(key=lambda p: (p.paid_at, p.sequence))
        items = [
            {
                "paymentRequestId": p.id,
                "virtualAccountNo": p.account.number,
                "paidAt": rfc3339(p.paid_at),
                "amount": p.amount,
                "fee": p.fee,
                "net": p.amount - p.fee,
            }
            for p in paid
        ]
        return {
            "settlementDate": day.isoformat(),
            "currency": "IDR",
            "items": items,
            "totalAmount": sum(item["amount"] for item in items),
            "totalFee": sum(item["fee"] for item in items),
            "totalNet": sum(item["net"] for item in items),
        }

    # --- delivery --------------------------------------------------------------------

    def deliver(self, payment_id: str) -> dict[str, Any]:
        """The automatic attempt of a payment: first or retry; schedules the next on failure."""
        self._send(payment_id, automatic=True)
        payment = self.payment(payment_id)
        assert payment is not None
        return payment

    def redeliver(self, payment_id: str) -> dict[str, Any] | None:
        """Send a payment's notification once more, now (same body and external id, a fresh
        timestamp and signature); raises `NoCallbackUrl` when there is nowhere to send it."""
        with self._lock:
            if payment_id not in self._payments:
                return None
            if not self.callback_url:
                raise NoCallbackUrl("no callback URL is set (PUT /admin/callback-url)")
        self._send(payment_id, automatic=False)
        return self.payment(payment_id)

    def set_callback_url(self, url: str) -> int:
        """Deliver to `url` from now on; payments still waiting are sent at once (background).
        Returns how many were waiting."""
        with self._lock:
            self.callback_url = url
            if not url:
                return 0
            waiting = [
                p
                for p in self._payments.values()
                if p.status == "pending" and not p.retry_scheduled
            ]
            for payment in waiting:
                self._schedule(payment, time.monotonic())
            return len(waiting)

    def set_signing_key(self, key: str) -> None:
        with self._lock:
            self.signing_key = key

    def reset(self) -> None:
        """Forget every VA, payment, scheduled retry and fault (keys and callback URL stay)."""
        with self._lock:
            self._accounts.clear()
            self._issued.clear()
            self._payments.clear()
            self._retries.clear()
            self.faults = Faults()

    def _schedule(self, payment: Payment, due: float) -> None:
        """Queue an automatic attempt (the caller holds the lock)."""
        payment.retry_scheduled = True
        heapq.heappush(self._retries, (due, payment.sequence, payment.id))
        self._lock.notify_all()

    def _send(self, payment_id: str, *, automatic: bool) -> None:
        with self._lock:
            payment = self._payments.get(payment_id)
            url, key = self.callback_url, self.signing_key
            if payment is None or not url or (automatic and payment.status != "pending"):
                return  # forgotten by a reset, nowhere to send yet, or delivered meanwhile
            body = payment.callback_body()
            external_id = payment.external_id
        timestamp = rfc3339(datetime.now(WIB))
        headers = {
            "Content-Type": "application/json",
            "X-TIMESTAMP": timestamp,
            "X-PARTNER-ID": self.partner_id,
            "X-EXTERNAL-ID": external_id,
            "X-SIGNATURE": sign(key, "POST", signed_path(url), body, timestamp),
        }
        status, answer, error = self._post(url, body, headers)
        with self._lock:
            if self._payments.get(payment_id) is not payment:
                return  # the state was reset while the callback was in flight
            payment.attempts += 1
            payment.last_status, payment.last_body, payment.last_error = status, answer, error
            if automatic:
                payment.automatic += 1
            if status is not None and 200 <= status < 300:
                payment.status = "delivered"
                payment.delivered_at = payment.delivered_at or rfc3339(datetime.now(WIB))
            elif payment.status == "delivered":
                pass  # a duplicate the platform refused changes nothing already delivered
            elif automatic and payment.automatic < self.max_attempts:
                payment.status = "pending"
                wait = self.backoff_s * 2 ** (payment.automatic - 1)
                self._schedule(payment, time.monotonic() + wait)
            elif not payment.retry_scheduled:
                payment.status = "failed"

    def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, Any, str | None]:
        """POST a callback: (HTTP status or None, the answer's body, the error if no answer).

        `http.client` rather than `urllib`: it sends the header names exactly as the
        contract spells them, and reads no proxy from the environment (the platform is
        on this machine).
        """
        parts = urlsplit(url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.netloc, timeout=CALLBACK_TIMEOUT_S)
        try:
            connection.request("POST", signed_path(url), body=body, headers=headers)
            response = connection.getresponse()
            return response.status, _answer(response.read(MAX_ANSWER_BYTES)), None
        except (OSError, http.client.HTTPException) as exc:
            return None, None, f"no answer: {type(exc).__name__}: {exc}"
        finally:
            connection.close()

    # --- the retry thread ----------------------------------------------------------------

    def run_retries(self) -> None:
        """Send each scheduled attempt when it is due, until `stopping` is set."""
        while not self.stopping.is_set():
            with self._lock:
                now = time.monotonic()
                if not self._retries or self._retries[0][0] > now:
                    timeout = min(self._retries[0][0] - now, 0.5) if self._retries else 0.5
                    self._lock.wait(timeout)
                    continue
                _, _, payment_id = heapq.heappop(self._retries)
                payment = self._payments.get(payment_id)
                if payment is not None:
                    payment.retry_scheduled = False
            if payment is not None:
                self._send(payment_id, automatic=True)

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            self._lock.notify_all()


def _answer(raw: bytes) -> Any:
    """The platform's answer as JSON when it is JSON, else as text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


class PaymentGatewaySandbox(JsonServer):
    def __init__(
        self,
        address: tuple[str, int],
        *,
        api_key: str,
        gateway: Gateway,
        verbose: bool = False,
    ) -> None:
        super().__init__(address, PaymentGatewayHandler, verbose=verbose)
        self.host = address[0]
        self.api_key = api_key
        self.gateway = gateway
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def next_fault(self) -> tuple[int, bool]:
        """(delay in ms, whether this request fails) for a platform API request."""
        with self._lock:
            faults = self.gateway.faults
            fails = faults.fail_next > 0
            if fails:
                faults.fail_next -= 1
            return faults.delay_ms, fails


class PaymentGatewayHandler(JsonHandler):
    server: PaymentGatewaySandbox
    server_version = "PatunganPaymentGatewaySandbox/1"

    def route(self, method: str, path: list[str], query: dict[str, str]) -> None:
        gateway = self.server.gateway
        match method, path:
            case "GET", ["health"]:
                self.reply(HTTPStatus.OK, {"status": "ok"})
            # --- the platform's API (API key) ---
            case "POST", ["v1", "virtual-accounts"]:
                self._platform(self._issue)
            case "GET", ["v1", "virtual-accounts", number]:
                self._platform(lambda: self._account(number))
            case "GET", ["v1", "settlements", day]:
                self._platform(lambda: self._settlement(day))
            # --- the payer (no key) ---
            case "POST", ["v1", "payments"]:
                self._pay()
            case "GET", ["v1", "payments", payment_id]:
                self._found(gateway.payment(payment_id), "payment")
            # --- admin (no key) ---
            case "GET", ["admin", "payments"]:
                self.reply(HTTPStatus.OK, {"payments": gateway.payments()})
            case "POST", ["admin", "payments", payment_id, "redeliver"]:
                try:
                    self._found(gateway.redeliver(payment_id), "payment")
                except NoCallbackUrl as exc:
                    self.reply(HTTPStatus.CONFLICT, {"error": str(exc)})
            case "GET", ["admin", "callback-url"]:
                self.reply(HTTPStatus.OK, {"url": gateway.callback_url})
            case "PUT", ["admin", "callback-url"]:
                try:
                    url = check_callback_url(self.body.get("url"))
                except ValueError as exc:
                    raise BadRequest(str(exc)) from None
                waiting = gateway.set_callback_url(url)
                self.reply(HTTPStatus.OK, {"url": url, "waitingPayments": waiting})
            case "PUT", ["admin", "signing-key"]:
                key = self.body.get("key")
                if not isinstance(key, str) or not key:
                    raise BadRequest("key must be a non-empty string")
                gateway.set_signing_key(key)
                self.reply(HTTPStatus.OK, {"rotated": True})
            case "GET", ["admin", "faults"]:
                self.reply(HTTPStatus.OK, vars(gateway.faults))
            case "PUT", ["admin", "faults"]:
                try:
                    gateway.faults = Faults.parse(self.body)
                except (ValueError, TypeError) as exc:
                    raise BadRequest(str(exc)) from None
                self.reply(HTTPStatus.OK, vars(gateway.faults))
            case "DELETE", ["admin", "state"]:
                gateway.reset()
                self.reply(HTTPStatus.OK, {"virtualAccounts": 0, "payments": 0})
            case _:
                self.no_route()

    def _found(self, answer: dict[str, Any] | None, what: str) -> None:
        if answer is None:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"{what} not found"})
        else:
            self.reply(HTTPStatus.OK, answer)

    def _platform(self, answer: Any) -> None:
        """A platform API request: the API key, then any injected fault, then the answer."""
        supplied = self.headers.get(API_KEY_HEADER) or ""
        if not hmac.compare_digest(supplied.encode(), self.server.api_key.encode()):
            self.reply(HTTPStatus.UNAUTHORIZED, {"error": f"missing or wrong {API_KEY_HEADER}"})
            return
        delay_ms, fails = self.server.next_fault()
        if delay_ms and self.server.gateway.stopping.wait(delay_ms / 1000):
            return
        if fails:
            self.reply(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "payment gateway: injected"})
            return
        status, body = answer()
        self.reply(status, body)

    def _issue(self) -> tuple[int, Any]:
        kind, reference, name = (self.body.get(k) for k in ("kind", "reference", "name"))
        if kind not in KINDS:
            raise BadRequest(f"kind must be one of {list(KINDS)}, got {kind!r}")
        if not _text(reference, MAX_REFERENCE):
            raise BadRequest(f"reference must be a string of 1-{MAX_REFERENCE} printable chars")
        if not _text(name, MAX_NAME):
            raise BadRequest(f"name must be a string of 1-{MAX_NAME} printable characters")
        account, issued = self.server.gateway.issue(kind, reference, name.strip())
        return (HTTPStatus.CREATED if issued else HTTPStatus.OK), account.public()

    def _account(self, number: str) -> tuple[int, Any]:
        account = self.server.gateway.account(number)
        if account is None:
            return HTTPStatus.NOT_FOUND, {"error": f"virtual account {number!r} not issued"}
        return HTTPStatus.OK, account.public()

    def _settlement(self, day: str) -> tuple[int, Any]:
        try:
            settled = date.fromisoformat(day)
        except ValueError:
            raise BadRequest(f"the settlement date must be YYYY-MM-DD, got {day!r}") from None
        if len(day) != 10:
            raise BadRequest(f"the settlement date must be YYYY-MM-DD, got {day!r}")
        return HTTPStatus.OK, self.server.gateway.settlement(settled)

    def _pay(self) -> None:
        body = self.body
        number, amount, paid_at = (
            body.get("virtualAccountNo"),
            body.get("amount"),
            body.get("paidAt"),
        )
        if not isinstance(number, str):
            raise BadRequest("virtualAccountNo must be a string of 16 digits")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise BadRequest(f"amount must be a positive whole number of rupiah, got {amount!r}")
        unknown = sorted(set(body) - {"virtualAccountNo", "amount", "paidAt"})
        if unknown:
            raise BadRequest(f"unknown fields {unknown}")
        moment = _moment(paid_at) if paid_at is not None else datetime.now(WIB)
        payment = self.server.gateway.pay(number, amount, moment)
        if payment is None:
            self.reply(HTTPStatus.NOT_FOUND, {"error": f"virtual account {number!r} not issued"})
            return
        self.reply(HTTPStatus.CREATED, self.server.gateway.deliver(payment.id))


def _text(value: Any, longest: int) -> TypeGuard[str]:
    """A printable, non-blank string of at most `longest` characters."""
    return (
        isinstance(value, str)
        and value.strip() != ""
        and len(value) <= longest
        and value.isprintable()
    )


def _moment(value: Any) -> datetime:
    """An RFC 3339 date-time with an offset (``2026-12-04T09:30:00+07:00`` or ``...Z``)."""
    if not isinstance(value, str) or "T" not in value.upper():
        raise BadRequest(f"paidAt must be an RFC 3339 date-time with an offset, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"paidAt must be an RFC 3339 date-time, got {value!r}") from None
    if moment.tzinfo is None:
        raise BadRequest(f"paidAt needs an offset (Z or +07:00), got {value!r}")
    return moment
