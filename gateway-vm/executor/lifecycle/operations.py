"""What each part of an operator action does (the ``PartWork`` of ``ActionDesk``), by the part's key:

    controls:{global|follower_id}   write the kill switch (paused for pause/flatten/breaker, cleared for resume)
    flatten:{follower_id}           make the follower's account flat (``Flattener``)
    reconcile:{gateway_id}          reconcile the gateway with the broker now and wait until it is ready again

A part that can never succeed (its follower is gone, its gateway is not driven by this executor) raises
``Impossible``: it fails at once instead of being retried.
"""

from __future__ import annotations

import asyncio
import logging

from executor.broker import BrokerDisconnected
from executor.lifecycle.actions import Impossible
from executor.lifecycle.context import Context, SharedRead
from executor.lifecycle.flatten import Flattener
from spreadpilot.actions import ActionKind, ActionPart, OperatorAction
from spreadpilot.models import Follower

log = logging.getLogger(__name__)
RECONCILE_WAIT_S = 30.0  # real seconds a reconciliation may take before the part is tried again
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
