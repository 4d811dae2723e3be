"""The API's request, response and error types, independent of the web framework that carries them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from admin_api.auth import Principal

B = TypeVar("B", bound=BaseModel)

MAX_BODY_BYTES = 64 * 1024  # the largest body any route takes (a follower) is under 2 KiB
MAX_BODY_DEPTH = 8  # no request model nests deeper than a list inside an object


class ApiError(Exception):
    """An answer other than success: ``status`` and a message that says what is wrong and where."""

    def __init__(self, status: int, message: str, *, where: str = "",
                 problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.where = where
        self.problems = problems or []

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"status": self.status, "message": self.message}
        if self.where:
            error["where"] = self.where
        if self.problems:
            error["problems"] = self.problems
        return {"error": error}


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, f"{what} {ident!r} not found", where="path")


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request: header names lower-case, the body as bytes."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class ApiResponse:
    """One HTTP response: a JSON body, or raw ``content`` with its ``content_type``."""

    status: int = 200
    body: object = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if self.content is not None:
            return self.content
        if self.body is None:
            return b""
        return json.dumps(self.body, default=str, ensure_ascii=False).encode()


@dataclass(frozen=True)
class Call:
    """A routed, authenticated request: who, when (business ``now`` and wall-clock ``wall``), path parameters."""

    request: ApiRequest
    principal: Principal
    now: datetime
    wall: datetime
    params: Mapping[str, str]

    def param(self, name: str) -> str:
        return self.params[name]

    def query(self, name: str, default: str = "") -> str:
        return self.request.query.get(name, default)

    def query_int(self, name: str, default: int, *, low: int = 1, high: int = 1000) -> int:
        """An integer query parameter within ``[low, high]``, or 400 naming it."""
        raw = self.request.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise ApiError(400, f"query parameter {name!r} must be an integer, got {raw!r}", where="query") from exc
        if not low <= value <= high:
            raise ApiError(400, f"query parameter {name!r} must be between {low} and {high}", where="query")
        return value

    def body(self, model: type[B]) -> B:
        """The JSON body parsed into ``model``; 400 with every problem's field path otherwise."""
        return parse_body(self.request.body, model)


def json_depth(text: str) -> int:
    """How deeply ``text``'s arrays and objects nest (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_body(raw: bytes, model: type[B]) -> B:
    """Parse ``raw`` JSON into ``model`` (never echoing submitted values: they may be secrets)."""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are accepted", where="body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "request body is not UTF-8 JSON (UnicodeDecodeError)", where="body") from exc
    # Checked before parsing: a deeply nested body would otherwise exhaust the parser's recursion.
    if json_depth(text) > MAX_BODY_DEPTH:
        raise ApiError(400, f"request body nests deeper than {MAX_BODY_DEPTH} levels", where="body")
    try:
        doc: Any = json.loads(text or "null")
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"request body is not UTF-8 JSON ({exc.__class__.__name__})", where="body") from exc
    if not isinstance(doc, dict):
        raise ApiError(400, "request body must be a JSON object", where="body")
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        problems = [
            {"where": "body." + ".".join(str(p) for p in err["loc"]) if err["loc"] else "body",
             "message": err["msg"]}
            for err in exc.errors(include_input=False, include_url=False)
        ]
        summary = "; ".join(f"{p['where']}: {p['message']}" for p in problems)
        raise ApiError(400, f"invalid request body: {summary}", where="body", problems=problems) from exc
