"""The OpenAPI 3.1 document of the API, built from the route table and the request models (one source of truth)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel

from admin_api.controls import CloseRequest, ControlRequest, FlattenConfirm
from admin_api.dangerous import ActionConfirm
from admin_api.deps import Route
from admin_api.followers import FollowerCreate, FollowerUpdate
from admin_api.gateways import GatewayCreate, GatewayUpdate, LoginChange
from admin_api.invoices import MarkPaid
from admin_api.manual_signal import ManualSignal
from admin_api.operators import OperatorChange, OperatorInvite

BODIES: dict[str, type[BaseModel]] = {
    m.__name__: m for m in (FollowerCreate, FollowerUpdate, ControlRequest, CloseRequest, FlattenConfirm,
                            ActionConfirm, GatewayCreate, GatewayUpdate, LoginChange, OperatorInvite, OperatorChange,
                            MarkPaid, ManualSignal)
}
_ERROR = {"$ref": "#/components/schemas/Error"}


def _responses(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {
        "200": {"description": "OK"},
        "401": {"description": "missing, malformed, forged, expired or wrong-audience ID token",
                "content": {"application/json": {"schema": _ERROR}}},
        "403": {"description": "the token's role may not do this", "content": {"application/json": {"schema": _ERROR}}},
    }
    if "{" in route.path:
        out["404"] = {"description": "not found", "content": {"application/json": {"schema": _ERROR}}}
    if route.body:
        out["400"] = {"description": "invalid body; `problems` lists each field path and what is wrong",
                      "content": {"application/json": {"schema": _ERROR}}}
    return out


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": route.handler.__name__,
        "x-role": "admin" if route.changes else "viewer",
        "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                       for name in re.findall(r"\{(\w+)\}", route.path)],
        "responses": _responses(route),
    }
    if route.body:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{route.body}"}}}}
    return op


@cache
def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {name: model.model_json_schema(ref_template="#/components/schemas/{model}")
                               for name, model in BODIES.items()}
    schemas["Error"] = {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "status": {"type": "integer"}, "message": {"type": "string"}, "where": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "object", "properties": {
            "where": {"type": "string"}, "message": {"type": "string"}}}}}}}}
    return schemas


def openapi_document(routes: list[Route]) -> dict[str, Any]:
    """The schema served at ``/api/v1/openapi.json``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(f"/api/v1{route.path}", {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "SpreadPilot admin API", "version": "1",
                 "description": "Bearer Firebase ID token required; custom claim role=admin changes, "
                                "role=viewer reads."},
        "servers": [{"url": "/"}],
        "security": [{"firebase": []}],
        "paths": paths,
        "components": {"schemas": _schemas(), "securitySchemes": {
            "firebase": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
