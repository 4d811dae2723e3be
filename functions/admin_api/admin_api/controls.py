"""Controls: operators' instructions to the executor, published to ``commands`` as ``CommandMessage`` (source web).

Flatten takes two steps: a request stores ``pending_confirmations/{code}`` and publishes ``flatten_request`` with the
code; only the same user, before the code expires, can confirm it, which publishes ``flatten_confirm``. The executor
persists kill switches in ``controls/global`` and ``controls/{follower_id}``; this module only reads those. Each
command is also recorded in ``commands/{command_id}`` (+ ``published_message_id``) and in the audit log.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from google.api_core.exceptions import AlreadyExists, FailedPrecondition
from pydantic import BaseModel, ConfigDict, Field

from admin_api.deps import Deps, Route
from admin_api.eventlog import note
from admin_api.http import ApiError, ApiResponse, Call, not_found
from spreadpilot.envelopes import CommandMessage
from spreadpilot.models import Command, CommandKind
from spreadpilot.store import CONTROLS

log = logging.getLogger("admin_api.controls")

PENDING = "pending_confirmations"
COMMANDS_TOPIC = "commands"


class ControlRequest(BaseModel):
    """Whom a control applies to: ``all`` (global) or one follower id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    scope: str = Field(default="all", pattern=r"^(all|[A-Za-z0-9][A-Za-z0-9_.:-]{0,127})$")
    reason: str = Field(default="", max_length=1000)


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(default="", max_length=1000)


class FlattenConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    confirm_code: str = Field(pattern=r"^[A-Z0-9]{4,12}$")


def publish_command(deps: Deps, call: Call, kind: CommandKind, scope: str, reason: str = "",
                    confirm_code: str | None = None) -> dict[str, object]:
    """Build, publish and audit one command; returns what the caller is told."""
    command = Command(command_id=f"web-{kind}-{deps.new_id()}", kind=kind, scope=scope,
                      issued_by=call.principal.actor, issued_at=call.now, source="web", reason=reason,
                      confirm_code=confirm_code)
    # Recorded first (as the Telegram bot does), so the console shows every command and whether it went out.
    deps.store.commands.create(command, published_message_id=None)
    message_id = deps.publisher.publish(COMMANDS_TOPIC, CommandMessage(command=command))
    deps.store.commands.ref(command.command_id).update({"published_message_id": message_id})
    deps.store.audit(f"command.{kind}", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     command_id=command.command_id, scope=scope, reason=reason, message_id=message_id)
    log.info("command published", extra={"command_id": command.command_id, "kind": str(kind), "scope": scope,
                                         "actor": call.principal.actor})
    note(deps, call, f"command.{kind}", f"{kind} {scope} sent by {call.principal.actor}" + (f": {reason}" if reason
         else ""), command_id=command.command_id, follower_id=None if scope == "all" else scope,
         context={"scope": scope, "message_id": message_id})
    return {"command_id": command.command_id, "kind": str(kind), "scope": scope, "message_id": message_id}


def _scope(deps: Deps, scope: str) -> str:
    if scope != "all" and deps.store.followers.get(scope) is None:
        raise ApiError(404, f"follower {scope!r} not found", where="body.scope")
    return scope


def _simple(kind: CommandKind) -> Any:
    def handler(deps: Deps, call: Call) -> object:
        body = call.body(ControlRequest)
        return ApiResponse(202, publish_command(deps, call, kind, _scope(deps, body.scope), body.reason))

    handler.__name__ = f"{kind}_command"
    return handler


def close_follower(deps: Deps, call: Call) -> object:
    follower_id = call.param("follower_id")
    if deps.store.followers.get(follower_id) is None:
        raise not_found("follower", follower_id)
    body = call.body(CloseRequest)
    return ApiResponse(202, publish_command(deps, call, CommandKind.CLOSE_FOLLOWER, follower_id, body.reason))


