"""Controls: operators' instructions to the executor, published to ``commands`` as ``CommandMessage`` (source web).

Flatten takes two steps: a request stores ``pending_confirmations/{code}`` (``spreadpilot.confirmations``, the schema
the bot and the executor read too) and publishes ``flatten_request`` with the code; only the same user, before the
code expires, can confirm it, spending it once whichever front end it is typed into, which publishes
``flatten_confirm``. The executor
persists kill switches in ``controls/global`` and ``controls/{follower_id}``; this module only reads those. Each
command is also recorded in ``commands/{command_id}`` (+ ``published_message_id``) and in the audit log.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from admin_api import dangerous
from admin_api.deps import Deps, Route
from admin_api.eventlog import note
from admin_api.http import ApiError, ApiResponse, Call, not_found
from spreadpilot import confirmations
from spreadpilot.actions import OPERATOR_ACTIONS
from spreadpilot.confirmations import PENDING_CONFIRMATIONS, PendingConfirmation, Verdict
from spreadpilot.envelopes import CommandMessage
from spreadpilot.models import Command, CommandKind
from spreadpilot.store import COMMANDS, CONTROLS

log = logging.getLogger("admin_api.controls")

PENDING = PENDING_CONFIRMATIONS
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
                    confirm_code: str | None = None, command_id: str | None = None) -> dict[str, object]:
    """Build, publish and audit one command; returns what the caller is told."""
    command = Command(command_id=command_id or f"web-{kind}-{deps.new_id()}", kind=kind, scope=scope,
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
        if kind is CommandKind.PAUSE and body.scope == "all":  # pausing everyone is confirmed with a code
            return dangerous.request(deps, call, dangerous.PAUSE_ALL, "all", body.reason)
        return ApiResponse(202, publish_command(deps, call, kind, _scope(deps, body.scope), body.reason))

    handler.__name__ = f"{kind}_command"
    return handler


def close_follower(deps: Deps, call: Call) -> object:
    follower_id = call.param("follower_id")
    if deps.store.followers.get(follower_id) is None:
        raise not_found("follower", follower_id)
    body = call.body(CloseRequest)
    return dangerous.request(deps, call, dangerous.CLOSE_FOLLOWER, follower_id, body.reason)


def request_flatten(deps: Deps, call: Call) -> object:
    body = call.body(ControlRequest)
    scope = _scope(deps, body.scope)
    expires_at = call.wall + timedelta(seconds=deps.settings.flatten_confirm_ttl_s)
    for _ in range(5):
        pending = PendingConfirmation(code=deps.new_code(), kind="flatten", scope=scope,
                                      requested_by=call.principal.actor, requested_uid=call.principal.uid,
                                      source="web", requested_at=call.wall, expires_at=expires_at, reason=body.reason)
        if confirmations.issue(deps.store.db, pending):
            break
    else:
        raise ApiError(503, "could not allocate a confirmation code; try again")
    code = pending.code
    published = publish_command(deps, call, CommandKind.FLATTEN_REQUEST, scope, body.reason, confirm_code=code)
    confirmations.attach_command(deps.store.db, code, str(published["command_id"]))
    return ApiResponse(202, {**published, "confirm_code": code, "expires_at": expires_at.isoformat()})


_FLATTEN_REFUSALS = {
    Verdict.UNKNOWN: (404, "unknown confirmation code"),
    Verdict.OTHER_REQUESTER: (403, "only the admin who requested the flatten can confirm it"),
    Verdict.CONFIRMED: (409, "this flatten was already confirmed"),
    Verdict.EXPIRED: (410, "the confirmation code has expired; request the flatten again"),
}


def confirm_flatten(deps: Deps, call: Call) -> object:
    code = call.body(FlattenConfirm).confirm_code
    try:
        pending = confirmations.read(deps.store.db, code)
    except confirmations.MalformedConfirmation as exc:
        raise ApiError(409, f"confirmation {code} cannot be read: {exc}"[:300], where="body.confirm_code") from exc
    found = confirmations.verdict(pending, actor=call.principal.actor, uid=call.principal.uid, now=call.wall)
    if found is not Verdict.OK:
        status, message = _FLATTEN_REFUSALS[found]
        raise ApiError(status, message, where="body.confirm_code")
    assert pending is not None  # a verdict of OK has a pending confirmation
    if pending.kind != "flatten":
        raise ApiError(409, f"code {code} confirms a {pending.kind}, not a flatten", where="body.confirm_code")
    command_id = f"web-{CommandKind.FLATTEN_CONFIRM}-{deps.new_id()}"
    # Only one confirmation wins, here or on Telegram, even if two arrive together (a conditional write).
    if not confirmations.spend(deps.store.db, code, command_id=command_id, by=call.principal.actor, at=call.wall):
        raise ApiError(409, "this flatten was confirmed concurrently", where="body.confirm_code")
    return ApiResponse(202, publish_command(deps, call, CommandKind.FLATTEN_CONFIRM, pending.scope, pending.reason,
                                            confirm_code=code, command_id=command_id))


def get_controls(deps: Deps, call: Call) -> object:
    """Kill switches as the executor persisted them, and flattens waiting for confirmation."""
    db = deps.store.db
    switches = {snap.id: snap.to_dict() or {} for snap in db.collection(CONTROLS).stream()}
    pending = []
    for snap in db.collection(PENDING).stream():
        try:
            doc = confirmations.from_doc(snap.id, snap.to_dict() or {})
        except confirmations.MalformedConfirmation as exc:
            log.warning("malformed pending confirmation skipped", extra={"error": str(exc)})
            continue
        if doc.kind == "flatten" and doc.confirmed_at is None and call.wall < doc.expires_at:
            pending.append({"scope": doc.scope, "requested_by": doc.requested_by,
                            "expires_at": doc.expires_at.isoformat(),
                            "confirm_code": doc.code if doc.requested_uid == call.principal.uid else None})
    return {"global": switches.pop("global", {}), "followers": switches, "pending_flatten": pending}


def get_command(deps: Deps, call: Call) -> object:
    """One operator command as it was recorded, with the executor's answer (status ``in_progress``, then ``done``,
    ``partly_done`` or ``failed`` and a note naming what is left) and its action's progress part by part."""
    command_id = call.param("command_id")
    db = deps.store.db
    snap = db.collection(COMMANDS).document(command_id).get()
    if not snap.exists:
        raise not_found("command", command_id)
    command = snap.to_dict() or {}
    action_id = command.get("action_id")
    action = db.collection(OPERATOR_ACTIONS).document(str(action_id)).get() if action_id else None
    return {"command": {"id": command_id, **command},
            "action": (action.to_dict() or {}) if action is not None and action.exists else None}


ROUTES = [
    Route("GET", "/controls", get_controls, "Kill switches (global and per follower) and pending flattens"),
    Route("GET", "/commands/{command_id}", get_command, "One command, the executor's answer to it (done, partly "
          "done, failed) and its action's progress per follower"),
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
    Route("POST", "/followers/{follower_id}/close", close_follower, "Ask to close one follower's positions; "
          "returns the confirm_code for /actions/confirm", changes=True, body="CloseRequest"),
]
