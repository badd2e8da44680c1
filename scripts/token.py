"""The local dev token issuer: `python -m scripts.token --sub <user-id> --role <role>`.

Prints a JWT that the local platform accepts, signed (RS256) by the dev
issuer's private key. The functions verify it through exactly the code path
production uses (shared/adapters/auth.py); only the configuration differs:

    PATUNGAN_AUTH_ISSUER=https://patungan.local/dev-issuer
    PATUNGAN_AUTH_AUDIENCE=patungan-local
    PATUNGAN_AUTH_PUBLIC_KEY_FILE=.local/dev-keys/issuer-public.pem

`python -m scripts.token --print-env` prints those lines (and the dev storage
signer's) for a shell or a `.env` file.

Keys live in `.local/dev-keys/` (gitignored), generated on first use:
- `issuer-private.pem` / `issuer-public.pem`: the token issuer's RSA key pair;
- `storage-signer.json`: a service-account-shaped key that signs Storage URLs
  locally (`PATUNGAN_STORAGE_SIGNING_KEY_FILE`);
- `pii.key`: the local PII master key (`PATUNGAN_PII_KEY`, 32 random bytes, base64).
Settings refuse this issuer and key files in any cloud environment, so a dev
token can never open a real deployment. Delete the folder to rotate the keys.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.platform.callers import ROLES
from shared.settings import DEV_AUDIENCE, DEV_ISSUER

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KEY_DIR = ROOT / ".local" / "dev-keys"
DEV_KEY_ID = "patungan-dev-1"
DEV_SIGNER_EMAIL = "local-signer@patungan-local.iam.gserviceaccount.com"


def _new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


@dataclass(frozen=True)
class DevKeys:
    """The local dev keys in `directory`, created on first use (`DevKeys.ensure()`)."""

    directory: Path = DEFAULT_KEY_DIR

    @property
    def issuer_private(self) -> Path:
        return self.directory / "issuer-private.pem"

    @property
    def issuer_public(self) -> Path:
        return self.directory / "issuer-public.pem"

    @property
    def storage_signer(self) -> Path:
        return self.directory / "storage-signer.json"

    @property
    def pii_key(self) -> Path:
        return self.directory / "pii.key"

    @functools.cached_property
    def _signing_key(self) -> rsa.RSAPrivateKey:
        # Loading checks the RSA key (~50 ms); signing with the loaded key takes ~1 ms.
        key = serialization.load_pem_private_key(self.issuer_private.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    @classmethod
    def ensure(cls, directory: Path = DEFAULT_KEY_DIR) -> DevKeys:
        keys = cls(directory)
        if not keys.issuer_private.exists() or not keys.issuer_public.exists():
            private = _new_private_key()
            _write_private(keys.issuer_private, _pem(private))
            keys.issuer_public.write_bytes(
                private.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        if not keys.storage_signer.exists():
            signer = {
                "type": "service_account",
                "project_id": "patungan-local",
                "private_key_id": uuid.uuid4().hex,
                "private_key": _pem(_new_private_key()).decode(),
                "client_email": DEV_SIGNER_EMAIL,
                "client_id": "0",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
            _write_private(keys.storage_signer, json.dumps(signer, indent=2).encode())
        if not keys.pii_key.exists():
            _write_private(keys.pii_key, base64.b64encode(os.urandom(32)))
        return keys

    def issue(
        self,
        sub: str,
        role: str | None,
        *,
        ttl: timedelta = timedelta(hours=12),
        now: datetime | None = None,
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        """A dev-issuer token for `sub` with `role` (None: signed in, not yet registered)."""
        if role is not None and role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        issued = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "sub": sub,
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
            **({"role": role} if role is not None else {}),
            **(extra_claims or {}),
        }
        return jwt.encode(
            claims,
            self._signing_key,
            algorithm="RS256",
            headers={"kid": DEV_KEY_ID},
        )

    def environment(self) -> dict[str, str]:
        """The settings that make a local function trust this issuer, sign URLs with the dev
        signer and protect personal data with the local PII key."""
        return {
            "PATUNGAN_AUTH_ISSUER": DEV_ISSUER,
            "PATUNGAN_AUTH_AUDIENCE": DEV_AUDIENCE,
            "PATUNGAN_AUTH_PUBLIC_KEY_FILE": str(self.issuer_public),
            "PATUNGAN_STORAGE_SIGNING_KEY_FILE": str(self.storage_signer),
            "PATUNGAN_PII_KEY": self.pii_key.read_text().strip(),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.token",
        description="Print a bearer token signed by the local dev issuer.",
    )
    parser.add_argument("--sub", help="the user id the token speaks for")
    parser.add_argument(
        "--role", choices=ROLES, help="the role claim (omit for a not-yet-registered user)"
    )
    parser.add_argument("--ttl-minutes", type=int, default=720, help="lifetime (default 12 h)")
    parser.add_argument("--keys", type=Path, default=DEFAULT_KEY_DIR, help=argparse.SUPPRESS)
    parser.add_argument(
        "--print-env", action="store_true", help="print the settings that trust this issuer"
    )
    args = parser.parse_args(argv)
    keys = DevKeys.ensure(args.keys)
    if args.print_env:
        for name, value in keys.environment().items():
            print(f"{name}={value}")
        return 0
    if not args.sub:
        parser.error("--sub is required")
    print(keys.issue(args.sub, args.role, ttl=timedelta(minutes=args.ttl_minutes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