def request_flatten(deps: Deps, call: Call) -> object:
    body = call.body(ControlRequest)
    scope = _scope(deps, body.scope)
    expires_at = call.wall + timedelta(seconds=deps.settings.flatten_confirm_ttl_s)
    for _ in range(5):
        code = deps.new_code()
        try:
            deps.store.db.collection(PENDING).document(code).create({
                "scope": scope, "kind": "flatten", "requested_by": call.principal.actor,
                "requested_uid": call.principal.uid, "requested_at": call.wall.isoformat(),
                "expires_at": expires_at.isoformat(), "reason": body.reason,
            })
            break
        except AlreadyExists:
            continue
    else:
        raise ApiError(503, "could not allocate a confirmation code; try again")
    published = publish_command(deps, call, CommandKind.FLATTEN_REQUEST, scope, body.reason, confirm_code=code)
    deps.store.db.collection(PENDING).document(code).update({"command_id": published["command_id"]})
    return ApiResponse(202, {**published, "confirm_code": code, "expires_at": expires_at.isoformat()})


def confirm_flatten(deps: Deps, call: Call) -> object:
    code = call.body(FlattenConfirm).confirm_code
    ref = deps.store.db.collection(PENDING).document(code)
    snap = ref.get()
    if not snap.exists:
        raise ApiError(404, "unknown confirmation code", where="body.confirm_code")
    pending = snap.to_dict() or {}
    if pending.get("requested_uid") != call.principal.uid:
        raise ApiError(403, "only the admin who requested the flatten can confirm it", where="body.confirm_code")
    if pending.get("confirmed_at"):
        raise ApiError(409, "this flatten was already confirmed", where="body.confirm_code")
    if call.wall >= datetime.fromisoformat(str(pending["expires_at"])):
        raise ApiError(410, "the confirmation code has expired; request the flatten again",
                       where="body.confirm_code")
    try:
        # Only one confirmation wins even if two arrive together: the update is conditional on what we read.
        ref.update({"confirmed_at": call.wall.isoformat(), "confirmed_by": call.principal.actor},
                   option=deps.store.db.write_option(last_update_time=snap.update_time))
    except FailedPrecondition as exc:
        raise ApiError(409, "this flatten was confirmed concurrently", where="body.confirm_code") from exc
    scope = str(pending["scope"])
    return ApiResponse(202, publish_command(deps, call, CommandKind.FLATTEN_CONFIRM, scope,
                                            str(pending.get("reason", "")), confirm_code=code))


def get_controls(deps: Deps, call: Call) -> object:
    """Kill switches as the executor persisted them, and flattens waiting for confirmation."""
    db = deps.store.db
    switches = {snap.id: snap.to_dict() or {} for snap in db.collection(CONTROLS).stream()}
    pending = []
    for snap in db.collection(PENDING).stream():
        doc = snap.to_dict() or {}
        if not doc.get("confirmed_at") and call.wall < datetime.fromisoformat(str(doc["expires_at"])):
            pending.append({"scope": doc.get("scope"), "requested_by": doc.get("requested_by"),
                            "expires_at": doc.get("expires_at"),
                            "confirm_code": snap.id if doc.get("requested_uid") == call.principal.uid else None})
    return {"global": switches.pop("global", {}), "followers": switches, "pending_flatten": pending}


ROUTES = [
    Route("GET", "/controls", get_controls, "Kill switches (global and per follower) and pending flattens"),
    Route("POST", "/controls/pause", _simple(CommandKind.PAUSE), "Pause new entries (scope all or a follower)",
          changes=True, body="ControlRequest"),
    Route("POST", "/controls/resume", _simple(CommandKind.RESUME), "Resume new entries", changes=True,
          body="ControlRequest"),
    Route("POST", "/controls/reconcile", _simple(CommandKind.RECONCILE), "Reconcile with the broker now",
          changes=True, body="ControlRequest"),
    Route("POST", "/controls/flatten", request_flatten, "Request a flatten; returns the confirm_code",
          changes=True, body="ControlRequest"),
    Route("POST", "/controls/flatten/confirm", confirm_flatten, "Confirm a flatten with its code (same user, "
          "before expiry)", changes=True, body="FlattenConfirm"),
    Route("POST", "/followers/{follower_id}/close", close_follower, "Close one follower's positions",
          changes=True, body="CloseRequest"),
]
