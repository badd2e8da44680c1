"""Bearer-token verification with PyJWT — one code path for the cloud and for localhost.

`JwtVerifier.verify(token)` checks, in this order: the token parses; its
algorithm is one of the configured asymmetric ones; the signature verifies
against the issuer's key (chosen by `kid`); `iss`, `aud`, `exp`, `iat` and `sub`
are present; issuer and audience are the configured ones; it has not expired
(with a small leeway for clock skew). It returns a `Caller` whose `role` is
the token's `role` claim — `None` when the token has none (a person who signed
in but has not registered yet), which the guard refuses everywhere except on
`signed_in=True` routes. A `role` claim that is not a Patungan role is refused.

Where keys come from is configuration (`HttpSettings`):
- the cloud: Identity Platform (Firebase Auth) ID tokens, keys from its JWKS
  URL — `https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com`,
  issuer `https://securetoken.google.com/<project>`, audience `<project>` —
  fetched on first use and cached (`PyJWKClient`, refreshed on an unknown `kid`);
- localhost: the dev issuer's public key (a PEM file written by
  `python -m scripts.token`, or inline).

There is no option that skips any check. Every failure is `Unauthenticated`
with a short reason (it goes into the 401's `WWW-Authenticate` header); an
unreachable JWKS endpoint is `KeysUnavailable` (a 503: our fault, not the
caller's).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from shared.http.errors import Unauthenticated
from shared.platform.callers import ROLES, Caller, TokenVerifier
from shared.platform.errors import TransientFailure
from shared.platform.ids import valid_document_id

if TYPE_CHECKING:
    from shared.settings import HttpSettings

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")


class KeysUnavailable(TransientFailure):
    """The issuer's signing keys could not be fetched."""


class _KeySource(ABC):
    @abstractmethod
    def key_for(self, token: str) -> Any:
        """The public key that should have signed `token`."""


class StaticPublicKey(_KeySource):
    """One PEM public key (the local dev issuer)."""

    def __init__(self, pem: str | bytes) -> None:
        self._key = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)

    def key_for(self, token: str) -> Any:
        return self._key


class JwksKeys(_KeySource):
    """Keys published at a JWKS URL, fetched lazily and cached for `cache_s` seconds."""

    def __init__(self, url: str, *, cache_s: int = 3600, timeout_s: float = 5.0) -> None:
        self._client = jwt.PyJWKClient(
            url, cache_keys=True, cache_jwk_set=True, lifespan=cache_s, timeout=timeout_s
        )

    def key_for(self, token: str) -> Any:
        try:
            return self._client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise KeysUnavailable("the token issuer's keys could not be fetched") from exc
        except (jwt.PyJWKClientError, jwt.InvalidTokenError):
            raise Unauthenticated("token signed with a key this issuer does not publish") from None


class JwtVerifier(TokenVerifier):
    """Verifies signature, issuer, audience, expiry and role of a bearer JWT."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: _KeySource,
        algorithms: Sequence[str] = ("RS256",),
        leeway_s: int = 30,
    ) -> None:
        if not algorithms or any(a.upper().startswith("HS") or a == "none" for a in algorithms):
            raise ValueError("only asymmetric signature algorithms are accepted")
        self.issuer = issuer
        self.audience = audience
        self._keys = keys
        self._algorithms = list(algorithms)
        self._leeway_s = leeway_s

    def verify(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:  # not a JWT, or a header PyJWT refuses (a numeric kid)
            raise Unauthenticated("the bearer token is not a JWT") from None
        # Nothing of the token is echoed back: its text is the caller's, not ours.
        if not isinstance(header.get("alg"), str) or header["alg"] not in self._algorithms:
            raise Unauthenticated("the token's signing algorithm is not accepted")
        if "kid" in header and not isinstance(header["kid"], str):
            raise Unauthenticated("the token's key id is not a string")
        key = self._keys.key_for(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway_s,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token was issued for another audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token was issued by an untrusted issuer") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("the token signature is invalid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("the token is not valid yet") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("the bearer token is invalid") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("the token has no subject")
        if not valid_document_id(subject):
            raise Unauthenticated("the token's subject cannot name an account")
        role = claims.get("role")
        if role is not None and role not in ROLES:
            raise Unauthenticated("the token's role is not a Patungan role")
        return Caller(user_id=subject, role=role, claims=claims)


def token_verifier(settings: HttpSettings) -> JwtVerifier:
    """The verifier `settings` describe: JWKS URL, or an inline / file PEM public key."""
    keys: _KeySource
    if settings.auth_jwks_url:
        keys = JwksKeys(settings.auth_jwks_url, cache_s=settings.auth_jwks_cache_s)
    elif settings.auth_public_key_pem is not None:
        keys = StaticPublicKey(settings.auth_public_key_pem.get_secret_value())
    else:
        assert settings.auth_public_key_file is not None  # HttpSettings demands one source
        keys = StaticPublicKey(settings.auth_public_key_file.read_bytes())
    return JwtVerifier(
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        keys=keys,
        algorithms=settings.auth_algorithms,
        leeway_s=settings.auth_leeway_s,
    )
