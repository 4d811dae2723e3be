"""Assignment: detect it, repair it, say so. A follower's position goes NONE → ASSIGNED → COMPENSATED.

Detected when QQQ stock appears in the account (assignment or expiry settlement turns a short option into ±100
shares per contract; seen again at the first pass after a restart, e.g. the morning after expiry) or when a short
option shrinks between two passes without a close of ours in between. Repaired by exercising the long leg of the
same right (its shares offset the assigned ones: ``exerciseOptions`` on the listing exchange) or, by setting or when
there is no long leg to exercise, by flattening the stock at market. Once the stock is gone the position is
COMPENSATED. Every assignment raises a CRITICAL alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from executor.lifecycle.closer import Closer, CloseTarget, record_spread
from executor.lifecycle.context import Context
from executor.lifecycle.holdings import Holdings
from executor.lifecycle.settings import Compensation
from spreadpilot.clock import new_york
from spreadpilot.models import AssignmentState, Follower, IntentKind, Position, Right, Severity, Spread

log = logging.getLogger(__name__)
SHARES_PER_CONTRACT = 100
ONE = Decimal(1)


@dataclass(frozen=True)
class SpreadRecord:
    """What a follower's holdings are recorded against: the day's signal and spread."""

    signal_id: str
    spread: Spread
    expiry: date


def record_of(holdings: Holdings, day: date) -> SpreadRecord | None:
    """A record for holdings no entry of ours explains (a manual trade, yesterday's stock); None if flat."""
    if holdings.flat:
        return None
    legs = [*[s.short for s in holdings.spreads], *[o.position for o in holdings.orphans]]
    options = [p for p in legs if p.strike is not None]
    if options:
        p = options[0]
        strike = p.strike or ONE
        spread = record_spread(p.right or Right.PUT, strike, strike - ONE)
        return SpreadRecord(f"untracked-{day:%Y%m%d}", spread, p.expiry or day)
    return SpreadRecord(f"untracked-{day:%Y%m%d}", record_spread(Right.PUT, ONE + ONE, ONE), day)


class AssignmentDesk:
    """Assignment state per follower, and the repair."""

    def __init__(self, ctx: Context, closer: Closer) -> None:
        self.ctx = ctx
        self.closer = closer
        self.assigned: dict[str, Position] = {}
        self.last_short: dict[str, tuple[datetime, dict[int, int]]] = {}
        self.attempted: dict[str, datetime] = {}
        self.compensated: set[str] = set()

    async def load(self) -> None:
        """Resume assignments a previous process left unrepaired."""
        for p in await self.ctx.store.open_positions():
            self.assigned[p.follower_id] = p

    def state_of(self, follower_id: str) -> AssignmentState:
        """The follower's assignment state now."""
        if follower_id in self.assigned:
            return AssignmentState.ASSIGNED
        return AssignmentState.COMPENSATED if follower_id in self.compensated else AssignmentState.NONE

    def _shrunk(self, follower_id: str, holdings: Holdings, now: datetime) -> bool:
        shorts: dict[int, int] = {}
        for s in holdings.spreads:
            shorts[s.short.con_id] = shorts.get(s.short.con_id, 0) + s.qty
        for o in holdings.orphans:
            if o.qty < 0:
                shorts[o.position.con_id] = shorts.get(o.position.con_id, 0) - o.qty
        previous = self.last_short.get(follower_id)
        self.last_short[follower_id] = (now, shorts)
        if previous is None:
            return False
        seen_at, before = previous
        last_close = self.closer.last_close.get(follower_id)
        if self.closer.busy(follower_id) or (last_close is not None and last_close >= seen_at):
            return False  # our own close explains it
        return any(shorts.get(con_id, 0) < qty for con_id, qty in before.items())

    async def check(self, follower: Follower, holdings: Holdings, record: SpreadRecord | None, now: datetime) -> bool:
        """Detect and repair; True if the follower is being repaired (nothing else should act on it this pass)."""
        shrunk = self._shrunk(follower.id, holdings, now)
        if shrunk and holdings.stock is None and new_york(now).time() >= self.ctx.settings.session_close_at:
            # 0-DTE options leave the account at the close without an order of ours; with no stock delivered that
            # is expiry worthless, not assignment (an in-the-money one would have left QQQ stock behind).
            log.info("options expired at the close", extra={"follower_id": follower.id})
            shrunk = False
        current = self.assigned.get(follower.id)
        if current is not None and holdings.stock is None and not shrunk:
            await self._compensated(follower, current, now)
            return False
        if holdings.stock is None and not shrunk:
            return False
        if current is None:
            self.compensated.discard(follower.id)
            current = await self._assigned(follower, holdings, record, now)
        if holdings.stock is not None:
            await self._repair(follower, holdings, current, now)
            return True
        return False  # the short shrank but no stock is left to repair: the orphan rule closes the rest

    async def _assigned(self, follower: Follower, holdings: Holdings, record: SpreadRecord | None,
                        now: datetime) -> Position:
        record = record or record_of(holdings, new_york_day(now))
        shares = holdings.stock.qty if holdings.stock else 0
        position = Position(follower_id=follower.id, account=follower.ibkr_account,
                            signal_id=record.signal_id if record else None, spread=record.spread if record else None,
                            assignment=AssignmentState.ASSIGNED, updated_at=now)
        self.assigned[follower.id] = position
        await self.ctx.store.save_position(position, assigned_at=now.isoformat(), assigned_shares=shares)
        await self.ctx.alerts.send("position.assigned", Severity.CRITICAL,
                                   f"assignment detected in {follower.ibkr_account}: {shares} QQQ shares",
                                   follower_id=follower.id, signal_id=position.signal_id)
        return position

    async def _repair(self, follower: Follower, holdings: Holdings, position: Position, now: datetime) -> None:
        last = self.attempted.get(follower.id)
        if last is not None and (now - last).total_seconds() < self.ctx.settings.compensation_retry_s:
            return
        if self.closer.busy(follower.id) or holdings.stock is None:
            return
        broker = self.ctx.broker(follower.gateway_id)
        if broker is None:
            return
        self.attempted[follower.id] = now
        shares = holdings.stock.qty
        contracts = abs(shares) // SHARES_PER_CONTRACT
        # long stock came from a short put: a long put sells it back; short stock from a short call: a long call
        right = Right.PUT if shares > 0 else Right.CALL
        longs = [(s.long, s.qty) for s in holdings.spreads if s.right is right]
        longs += [(o.position, o.qty) for o in holdings.orphans if o.qty > 0 and o.position.right is right]
        exercised = 0
        if self.ctx.settings.compensation is Compensation.EXERCISE:
            for leg, held in longs:
                n = min(held, contracts - exercised)
                if n <= 0:
                    break
                await broker.exercise(follower.ibkr_account, leg.con_id, n, self.ctx.settings.exercise_exchange)
                exercised += n
                log.info("exercised", extra={"follower_id": follower.id, "con_id": leg.con_id, "qty": n})
        left = shares - exercised * SHARES_PER_CONTRACT * (1 if shares > 0 else -1)
        action = f"exercised {exercised} long {right}" if exercised else "no long leg exercised"
        if left:
            record = SpreadRecord(position.signal_id or f"untracked-{now:%Y%m%d}",
                                  position.spread or record_spread(right, ONE + ONE, ONE), new_york_day(now))
            self.closer.spawn(CloseTarget(follower, record.signal_id, record.spread, record.expiry, abs(left),
                                          IntentKind.FLATTEN, f"assignment: flatten {left} QQQ shares",
                                          leg=holdings.stock, leg_qty=left))
            action += f"; flattening {left} shares at market"
        await self.ctx.store.save_position(position, compensation=action, compensation_at=now.isoformat())
        await self.ctx.alerts.send("position.assignment_repair", Severity.CRITICAL,
                                   f"assignment in {follower.ibkr_account}: {action}", follower_id=follower.id,
                                   signal_id=position.signal_id)

    async def _compensated(self, follower: Follower, position: Position, now: datetime) -> None:
        done = position.model_copy(update={"assignment": AssignmentState.COMPENSATED, "updated_at": now})
        del self.assigned[follower.id]
        self.compensated.add(follower.id)
        await self.ctx.store.save_position(done, compensated_at=now.isoformat())
        await self.ctx.alerts.send("position.assignment_compensated", Severity.INFO,
                                   f"assignment in {follower.ibkr_account} compensated: no stock left",
                                   follower_id=follower.id, signal_id=position.signal_id)


def new_york_day(at: datetime) -> date:
    """The New York trading date of ``at``."""
    return new_york(at).date()
