"""Operators' commands from the ``commands`` topic: persisted, audited, idempotent by ``command_id``.

    pause / resume      entries, globally (scope ``all`` → ``controls/global``) or for one follower
                        (``controls/{follower_id}``): {entries_paused, updated_at, updated_by, reason, command_id},
                        the document the entry path reads before every entry, so a pause survives a restart
    flatten_request     stores the request's ``confirm_code`` as pending (``claims/flatten-code-{code}``); never
                        flattens by itself
    flatten_confirm     with the code of a pending, unexpired request of the same scope: pauses entries for the
                        scope and closes every position in it; a code flattens once, whatever is redelivered.
                        A confirm that overtook its request is nacked (``Retryable``) and looked at again on
                        redelivery, for up to ``CONFIRM_WAIT_S``; after that it is rejected
    close_follower      closes one follower's positions
    reconcile           reconciles the gateways (of one follower, or all) with the broker now

A command is claimed (``claims/command-{command_id}``) before it acts; a redelivery of a finished command changes
nothing. Each outcome is merged into ``commands/{command_id}`` {status, note, handled_at} and audited (who, when,
why, from where).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from executor.lifecycle.context import Context
from spreadpilot.errors import Retryable
from spreadpilot.models import Command, CommandKind, Follower

log = logging.getLogger(__name__)
GLOBAL = "global"
DONE, PENDING, REJECTED, DUPLICATE = "done", "pending_confirmation", "rejected", "duplicate"
# business seconds a confirm that overtook its request keeps being redelivered (the request is seconds behind at
# most; a code that never shows up is then rejected, and the operator asks again)
CONFIRM_WAIT_S = 60.0


class CommandDesk:
    """Executes commands."""

    def __init__(self, ctx: Context, flatten: Callable[[list[Follower], str], Awaitable[list[str]]]) -> None:
        self.ctx = ctx
        self.flatten = flatten  # closes the followers' positions; returns those whose gateway is not ready
        # one command at a time: a redelivery racing its original must see it finished, not half-done
        self.lock = asyncio.Lock()

    async def handle(self, command: Command) -> str:
        """Execute ``command`` once; its status (a redelivery of a finished command is ``duplicate``)."""
        async with self.lock:
            return await self._handle(command)

    async def _handle(self, command: Command) -> str:
        now = self.ctx.clock.now()
        key = f"command-{command.command_id}"
        first_seen = now
        if not await self.ctx.store.claim(key, kind=str(command.kind), scope=command.scope, at=now.isoformat()):
            previous = await self.ctx.store.claim_data(key) or {}
            if previous.get("status"):
                log.info("command already handled", extra={"command_id": command.command_id})
                return DUPLICATE
            # claimed by a process that died before finishing, or a confirm that came before its request:
            # every action below is safe to repeat
            first_seen = datetime.fromisoformat(str(previous.get("at") or now.isoformat()))
        status, note = await self._execute(command, now, first_seen)
        await self.ctx.store.update_claim(key, status=status, note=note)
        await self.ctx.store.record_command(command, status=status, note=note, handled_at=now.isoformat(),
                                            handled_by="executor")
        await self.ctx.store.audit(f"executor.command.{command.kind}", actor=command.issued_by,
                                   source=command.source, at=command.issued_at.isoformat(),
                                   command_id=command.command_id, scope=command.scope, reason=command.reason,
                                   status=status, note=note, handled_at=now.isoformat())
        log.info("command handled", extra={"command_id": command.command_id, "kind": str(command.kind),
                                           "scope": command.scope, "status": status, "note": note})
        return status

    async def _execute(self, command: Command, now: datetime, first_seen: datetime) -> tuple[str, str]:
        kind = command.kind
        if kind in (CommandKind.PAUSE, CommandKind.RESUME):
            paused = kind is CommandKind.PAUSE
            doc = GLOBAL if command.scope == "all" else command.scope
            await self.ctx.store.set_controls(doc, entries_paused=paused, at=now, updated_by=command.issued_by,
                                              reason=command.reason, command_id=command.command_id)
            return DONE, f"entries {'paused' if paused else 'resumed'} ({doc})"
        if kind is CommandKind.FLATTEN_REQUEST:
            return await self._request(command, now)
        if kind is CommandKind.FLATTEN_CONFIRM:
            return await self._confirm(command, now, first_seen)
        if kind is CommandKind.CLOSE_FOLLOWER:
            followers = await self._scope(command.scope)
            if command.scope == "all" or not followers:
                return REJECTED, f"close_follower needs one known follower, got {command.scope!r}"
            unreachable = await self.flatten(followers, f"close_follower by {command.issued_by}")
            return DONE, _closing_note(followers, unreachable)
        return await self._reconcile(command)

    async def _request(self, command: Command, now: datetime) -> tuple[str, str]:
        code = command.confirm_code
        if code is None:
            return REJECTED, "flatten_request without a confirm_code"
        expires = now + timedelta(seconds=self.ctx.settings.flatten_confirm_ttl_s)
        fresh = await self.ctx.store.claim(f"flatten-code-{code}", scope=command.scope,
                                           command_id=command.command_id, requested_by=command.issued_by,
                                           requested_at=now.isoformat(), expires_at=expires.isoformat())
        if not fresh:
            return REJECTED, f"confirm code {code} is already in use"
        return PENDING, f"waiting for flatten_confirm with code {code} until {expires.isoformat()}"

    async def _confirm(self, command: Command, now: datetime, first_seen: datetime) -> tuple[str, str]:
        code = command.confirm_code
        pending = await self.ctx.store.claim_data(f"flatten-code-{code}") if code else None
        if code is not None and pending is None \
                and (now - first_seen).total_seconds() < CONFIRM_WAIT_S:
            # Pub/Sub does not keep order: the request may still be on its way; a redelivery looks again
            raise Retryable(f"no flatten_request with code {code} yet")
        if code is None or pending is None:
            return REJECTED, "no pending flatten_request carries this confirm code"
        if pending.get("scope") != command.scope:
            return REJECTED, f"the code was issued for scope {pending.get('scope')!r}, not {command.scope!r}"
        if now >= datetime.fromisoformat(str(pending["expires_at"])):
            return REJECTED, "the confirm code expired; request the flatten again"
        if not await self.ctx.store.claim(f"flatten-done-{code}", command_id=command.command_id,
                                          confirmed_by=command.issued_by, at=now.isoformat()):
            return DUPLICATE, f"the flatten of code {code} was already executed"
        doc = GLOBAL if command.scope == "all" else command.scope
        reason = f"flatten by {command.issued_by}: {command.reason}".rstrip(": ")
        await self.ctx.store.set_controls(doc, entries_paused=True, at=now, updated_by=command.issued_by,
                                          reason=reason, command_id=command.command_id)
        followers = await self._scope(command.scope)
        unreachable = await self.flatten(followers, reason)
        await self.ctx.store.update_claim(f"flatten-code-{code}", confirmed_by=command.issued_by,
                                          confirmed_at=now.isoformat(), confirm_command_id=command.command_id)
        return DONE, "entries paused; " + _closing_note(followers, unreachable)

    async def _reconcile(self, command: Command) -> tuple[str, str]:
        gateways = {f.gateway_id for f in await self._scope(command.scope)} if command.scope != "all" \
            else set(self.ctx.links)
        for gateway_id in sorted(gateways):
            link = self.ctx.links.get(gateway_id)
            if link is not None:
                await link.resync(f"operator command {command.command_id}")
        return DONE, f"reconciled {len(gateways)} gateway(s)"

    async def _scope(self, scope: str) -> list[Follower]:
        followers = await self.ctx.store.followers()
        return followers if scope == "all" else [f for f in followers if f.id == scope]


def _closing_note(followers: list[Follower], unreachable: list[str]) -> str:
    note = f"closing positions of {len(followers) - len(unreachable)} follower(s)"
    return note + (f"; gateway not ready for {', '.join(unreachable)}" if unreachable else "")
