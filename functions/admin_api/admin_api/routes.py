"""The API's front door: CORS, authentication, roles, routing under ``/api/v1`` and errors as JSON."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from google.api_core.exceptions import GoogleAPICallError, InvalidArgument

from admin_api import (
    controls,
    dangerous,
    followers,
    gateways,
    invoices,
    manual_signal,
    operators,
    statements,
    views,
)
from admin_api.auth import AuthError, Principal, bearer_token, forbidden
from admin_api.deps import Deps, Route
from admin_api.http import ApiError, ApiRequest, ApiResponse, Call
from admin_api.openapi import openapi_document
from spreadpilot.errors import Retryable
from spreadpilot.events import make_event
from spreadpilot.models import ID_PATTERN, Severity

log = logging.getLogger("admin_api")

PREFIX = "/api/v1"
# Gateways first: their GET /gateways (with the supervisor's state) answers before the views' plain list.
ALL_ROUTES: list[Route] = [*gateways.ROUTES, *operators.ROUTES, *views.ROUTES, *followers.ROUTES, *controls.ROUTES,
                           *dangerous.ROUTES, *statements.ROUTES, *invoices.ROUTES, *manual_signal.ROUTES]
CORS_HEADERS = "Authorization, Content-Type"
CORS_METHODS = "GET, POST, PATCH, OPTIONS"
# Every id in a path or an ``*_id`` query parameter is a Firestore document id: letters or digits first, so ``.``,
# ``..`` and ``__reserved__`` (which Firestore refuses) never reach it, and no ``/`` (which would address another
# document). Checked once here, at the edge.
DOCUMENT_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class _Compiled:
    route: Route
    pattern: re.Pattern[str]


def _compile(route: Route) -> _Compiled:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path)
    return _Compiled(route, re.compile(f"^{regex}$"))


class AdminApi:
    """Dispatches one request to its route's handler and turns every outcome into a response."""

    def __init__(self, deps: Deps, routes: list[Route] | None = None) -> None:
        self.deps = deps
        self.routes = [_compile(r) for r in (routes or ALL_ROUTES)]
        self.origin = deps.settings.allowed_origin

    def handle(self, request: ApiRequest, *, now: datetime, wall: datetime) -> ApiResponse:
        """Answer ``request``; ``now`` is business time, ``wall`` real time (token expiry, confirmations)."""
        origin = request.header("origin")
        cors = self._cors_headers(origin)
        if origin and not cors:
            return self._with(ApiResponse(403, ApiError(403, f"origin {origin!r} is not allowed").body()), {})
        if request.method == "OPTIONS":
            return ApiResponse(204, None, cors)
        try:
            response = self._dispatch(request, now, wall)
        except AuthError as exc:
            response = ApiResponse(exc.status, ApiError(exc.status, exc.reason, where="authorization").body(),
                                   {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {})
            log.info("request refused", extra={"status": exc.status, "reason": exc.reason, "path": request.path})
        except ApiError as exc:
            response = ApiResponse(exc.status, exc.body())
        except InvalidArgument as exc:
            # Firestore refusing what the request named (a value it cannot store or query) is the caller's fault.
            log.info("request refused by a backing service", extra={"error": str(exc)[:300], "path": request.path})
            response = ApiResponse(400, ApiError(400, f"the request was refused: {exc.message}").body())
        except (Retryable, GoogleAPICallError) as exc:
            log.warning("dependency unavailable", extra={"error": str(exc), "path": request.path})
            response = ApiResponse(503, ApiError(503, "a backing service is unavailable; try again").body())
        except Exception:  # the front door: whatever went wrong, the answer is JSON, never the framework's HTML page
            log.exception("request failed", extra={"path": request.path, "method": request.method})
            self.deps.events.record(make_event(
                "function.error", source="admin_api", at=now, severity=Severity.WARNING,
                message=f"{request.method} {request.path[:200]} failed (see the function's log)"))
            response = ApiResponse(500, ApiError(500, "internal error; it has been logged").body())
        return self._with(response, cors)

    def _dispatch(self, request: ApiRequest, now: datetime, wall: datetime) -> ApiResponse:
        path = request.path.rstrip("/") or "/"
        if not path.startswith(PREFIX + "/"):
            raise ApiError(404, f"no such path {request.path!r}; the API lives under {PREFIX}/", where="path")
        path = path[len(PREFIX):]
        if request.method == "GET" and path == "/openapi.json":
            return ApiResponse(200, openapi_document(ALL_ROUTES))
        if request.method == "GET" and path == "/healthz":
            return ApiResponse(200, {"ok": True})
        matched = [(c, m) for c in self.routes if (m := c.pattern.match(path))]
        if not matched:
            raise ApiError(404, f"no such path {request.path!r}", where="path")
        chosen = next(((c, m) for c, m in matched if c.route.method == request.method), None)
        if chosen is None:
            allowed = ", ".join(sorted({c.route.method for c, _ in matched}))
            raise ApiError(405, f"{request.method} is not allowed on {request.path}; use {allowed}", where="method")
        compiled, match = chosen
        principal = self._authenticate(request, wall)
        if compiled.route.changes and not principal.can_change:
            raise forbidden(f"role {principal.role} may only look; changing things needs the admin role")
        # The WSGI server has decoded the path once already; decoding again would turn %2F into a path separator.
        params = match.groupdict()
        for name, value in [*params.items(), *((k, v) for k, v in request.query.items() if k.endswith("_id"))]:
            if not DOCUMENT_ID.match(value):
                where = "path" if name in params else "query"
                raise ApiError(400, f"{name} must be 1-128 letters, digits or _ . : - starting with a letter or "
                               f"digit, got {value[:40]!r}", where=where)
        result = compiled.route.handler(self.deps, Call(request, principal, now, wall, params))
        return result if isinstance(result, ApiResponse) else ApiResponse(200, result)

    def _authenticate(self, request: ApiRequest, wall: datetime) -> Principal:
        token = bearer_token(request.header("authorization"))
        return self.deps.verifier.verify(token, wall)

    def _cors_headers(self, origin: str | None) -> dict[str, str]:
        if not origin or origin != self.origin:
            return {}
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Headers": CORS_HEADERS,
                "Access-Control-Allow-Methods": CORS_METHODS, "Access-Control-Max-Age": "600"}

    @staticmethod
    def _with(response: ApiResponse, cors: dict[str, str]) -> ApiResponse:
        headers = {**response.headers, **cors, "Vary": "Origin", "Cache-Control": "no-store",
                   "X-Content-Type-Options": "nosniff"}
        return ApiResponse(response.status, response.body, headers, response.content, response.content_type)
