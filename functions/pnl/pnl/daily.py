"""The daily rollup (16:30 ET): per follower, realized P&L from the account ledger, checked against the broker.

The day's trades are the ledger's executions (corrections replace what they correct) and settlement events
(assignment, exercise, expiry: the option leaves at no price, the stock arrives at the strike). They are booked
against FIFO lots (``pnl.lots``) on top of the lots carried from the last stored day. ``realized_pnl`` is the gross
realized P&L less commissions, each rounded to cents once. Lots still open after the day are stored with it at the
broker's closing marks (``unrealized_pnl``), so that a month is billed on what the close was worth
(``pnl.monthly``). An option lot still open after its expiry day means a settlement is missing from the ledger: it
is never settled at 0 silently, it makes the day unreconciled.
MTM (``closing_mtm``, ``best_mtm``, ``worst_mtm``) comes from the broker's daily P&L in the snapshots. The day is
reconciled against the broker (``pnl.reconcile``); an unreconciled day raises a CRITICAL alert.
Re-running a day over the same inputs writes the same document; a correction (a re-run of a past day) re-runs
every later day of the followers it changed, and every month already closed from that day's month on.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from pnl.alerts import report_failure, report_unreconciled
from pnl.entries import day_trades
from pnl.lots import Book, OpenLot
from pnl.reconcile import Check, check_day
from pnl.records import PnLRecords
from pnl.settings import PnLSettings
from spreadpilot.clock import NEW_YORK, new_york
from spreadpilot.errors import Retryable
from spreadpilot.fill_quality import FillQuality, fill_quality
from spreadpilot.ledger import BrokerReading, SettlementEvent
from spreadpilot.market_calendar import is_trading_day
from spreadpilot.models import DailyPnL, Fill, PnLSnapshot, Reconciliation
from spreadpilot.money import to_cents
from spreadpilot.publisher import Publisher

log = logging.getLogger(__name__)

ZERO = Decimal(0)
CARRY_DAYS = 7  # how far back the last stored day's open lots are looked for (long weekends, holidays)
ROLLUP_AT = time(16, 30)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The New York calendar day as a half-open UTC-comparable interval."""
    start = datetime.combine(day, time(0), NEW_YORK)
    return start, datetime.combine(day + timedelta(days=1), time(0), NEW_YORK)


@dataclass
class Realized:
    """What a follower's ledger entries of one day realized."""

    gross: Decimal = ZERO
    commissions: Decimal = ZERO
    trades: int = 0
    settlements: int = 0
    open_lots: tuple[OpenLot, ...] = ()
    expired_open: tuple[OpenLot, ...] = ()  # option lots past their expiry: a settlement is missing

    @property
    def net(self) -> Decimal:
        """Realized P&L after commissions, in cents (each part rounded once)."""
        return to_cents(self.gross) - to_cents(self.commissions)


def realize(fills: Iterable[Fill], day: date, carried: Iterable[OpenLot] = (),
            settlements: Iterable[SettlementEvent] = ()) -> Realized:
    """Realized P&L of one follower's ledger entries of ``day`` on top of the lots ``carried`` from before."""
    fills = list(fills)
    settlements = list(settlements)
    trades = day_trades(fills, settlements)
    book = Book(tuple(carried))
    result = Realized(settlements=len(settlements))
    result.trades = len({f.order_ref or f.intent_id or str(f.perm_id or f.exec_id)
                         for f in fills if f.sec_type != "BAG"})
    for trade in trades:
        result.commissions += trade.commission
        result.gross += book.apply(trade, day)
    lots = book.open_lots()
    result.expired_open = tuple(lot for lot in lots if lot.sec_type != "STK" and lot.expiry is not None
                                and lot.expiry <= day)
    result.open_lots = lots
    return result


def _marked(lots: tuple[OpenLot, ...], close: BrokerReading | None) -> tuple[OpenLot, ...]:
    """The lots at the broker's closing marks (stock by symbol, options by contract)."""
    if close is None:
        return lots
    marks: dict[str, Decimal] = {}
    for line in close.positions:
        if line.mark is not None:
            marks[f"STK:{line.symbol}" if line.sec_type == "STK" else f"{line.sec_type}:{line.con_id}"] = line.mark
    if close.underlying is not None:  # the account's underlying (one ticker a day): stock the reading left unmarked
        for lot in lots:
            if lot.key.startswith("STK:"):
                marks.setdefault(lot.key, close.underlying)
    return tuple(lot.model_copy(update={"mark": marks.get(lot.key)}) for lot in lots)


