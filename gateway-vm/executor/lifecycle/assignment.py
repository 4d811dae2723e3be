"""Assignment: detect it, repair it, say so. A follower's position goes NONE → ASSIGNED → COMPENSATED.

Detected when the underlying's stock appears in the account (assignment or expiry settlement turns a short option
into ±100 shares per contract; seen again at the first pass after a restart, e.g. the morning after expiry) or when
a short option shrinks between two passes without a close of ours in between. Every assignment raises a CRITICAL alert.

Repaired by moneyness at the time (``compensation = exercise``, the default):
- the long leg of the same right is exercised only when it is in the money by at least ``exercise_min_itm``
  ($0.01, OCC's threshold): its shares then offset the assigned ones (``exerciseOptions`` on the listing exchange,
  ``override=0``, which IB refuses for an option out of the money);
- otherwise (or for the shares no exercisable long covers, or with ``compensation = flatten``) the assigned stock is
  sold (short stock bought back) at a marketable limit, the underlying's mid ∓ ``stock_limit_slack``, turned to
  market if it rests ``exit_market_after_s``. The long option is kept until then and is not exercised: once the
  stock is gone it is an unpaired long, and the orphan rule of the next pass sells it alone, so the account ends the
  day flat.
An exercise is sent once per assignment (``claims/exercise-{follower_id}-{signal_id}``, written before it goes
out) and followed to its outcome: IB settles exercises after the close, so the stock it covers stays in the
account meanwhile and is neither exercised again nor sold. If the stock is still there on a later trading day, the
exercise was not carried out: CRITICAL alert, and the stock is sold. Once the stock is gone the position is
COMPENSATED.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from executor.broker import HeldPosition
from executor.lifecycle.closer import Closer, CloseTarget, record_spread
from executor.lifecycle.context import Context
from executor.lifecycle.holdings import Holdings, intrinsic, session_open_for_exits
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
    symbol: str = "QQQ"  # the underlying (the signal's ticker)


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
        return SpreadRecord(f"untracked-{day:%Y%m%d}", spread, p.expiry or day, p.symbol)
    return SpreadRecord(f"untracked-{day:%Y%m%d}", record_spread(Right.PUT, ONE + ONE, ONE), day,
                        holdings.symbol or "QQQ")


class AssignmentDesk:
    """Assignment state per follower, and the repair."""

    def __init__(self, ctx: Context, closer: Closer) -> None:
        self.ctx = ctx
        self.closer = closer
        self.assigned: dict[str, Position] = {}
        self.last_short: dict[str, tuple[datetime, dict[int, int]]] = {}
        self.attempted: dict[str, datetime] = {}
        self.compensated: set[str] = set()
        self.exercises: dict[str, dict[str, object]] = {}  # claim key → the exercise sent for that assignment

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

    async def check(self, follower: Follower, holdings: Holdings, record: SpreadRecord | None, now: datetime,
                    underlying: Decimal | None = None) -> bool:
        """Detect and repair; True if the follower is being repaired (nothing else should act on it this pass)."""
        shrunk = self._shrunk(follower.id, holdings, now)
        if shrunk and holdings.stock is None and not session_open_for_exits(now, self.ctx.settings.session_close_at):
            # 0-DTE options leave the account at the close without an order of ours; with no stock delivered that
            # is expiry worthless, not assignment (an in-the-money one would have left stock behind).
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
            await self._repair(follower, holdings, current, now, underlying)
            return True
        return False  # the short shrank but no stock is left to repair: the orphan rule closes the rest

    async def _assigned(self, follower: Follower, holdings: Holdings, record: SpreadRecord | None,
                        now: datetime) -> Position:
        record = record or record_of(holdings, new_york_day(now))
        shares = holdings.stock.qty if holdings.stock else 0
        symbol = holdings.symbol or (record.symbol if record else "")
        position = Position(follower_id=follower.id, account=follower.ibkr_account,
                            signal_id=record.signal_id if record else None, spread=record.spread if record else None,
                            assignment=AssignmentState.ASSIGNED, updated_at=now)
        self.assigned[follower.id] = position
        await self.ctx.store.save_position(position, assigned_at=now.isoformat(), assigned_shares=shares)
        await self.ctx.alerts.send("position.assigned", Severity.CRITICAL,
                                   f"assignment detected in {follower.ibkr_account}: {shares} {symbol} shares",
                                   follower_id=follower.id, signal_id=position.signal_id)
        return position

    async def _repair(self, follower: Follower, holdings: Holdings, position: Position, now: datetime,
                      underlying: Decimal | None) -> None:
        stock = holdings.stock
        if self.closer.busy(follower.id) or stock is None:
            return
        broker = self.ctx.broker(follower.gateway_id)
        if broker is None:
            return
        key = f"exercise-{follower.id}-{position.signal_id or 'none'}"
        exercise = self.exercises.get(key) or await self.ctx.store.claim_data(key)
        covered = 0
        if exercise and not exercise.get("outcome"):
            self.exercises[key] = exercise
            if not _overdue(exercise, now):
                covered = int(str(exercise.get("qty", 0))) * SHARES_PER_CONTRACT  # IB settles it after the close
            else:
                await self._exercise_not_done(follower, key, exercise, now)
        elif not exercise and underlying is not None:
            covered = await self._exercise(follower, holdings, position, key, now, underlying)
        left = abs(stock.qty) - covered
        if left <= 0:
            return
        last = self.attempted.get(follower.id)
        if last is not None and (now - last).total_seconds() < self.ctx.settings.compensation_retry_s:
            return
        self.attempted[follower.id] = now
        signed = left if stock.qty > 0 else -left
        record = SpreadRecord(position.signal_id or f"untracked-{now:%Y%m%d}",
                              position.spread or record_spread(_right_of(stock), ONE + ONE, ONE), new_york_day(now),
                              stock.symbol)
        self.closer.spawn(CloseTarget(follower, record.signal_id, record.spread, record.expiry, left,
                                      IntentKind.FLATTEN, f"assignment: sell {signed} {stock.symbol} shares at a "
                                      "marketable limit", leg=stock, leg_qty=signed, trigger="assignment"))
        action = f"{'selling' if signed > 0 else 'buying back'} {left} shares at a marketable limit"
        await self.ctx.store.save_position(position, compensation=action, compensation_at=now.isoformat())
        await self.ctx.alerts.send("position.assignment_repair", Severity.CRITICAL,
                                   f"assignment in {follower.ibkr_account}: {action}", follower_id=follower.id,
                                   signal_id=position.signal_id)

    async def _exercise(self, follower: Follower, holdings: Holdings, position: Position, key: str, now: datetime,
                        underlying: Decimal) -> int:
        """Exercise the long legs that are in the money enough (once: the claim is written first); shares covered."""
        stock = holdings.stock
        assert stock is not None
        if self.ctx.settings.compensation is not Compensation.EXERCISE:
            return 0
        right = _right_of(stock)
        contracts = abs(stock.qty) // SHARES_PER_CONTRACT
        longs = [(s.long, s.qty) for s in holdings.spreads if s.right is right and s.symbol == stock.symbol]
        longs += [(o.position, o.qty) for o in holdings.orphans
                  if o.qty > 0 and o.position.right is right and o.position.symbol == stock.symbol]
        least = self.ctx.settings.exercise_min_itm
        itm = [(leg, held) for leg, held in longs
               if leg.strike is not None and intrinsic(right, leg.strike, underlying) >= least]
        plan: list[tuple[HeldPosition, int]] = []
        for leg, held in sorted(itm, key=lambda lh: -intrinsic(right, lh[0].strike or ONE, underlying)):
            n = min(held, contracts - sum(q for _, q in plan))
            if n > 0:
                plan.append((leg, n))
        if not plan:
            log.info("long leg not in the money: the stock is sold instead",
                     extra={"follower_id": follower.id, "underlying": str(underlying)})
            return 0
        qty = sum(n for _, n in plan)
        legs = [{"con_id": leg.con_id, "strike": str(leg.strike), "qty": n} for leg, n in plan]
        if not await self.ctx.store.claim(key, follower_id=follower.id, qty=qty, legs=legs, sent_at=now.isoformat(),
                                          underlying=str(underlying)):
            earlier = await self.ctx.store.claim_data(key) or {}  # sent by another process: that one is followed
            self.exercises[key] = earlier
            return 0 if earlier.get("outcome") else int(str(earlier.get("qty", 0))) * SHARES_PER_CONTRACT
        exercise: dict[str, object] = {"qty": qty, "legs": legs, "sent_at": now.isoformat()}
        self.exercises[key] = exercise
        broker = self.ctx.broker(follower.gateway_id)
        assert broker is not None
        try:
            for leg, n in plan:
                await broker.exercise(follower.ibkr_account, leg.con_id, n, self.ctx.settings.exercise_exchange)
                log.info("exercised", extra={"follower_id": follower.id, "con_id": leg.con_id, "qty": n})
        except Exception as exc:  # not sent (the socket dropped): the stock is sold instead, never exercised twice
            log.warning("exercise not sent", exc_info=exc, extra={"follower_id": follower.id})
            exercise["outcome"] = f"not sent: {exc!r}"[:200]
            await self.ctx.store.update_claim(key, outcome=exercise["outcome"])
            return 0
        what = ", ".join(f"{n} long {right} {leg.strike}" for leg, n in plan)
        action = (f"exercised {what} (in the money with {stock.symbol} at {underlying}); IB settles it after the "
                  "close")
        await self.ctx.store.save_position(position, compensation=action, compensation_at=now.isoformat())
        await self.ctx.alerts.send("position.assignment_repair", Severity.CRITICAL,
                                   f"assignment in {follower.ibkr_account}: {action}", follower_id=follower.id,
                                   signal_id=position.signal_id)
        return qty * SHARES_PER_CONTRACT

    async def _exercise_not_done(self, follower: Follower, key: str, exercise: dict[str, object],
                                 now: datetime) -> None:
        """The stock is still there a trading day after the exercise: it was not carried out."""
        exercise["outcome"] = "not carried out"
        await self.ctx.store.update_claim(key, outcome="not carried out", seen_at=now.isoformat())
        await self.ctx.alerts.send("position.exercise_not_done", Severity.CRITICAL,
                                   f"the exercise sent {exercise.get('sent_at')} in {follower.ibkr_account} was not "
                                   "carried out: the stock is still there, selling it", follower_id=follower.id)

    async def _compensated(self, follower: Follower, position: Position, now: datetime) -> None:
        done = position.model_copy(update={"assignment": AssignmentState.COMPENSATED, "updated_at": now})
        key = f"exercise-{follower.id}-{position.signal_id or 'none'}"
        if key in self.exercises and not self.exercises[key].get("outcome"):
            await self.ctx.store.update_claim(key, outcome="compensated", seen_at=now.isoformat())
            self.exercises[key]["outcome"] = "compensated"
        del self.assigned[follower.id]
        self.compensated.add(follower.id)
        await self.ctx.store.save_position(done, compensated_at=now.isoformat())
        await self.ctx.alerts.send("position.assignment_compensated", Severity.INFO,
                                   f"assignment in {follower.ibkr_account} compensated: no stock left",
                                   follower_id=follower.id, signal_id=position.signal_id)


def new_york_day(at: datetime) -> date:
    """The New York trading date of ``at``."""
    return new_york(at).date()


def _right_of(stock: HeldPosition) -> Right:
    """Long stock came from a short put (a long put offsets it); short stock from a short call."""
    return Right.PUT if stock.qty > 0 else Right.CALL


def _overdue(exercise: dict[str, object], now: datetime) -> bool:
    """The exercise had its settlement night: a later New York date than the day it was sent."""
    sent = exercise.get("sent_at")
    return bool(sent) and new_york_day(now) > new_york_day(datetime.fromisoformat(str(sent)))
