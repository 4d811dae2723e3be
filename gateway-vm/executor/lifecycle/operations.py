"""What each part of an operator action does (the ``PartWork`` of ``ActionDesk``), by the part's key:

    controls:{global|follower_id}   write the kill switch (paused for pause/flatten/breaker, cleared for resume)
    flatten:{follower_id}           make the follower's account flat (``Flattener``)
    reconcile:{gateway_id}          reconcile the gateway with the broker now and wait until it is ready again

A part that can never succeed (its follower is gone, its gateway is unknown here) raises ``Impossible``: it fails at
once instead of being retried. A flatten or reconcile part on a gateway another executor holds is handed to that one
as a sub-action (``{action_id}:{subject}``) and waited for; a sub-action is only ever done by the gateway's holder.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from executor.broker import BrokerDisconnected
from executor.lifecycle.actions import Impossible
from executor.lifecycle.context import Context, SharedRead, sleep_or_stop
from executor.lifecycle.flatten import Flattener
from spreadpilot.actions import ActionKind, ActionPart, ActionState, OperatorAction
from spreadpilot.models import Follower

log = logging.getLogger(__name__)
RECONCILE_WAIT_S = 30.0  # real seconds a reconciliation may take before the part is tried again
HANDED_WAIT_S = 150.0  # business seconds a part handed to another executor is waited for before an attempt counts
#                        (the holder looks for handed parts every monitor_s, 60 s by default)
HANDED_POLL_S = 1.0  # business seconds between two looks at a handed part
FOLLOWERS_TTL_S = 30.0  # business seconds the follower list is reused by the parts of the actions running


class Operations:
    """Does the parts of operator actions."""

    def __init__(self, ctx: Context, flattener: Flattener) -> None:
        self.ctx = ctx
        self.flattener = flattener
        self._followers = SharedRead(ctx.clock, FOLLOWERS_TTL_S, self._read_followers)

    async def perform(self, action: OperatorAction, part: ActionPart) -> str:
        """Do ``part`` of ``action``; its note. Raises to be retried (``Impossible``: never)."""
        kind, _, subject = part.key.partition(":")
        gateway_id = await self.gateway_of(part)
        if gateway_id is not None and gateway_id in self.ctx.links and not self.ctx.owns(gateway_id):
            if action.parent is not None:
                raise BrokerDisconnected(f"gateway {gateway_id} is held by another executor")
            return await self._hand_over(action, part, gateway_id)
        if kind == "controls":
            paused = action.kind is not ActionKind.RESUME
            await self.ctx.store.set_controls(subject, entries_paused=paused, at=self.ctx.clock.now(),
                                              updated_by=action.requested_by, reason=action.reason,
                                              command_id=action.command_id or action.action_id)
            return f"entries {'paused' if paused else 'resumed'}"
        if kind == "flatten":
            follower = await self.follower(subject)
            if follower is None:
                raise Impossible(f"unknown follower {subject!r}")
            return await self.flattener.flatten(follower, action.reason or f"{action.kind} {action.action_id}",
                                                action.action_id)
        if kind == "reconcile":
            return await self._reconcile(subject, action.action_id)
        raise Impossible(f"no such part {part.key!r}")

    async def gateway_of(self, part: ActionPart) -> str | None:
        """The gateway the part is sent on (None for a kill switch, or a follower that is gone)."""
        kind, _, subject = part.key.partition(":")
        if kind == "reconcile":
            return subject
        if kind == "flatten":
            follower = await self.follower(subject)
            return follower.gateway_id if follower is not None else None
        return None

    async def here(self, action: OperatorAction) -> bool:
        """This process holds the gateway of every part of ``action``."""
        for part in action.parts:
            gateway_id = await self.gateway_of(part)
            if gateway_id is not None and not self.ctx.owns(gateway_id):
                return False
        return True

    async def _hand_over(self, action: OperatorAction, part: ActionPart, gateway_id: str) -> str:
        """Hand ``part`` to the executor holding ``gateway_id`` and wait for its end; its note (raises if it
        failed, or is not done yet after ``HANDED_WAIT_S``: the part's next attempt waits again)."""
        now = self.ctx.clock.now()
        sub_id = f"{action.action_id}:{part.subject}"
        if len(sub_id) > 128:
            sub_id = f"{action.action_id[:100]}:{hashlib.sha256(part.key.encode()).hexdigest()[:20]}"
        handed = OperatorAction(action_id=sub_id, kind=action.kind, scope=part.subject, reason=action.reason,
                                requested_by=action.requested_by, source=action.source, parent=action.action_id,
                                parts=(ActionPart(key=part.key, phase=part.phase),), created_at=now, updated_at=now)
        if await self.ctx.store.create_action(handed):
            log.info("part handed to the executor holding its gateway",
                     extra={"action_id": sub_id, "gateway_id": gateway_id})
        deadline = now.timestamp() + HANDED_WAIT_S
        while not self.ctx.stop.is_set():
            stored = await self.ctx.store.get_action(sub_id)
            if stored is not None and stored.state.final:
                done = stored.parts[0]
                if stored.state is ActionState.DONE:
                    return done.note or "done"
                raise Impossible(f"{done.note or stored.note} (by the executor holding {gateway_id})")
            if self.ctx.clock.now().timestamp() >= deadline:
                break
            await sleep_or_stop(self.ctx, HANDED_POLL_S)
        raise BrokerDisconnected(f"not done yet by the executor holding gateway {gateway_id}")

    async def follower(self, follower_id: str) -> Follower | None:
        """The follower document (one read of the list shared by the parts running, again for an id not in it)."""
        found = (await self._followers.get()).get(follower_id)
        return found if found is not None else (await self._followers.get(fresh=True)).get(follower_id)

    async def _read_followers(self) -> dict[str, Follower]:
        return {f.id: f for f in await self.ctx.store.followers()}

    async def _reconcile(self, gateway_id: str, why: str) -> str:
        link = self.ctx.links.get(gateway_id)
        if link is None:
            raise Impossible(f"gateway {gateway_id} is not driven by this executor")
        await link.resync(f"operator action {why}")
        try:
            await asyncio.wait_for(link.ready.wait(), RECONCILE_WAIT_S)
        except TimeoutError as exc:
            raise BrokerDisconnected(f"gateway {gateway_id} not reconciled yet") from exc
        return "reconciled"