@dataclass(frozen=True)
class DayResult:
    """One follower's computed day: the document, the lots it leaves open, and how it checked."""

    doc: DailyPnL
    open_lots: tuple[OpenLot, ...]
    check: Check


def daily_pnl(
    follower_id: str, day: date, fills: list[Fill], snapshots: list[PnLSnapshot], computed_at: datetime,
    carried: tuple[OpenLot, ...] = (), settlements: Sequence[SettlementEvent] = (),
    readings: dict[str, BrokerReading] | None = None, quality: FillQuality | None = None,
) -> DayResult:
    """The day's P&L document of one follower, what stays open after it, and its reconciliation (``quality``: its
    entry's fill against the other followers')."""
    readings = readings or {}
    realized = realize(fills, day, carried, settlements)
    lots = _marked(realized.open_lots, readings.get("close"))
    check = check_day(realized.net, carried, lots, realized.expired_open, readings)
    marks = [s.daily_pnl for s in sorted(snapshots, key=lambda s: s.at)]
    net = realized.net
    doc = DailyPnL(
        follower_id=follower_id,
        date=day,
        realized_pnl=net,
        commissions=to_cents(realized.commissions),
        gross_pnl=to_cents(realized.gross),
        closing_mtm=to_cents(marks[-1]) if marks else net,
        best_mtm=to_cents(max(marks)) if marks else net,
        worst_mtm=to_cents(min(marks)) if marks else net,
        trades=realized.trades,
        settlements=realized.settlements,
        unrealized_pnl=to_cents(sum((lot.unrealized for lot in lots), ZERO)),
        reconciliation=check.state,
        broker_realized_pnl=check.broker_realized,
        reconciliation_note=check.note,
        fill_vs_best=quality.vs_best if quality else None,
        fill_seconds=None if quality is None or quality.to_fill_s is None else Decimal(str(quality.to_fill_s)),
        computed_at=computed_at,
    )
    return DayResult(doc, lots, check)


def same_figures(a: DailyPnL, b: DailyPnL) -> bool:
    """Equal apart from when they were computed."""
    return a.model_copy(update={"computed_at": b.computed_at}) == b


@dataclass(frozen=True)
class DailyRun:
    """What one daily rollup did."""

    day: date
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    unreconciled: tuple[str, ...] = ()
    cascaded: tuple[date, ...] = ()
    months: tuple[str, ...] = ()


def _carried(records: PnLRecords, day: date) -> tuple[dict[str, tuple[OpenLot, ...]],
                                                       dict[str, dict[date, tuple[OpenLot, ...]]]]:
    window = records.open_lots_between(day - timedelta(days=CARRY_DAYS), day)
    carried = {fid: by_day[max(d for d in by_day if d < day)] for fid, by_day in window.items()
               if any(d < day for d in by_day)}
    return carried, window


