"""Firebase Auth / Identity Platform ID tokens, verified for real, and the caller's role from custom claims.

A token is accepted only if: it is a JWS signed RS256 by a key the issuer currently publishes (x509 certificates as
JSON ``{kid: PEM}``, cached for the response's ``max-age``), ``aud`` is the project, ``iss`` is
``https://securetoken.google.com/<project>``, ``exp`` is in the future, ``iat`` and ``auth_time`` are not, and ``sub``
is a non-empty uid. Production and the local issuer (``local/identity``) differ only in the certificate URL.

Roles come from the custom claim ``role``: ``admin`` may change things, ``viewer`` may look; any other role is 403.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.x509 import load_pem_x509_certificate

CERT_FETCH_TIMEOUT_S = 10.0
DEFAULT_CERT_TTL_S = 3600
CLOCK_SKEW_S = 5
# An unknown ``kid`` may be a freshly rotated key, so it may trigger one fetch; within this many seconds of the last
# fetch it is refused without fetching (otherwise every forged token would cost the issuer a request).
MIN_REFRESH_INTERVAL_S = 60.0


class Role(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's uid, email and role."""

    uid: str
    email: str
    role: Role

    @property
    def actor(self) -> str:
        """The name written to the audit log and to commands."""
        return self.email or self.uid

    @property
    def can_change(self) -> bool:
        return self.role is Role.ADMIN


class AuthError(Exception):
    """The request is not allowed; ``status`` is 401 (who are you?) or 403 (not you)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def unauthenticated(reason: str) -> AuthError:
    return AuthError(401, reason)


def forbidden(reason: str) -> AuthError:
    return AuthError(403, reason)


class KeySource(Protocol):
    """The issuer's current signing keys by key id."""

    def keys(self, now: datetime, *, refresh: bool = False) -> Mapping[str, RSAPublicKey]:
        """Keys valid at ``now``; ``refresh`` asks for a fresh copy (an unknown kid may be a rotated key)."""
        ...


def parse_certificates(doc: object) -> dict[str, RSAPublicKey]:
    """``{kid: PEM certificate}`` (Google's x509 metadata format) → public keys."""
    if not isinstance(doc, dict):
        raise ValueError("certificate document is not a JSON object")
    keys: dict[str, RSAPublicKey] = {}
    for kid, pem in doc.items():
        cert = load_pem_x509_certificate(str(pem).encode("ascii"))
        key = cert.public_key()
        if isinstance(key, RSAPublicKey):
            keys[str(kid)] = key
    return keys


def max_age(cache_control: str) -> int:
    """Seconds from a ``Cache-Control: ..., max-age=N`` header (a default if absent)."""
    found = re.search(r"max-age=(\d+)", cache_control or "")
    return int(found.group(1)) if found else DEFAULT_CERT_TTL_S


class HttpCertSource:
    """Fetches and caches the issuer's x509 certificates over HTTP."""

    def __init__(self, url: str, session: requests.Session | None = None) -> None:
        self.url = url
        self.session = session or requests.Session()
        self._lock = threading.Lock()
        self._keys: dict[str, RSAPublicKey] = {}
        self._expires = 0.0
        self._fetched = float("-inf")
        self.fetches = 0

    def keys(self, now: datetime, *, refresh: bool = False) -> Mapping[str, RSAPublicKey]:
        """Cached keys, fetched again once their max-age has passed, or on ``refresh`` at most once a minute."""
        with self._lock:
            refresh_allowed = refresh and now.timestamp() - self._fetched >= MIN_REFRESH_INTERVAL_S
            if refresh_allowed or not self._keys or now.timestamp() >= self._expires:
                self._fetched = now.timestamp()
                self.fetches += 1
                try:
                    response = self.session.get(self.url, timeout=CERT_FETCH_TIMEOUT_S)
                    response.raise_for_status()
                    self._keys = parse_certificates(response.json())
                except (requests.RequestException, ValueError) as exc:
                    if not self._keys:
                        raise unauthenticated(f"cannot fetch the token issuer's keys: {exc}") from exc
                    return self._keys  # keep verifying with the last good keys while the issuer is unreachable
                self._expires = now.timestamp() + max_age(response.headers.get("Cache-Control", ""))
            return self._keys


class TokenVerifier:
    """Checks an ID token and returns who sent it."""

    def __init__(self, keys: KeySource, *, issuer: str, audience: str) -> None:
        self.key_source = keys
        self.issuer = issuer
        self.audience = audience

    def verify(self, token: str, now: datetime) -> Principal:
        """The token's principal, or ``AuthError`` 401 (invalid) / 403 (no usable role)."""
        claims = self.claims(token, now)
        role = claims.get("role")
        if not isinstance(role, str) or role not in {r.value for r in Role}:
            shown = repr(role)[:40] if isinstance(role, str | None) else f"of type {type(role).__name__}"
            raise forbidden(f"the account has no SpreadPilot role (role claim {shown}; expected admin or viewer)")
        email = claims.get("email") or ""
        if not isinstance(email, str) or len(email) > 320:
            raise unauthenticated("ID token 'email' must be a string of at most 320 characters")
        return Principal(uid=str(claims["sub"]), email=email, role=Role(role))

    def claims(self, token: str, now: datetime) -> dict[str, Any]:
        """The verified claims of ``token`` at ``now``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthenticated(f"malformed ID token: {exc}") from exc
        if header.get("alg") != "RS256":
            raise unauthenticated(f"ID token must be signed RS256, not {header.get('alg')!r}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise unauthenticated("ID token has no 'kid' header")
        keys = self.key_source.keys(now)
        if kid not in keys:
            keys = self.key_source.keys(now, refresh=True)
        if kid not in keys:
            raise unauthenticated("ID token was signed by a key the issuer does not publish")
        try:
            # Time claims are checked below against ``now`` (which may be a simulated clock), not by the library.
            claims: dict[str, Any] = jwt.decode(
                token,
                key=keys[kid],
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"], "verify_exp": False,
                         "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidAudienceError as exc:
            raise unauthenticated(f"ID token audience is not {self.audience!r}") from exc
        except jwt.InvalidIssuerError as exc:
            raise unauthenticated(f"ID token issuer is not {self.issuer!r}") from exc
        except jwt.InvalidSignatureError as exc:
            raise unauthenticated("ID token signature is invalid") from exc
        except jwt.PyJWTError as exc:
            raise unauthenticated(f"invalid ID token: {exc}") from exc
        self._check_times(claims, now.timestamp())
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 128:
            raise unauthenticated("ID token 'sub' must be a non-empty uid of at most 128 characters")
        return claims

    @staticmethod
    def _check_times(claims: Mapping[str, Any], now: float) -> None:
        for name in ("exp", "iat", "auth_time"):
            if name in claims and not isinstance(claims[name], int | float):
                raise unauthenticated(f"ID token '{name}' is not a number")
        if claims["exp"] <= now - CLOCK_SKEW_S:
            raise unauthenticated("ID token has expired")
        if claims["iat"] > now + CLOCK_SKEW_S:
            raise unauthenticated("ID token was issued in the future")
        if claims.get("auth_time", 0) > now + CLOCK_SKEW_S:
            raise unauthenticated("ID token's auth_time is in the future")


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or 401."""
    if not authorization:
        raise unauthenticated("missing Authorization header (expected 'Bearer <Firebase ID token>')")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("Authorization header must be 'Bearer <Firebase ID token>'")
    return token.strip()
