"""Dangerous actions confirmed the same way as a flatten: closing one follower's positions, pausing everyone, and
entering the day's signal by hand (``admin_api.manual_signal``).

The request stores a server-issued code in ``pending_confirmations/{code}`` (``spreadpilot.confirmations``, the one
schema the admin API, the bot and the executor share; ``kind`` names the action) and answers the code to the
requester only; nothing is published yet. ``POST /actions/confirm`` with the code, by the same user before it
expires, spends it once (a conditional write: two confirmations never both win) and only then publishes the command
(or, for a manual signal, claims the day and publishes the signal).
Both steps are audited and recorded in the events stream. Flatten keeps its own two routes (``controls``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from admin_api.deps import Deps, Route
from admin_api.eventlog import note
from admin_api.http import ApiError, ApiResponse, Call
from spreadpilot import confirmations
from spreadpilot.confirmations import CODE_PATTERN, PendingConfirmation, Verdict
from spreadpilot.models import CommandKind

CLOSE_FOLLOWER = "close_follower"
PAUSE_ALL = "pause_all"
COMMAND_OF = {CLOSE_FOLLOWER: CommandKind.CLOSE_FOLLOWER, PAUSE_ALL: CommandKind.PAUSE}
CONFIRM_PATH = "/actions/confirm"
_REFUSALS = {
    Verdict.UNKNOWN: (404, "unknown confirmation code"),
    Verdict.OTHER_REQUESTER: (403, "only the admin who asked for this action can confirm it"),
    Verdict.CONFIRMED: (409, "this action was already confirmed"),
    Verdict.EXPIRED: (410, "the confirmation code has expired; ask for the action again"),
}


class ActionConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    confirm_code: str = Field(pattern=CODE_PATTERN)


def request(deps: Deps, call: Call, kind: str, scope: str, reason: str, *, details: dict[str, str] | None = None,
            answer: dict[str, object] | None = None) -> ApiResponse:
    """Issue a code for ``kind`` on ``scope`` (``details``: what else the action needs); the action waits for
    ``confirm``. ``answer`` is added to what the requester is told."""
    expires_at = call.wall + timedelta(seconds=deps.settings.flatten_confirm_ttl_s)
    for _ in range(5):
        pending = PendingConfirmation(code=deps.new_code(), kind=kind, scope=scope, requested_by=call.principal.actor,
                                      requested_uid=call.principal.uid, source="web", requested_at=call.wall,
                                      expires_at=expires_at, reason=reason, details=details or {})
        if confirmations.issue(deps.store.db, pending):
            break
    else:
        raise ApiError(503, "could not allocate a confirmation code; try again")
    deps.store.audit(f"confirmation.{kind}.requested", actor=call.principal.actor, source="web",
                     at=call.now.isoformat(), scope=scope, reason=reason, expires_at=expires_at.isoformat())
    note(deps, call, "confirmation.requested", f"{kind} {scope} asked for; waiting for its code",
         follower_id=None if scope == "all" else scope, context={"kind": kind, "scope": scope})
    return ApiResponse(202, {"kind": kind, "scope": scope, "confirm_code": pending.code,
                             "expires_at": expires_at.isoformat(), "confirm_path": CONFIRM_PATH, **(answer or {})})


def confirm(deps: Deps, call: Call) -> object:
    """Spend the caller's code and carry out the action it stands for."""
    from admin_api import manual_signal  # both import this module
    from admin_api.controls import publish_command  # the one publisher of commands

    def command(pending: PendingConfirmation, command_id: str) -> ApiResponse:
        published = publish_command(deps, call, COMMAND_OF[pending.kind], pending.scope, pending.reason,
                                    command_id=command_id)
        return ApiResponse(202, {**published, "confirmed": pending.kind})

    actions: dict[str, Callable[[PendingConfirmation, str], ApiResponse]] = {
        **dict.fromkeys(COMMAND_OF, command),
        manual_signal.MANUAL_SIGNAL: lambda pending, _: manual_signal.enter(deps, call, pending),
    }
    code = call.body(ActionConfirm).confirm_code
    try:
        pending = confirmations.read(deps.store.db, code)
    except confirmations.MalformedConfirmation as exc:
        raise ApiError(409, f"confirmation {code} cannot be read: {exc}"[:300], where="body.confirm_code") from exc
    found = verdict_of(pending, call)
    if found is not Verdict.OK:
        status, message = _REFUSALS[found]
        raise ApiError(status, message, where="body.confirm_code")
    assert pending is not None  # a verdict of OK has a pending confirmation
    if pending.kind not in actions:
        raise ApiError(409, f"a {pending.kind} is confirmed at its own route (/controls/flatten/confirm)",
                       where="body.confirm_code")
    command_id = f"web-{COMMAND_OF.get(pending.kind, pending.kind)}-{deps.new_id()}"
    if not confirmations.spend(deps.store.db, code, command_id=command_id, by=call.principal.actor, at=call.wall):
        raise ApiError(409, "this action was confirmed concurrently", where="body.confirm_code")
    # the code is spent from here, whatever the action meets: the audit says so before the action runs
    deps.store.audit(f"confirmation.{pending.kind}.confirmed", actor=call.principal.actor, source="web",
                     at=call.now.isoformat(), scope=pending.scope, command_id=command_id)
    return actions[pending.kind](pending, command_id)


def verdict_of(pending: PendingConfirmation | None, call: Call) -> Verdict:
    return confirmations.verdict(pending, actor=call.principal.actor, uid=call.principal.uid, now=call.wall)


ROUTES = [
    Route("POST", CONFIRM_PATH, confirm, "Confirm a close of one follower, a pause of everyone or a signal entered "
          "by hand with its code (same user, before expiry)", changes=True, body="ActionConfirm"),
]
