"""Foreign activity pauses the follower: once per follower and day, an operator action of the system.

``Engine.watch_foreign`` reports an order or execution in a follower's account that no intent explains
(``executor.foreign``). The first one of the day becomes ``operator_actions/foreign-{follower_id}-{date}``, written
create-if-absent before anything depends on it (a restart, or a second executor seeing the same order, finds it and
does not pause or alert again). Its one part pauses the follower's entries (``controls/{follower_id}``, persisted
like any kill switch); its end is answered with one CRITICAL ``follower.foreign_activity`` alert naming what was
found. The action and the paused follower are shown in the web app (Controls); an operator who has looked resumes the
follower's entries with ``resume``. Nothing is closed: the follower's own trade is theirs.
"""

from __future__ import annotations

import asyncio
import logging

from executor.foreign import Foreign
from executor.lifecycle.actions import ActionDesk
from executor.lifecycle.context import Context, sleep_or_stop
from spreadpilot.actions import ActionKind, ActionPart, OperatorAction
from spreadpilot.clock import new_york

log = logging.getLogger(__name__)
FOREIGN = "foreign-activity"
MAX_BACKOFF_STEPS = 10  # the wait between attempts grows to 10 × action_retry_s


class ForeignWatch:
    """Turns the first foreign order or execution of a follower's day into a paused follower and one alert."""

    def __init__(self, ctx: Context, actions: ActionDesk) -> None:
        self.ctx = ctx
        self.actions = actions
        self.known: set[str] = set()  # actions recorded in the store (by this process or an earlier one)
        self.tasks: set[asyncio.Task[None]] = set()

    def seen(self, found: Foreign) -> None:
        """Called by the engine on the event loop; the pause is recorded in the background."""
        key = f"foreign-{found.follower_id}-{new_york(self.ctx.clock.now()).date().isoformat()}"
        if key in self.known:
            return
        self.known.add(key)
        task = asyncio.get_running_loop().create_task(self._pause(key, found))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _pause(self, key: str, found: Foreign) -> None:
        now = self.ctx.clock.now()
        action = OperatorAction(action_id=key, kind=ActionKind.FOREIGN_ACTIVITY, scope=found.follower_id,
                                reason=f"foreign activity in {found.account} ({found.follower_id}): {found.what}",
                                requested_by=FOREIGN, source="system",
                                parts=(ActionPart(key=f"controls:{found.follower_id}", phase=0),),
                                created_at=now, updated_at=now)
        attempt = 0
        while not self.ctx.stop.is_set():  # the engine reports each finding once: this must not give up
            attempt += 1
            try:
                stored, new = await self.actions.begin(action)
            except Exception as exc:  # a Firestore error: nothing depends on it yet, so trying again is safe
                log.warning("foreign activity pause not recorded yet", exc_info=exc,
                            extra={"action_id": key, "attempt": attempt})
                await sleep_or_stop(self.ctx, self.ctx.settings.action_retry_s * min(attempt, MAX_BACKOFF_STEPS))
                continue
            if not stored.state.final:
                self.actions.run(stored)
            if new:
                log.warning("foreign activity: entries paused", extra={"follower_id": found.follower_id,
                                                                       "account": found.account, "what": found.what})
            return
