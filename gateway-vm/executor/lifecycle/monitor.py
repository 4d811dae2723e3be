"""The position monitor: every ``monitor_s`` business seconds, per follower, from broker positions.

Order of the rules in one pass for one follower:
1. assignment (stock appeared, or the short shrank without an order of ours) → repair by moneyness at the
   underlying's price now, nothing else this pass;
2. nothing while an entry, a close or a flatten of the follower is in flight (legs may be filling right now);
3. an orphan leg → close it alone and alert CRITICAL (a naked short is bought back at market);
   (only the day's options count: an option of another expiry is the follower's own, alerted once, left alone)
4. a spread in an account whose post-expiration excess is negative from ``post_expiry_check_at`` (15:30, 12:30 on
   a half day: IBKR would liquidate it at expiry itself; alerted CRITICAL once), at pin risk (from ``pin_close_at``)
   or whose short leg has no time value left → close the WHOLE spread as one combo order.
The follower's ``positions/{follower_id}:{signal_id}`` document is written when what it holds changed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from executor.broker import HeldPosition
from executor.lifecycle.assignment import AssignmentDesk, SpreadRecord, record_of
from executor.lifecycle.closer import Closer, CloseTarget
from executor.lifecycle.context import Context, sleep_or_stop
from executor.lifecycle.flatten import Flattener, records_by_follower
from executor.lifecycle.holdings import (
    Holdings,
    classify,
    not_managed,
    pin_risk_reason,
    post_expiry_reason,
    post_expiry_watch,
    session_open_for_exits,
    time_value_exit_reason,
)
from executor.lifecycle.ports import LegQuote, LifecycleBroker
from spreadpilot.clock import new_york
from spreadpilot.models import Follower, IntentKind, Position, PositionLeg, Severity

log = logging.getLogger(__name__)


class Monitor:
    """Positions through the day."""

    def __init__(self, ctx: Context, closer: Closer, assignments: AssignmentDesk, flattener: Flattener) -> None:
        self.ctx = ctx
        self.closer = closer
        self.assignments = assignments
        self.flattener = flattener
        self.written: dict[str, tuple[object, ...]] = {}
        self.told: set[tuple[str, int]] = set()  # (account, conId) of options not ours, already alerted
        self.deficits: set[tuple[str, str]] = set()  # (follower, signal) alerted for a post-expiry margin deficit
        self.passes = 0

    async def run(self) -> None:
        """A pass now and every ``monitor_s`` until the executor stops."""
        while not self.ctx.stop.is_set():
            try:
                await self.pass_once(self.ctx.clock.now())
            except Exception:  # one failed pass (Firestore hiccup, gateway drop) must not end the monitor
                log.exception("position pass failed")
            await sleep_or_stop(self.ctx, self.ctx.settings.monitor_s)

    async def pass_once(self, now: datetime) -> None:
        """One pass over every follower, gateway by gateway."""
        self.passes += 1
        followers = await self.ctx.store.followers()
        day = new_york(now).date()
        records = records_by_follower(await self.ctx.store.entries_for(day))
        by_gateway: dict[str, list[Follower]] = defaultdict(list)
        for f in followers:
            by_gateway[f.gateway_id].append(f)
        for gateway_id, members in by_gateway.items():
            broker = self.ctx.broker(gateway_id)
            if broker is not None:
                await self._gateway(broker, members, records, day, now)

    async def _gateway(self, broker: LifecycleBroker, followers: list[Follower],
                       records: dict[str, SpreadRecord], day: date, now: datetime) -> None:
        positions = await broker.positions()
        await self._not_managed(positions, followers, day)
        holdings = {f.id: classify(f.ibkr_account, positions, [r.spread for r in [records.get(f.id)] if r], day)
                    for f in followers}
        shorts = sorted({s.short.con_id for h in holdings.values() for s in h.spreads})
        symbols = sorted({p.symbol for h in holdings.values() for p in (*(s.short for s in h.spreads),
                                                                          *([h.stock] if h.stock else []))})
        quotes = await broker.option_quotes(shorts) if shorts else {}
        prices = {symbol: await broker.underlying_price(symbol) for symbol in symbols}  # each spread's own underlying
        if symbols:
            # decide at the moment the market data describes: a pass that began before the close and read its
            # quotes after it must not send an exit the session no longer takes (the expiry's moves come at 16:00)
            now = self.ctx.clock.now()
        watch = post_expiry_watch(now, self.ctx.settings.post_expiry_check_at)
        excess = {f.id: await broker.post_expiry_excess(f.ibkr_account)
                  for f in followers if watch and holdings[f.id].spreads}
        for f in followers:
            record = records.get(f.id) or record_of(holdings[f.id], day)
            try:
                await self._follower(f, holdings[f.id], record, quotes, prices, now, excess.get(f.id))
            except Exception as exc:  # one follower's failure is isolated from the others and alerted
                log.exception("position check failed", extra={"follower_id": f.id})
                await self.ctx.alerts.send("position.check_failed", Severity.WARNING,
                                           f"position check failed: {exc!r}", follower_id=f.id)

    async def _not_managed(self, positions: list[HeldPosition], followers: list[Follower], day: date) -> None:
        """Say once per contract that a follower holds an option that is not ours (it is never traded by us)."""
        by_account = {f.ibkr_account: f for f in followers}
        for p in positions:
            f = by_account.get(p.account)
            key = (p.account, p.con_id)
            if f is None or not p.qty or not not_managed(p, day) or key in self.told:
                continue
            self.told.add(key)
            await self.ctx.alerts.send("position.not_managed", Severity.WARNING,
                                       f"{p.account} holds {p.qty} {p.right} {p.strike} expiring {p.expiry}: not "
                                       "SpreadPilot's (only the day's options are), left alone; it counts in the "
                                       "account's margin", follower_id=f.id)

    async def _follower(self, follower: Follower, holdings: Holdings, record: SpreadRecord | None,
                        quotes: dict[int, LegQuote], prices: dict[str, Decimal | None], now: datetime,
                        post_expiry_excess: Decimal | None = None) -> None:
        if self.flattener.flattening(follower.id):
            return  # an operator action is making this account flat right now
        stock_price = prices.get(holdings.stock.symbol) if holdings.stock else None
        handled = await self.assignments.check(follower, holdings, record, now, stock_price)
        if record is not None:
            await self._write_position(follower, holdings, record, now)
        if handled or record is None or holdings.flat:
            return
        if self.closer.busy(follower.id) or self.ctx.entry_in_flight(follower.id):
            return
        if not session_open_for_exits(now, self.ctx.settings.session_close_at):
            return
        for orphan in holdings.orphans:
            side = "naked short" if orphan.qty < 0 else "long"
            why = (f"orphan {side} leg {orphan.position.right} {orphan.position.strike} x{abs(orphan.qty)}: "
                      "closed alone")
            await self.ctx.alerts.send("position.orphan_leg", Severity.CRITICAL, why, follower_id=follower.id,
                                       signal_id=record.signal_id)
            self.closer.spawn(CloseTarget(follower, record.signal_id, record.spread, record.expiry, abs(orphan.qty),
                                          IntentKind.CLOSE_ORPHAN, why, leg=orphan.position, leg_qty=orphan.qty))
            return
        settings = self.ctx.settings
        deficit = post_expiry_reason(post_expiry_excess, now, settings.post_expiry_check_at)
        if deficit is not None and (follower.id, record.signal_id) not in self.deficits:
            self.deficits.add((follower.id, record.signal_id))
            await self.ctx.alerts.send("position.post_expiry_deficit", Severity.CRITICAL, deficit,
                                       follower_id=follower.id, signal_id=record.signal_id)
        for spread in holdings.spreads:
            quote, underlying = quotes.get(spread.short.con_id), prices.get(spread.symbol)
            reason = deficit or pin_risk_reason(spread, underlying, now, settings.pin_close_at,
                                                settings.session_close_at, settings.pin_distance)
            reason = reason or time_value_exit_reason(spread, quote.mid if quote else None, underlying,
                                                      settings.time_value_exit, settings.near_money)
            if reason is not None:
                log.info("closing spread", extra={"follower_id": follower.id, "reason": reason})
                self.closer.spawn(CloseTarget(follower, record.signal_id, record.spread, record.expiry, spread.qty,
                                              IntentKind.EXIT, reason, combo=spread))
                return

    async def _write_position(self, follower: Follower, holdings: Holdings, record: SpreadRecord,
                              now: datetime) -> None:
        held = [*[leg for s in holdings.spreads for leg in ((s.short, -s.qty), (s.long, s.qty))],
                *[(o.position, o.qty) for o in holdings.orphans],
                *([(holdings.stock, holdings.stock.qty)] if holdings.stock else [])]
        merged: dict[int, PositionLeg] = {}
        for p, qty in held:
            prev = merged.get(p.con_id)
            merged[p.con_id] = PositionLeg(con_id=p.con_id, sec_type=p.sec_type, right=p.right, strike=p.strike,
                                           expiry=p.expiry, qty=qty + (prev.qty if prev else 0))
        legs = tuple(sorted(merged.values(), key=lambda leg: leg.con_id))
        state = self.assignments.state_of(follower.id)
        key = f"{follower.id}:{record.signal_id}"
        fingerprint: tuple[object, ...] = (legs, state)
        if self.written.get(key) == fingerprint:
            return
        self.written[key] = fingerprint
        await self.ctx.store.save_position(Position(follower_id=follower.id, account=follower.ibkr_account,
                                                    signal_id=record.signal_id, spread=record.spread, legs=legs,
                                                    assignment=state, updated_at=now))
