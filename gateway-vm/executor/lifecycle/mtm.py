"""Mark to market every ``mtm_s`` business seconds per follower, from the broker's own P&L (``reqPnL``).

A snapshot is written to ``pnl_snapshots/{follower_id}:{epoch}`` when the follower's P&L changed since its last
written snapshot, or when ``mtm_max_silence_s`` passed without one (writes are throttled: an idle follower costs
one write every few minutes, not one per pass); a pass writes all its snapshots in one batch. Each reading also
feeds the daily-loss breaker.
"""

from __future__ import annotations

import logging
from datetime import datetime

from executor.lifecycle.breaker import Breaker
from executor.lifecycle.context import Context, sleep_or_stop
from executor.lifecycle.ports import AccountPnL
from spreadpilot.models import Follower, PnLSnapshot

log = logging.getLogger(__name__)


def due(last: tuple[AccountPnL, datetime] | None, pnl: AccountPnL, now: datetime, max_silence_s: float) -> bool:
    """True if a reading should be written (changed, or silent for too long)."""
    if last is None:
        return True
    previous, at = last
    return previous != pnl or (now - at).total_seconds() >= max_silence_s


class MarkToMarket:
    """Broker P&L → snapshots and the breaker."""

    def __init__(self, ctx: Context, breaker: Breaker) -> None:
        self.ctx = ctx
        self.breaker = breaker
        self.last: dict[str, tuple[AccountPnL, datetime]] = {}
        self.written = 0

    async def run(self) -> None:
        """A pass now and every ``mtm_s`` until the executor stops."""
        while not self.ctx.stop.is_set():
            try:
                await self.pass_once(self.ctx.clock.now())
            except Exception:  # one failed pass must not end MTM; the next one writes again
                log.exception("mtm pass failed")
            await sleep_or_stop(self.ctx, self.ctx.settings.mtm_s)

    async def pass_once(self, now: datetime) -> int:
        """Read every reachable follower's P&L, write what is due, check breakers; the snapshots written."""
        readings: list[tuple[Follower, AccountPnL]] = []
        for f in await self.ctx.store.followers():
            broker = self.ctx.broker(f.gateway_id)
            if broker is None:
                continue
            try:
                pnl = await broker.account_pnl(f.ibkr_account)
            except Exception as exc:  # one account's read (its gateway dropped) must not cost the others theirs
                log.warning("P&L not read", extra={"follower_id": f.id, "error": repr(exc)})
                continue
            if pnl is not None:
                readings.append((f, pnl))
        snapshots = [PnLSnapshot(follower_id=f.id, account=f.ibkr_account, at=now, daily_pnl=p.daily,
                                 unrealized_pnl=p.unrealized, realized_pnl=p.realized)
                     for f, p in readings if due(self.last.get(f.id), p, now, self.ctx.settings.mtm_max_silence_s)]
        await self.ctx.store.write_snapshots(snapshots)
        for s in snapshots:
            self.last[s.follower_id] = (AccountPnL(s.daily_pnl, s.unrealized_pnl, s.realized_pnl), now)
        self.written += len(snapshots)
        for f, p in readings:
            try:
                await self.breaker.check(f, p, now)
            except Exception:  # one follower's breaker must not stop the others'; the next pass checks it again
                log.exception("breaker check failed", extra={"follower_id": f.id})
        return len(snapshots)
