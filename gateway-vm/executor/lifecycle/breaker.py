"""The daily-loss breaker: a follower whose broker P&L today is at or below minus its ``daily_loss_limit``.

Trips once per follower and day (a claim in Firestore, so a restart does not trip it again): entries stop
(``controls/{follower_id}.entries_paused``, persisted like any kill switch), a CRITICAL alert goes out, and with
``breaker_flatten`` the follower's positions are closed too. A limit of 0 disables the breaker for that follower.
Resuming entries is an operator's ``resume`` command.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal

from executor.lifecycle.context import Context
from executor.lifecycle.ports import AccountPnL
from spreadpilot.clock import new_york
from spreadpilot.models import Follower, Severity

log = logging.getLogger(__name__)
BREAKER = "breaker"


def breaker_tripped(daily_pnl: Decimal, limit: Decimal) -> bool:
    """True when today's loss reached the limit (a zero limit never trips)."""
    return limit > 0 and daily_pnl <= -limit


class Breaker:
    """Checks each MTM reading against the follower's limit."""

    def __init__(self, ctx: Context, flatten: Callable[[list[Follower], str], Awaitable[object]]) -> None:
        self.ctx = ctx
        self.flatten = flatten
        self.tripped: set[str] = set()

    async def check(self, follower: Follower, pnl: AccountPnL, now: datetime) -> bool:
        """Trip the breaker if the loss reached the limit; True if it tripped now."""
        if not breaker_tripped(pnl.daily, follower.daily_loss_limit):
            return False
        day = new_york(now).date()
        key = f"breaker-{follower.id}-{day.isoformat()}"
        if key in self.tripped:
            return False
        self.tripped.add(key)
        if not await self.ctx.store.claim(key, follower_id=follower.id, daily_pnl=str(pnl.daily),
                                          limit=str(follower.daily_loss_limit), at=now.isoformat()):
            return False  # tripped before (this process or an earlier one)
        reason = f"daily loss {pnl.daily} reached the limit -{follower.daily_loss_limit}"
        await self.ctx.store.set_controls(follower.id, entries_paused=True, at=now, updated_by=BREAKER,
                                          reason=reason)
        await self.ctx.store.audit("executor.breaker", actor=BREAKER, source="system", at=now.isoformat(),
                                   follower_id=follower.id, reason=reason,
                                   flatten=self.ctx.settings.breaker_flatten)
        action = "entries stopped"
        if self.ctx.settings.breaker_flatten:
            await self.flatten([follower], f"daily-loss breaker: {reason}")
            action += ", positions closing"
        await self.ctx.alerts.send("risk.daily_loss_breaker", Severity.CRITICAL, f"{reason}: {action}",
                                   follower_id=follower.id)
        log.warning("breaker tripped", extra={"follower_id": follower.id, "daily_pnl": str(pnl.daily)})
        return True