def roll_day(records: PnLRecords, publisher: Publisher, day: date, now: datetime,
             only: set[str] | None = None) -> DailyRun:
    """Roll up ``day`` for every follower with ledger entries, snapshots or open lots (or just ``only``)."""
    start, end = day_bounds(day)
    fills: dict[str, list[Fill]] = defaultdict(list)
    events: dict[str, list[SettlementEvent]] = defaultdict(list)
    snapshots: dict[str, list[PnLSnapshot]] = defaultdict(list)
    for fill in records.fills_between(start, end):
        if new_york(fill.at).date() == day:
            fills[fill.follower_id].append(fill)
    for event in records.settlements_between(start, end):
        if new_york(event.at).date() == day:
            events[event.follower_id].append(event)
    for snap in records.snapshots_between(start, end):
        if new_york(snap.at).date() == day:
            snapshots[snap.follower_id].append(snap)
    carried, window = _carried(records, day)
    follower_ids = sorted(set(fills) | set(events) | set(snapshots) | {fid for fid, lots in carried.items() if lots})
    if only is not None:  # a re-run of a stored day rewrites it even when nothing is left on it
        follower_ids = sorted(only)
    readings = records.readings(day, follower_ids)
    existing = records.daily(day, follower_ids)
    quality = {q.follower_id: q for q in fill_quality(records.entries_of(day))}
    written: list[str] = []
    unchanged: list[str] = []
    unreconciled: list[str] = []
    failed: list[str] = []
    for follower_id in follower_ids:
        try:
            result = daily_pnl(follower_id, day, fills[follower_id], snapshots[follower_id], now,
                               carried.get(follower_id, ()), events[follower_id], readings.get(follower_id),
                               quality.get(follower_id))
        except Exception:  # isolate: one follower's bad data must not stop the others' rollup
            log.exception("daily rollup failed for a follower", extra={"follower_id": follower_id})
            report_failure(publisher, "pnl.daily_failed", follower_id, f"daily P&L of {day} failed", now)
            failed.append(follower_id)
            continue
        doc = result.doc
        if doc.reconciliation is Reconciliation.UNRECONCILED:
            unreconciled.append(follower_id)
            report_unreconciled(publisher, follower_id, day, doc.reconciliation_note, now)
        before = existing.get(follower_id)
        if (before is not None and same_figures(doc, before)
                and window.get(follower_id, {}).get(day, ()) == result.open_lots):
            unchanged.append(follower_id)
            continue
        records.put_daily(doc, result.open_lots)
        written.append(follower_id)
        log.info("daily P&L stored", extra={
            "follower_id": follower_id, "date": day.isoformat(), "realized_pnl": str(doc.realized_pnl),
            "unrealized_pnl": str(doc.unrealized_pnl), "reconciliation": str(doc.reconciliation),
            "trades": doc.trades, "settlements": doc.settlements})
    if written:
        # The month's commission rate is the one in force when it is first rolled up: a later change waits.
        pcts = {fid: f.commission_pct for fid, f in records.followers(written).items()}
        if pcts:
            records.rates(f"{day:%Y-%m}", pcts, now)
    log.info("daily rollup done", extra={"date": day.isoformat(), "fills": sum(map(len, fills.values())),
                                         "settlements": sum(map(len, events.values())),
                                         "written": len(written), "unchanged": len(unchanged),
                                         "unreconciled": len(unreconciled), "failed": len(failed)})
    if failed:
        raise Retryable(f"daily rollup of {day} failed for {', '.join(failed)}")
    return DailyRun(day=day, written=tuple(written), unchanged=tuple(unchanged), unreconciled=tuple(unreconciled))


def last_complete_day(now: datetime) -> date:
    """The latest New York day whose rollup time has passed."""
    ny = new_york(now)
    return ny.date() if ny.time() >= ROLLUP_AT else ny.date() - timedelta(days=1)


def next_rerun_day(records: PnLRecords, follower_id: str, after: date, last_stored: date,
                   through: date) -> date | None:
    """The next trading day a correction re-runs for ``follower_id``: every stored day, then on while the day before
    leaves lots open, up to ``through``."""
    current = after + timedelta(days=1)
    while current <= through and not is_trading_day(current):
        current += timedelta(days=1)
    if current > through:
        return None
    if current <= last_stored:
        return current
    lots = records.open_lots_between(after, after).get(follower_id, {}).get(after, ())
    return current if lots else None


def run_daily(records: PnLRecords, publisher: Publisher, day: date, now: datetime, *,
              correction: bool = False, settings: PnLSettings | None = None) -> DailyRun:
    """Roll up ``day``; a correction also re-runs every later day and closed month of the followers it changed."""
    run = roll_day(records, publisher, day, now)
    if not correction or not run.written or settings is None:
        return run
    from pnl.monthly import rerun_months  # the monthly rollup builds on this module

    through = last_complete_day(now)
    cascaded: set[date] = set()
    for follower_id in run.written:
        stored = [d.date for d in records.daily_between(day + timedelta(days=1), through)
                  if d.follower_id == follower_id]
        last_stored = max(stored, default=day)
        current = day
        while (later := next_rerun_day(records, follower_id, current, last_stored, through)) is not None:
            roll_day(records, publisher, later, now, only={follower_id})
            cascaded.add(later)
            current = later
    months = rerun_months(records, publisher, set(run.written), f"{day:%Y-%m}", now, settings)
    return DailyRun(run.day, run.written, run.unchanged, run.unreconciled, tuple(sorted(cascaded)), months)
