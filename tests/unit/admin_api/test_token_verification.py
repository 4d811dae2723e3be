"""ID-token verification: only RS256 tokens signed by a published key, for this project, within their lifetime."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from admin_api.auth import AuthError, HttpCertSource, Role, TokenVerifier, bearer_token, max_age, parse_certificates
from identity.keys import SigningKey, certificates_doc
from identity.server import Issuer, IssuerServer
from identity.testing import TokenFactory
from identity.tokens import mint_id_token

NOW = datetime(2026, 3, 17, 14, 0, tzinfo=UTC)
PROJECT = "spreadpilot-test"
ISSUER = Issuer(PROJECT, key=SigningKey.generate(NOW))


class StaticKeys:
    """The issuer's published keys, counting how often they were asked for fresh."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self.published = parse_certificates(certificates_doc(keys))
        self.refreshes = 0

    def keys(self, now: datetime, *, refresh: bool = False) -> Mapping[str, RSAPublicKey]:
        self.refreshes += refresh
        return self.published


def verifier(keys: StaticKeys | None = None) -> TokenVerifier:
    return TokenVerifier(keys or StaticKeys([ISSUER.key]), issuer=f"https://securetoken.google.com/{PROJECT}",
                         audience=PROJECT)


def token(role: str | None = "admin", **kwargs: object) -> str:
    args: dict[str, object] = {"project": PROJECT, "uid": "u1", "email": "ops@example.com", "role": role,
                               "issued_at": NOW - timedelta(minutes=5)}
    args.update(kwargs)
    key = args.pop("key", ISSUER.key)
    return mint_id_token(key, **args)  # type: ignore[arg-type]


def refused(raw: str, at: datetime = NOW) -> AuthError:
    with pytest.raises(AuthError) as caught:
        verifier().verify(raw, at)
    return caught.value


def test_a_valid_admin_token_yields_the_principal_and_its_role() -> None:
    principal = verifier().verify(token("admin"), NOW)
    assert (principal.uid, principal.email, principal.role, principal.can_change) == (
        "u1", "ops@example.com", Role.ADMIN, True)


def test_a_viewer_token_is_valid_but_cannot_change() -> None:
    assert verifier().verify(token("viewer"), NOW).can_change is False


@pytest.mark.parametrize("role", [None, "owner", "ADMIN"])
def test_a_token_without_a_known_role_is_forbidden(role: str | None) -> None:
    assert refused(token(role)).status == 403


def test_an_expired_token_is_refused() -> None:
    error = refused(token(issued_at=NOW - timedelta(hours=2), lifetime_s=3600))
    assert (error.status, error.reason) == (401, "ID token has expired")


def test_a_token_issued_in_the_future_is_refused() -> None:
    assert "future" in refused(token(issued_at=NOW + timedelta(minutes=10))).reason


def test_a_token_signed_by_an_unpublished_key_with_a_published_kid_is_refused() -> None:
    forged = token(key=SigningKey.generate(NOW), kid=ISSUER.key.kid)
    assert refused(forged).reason == "ID token signature is invalid"


def test_a_token_for_another_project_is_refused() -> None:
    assert "audience" in refused(token(audience="other-project")).reason


def test_a_token_from_another_issuer_is_refused() -> None:
    assert "issuer" in refused(token(issuer="https://securetoken.google.com/other-project")).reason


def test_an_unsigned_token_is_refused() -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": ISSUER.key.kid}).encode()).rstrip(b"=")
    payload = jwt.decode(token(), options={"verify_signature": False})
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
    assert "RS256" in refused(f"{header.decode()}.{body.decode()}.").reason


def test_an_hs256_token_keyed_with_the_public_certificate_is_refused() -> None:
    confused = jwt.encode(jwt.decode(token(), options={"verify_signature": False}), "x" * 32, algorithm="HS256",
                          headers={"kid": ISSUER.key.kid})
    assert refused(confused).status == 401


def test_an_unknown_kid_makes_the_verifier_fetch_the_keys_again_once() -> None:
    keys = StaticKeys([ISSUER.key])
    with pytest.raises(AuthError):
        verifier(keys).verify(token(key=SigningKey.generate(NOW)), NOW)
    assert keys.refreshes == 1


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Token x"])
def test_the_authorization_header_must_carry_a_bearer_token(header: str | None) -> None:
    with pytest.raises(AuthError) as caught:
        bearer_token(header)
    assert caught.value.status == 401


def test_cache_control_max_age_sets_how_long_keys_are_kept() -> None:
    assert max_age("public, max-age=19302, must-revalidate, no-transform") == 19302
    assert max_age("") == 3600


def test_keys_fetched_over_http_from_the_local_issuer_verify_its_tokens() -> None:
    with IssuerServer(Issuer(PROJECT)) as server:
        live = TokenVerifier(HttpCertSource(server.cert_url), issuer=f"https://securetoken.google.com/{PROJECT}",
                             audience=PROJECT)
        factory = TokenFactory(server.issuer)
        assert live.verify(factory.valid("admin"), datetime.now(UTC)).role is Role.ADMIN
        with pytest.raises(AuthError):
            live.verify(factory.forged(), datetime.now(UTC))


def test_the_issuers_sign_in_returns_a_token_the_verifier_accepts_and_refuses_a_wrong_password() -> None:
    response = ISSUER.sign_in("admin@spreadpilot.local", "spreadpilot-local", NOW)
    assert verifier().verify(str(response["idToken"]), NOW).email == "admin@spreadpilot.local"
    with pytest.raises(ValueError, match="INVALID_PASSWORD"):
        ISSUER.sign_in("admin@spreadpilot.local", "wrong", NOW)
