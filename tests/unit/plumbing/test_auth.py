"""Bearer-token verification: one code path, keys from configuration, no way around it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from jwt.algorithms import RSAAlgorithm

from scripts.token import DevKeys, main
from shared.adapters.auth import JwksKeys, JwtVerifier, KeysUnavailable, token_verifier
from shared.domain.errors import Forbidden
from shared.http.errors import Unauthenticated
from shared.http.guard import require_scheduler
from shared.settings import HttpSettings, load_settings
from tests.unit.plumbing.support import AUDIENCE, ISSUER, Issuer


def test_a_valid_token_names_the_caller_and_role(issuer: Issuer):
    caller = issuer.verifier().verify(issuer.token("u-7", "lender"))
    assert (caller.user_id, caller.role) == ("u-7", "lender")
    assert caller.claims["iss"] == ISSUER


def test_a_token_without_a_role_is_a_signed_in_but_unregistered_caller(issuer: Issuer):
    assert issuer.verifier().verify(issuer.token("u-new", None)).role is None


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda i: i.token(exp=int(datetime.now(UTC).timestamp()) - 3600), "expired"),
        (lambda i: i.token(iss="https://other.example"), "untrusted issuer"),
        (lambda i: i.token(aud="other-audience"), "another audience"),
        (lambda i: i.token(key=i.other_key), "signature is invalid"),
        (lambda i: i.token(exp=None), "'exp' claim"),
        (lambda i: i.token(iat=None), "'iat' claim"),
        (lambda i: i.token(role="root"), "not a Patungan role"),
        (lambda i: i.token(nbf=int(datetime.now(UTC).timestamp()) + 3600), "not valid yet"),
        (lambda i: "not.a.jwt", "not a JWT"),
        (
            lambda i: jwt.encode(i.claims("u", "borrower"), None, algorithm="none"),
            "signing algorithm is not accepted",
        ),
        (lambda i: _with_header(i, {"alg": "RS256", "kid": 7}), "not a JWT"),
        (lambda i: _with_header(i, {"alg": "\U0001f600"}), "signing algorithm is not accepted"),
        (lambda i: _with_header(i, {"alg": ["RS256"]}), "signing algorithm is not accepted"),
        (lambda i: i.token("a/b", "borrower"), "subject cannot name an account"),
        (lambda i: i.token("__x__", "borrower"), "subject cannot name an account"),
    ],
)
def test_invalid_tokens_are_unauthenticated_with_a_reason(issuer: Issuer, make, reason):
    with pytest.raises(Unauthenticated, match=reason):
        issuer.verifier().verify(make(issuer))


def test_a_token_forged_with_the_public_key_as_an_hmac_secret_is_refused(issuer: Issuer):
    """The classic algorithm-confusion attack: only the configured asymmetric algorithm counts."""
    forged = _hs256(issuer.claims("u-1", "admin.super"), issuer.public_pem)
    with pytest.raises(Unauthenticated, match="signing algorithm is not accepted"):
        issuer.verifier().verify(forged)


def test_no_reason_echoes_the_token(issuer: Issuer):
    """A reason goes into a response header: it never carries the caller's text."""
    for header in ({"alg": "\u00e9vil"}, {"alg": "HS256\r\nX-Injected: 1"}):
        with pytest.raises(Unauthenticated) as refused:
            issuer.verifier().verify(_with_header(issuer, header))
        assert refused.value.detail.isascii() and "vil" not in refused.value.detail


def _with_header(issuer: Issuer, header: dict[str, Any]) -> str:
    """A token whose header says whatever the test wants (signature left as the real one's)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    _, payload, signature = issuer.token("u-1", "borrower").split(".")
    return f"{b64(json.dumps(header).encode())}.{payload}.{signature}"


def _hs256(claims: dict[str, Any], secret: bytes) -> str:
    """Signed by hand: PyJWT itself refuses to use a PEM public key as an HMAC secret."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_a_verifier_cannot_be_built_to_accept_symmetric_or_unsigned_tokens(issuer: Issuer):
    for algorithms in (["HS256"], ["none"], []):
        with pytest.raises(ValueError, match="asymmetric"):
            JwtVerifier(
                issuer=ISSUER,
                audience=AUDIENCE,
                keys=issuer.verifier()._keys,
                algorithms=algorithms,
            )


# --- keys from a JWKS URL (Identity Platform) ------------------------------------------------


class _Jwks:
    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.requests = 0


