"""Operators' commands from the ``commands`` topic: checked, turned into operator actions, audited, answered.

    pause / resume      entries, globally (scope ``all`` → ``controls/global``) or for one follower
                        (``controls/{follower_id}``): {entries_paused, updated_at, updated_by, reason, command_id},
                        the document the entry path reads before every entry, so a pause survives a restart
    flatten_request     stores the request's ``confirm_code`` as pending (``claims/flatten-code-{code}``, with the
                        executor's own deadline); never flattens by itself
    flatten_confirm     with the code of a pending, unexpired request of the same scope (and, when a front end
                        issued it, the scope of ``pending_confirmations/{code}``): pauses entries for the scope,
                        then makes every follower in it flat; a code flattens once (action ``flatten-{code}``),
                        whatever is redelivered or confirmed again. A confirm that overtook its request is nacked
                        (``Retryable``) and looked at again on redelivery, for up to ``CONFIRM_WAIT_S``, or
                        while the code a front end issued is valid (a request held up by a failing executor)
    close_follower      makes one follower flat (action ``cmd-{command_id}``)
    reconcile           reconciles the gateways (of one follower, or all) with the broker now

A scope naming no follower is refused for every kind. Every action is persisted before it acts and driven to its end
by ``executor.lifecycle.actions`` (which answers the requester); the command's message is acked once its action has
ended, so a crash mid-way leaves both the action (resumed at start-up) and the message (redelivered: it joins the
action) behind. A command is claimed (``claims/command-{command_id}``) when first seen; an outcome without an action
(rejected, pending) is merged into ``commands/{command_id}`` {status, note, handled_at} and audited with it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from executor.lifecycle.actions import ActionDesk
from executor.lifecycle.context import Context, note_event
from spreadpilot.actions import ActionKind, ActionPart, OperatorAction
from spreadpilot.errors import Retryable
from spreadpilot.models import Command, CommandKind, Follower, Severity

log = logging.getLogger(__name__)
GLOBAL = "global"
PENDING, REJECTED, DUPLICATE, IN_PROGRESS = "pending_confirmation", "rejected", "duplicate", "in_progress"
# business seconds a confirm that overtook its request keeps being redelivered (the request is seconds behind at
# most; a code that never shows up is then rejected, and the operator asks again)
CONFIRM_WAIT_S = 60.0
SIMPLE = {CommandKind.PAUSE: ActionKind.PAUSE, CommandKind.RESUME: ActionKind.RESUME,
          CommandKind.CLOSE_FOLLOWER: ActionKind.CLOSE_FOLLOWER, CommandKind.RECONCILE: ActionKind.RECONCILE}


class CommandDesk:
    """Checks commands and starts their actions."""

    def __init__(self, ctx: Context, actions: ActionDesk) -> None:
        self.ctx = ctx
        self.actions = actions
        # one command decided at a time: a redelivery racing its original must see its claim and its action
        self.lock = asyncio.Lock()

    async def handle(self, command: Command) -> str:
        """Handle ``command`` once; its status (the action's end state once it has ended; a redelivery of a
        decided command is ``duplicate``)."""
        async with self.lock:
            status, action = await self._decide(command)
        if action is None:
            return status
        final = await self.actions.run(action)
        return str(final.state)

    async def _decide(self, command: Command) -> tuple[str, OperatorAction | None]:
        now = self.ctx.clock.now()
        key = f"command-{command.command_id}"
        first_seen = now
        if not await self.ctx.store.claim(key, kind=str(command.kind), scope=command.scope, at=now.isoformat()):
            previous = await self.ctx.store.claim_data(key) or {}
            if previous.get("status"):
                log.info("command already handled", extra={"command_id": command.command_id})
                return DUPLICATE, None
            # seen before and not decided (a confirm that came before its request), or decided into an action that
            # is running or was cut short: deciding again joins or resumes that action
            first_seen = datetime.fromisoformat(str(previous.get("at") or now.isoformat()))
        status, note, action = await self._execute(command, now, first_seen)
        if action is not None:
            stored, new = await self.actions.begin(action)
            if stored.command_id == command.command_id:
                if stored.state.final:
                    log.info("command's action ended before", extra={"command_id": command.command_id})
                    return DUPLICATE, None
                joined = stored.action_id in self.actions.running
                self.actions.run(stored)  # runs even if recording the command below fails (then a redelivery joins)
                if new or not joined:
                    await self._record(command, IN_PROGRESS, note, now, action_id=stored.action_id)
                return IN_PROGRESS, stored
            status = DUPLICATE
            note = (f"action {stored.action_id} of command {stored.command_id} "
                    + (f"already ended: {stored.note}" if stored.state.final else "is in progress"))
        await self.ctx.store.update_claim(key, status=status, note=note)
        await self._record(command, status, note, now)
        return status, None

    async def _record(self, command: Command, status: str, note: str, now: datetime, **extra: object) -> None:
        await self.ctx.store.record_command(command, status=status, note=note, handled_at=now.isoformat(),
                                            handled_by="executor", **extra)
        await self.ctx.store.audit(f"executor.command.{command.kind}", actor=command.issued_by,
                                   source=command.source, at=command.issued_at.isoformat(),
                                   command_id=command.command_id, scope=command.scope, reason=command.reason,
                                   status=status, note=note, handled_at=now.isoformat(), **extra)
        log.info("command handled", extra={"command_id": command.command_id, "kind": str(command.kind),
                                           "scope": command.scope, "status": status, "note": note})
        await note_event(self.ctx, "command.outcome", f"{command.kind} {command.scope}: {status}: {note}",
                         severity=Severity.WARNING if status == REJECTED else Severity.INFO,
                         key=f"{command.command_id}|{status}", command_id=command.command_id,
                         follower_id=None if command.scope == "all" else command.scope,
                         context={"kind": str(command.kind), "status": status})

    async def _execute(self, command: Command, now: datetime,
                       first_seen: datetime) -> tuple[str, str, OperatorAction | None]:
        followers = await self._scope(command.scope)
        if command.scope != "all" and not followers:
            return REJECTED, f"unknown follower {command.scope!r}: no follower has this id", None
        kind = command.kind
        if kind is CommandKind.FLATTEN_REQUEST:
            status, note = await self._request(command, now)
            return status, note, None
        if kind is CommandKind.FLATTEN_CONFIRM:
            return await self._confirm(command, now, first_seen, followers)
        if kind is CommandKind.CLOSE_FOLLOWER and command.scope == "all":
            return REJECTED, "close_follower needs one follower, not 'all' (flatten closes everyone)", None
        action_kind = SIMPLE[kind]
        if action_kind in (ActionKind.PAUSE, ActionKind.RESUME):
            parts = [ActionPart(key=f"controls:{_controls_doc(command.scope)}")]
        elif action_kind is ActionKind.CLOSE_FOLLOWER:
            parts = [ActionPart(key=f"flatten:{followers[0].id}")]
        else:
            gateways = sorted(self.ctx.links) if command.scope == "all" else sorted({f.gateway_id for f in followers})
            parts = [ActionPart(key=f"reconcile:{g}") for g in gateways]
        action = self._action(f"cmd-{command.command_id}", action_kind, command, now, parts, command.reason)
        return IN_PROGRESS, f"{kind} {command.scope}: in progress", action

    async def _request(self, command: Command, now: datetime) -> tuple[str, str]:
        code = command.confirm_code
        if code is None:
            return REJECTED, "flatten_request without a confirm_code"
        expires = now + timedelta(seconds=self.ctx.settings.flatten_confirm_ttl_s)
        fresh = await self.ctx.store.claim(f"flatten-code-{code}", scope=command.scope,
                                           command_id=command.command_id, requested_by=command.issued_by,
                                           requested_at=now.isoformat(), expires_at=expires.isoformat())
        if not fresh:
            earlier = await self.ctx.store.claim_data(f"flatten-code-{code}") or {}
            if earlier.get("command_id") != command.command_id:
                return REJECTED, f"confirm code {code} is already in use"
            expires = datetime.fromisoformat(str(earlier["expires_at"]))
        return PENDING, f"waiting for flatten_confirm with code {code} until {expires.isoformat()}"

    async def _confirm(self, command: Command, now: datetime, first_seen: datetime,
                       followers: list[Follower]) -> tuple[str, str, OperatorAction | None]:
        code = command.confirm_code
        pending = await self.ctx.store.claim_data(f"flatten-code-{code}") if code else None
        issued = await self.ctx.store.confirmation(code) if code else None
        if code is not None and pending is None and (
                (now - first_seen).total_seconds() < CONFIRM_WAIT_S
                or (issued is not None and issued.scope == command.scope and now < issued.expires_at)):
            # Pub/Sub does not keep order, and a request can be held up (redelivered after an executor failed it):
            # it may still be on its way, for as long as the code the app issued is valid; a redelivery looks again
            raise Retryable(f"no flatten_request with code {code} yet")
        if code is None or pending is None:
            return REJECTED, "no pending flatten_request carries this confirm code", None
        if pending.get("scope") != command.scope:
            return REJECTED, f"the code was issued for scope {pending.get('scope')!r}, not {command.scope!r}", None
        if now >= datetime.fromisoformat(str(pending["expires_at"])):
            return REJECTED, "the confirm code expired; request the flatten again", None
        if issued is not None and issued.scope != command.scope:
            return REJECTED, f"the code was issued for scope {issued.scope!r}, not {command.scope!r}", None
        reason = f"flatten by {command.issued_by}: {command.reason}".rstrip(": ")
        parts = [ActionPart(key=f"controls:{_controls_doc(command.scope)}", phase=0),
                 *[ActionPart(key=f"flatten:{f.id}", phase=1) for f in followers]]
        action = self._action(f"flatten-{code}", ActionKind.FLATTEN, command, now, parts, reason)
        return IN_PROGRESS, f"flatten {command.scope} of {len(followers)} follower(s): in progress", action

    def _action(self, action_id: str, kind: ActionKind, command: Command, now: datetime, parts: list[ActionPart],
                reason: str) -> OperatorAction:
        return OperatorAction(action_id=action_id, kind=kind, scope=command.scope, reason=reason,
                              requested_by=command.issued_by, source=command.source, command_id=command.command_id,
                              parts=tuple(parts), created_at=now, updated_at=now)

    async def _scope(self, scope: str) -> list[Follower]:
        followers = await self.ctx.store.followers()
        return followers if scope == "all" else [f for f in followers if f.id == scope]


def _controls_doc(scope: str) -> str:
    return GLOBAL if scope == "all" else scope
