"""Fixtures for the plumbing tests: a token issuer, an in-memory platform, the sample function."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
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
from shared.http.router import HttpServices

ISSUER = "https://issuer.test/patungan"
AUDIENCE = "patungan-test"
SAMPLE = Path(__file__).parent / "sample_function" / "main.py"


def _private_key() -> rsa.RSAPrivateKey:
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


@pytest.fixture(scope="session")
def issuer() -> Issuer:
    return Issuer(_private_key(), _private_key())


@dataclass
class Platform:
    """Every port faked in memory, wired as HttpServices."""

    issuer: Issuer
    clock: FixedClock = field(default_factory=FixedClock)
    ids: SequentialIds = field(default_factory=SequentialIds)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    callers: MemoryCallerDirectory = field(default_factory=MemoryCallerDirectory)
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


@pytest.fixture
def platform(issuer: Issuer) -> Platform:
    return Platform(issuer)


@pytest.fixture(scope="session")
def sample_app() -> Any:
    import functions_framework

    app = functions_framework.create_app("sample_loans", str(SAMPLE))
    return app, sys.modules["main"]


@pytest.fixture
def sample(sample_app: Any, platform: Platform) -> Iterator[Any]:
    """A test client of the sample function, its services faked by `platform`."""
    app, module = sample_app
    with module.services.override(platform.services()):
        yield app.test_client()
