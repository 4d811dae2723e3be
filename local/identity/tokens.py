"""Minting Firebase-shaped ID tokens (the local issuer and tests use the same function)."""

from __future__ import annotations

from datetime import datetime

import jwt

from identity.keys import SigningKey


def firebase_issuer(project: str) -> str:
    """The ``iss`` Firebase Auth puts in ID tokens of ``project``."""
    return f"https://securetoken.google.com/{project}"


def mint_id_token(
    key: SigningKey,
    *,
    project: str,
    uid: str,
    email: str,
    role: str | None,
    issued_at: datetime,
    lifetime_s: int = 3600,
    issuer: str | None = None,
    audience: str | None = None,
    kid: str | None = None,
) -> str:
    """An RS256 ID token with Firebase's claims and the custom claim ``role``."""
    iat = int(issued_at.timestamp())
    claims: dict[str, object] = {
        "iss": issuer or firebase_issuer(project),
        "aud": audience or project,
        "auth_time": iat,
        "user_id": uid,
        "sub": uid,
        "iat": iat,
        "exp": iat + lifetime_s,
        "email": email,
        "email_verified": True,
        "firebase": {"identities": {"email": [email]}, "sign_in_provider": "password"},
    }
    if role is not None:
        claims["role"] = role
    return jwt.encode(claims, key.private_pem(), algorithm="RS256", headers={"kid": kid or key.kid})
