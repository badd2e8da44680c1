"""Test helpers shared by the unit and integration plumbing tests: a token issuer, a push
token issuer (Google's, for event functions) and an in-memory platform."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.adapters.auth import JwtVerifier, StaticPublicKey
from shared.adapters.memory import (
    FixedClock,
    MemoryCallerDirectory,
    MemoryUnitOfWork,
    RecordingPublisher,
    SequentialIds,
)
from shared.domain.permissions import Role
from shared.http.events import PushAuthenticator
from shared.http.router import HttpServices

ISSUER = "https://issuer.test/patungan"
AUDIENCE = "patungan-test"
SAMPLE_FUNCTION = Path(__file__).parent / "sample_function" / "main.py"
SAMPLE_CONSUMER = Path(__file__).parent / "sample_function" / "consumer.py"


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass
class Issuer:
    """Signs test tokens; `token()` is valid unless told otherwise."""

    key: rsa.RSAPrivateKey
    other_key: rsa.RSAPrivateKey  # a key the platform does not trust

    @property
    def public_pem(self) -> bytes:
        return _public_pem(self.key)

    def verifier(self) -> JwtVerifier:
        return JwtVerifier(issuer=ISSUER, audience=AUDIENCE, keys=StaticPublicKey(self.public_pem))

    def claims(self, subject: str, role: str | None, **overrides: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=10)).timestamp()),
        }
        if role is not None:
            claims["role"] = role
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self,
        subject: str = "u-borrower",
        role: str | None = "borrower",
        *,
        key: Any = None,
        **overrides: Any,
    ) -> str:
        return jwt.encode(
            self.claims(subject, role, **overrides), key or self.key, algorithm="RS256"
        )

    def bearer(
        self, subject: str = "u-borrower", role: str | None = "borrower", **overrides: Any
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject, role, **overrides)}"}


PUSH_ISSUER = "https://accounts.google.com"
PUSH_ACCOUNT = "push-scoring@patungan-test.iam.gserviceaccount.com"
PUSH_AUDIENCE = "https://scoring-123456789012.asia-southeast2.run.app"


@dataclass(frozen=True)
class PushIssuer:
    """Signs push tokens as Google signs a push subscription's: `headers()` is valid unless
    told otherwise, and `authenticator()` is what an event function trusts."""

    key: rsa.RSAPrivateKey
    account: str = PUSH_ACCOUNT
    audience: str = PUSH_AUDIENCE

    def authenticator(self) -> PushAuthenticator:
        verifier = JwtVerifier(
            issuer=PUSH_ISSUER, audience=self.audience, keys=StaticPublicKey(_public_pem(self.key))
        )
        return PushAuthenticator(verifier, self.account)

    def token(self, *, key: Any = None, **overrides: Any) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": PUSH_ISSUER,
            "aud": self.audience,
            "azp": self.account,
            "email": self.account,
            "email_verified": True,
            "sub": "112233445566778899001",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=1)).timestamp()),
            **overrides,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key or self.key, algorithm="RS256")

    def headers(self, **overrides: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**overrides)}"}


@functools.cache
def push_issuer() -> PushIssuer:
    """One push issuer for the whole test session (an RSA key takes a while to make)."""
    return PushIssuer(new_private_key())


CAST: dict[str, Role] = {
    "u-borrower": "borrower",
    "u-ani": "borrower",
    "u-budi": "borrower",
    "u-someone-else": "borrower",
    "u-lender": "lender",
    "u-admin": "admin.credit",
}
"""Registered users of the plumbing tests and the role their record gives them."""


def registered_cast() -> MemoryCallerDirectory:
    """The stored records behind the tests' tokens: a token's own role grants nothing."""
    callers = MemoryCallerDirectory()
    for user_id, role in CAST.items():
        callers.register(user_id, role)
    return callers


@dataclass
class Platform:
    """Every port faked in memory, wired as HttpServices."""

    issuer: Issuer
    clock: FixedClock = field(default_factory=FixedClock)
    ids: SequentialIds = field(default_factory=SequentialIds)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    callers: MemoryCallerDirectory = field(default_factory=registered_cast)
    uow: MemoryUnitOfWork = field(init=False)

    def __post_init__(self) -> None:
        self.uow = MemoryUnitOfWork(self.publisher, self.clock, max_attempts=3, retry_after_s=2)

    def services(self) -> HttpServices:
        return HttpServices(
            clock=self.clock,
            ids=self.ids,
            uow=self.uow,
            verifier=self.issuer.verifier(),
            callers=self.callers,
        )