@pytest.fixture
def jwks_server(issuer: Issuer) -> Iterator[tuple[str, _Jwks]]:
    state = _Jwks()
    jwk = json.loads(RSAAlgorithm.to_jwk(issuer.key.public_key()))
    state.document = {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            body = json.dumps(state.document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks", state
    finally:
        server.shutdown()
        server.server_close()


def signed_with_kid(issuer: Issuer, kid: str, **claims: Any) -> str:
    return jwt.encode(
        issuer.claims("u-9", "borrower", **claims),
        issuer.key,
        algorithm="RS256",
        headers={"kid": kid},
    )


def test_keys_are_fetched_from_the_jwks_url_once_and_cached(issuer: Issuer, jwks_server):
    url, state = jwks_server
    verifier = JwtVerifier(issuer=ISSUER, audience=AUDIENCE, keys=JwksKeys(url))
    for _ in range(3):
        assert verifier.verify(signed_with_kid(issuer, "k1")).user_id == "u-9"
    assert state.requests == 1


def test_a_key_id_the_issuer_does_not_publish_is_unauthenticated(issuer: Issuer, jwks_server):
    url, _ = jwks_server
    verifier = JwtVerifier(issuer=ISSUER, audience=AUDIENCE, keys=JwksKeys(url))
    with pytest.raises(Unauthenticated, match="does not publish"):
        verifier.verify(signed_with_kid(issuer, "rotated-away"))


def test_an_unreachable_jwks_endpoint_is_a_transient_failure_not_the_callers_fault(issuer: Issuer):
    verifier = JwtVerifier(
        issuer=ISSUER, audience=AUDIENCE, keys=JwksKeys("http://127.0.0.1:9/jwks", timeout_s=1)
    )
    with pytest.raises(KeysUnavailable):
        verifier.verify(signed_with_kid(issuer, "k1"))


# --- the local dev issuer --------------------------------------------------------------------


@pytest.fixture
def dev_keys(tmp_path: Path) -> DevKeys:
    return DevKeys.ensure(tmp_path / "dev-keys")


def test_dev_keys_are_created_once_privately_and_reused(dev_keys: DevKeys):
    assert oct(dev_keys.issuer_private.stat().st_mode & 0o777) == "0o600"
    assert oct(dev_keys.storage_signer.stat().st_mode & 0o777) == "0o600"
    assert oct(dev_keys.pii_key.stat().st_mode & 0o777) == "0o600"
    before = dev_keys.issuer_public.read_bytes()
    assert DevKeys.ensure(dev_keys.directory).issuer_public.read_bytes() == before


def test_a_dev_token_passes_the_production_code_path_configured_for_localhost(
    dev_keys, monkeypatch
):
    for name, value in {
        "PATUNGAN_ENV": "local",
        "PATUNGAN_ENTITY": "p2p",
        "PATUNGAN_GCP_PROJECT": "patungan-p2p-local",
        **dev_keys.environment(),
    }.items():
        monkeypatch.setenv(name, value)
    verifier = token_verifier(load_settings(HttpSettings))

    caller = verifier.verify(dev_keys.issue("u-ani", "borrower"))

    assert (caller.user_id, caller.role) == ("u-ani", "borrower")
    expired = dev_keys.issue("u-ani", "borrower", now=datetime.now(UTC) - timedelta(days=2))
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(expired)


def test_the_token_command_prints_a_token_for_the_subject_and_role(dev_keys, capsys):
    assert (
        main(["--sub", "u-budi", "--role", "admin.credit", "--keys", str(dev_keys.directory)]) == 0
    )
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(
        token, dev_keys.issuer_public.read_bytes(), algorithms=["RS256"], audience="patungan-local"
    )
    assert (claims["sub"], claims["role"]) == ("u-budi", "admin.credit")


def test_the_token_command_refuses_an_unknown_role(dev_keys, capsys):
    with pytest.raises(SystemExit):
        main(["--sub", "u", "--role", "root", "--keys", str(dev_keys.directory)])
    assert "invalid choice" in capsys.readouterr().err


def test_the_token_command_prints_the_settings_that_trust_it(dev_keys, capsys):
    main(["--print-env", "--keys", str(dev_keys.directory)])
    out = capsys.readouterr().out
    assert f"PATUNGAN_AUTH_PUBLIC_KEY_FILE={dev_keys.issuer_public}" in out
    assert "PATUNGAN_AUTH_ISSUER=https://patungan.local/dev-issuer" in out
    pii_key = next(line for line in out.splitlines() if line.startswith("PATUNGAN_PII_KEY="))
    assert len(base64.b64decode(pii_key.split("=", 1)[1])) == 32


# --- a scheduled function admits its Cloud Scheduler job alone ------------------------------

SCHEDULER = "cron-outbox-relay@patungan-p2p-prod.iam.gserviceaccount.com"


def test_the_scheduler_jobs_verified_token_may_run_a_scheduled_function(issuer: Issuer):
    token = issuer.token("1234567890", None, email=SCHEDULER, email_verified=True)
    require_scheduler(issuer.verifier().verify(token), SCHEDULER)  # no Forbidden


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"email": SCHEDULER}, id="email not verified"),
        pytest.param({"email": SCHEDULER, "email_verified": False}, id="email verified false"),
        pytest.param({"email": SCHEDULER, "email_verified": "true"}, id="verified as a string"),
        pytest.param(
            {"email": "fn-loan-review@patungan-p2p-prod.iam.gserviceaccount.com"},
            id="another service account",
        ),
        pytest.param({"email_verified": True}, id="no email"),
        pytest.param({}, id="a user's token"),
    ],
)
def test_anyone_but_the_scheduler_job_is_forbidden_a_scheduled_function(issuer: Issuer, claims):
    caller = issuer.verifier().verify(issuer.token("1234567890", None, **claims))
    with pytest.raises(Forbidden, match="Cloud Scheduler"):
        require_scheduler(caller, SCHEDULER)
