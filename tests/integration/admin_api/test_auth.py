"""Every changing endpoint refuses callers without a valid admin token (real RS256 verification)."""

from __future__ import annotations

import pytest
from admin_harness import AdminClient, new_follower

from identity.testing import TokenFactory

CHANGING = [
    ("POST", "/followers", new_follower("fx")),
    ("PATCH", "/followers/f01", {"max_contracts": 2}),
    ("POST", "/followers/f01/enable", None),
    ("POST", "/followers/f01/disable", None),
    ("POST", "/followers/f01/close", {}),
    ("POST", "/controls/pause", {"scope": "all"}),
    ("POST", "/controls/resume", {"scope": "all"}),
    ("POST", "/controls/reconcile", {"scope": "all"}),
    ("POST", "/controls/flatten", {"scope": "all"}),
    ("POST", "/controls/flatten/confirm", {"confirm_code": "ABCD1234"}),
    ("POST", "/alerts/a1/acknowledge", None),
]
BAD_TOKENS = {
    "missing": (lambda t: "", 401),
    "expired": (lambda t: t.expired(), 401),
    "forged": (lambda t: t.forged(), 401),
    "wrong_audience": (lambda t: t.wrong_audience(), 401),
    "wrong_issuer": (lambda t: t.wrong_issuer(), 401),
    "garbage": (lambda t: "not.a.jwt", 401),
    "viewer_role": (lambda t: t.valid("viewer", "viewer@spreadpilot.local"), 403),
    "no_role": (lambda t: t.valid(None, "norole@spreadpilot.local"), 403),
}


def test_every_changing_endpoint_refuses_every_bad_token_and_changes_nothing(
    admin: AdminClient, tokens: TokenFactory
) -> None:
    assert admin.call("POST", "/followers", new_follower("f01")).status_code == 201
    refused = []
    for method, path, body in CHANGING:
        for name, (make, status) in BAD_TOKENS.items():
            response = admin.call(method, path, body, token=make(tokens))  # "" sends no Authorization header
            refused.append((method, path, name, response.status_code, status))
            assert response.json()["error"]["where"] == "authorization"
    assert [r for r in refused if r[3] != r[4]] == []
    followers = admin.call("GET", "/followers").json()["followers"]
    assert [f["id"] for f in followers] == ["f01"]
    assert followers[0]["max_contracts"] == 4
    assert followers[0]["enabled"] is True


@pytest.mark.parametrize("name", ["expired", "forged", "wrong_audience", "garbage"])
def test_reads_also_need_a_valid_token(admin: AdminClient, tokens: TokenFactory, name: str) -> None:
    make, _ = BAD_TOKENS[name]
    assert admin.call("GET", "/followers", token=make(tokens)).status_code == 401


def test_viewer_can_look_but_not_change(viewer: AdminClient) -> None:
    assert viewer.call("GET", "/followers").status_code == 200
    assert viewer.call("GET", "/me").json() == {
        "uid": "uid-viewer", "email": "viewer@spreadpilot.local", "role": "viewer", "can_change": False}
    refused = viewer.call("POST", "/controls/pause", {"scope": "all"})
    assert refused.status_code == 403
    assert "admin role" in refused.json()["error"]["message"]


def test_cors_allows_only_the_web_app_origin(admin: AdminClient) -> None:
    preflight = admin.call("OPTIONS", "/followers", headers={"Access-Control-Request-Method": "POST"}, token="")
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == admin.origin
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    stranger = admin.call("GET", "/followers", headers={"Origin": "http://evil.example"})
    assert stranger.status_code == 403
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_openapi_schema_is_published_without_a_token(admin: AdminClient) -> None:
    doc = admin.call("GET", "/openapi.json", token="").json()
    assert doc["openapi"].startswith("3.")
    assert doc["paths"]["/api/v1/followers"]["post"]["x-role"] == "admin"
    assert "password" in doc["components"]["schemas"]["GatewayCreate"]["properties"]  # logins belong to gateways
    assert "ibkr_password" not in doc["components"]["schemas"]["FollowerCreate"]["properties"]
