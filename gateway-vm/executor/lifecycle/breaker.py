"""The daily-loss breaker: a follower whose broker P&L today is at or below minus its ``daily_loss_limit``.

A trip is an operator action of the system (``operator_actions/breaker-{follower_id}-{date}``), written before
anything that depends on it: once per follower and day, a restart does not trip it again, and a trip cut short (a
Firestore error, a restart) is finished by the next pass or the next process even if the loss has recovered
meanwhile. Its parts: entries stop (``controls/{follower_id}.entries_paused``, persisted like any kill switch), then,
with ``breaker_flatten``, the follower's positions are closed. Its end is answered with one CRITICAL
``risk.daily_loss_breaker`` alert that says what was done. A limit of 0 disables the breaker for that follower.
Resuming entries is an operator's ``resume`` command.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from executor.lifecycle.actions import ActionDesk
from executor.lifecycle.context import Context
from executor.lifecycle.ports import AccountPnL
from spreadpilot.actions import ActionKind, ActionPart, OperatorAction
from spreadpilot.clock import new_york
from spreadpilot.models import Follower

log = logging.getLogger(__name__)
BREAKER = "breaker"


def breaker_tripped(daily_pnl: Decimal, limit: Decimal) -> bool:
    """True when today's loss reached the limit (a zero limit never trips)."""
    return limit > 0 and daily_pnl <= -limit


class Breaker:
    """Checks each MTM reading against the follower's limit."""

    def __init__(self, ctx: Context, actions: ActionDesk) -> None:
        self.ctx = ctx
        self.actions = actions
        self.known: set[str] = set()  # trips recorded in the store (by this process or an earlier one)

    async def check(self, follower: Follower, pnl: AccountPnL, now: datetime) -> bool:
        """Trip the breaker if the loss reached the limit; True if it tripped now. Raises if the trip could not be
        recorded (nothing depends on it yet: the next pass tries again)."""
        key = f"breaker-{follower.id}-{new_york(now).date().isoformat()}"
        if key in self.known or not breaker_tripped(pnl.daily, follower.daily_loss_limit):
            return False
        reason = f"daily loss {pnl.daily} of {follower.id} reached the limit -{follower.daily_loss_limit}"
        parts = [ActionPart(key=f"controls:{follower.id}", phase=0)]
        if self.ctx.settings.breaker_flatten:
            parts.append(ActionPart(key=f"flatten:{follower.id}", phase=1))
        action = OperatorAction(action_id=key, kind=ActionKind.BREAKER, scope=follower.id, reason=reason,
                                requested_by=BREAKER, source="system", parts=tuple(parts), created_at=now,
                                updated_at=now)
        stored, new = await self.actions.begin(action)
        self.known.add(key)
        if not stored.state.final:
            self.actions.run(stored)  # joined if a resumed trip already runs
        if new:
            log.warning("breaker tripped", extra={"follower_id": follower.id, "daily_pnl": str(pnl.daily)})
        return new
