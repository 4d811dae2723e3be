"""Hostile requests to the served API (real WSGI decoding): each gets a 4xx JSON answer naming what is wrong, never an
HTML 500, never another document, and never a certificate fetch per forged token."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from admin_harness import AdminClient, new_follower
from google.cloud import firestore

from identity.keys import SigningKey
from identity.testing import SessionServers, TokenFactory
from identity.tokens import mint_id_token
from stack.local_stack import LocalStack


def _json_error(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["Content-Type"].startswith("application/json")  # type: ignore[attr-defined]
    return response.json()["error"]  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("path", [
    "/followers/a%252Fb",          # decoded once by the server to a%2Fb; decoding again made it a/b
    "/followers/%2E%2E",           # '..' which Firestore refuses as a document id
    "/followers/__secret__",       # Firestore's reserved id form
    "/followers/%2E",
    "/statements/%252E%252E/files/pdf",
    "/orders?follower_id=__x__",
    "/orders?signal_id=a%2Fb",
])
def test_ids_firestore_would_refuse_or_misread_are_400_naming_the_parameter(admin: AdminClient, path: str) -> None:
    error = _json_error(admin.call("GET", path), 400)
    assert "must be 1-128 letters" in str(error["message"])


def test_a_three_segment_path_never_reaches_a_sub_collection_document(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    assert admin.call("POST", "/followers", new_follower("f01")).status_code == 201
    firestore_db.collection("followers").document("f01").collection("private").document("x").set({"iban": "leak"})
    assert _json_error(admin.call("GET", "/followers/f01%2Fprivate%2Fx"), 404)["where"] == "path"
    assert _json_error(admin.call("GET", "/followers/f01%252Fprivate%252Fx"), 400)["where"] == "path"


def test_a_role_claim_of_the_wrong_type_is_403_not_a_crash(admin: AdminClient, tokens: TokenFactory) -> None:
    issuer = tokens.issuer
    listed = mint_id_token(issuer.key, project=issuer.project, uid="u-list", email="l@example.com",
                           role=["admin"], issued_at=datetime.now(UTC))  # type: ignore[arg-type]
    error = _json_error(admin.call("GET", "/me", token=listed), 403)
    assert "type list" in str(error["message"])


def test_a_deeply_nested_or_oversized_body_is_refused_before_it_is_parsed(admin: AdminClient) -> None:
    nested = "[" * 20_000 + "]" * 20_000  # deeper than the parser can recurse, within the size bound
    error = _json_error(_raw(admin, "/controls/pause", nested.encode()), 400)
    assert "nests deeper" in str(error["message"])
    error = _json_error(_raw(admin, "/controls/pause", b'{"reason": "' + b"x" * 70_000 + b'"}'), 413)
    assert "at most" in str(error["message"])


def _raw(admin: AdminClient, path: str, body: bytes) -> object:
    import requests

    headers = {"Origin": admin.origin, "Authorization": f"Bearer {admin.token}", "Content-Type": "application/json"}
    return requests.post(f"{admin.base_url}/api/v1{path}", data=body, headers=headers, timeout=30)


def test_fifty_tokens_with_unknown_key_ids_cost_at_most_one_certificate_fetch(
    admin: AdminClient, stack: LocalStack
) -> None:
    issuer = SessionServers.issuer_for(stack.project).issuer
    assert admin.call("GET", "/me").status_code == 200  # the API holds the issuer's keys now
    before = issuer.cert_fetches
    stranger = SigningKey.generate(datetime.now(UTC))
    for n in range(50):
        forged = mint_id_token(stranger, project=issuer.project, uid=f"u{n}", email="x@example.com", role="admin",
                               issued_at=datetime.now(UTC), kid=f"rotated-{n}")
        assert _json_error(admin.call("GET", "/me", token=forged), 401)["where"] == "authorization"
    assert issuer.cert_fetches - before <= 1
