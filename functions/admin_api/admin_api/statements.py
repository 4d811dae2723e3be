"""Statements: the list per follower and month, download links, and asking for one again (regenerate, resend).

A ``gs://bucket/object`` path becomes a short-lived V4 signed URL (production); any other path is served by the
authenticated file route ``/statements/{id}/files/{kind}``, only from under ``statements_dir`` (local stack).
"""

from __future__ import annotations

import mimetypes
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from admin_api.deps import Deps, Route
from admin_api.http import ApiError, ApiResponse, Call, not_found
from spreadpilot.envelopes import StatementRequest
from spreadpilot.invoices import MONTH
from spreadpilot.resources import STATEMENT_REQUESTS
from spreadpilot.store import MONTHLY_PNL, STATEMENTS

KINDS = {"pdf": "pdf_path", "xlsx": "xlsx_path"}
API_PREFIX = "/api/v1"


class LocalFileLinks:
    """Links to the API's own file route (the browser fetches them with its bearer token)."""

    def link(self, statement_id: str, kind: str, path: str) -> dict[str, object]:
        return {"url": f"{API_PREFIX}/statements/{statement_id}/files/{kind}", "auth": True}


class SignedUrlLinks:
    """V4 signed URLs for ``gs://`` paths (signed through IAM with the function's service account)."""

    def __init__(self, ttl_s: int, local: LocalFileLinks | None = None) -> None:
        self.ttl = timedelta(seconds=ttl_s)
        self.local = local or LocalFileLinks()

    def link(self, statement_id: str, kind: str, path: str) -> dict[str, object]:
        if not path.startswith("gs://"):
            return self.local.link(statement_id, kind, path)
        import google.auth  # imported here: only production statements in Cloud Storage need it
        from google.auth.transport.requests import Request
        from google.cloud import storage  # type: ignore[attr-defined]  # the package ships no stubs for it

        bucket, _, name = path[len("gs://"):].partition("/")
        credentials, project = google.auth.default()
        credentials.refresh(Request())  # type: ignore[no-untyped-call]  # google-auth is untyped here
        blob = storage.Client(project=project, credentials=credentials).bucket(bucket).blob(name)
        url = blob.generate_signed_url(version="v4", expiration=self.ttl, method="GET",
                                       service_account_email=getattr(credentials, "service_account_email", None),
                                       access_token=credentials.token)
        return {"url": url, "auth": False}


def _statement(deps: Deps, statement_id: str) -> dict[str, Any]:
    snap = deps.store.db.collection(STATEMENTS).document(statement_id).get()
    if not snap.exists:
        raise not_found("statement", statement_id)
    return snap.to_dict() or {}


def _view(deps: Deps, statement_id: str, doc: dict[str, Any]) -> dict[str, object]:
    follower_id, _, month = statement_id.partition(":")
    links = {kind: deps.links.link(statement_id, kind, str(doc[field]))
             for kind, field in KINDS.items() if doc.get(field)}
    shown = {k: v for k, v in doc.items() if k not in KINDS.values()}
    return {"id": statement_id, "follower_id": doc.get("follower_id", follower_id),
            "month": doc.get("month", month), **shown, "links": links}


def list_statements(deps: Deps, call: Call) -> object:
    follower_id = call.query("follower_id")
    rows = []
    for snap in deps.store.db.collection(STATEMENTS).stream():
        if follower_id and not snap.id.startswith(f"{follower_id}:"):
            continue
        rows.append(_view(deps, snap.id, snap.to_dict() or {}))
    rows.sort(key=lambda r: (str(r["month"]), str(r["follower_id"])), reverse=True)
    return {"statements": rows}


def get_statement(deps: Deps, call: Call) -> object:
    statement_id = call.param("statement_id")
    return _view(deps, statement_id, _statement(deps, statement_id))


def statement_file(deps: Deps, call: Call) -> object:
    statement_id, kind = call.param("statement_id"), call.param("kind")
    if kind not in KINDS:
        raise ApiError(400, f"kind must be one of {', '.join(KINDS)}, got {kind!r}", where="path")
    path = str(_statement(deps, statement_id).get(KINDS[kind]) or "")
    if not path or path.startswith("gs://"):
        raise ApiError(404, f"statement {statement_id!r} has no local {kind} file", where="path")
    root = Path(deps.settings.statements_dir).resolve()
    file = Path(path).resolve()
    if not file.is_relative_to(root):
        raise ApiError(403, f"statement {kind} file lies outside the statements folder", where="path")
    if not file.is_file():
        raise ApiError(404, f"statement {kind} file is missing on disk", where="path")
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return ApiResponse(200, content=file.read_bytes(), content_type=content_type,
                       headers={"Content-Disposition": f'inline; filename="{file.name}"'})


def _ask(deps: Deps, call: Call, resend: bool) -> object:
    """Ask the reports function for a statement again: regenerated (files rendered afresh from the month as it
    stands, the e-mail not sent twice) or resent (e-mailed again)."""
    statement_id = call.param("statement_id")
    follower_id, _, month = statement_id.partition(":")
    if not re.fullmatch(MONTH, month) or not follower_id:
        raise ApiError(400, f"a statement id is <follower_id>:<YYYY-MM>, got {statement_id!r}", where="path")
    if not deps.store.db.collection(MONTHLY_PNL).document(statement_id).get().exists:
        raise ApiError(404, f"no closed month {month} for follower {follower_id}: the monthly rollup has not run for "
                       "it, so there is no statement to make", where="path")
    if resend and not deps.store.db.collection(STATEMENTS).document(statement_id).get().exists:
        raise ApiError(409, f"statement {statement_id} was never made: regenerate it first", where="path")
    request = StatementRequest(follower_id=follower_id, month=month, resend=resend,
                               requested_by=call.principal.actor)
    message_id = deps.publisher.publish(STATEMENT_REQUESTS, request)
    action = "statement.resend" if resend else "statement.regenerate"
    deps.store.audit(action, actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     statement_id=statement_id, message_id=message_id)
    return {"requested": statement_id, "resend": resend, "message_id": message_id}


def regenerate_statement(deps: Deps, call: Call) -> object:
    return _ask(deps, call, resend=False)


def resend_statement(deps: Deps, call: Call) -> object:
    return _ask(deps, call, resend=True)


ROUTES = [
    Route("GET", "/statements", list_statements, "Monthly statements with download links (query: follower_id)"),
    Route("POST", "/statements/{statement_id}/regenerate", regenerate_statement, "Render the statement again from "
          "the month as it stands (the e-mail is not sent twice)", changes=True),
    Route("POST", "/statements/{statement_id}/resend", resend_statement, "E-mail the statement to the follower "
          "again", changes=True),
    Route("GET", "/statements/{statement_id}", get_statement, "One statement with its download links"),
    Route("GET", "/statements/{statement_id}/files/{kind}", statement_file, "The statement's pdf or xlsx file "
          "(local files only; production links are signed URLs)"),
]
