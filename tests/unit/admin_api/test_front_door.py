"""The API's front door without any backing service: paths, methods, CORS, the schema, body validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.api_core.exceptions import ServiceUnavailable

from admin_api.auth import TokenVerifier, parse_certificates
from admin_api.deps import Deps, Route
from admin_api.followers import FollowerCreate
from admin_api.http import ApiError, ApiRequest, parse_body
from admin_api.routes import ALL_ROUTES, AdminApi
from admin_api.settings import AdminSettings
from admin_api.statements import LocalFileLinks
from identity.keys import certificates_doc
from identity.server import Issuer
from identity.testing import TokenFactory

NOW = datetime(2026, 3, 17, 14, 0, tzinfo=UTC)
ORIGIN = "https://admin.spreadpilot.example"


class NoKeys:
    def keys(self, now: datetime, *, refresh: bool = False) -> dict[str, object]:
        return {}


def api() -> AdminApi:
    settings = AdminSettings(GOOGLE_CLOUD_PROJECT="p", web_base_url=ORIGIN + "/app")
    verifier = TokenVerifier(NoKeys(), issuer=settings.issuer, audience=settings.audience)  # type: ignore[arg-type]
    deps = Deps(store=None, publisher=None, secrets=None, verifier=verifier,  # type: ignore[arg-type]
                links=LocalFileLinks(), settings=settings, events=None)  # type: ignore[arg-type]
    return AdminApi(deps)


def call(method: str, path: str, **headers: str) -> tuple[int, dict[str, str], object]:
    response = api().handle(ApiRequest(method, path, headers={k.lower(): v for k, v in headers.items()}),
                            now=NOW, wall=NOW)
    return response.status, dict(response.headers), response.body


def test_settings_default_to_firebase_issuer_audience_and_the_web_apps_origin() -> None:
    settings = AdminSettings(GOOGLE_CLOUD_PROJECT="acme-prod", web_base_url="https://admin.acme.example/dash")
    assert settings.issuer == "https://securetoken.google.com/acme-prod"
    assert settings.audience == "acme-prod"
    assert settings.allowed_origin == "https://admin.acme.example"


def test_unknown_paths_and_methods_say_what_is_wrong() -> None:
    status, _, body = call("GET", "/api/v1/nothing-here")
    assert status == 404
    status, _, body = call("DELETE", "/api/v1/followers")
    assert status == 405
    assert "use GET, POST" in body["error"]["message"]  # type: ignore[index]
    assert call("GET", "/followers")[0] == 404


def test_a_request_without_a_token_is_401_with_a_bearer_challenge() -> None:
    status, headers, body = call("GET", "/api/v1/followers")
    assert status == 401
    assert headers["WWW-Authenticate"] == "Bearer"
    assert body["error"]["where"] == "authorization"  # type: ignore[index]


def test_preflight_from_the_web_app_is_allowed_and_from_elsewhere_refused() -> None:
    status, headers, _ = call("OPTIONS", "/api/v1/followers", Origin=ORIGIN)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    status, headers, _ = call("OPTIONS", "/api/v1/followers", Origin="https://evil.example")
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers


def test_the_openapi_document_lists_every_route_with_its_role() -> None:
    status, _, doc = call("GET", "/api/v1/openapi.json")
    assert status == 200
    operations = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}  # type: ignore[index]
    assert operations == {(r.method, f"/api/v1{r.path}") for r in ALL_ROUTES}
    roles = {op["x-role"] for ops in doc["paths"].values() for op in ops.values()}  # type: ignore[index]
    assert roles == {"admin", "viewer"}


def test_body_errors_name_each_field_and_never_echo_the_values() -> None:
    raw = b'{"id": "bad id!", "name": "A", "email": "a@b.co", "iban": "x", "commission_pct": "20", ' \
          b'"gateway_id": "g", "ibkr_account": "DU1", "ibkr_password": ""}'
    with pytest.raises(ApiError) as caught:
        parse_body(raw, FollowerCreate)
    wheres = {p["where"] for p in caught.value.problems}
    assert wheres == {"body.id", "body.ibkr_password"}
    assert "bad id!" not in caught.value.message


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\xff"])
def test_a_body_that_is_not_a_json_object_is_refused(raw: bytes) -> None:
    with pytest.raises(ApiError) as caught:
        parse_body(raw, FollowerCreate)
    assert caught.value.status == 400


def test_a_backing_service_failure_is_a_503_with_cors_headers_and_a_viewer_cannot_reach_a_changing_route() -> None:
    issuer = Issuer("p")
    published = parse_certificates(certificates_doc([issuer.key]))

    class Keys:
        def keys(self, now: datetime, *, refresh: bool = False) -> dict[str, object]:
            return published  # type: ignore[return-value]

    def down(_deps: Deps, _call: object) -> object:
        raise ServiceUnavailable("firestore is restarting")

    settings = AdminSettings(GOOGLE_CLOUD_PROJECT="p", web_base_url=ORIGIN)
    verifier = TokenVerifier(Keys(), issuer=settings.issuer, audience=settings.audience)  # type: ignore[arg-type]
    deps = Deps(store=None, publisher=None, secrets=None, verifier=verifier,  # type: ignore[arg-type]
                links=LocalFileLinks(), settings=settings, events=None)  # type: ignore[arg-type]
    front = AdminApi(deps, routes=[Route("GET", "/down", down, "always fails"),
                                   Route("POST", "/down", down, "always fails", changes=True)])
    tokens = TokenFactory(issuer)
    now = datetime.now(UTC)

    def ask(method: str, role: str) -> tuple[int, dict[str, str]]:
        headers = {"authorization": f"Bearer {tokens.valid(role)}", "origin": ORIGIN}
        response = front.handle(ApiRequest(method, "/api/v1/down", headers=headers), now=now, wall=now)
        return response.status, dict(response.headers)

    status, headers = ask("GET", "viewer")
    assert status == 503
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert ask("POST", "viewer")[0] == 403
    assert ask("POST", "admin")[0] == 503
