"""Push delivery: POST each message of a push subscription to its endpoint, as Pub/Sub does.

Every push subscription gets one worker thread that leases messages (at most
`concurrency` outstanding at a time; ordered keys one at a time) and hands them
to a shared pool that POSTs the wrapped body Pub/Sub sends:

    {"message": {"data": base64, "attributes": {...}, "messageId": id, "message_id": id,
                 "publishTime": rfc3339, "publish_time": rfc3339, "orderingKey": key},
     "subscription": "projects/<p>/subscriptions/<s>",
     "deliveryAttempt": n}

`data`, `attributes` and `orderingKey` are left out when empty, and
`deliveryAttempt` appears only when the subscription has a dead-letter policy,
as in production. With `no_wrapper` the body is the message data itself, and
with `write_metadata` the metadata goes in `x-goog-pubsub-subscription-name`,
`-message-id`, `-publish-time`, `-ordering-key` and `-delivery-attempt` headers
and each attribute in a header of its own name (`push_request`). A 102, 200,
201, 202 or 204 answer acknowledges the message; any other status, a
connection error or no answer within the ack deadline is a nack, retried
after the backoff the broker computes.

When the push config names a service account (`oidc_token`) and the emulator
was given a signing key, each request carries `Authorization: Bearer <JWT>`
with the claims Google puts in a push token (`iss`, `aud`, `azp`, `email`,
`email_verified`, `sub`, `iat`, `exp`), signed RS256 with that local key, so
an event function verifies local pushes through the same code path it uses in
production (pointing its issuer and keys at the local ones).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from emulators.pubsub.broker import Broker, BrokerError, PushTarget

ACK_STATUSES = frozenset({102, 200, 201, 202, 204})
_USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"
_TOKEN_LIFETIME_S = 3600


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def push_request(target: PushTarget, received: Any) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one push: wrapped JSON, or the raw data (`no_wrapper`).

    Unwrapped, the body is the message data; with `write_metadata` the metadata
    rides in `x-goog-pubsub-*` headers and each attribute in a header of its own
    name (attributes whose key or value cannot be an HTTP header are left out).
    """
    if not target.no_wrapper:
        return push_body(target.subscription, received), {"Content-Type": "application/json"}
    source = received.message
    headers: dict[str, str] = {}
    if target.write_metadata:
        for key, value in source.attributes.items():
            if _HEADER_NAME.match(key) and value.isascii() and "\n" not in value:
                headers[key] = value
        headers["x-goog-pubsub-subscription-name"] = target.subscription
        headers["x-goog-pubsub-message-id"] = source.message_id
        headers["x-goog-pubsub-publish-time"] = source.publish_time.ToJsonString()
        if source.ordering_key:
            headers["x-goog-pubsub-ordering-key"] = source.ordering_key
        if received.delivery_attempt:
            headers["x-goog-pubsub-delivery-attempt"] = str(received.delivery_attempt)
    return bytes(source.data), headers


def push_body(subscription: str, received: Any) -> bytes:
    """The JSON body Pub/Sub POSTs for one ReceivedMessage."""
    source = received.message
    message: dict[str, Any] = {}
    if source.attributes:
        message["attributes"] = dict(source.attributes)
    if source.data:
        message["data"] = base64.b64encode(source.data).decode("ascii")
    message["messageId"] = message["message_id"] = source.message_id
    published = source.publish_time.ToJsonString()
    message["publishTime"] = message["publish_time"] = published
    if source.ordering_key:
        message["orderingKey"] = source.ordering_key
    body: dict[str, Any] = {"message": message, "subscription": subscription}
    if received.delivery_attempt:
        body["deliveryAttempt"] = received.delivery_attempt
    return json.dumps(body).encode()


def unique_account_id(email: str) -> str:
    """A stable 21-digit number standing for the service account, as Google's tokens name it
    in `sub` and `azp` (the email goes in `email`)."""
    digest = int.from_bytes(hashlib.sha256(email.encode()).digest()[:9], "big")
    return f"1{digest % 10**20:020d}"


@dataclass(frozen=True)
class PushTokenSigner:
    """Signs push tokens with a local RSA key (PEM) in place of Google's."""

    private_key_pem: bytes
    issuer: str = "https://accounts.google.com"
    key_id: str | None = None

    def token(self, target: PushTarget, now: float) -> str:
        issued = int(now)
        account_id = unique_account_id(target.service_account_email)
        claims = {
            "iss": self.issuer,
            "aud": target.audience,
            "azp": account_id,
            "email": target.service_account_email,
            "email_verified": True,
            "sub": account_id,
            "iat": issued,
            "exp": issued + _TOKEN_LIFETIME_S,
        }
        headers = {"kid": self.key_id} if self.key_id else None
        return jwt.encode(claims, self.private_key_pem, algorithm="RS256", headers=headers)


class PushDispatcher:
    """Runs one worker per push subscription and a shared pool of HTTP senders."""

    def __init__(
        self,
        *,
        concurrency: int = 16,
        senders: int = 64,
        signer: PushTokenSigner | None = None,
    ) -> None:
        self.concurrency = concurrency
        self._signer = signer
        self._broker: Broker | None = None
        self._pool = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="pubsub-push")
        # trust_env=False: a developer's HTTP(S)_PROXY must not reroute local pushes.
        self._http = httpx.Client(
            trust_env=False,
            limits=httpx.Limits(max_connections=senders, max_keepalive_connections=senders),
            headers={"User-Agent": _USER_AGENT},
        )
        self._stopped = threading.Event()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()

    def attach(self, broker: Broker) -> None:
        self._broker = broker

    def start_worker(self, subscription: str) -> None:
        """Called by the broker whenever `subscription` becomes a push subscription."""
        with self._lock:
            if self._stopped.is_set():
                return
            worker = threading.Thread(
                target=self._run, args=(subscription,), name=f"push {subscription}", daemon=True
            )
            self._workers = [w for w in self._workers if w.is_alive()]
            self._workers.append(worker)
            worker.start()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(timeout=3)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def _run(self, subscription: str) -> None:
        broker = self._broker
        assert broker is not None, "attach() the broker before starting workers"
        lease = broker.open_push_lease(subscription, self.concurrency)
        if lease is None:
            return
        while not self._stopped.is_set():
            try:
                batch = broker.stream_take(lease, wait_s=0.5)
            except BrokerError:
                return  # deleted, or the emulator is stopping
            if batch is None:
                return
            target = broker.push_target(lease)
            for received in batch:
                if target is None:  # switched to pull meanwhile: give the message back
                    self._quietly(broker.modify_ack_deadline, subscription, [received.ack_id], 0)
                else:
                    self._pool.submit(self._deliver, broker, target, received)

    def _deliver(self, broker: Broker, target: PushTarget, received: Any) -> None:
        body, headers = push_request(target, received)
        if self._signer is not None and target.service_account_email:
            headers["Authorization"] = "Bearer " + self._signer.token(target, time.time())
        try:
            response = self._http.post(
                target.endpoint,
                content=body,
                headers=headers,
                timeout=float(target.ack_deadline_s),
            )
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
            self._quietly(broker.record_push_failure, target.subscription, received.ack_id, error)
            return
        if response.status_code in ACK_STATUSES:
            self._quietly(broker.acknowledge, target.subscription, [received.ack_id])
        else:
            error = f"HTTP {response.status_code}: {response.text[:200]}"
            self._quietly(broker.record_push_failure, target.subscription, received.ack_id, error)

    @staticmethod
    def _quietly(call: Any, *args: Any) -> None:
        # The subscription may have gone away while the request was in flight.
        with contextlib.suppress(BrokerError):
            call(*args)
