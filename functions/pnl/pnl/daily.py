"""The daily rollup (16:30 ET): per follower, realized P&L from the day's fills and MTM from the day's snapshots.

Realized P&L uses average cost per contract (``con_id``): opening fills build a position, closing fills realize
``(price - average) x quantity x multiplier``. Exercise and assignment arrive as fills (the option closed, the
stock bought or sold at the strike), so they are realized like any trade. An option still open after the last fill
of its expiry day expired worthless: it is settled at 0 (a short leg keeps its premium, a long leg loses its cost).
Commissions are subtracted: ``realized_pnl`` is net, ``commissions`` says how much of it they were. What is still
open after the day (e.g. assigned stock not yet sold) is stored with the day as ``open_lots`` and carried into the
next rollup at its average cost, so closing it later realizes the right amount.
MTM comes from the broker's daily P&L in the snapshots: the last one closes the day, the highest and lowest are the
day's best and worst. Re-running a day over the same inputs writes the same document.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from pnl.alerts import report_failure
from pnl.lots import OpenLot
from pnl.records import PnLRecords
from spreadpilot.clock import NEW_YORK, new_york
from spreadpilot.errors import Retryable
from spreadpilot.models import DailyPnL, Fill, PnLSnapshot
from spreadpilot.publisher import Publisher

log = logging.getLogger(__name__)

ZERO = Decimal(0)
MULTIPLIERS = {"OPT": 100, "FOP": 100, "STK": 1}


def multiplier(fill: Fill) -> int:
    """Cash per unit of price for one contract of this security type."""
    return MULTIPLIERS.get(fill.sec_type, 1)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The New York calendar day as a half-open UTC-comparable interval."""
    start = datetime.combine(day, time(0), NEW_YORK)
    return start, datetime.combine(day + timedelta(days=1), time(0), NEW_YORK)


CARRY_DAYS = 7  # how far back the last stored day's open positions are looked for (long weekends, holidays)


@dataclass
class _Lot:
    """An open position in one contract at average cost (mutable while the day's fills are applied)."""

    qty: int = 0  # signed: negative = short
    avg: Decimal = ZERO
    sec_type: str = "OPT"
    expiry: date | None = None
    mult: int = 100

    @classmethod
    def carried(cls, lot: OpenLot) -> _Lot:
        return cls(qty=lot.qty, avg=lot.avg, sec_type=lot.sec_type, expiry=lot.expiry, mult=lot.mult)

    def stored(self, con_id: int) -> OpenLot:
        return OpenLot(con_id=con_id, qty=self.qty, avg=self.avg, sec_type=self.sec_type, expiry=self.expiry,
                       mult=self.mult)


@dataclass
class Realized:
    """What a follower's fills of one day realized."""

    gross: Decimal = ZERO
    commissions: Decimal = ZERO
    trades: int = 0
    open_lots: tuple[OpenLot, ...] = ()

    @property
    def net(self) -> Decimal:
        """Realized P&L after commissions."""
        return self.gross - self.commissions


def realize(fills: Iterable[Fill], day: date, carried: Iterable[OpenLot] = ()) -> Realized:
    """Realized P&L of one follower's fills of ``day`` on top of the positions ``carried`` from before
    (average cost; options expiring by ``day`` settle at 0)."""
    # A combo's BAG-level execution report repeats its legs' cash: the legs alone are counted.
    ordered = sorted((f for f in fills if f.sec_type != "BAG"), key=lambda f: (f.at, f.exec_id))
    result = Realized(trades=len({f.intent_id for f in ordered}))
    lots: dict[int, _Lot] = {lot.con_id: _Lot.carried(lot) for lot in carried}
    for fill in ordered:
        result.commissions += fill.commission
        lot = lots.setdefault(fill.con_id, _Lot(sec_type=fill.sec_type, expiry=fill.expiry, mult=multiplier(fill)))
        signed = fill.qty if fill.side == "BOT" else -fill.qty
        if lot.qty == 0 or (lot.qty > 0) == (signed > 0):
            lot.avg = (lot.avg * abs(lot.qty) + fill.price * abs(signed)) / (abs(lot.qty) + abs(signed))
            lot.qty += signed
            continue
        closed = min(abs(lot.qty), abs(signed))
        direction = 1 if lot.qty > 0 else -1
        result.gross += (fill.price - lot.avg) * closed * lot.mult * direction
        lot.qty += signed
        if lot.qty == 0:
            lot.avg = ZERO
        elif (lot.qty > 0) == (signed > 0):  # the fill flipped the position: the rest opens at the fill price
            lot.avg = fill.price
    for lot in lots.values():
        if lot.qty != 0 and lot.sec_type == "OPT" and lot.expiry is not None and lot.expiry <= day:
            result.gross += (ZERO - lot.avg) * abs(lot.qty) * lot.mult * (1 if lot.qty > 0 else -1)
            lot.qty = 0
    result.open_lots = tuple(lot.stored(con_id) for con_id, lot in sorted(lots.items()) if lot.qty != 0)
    return result


def daily_pnl(
    follower_id: str, day: date, fills: list[Fill], snapshots: list[PnLSnapshot], computed_at: datetime,
    carried: tuple[OpenLot, ...] = (),
) -> tuple[DailyPnL, tuple[OpenLot, ...]]:
    """The day's P&L document of one follower, and what stays open after it."""
    realized = realize(fills, day, carried)
    marks = [s.daily_pnl for s in sorted(snapshots, key=lambda s: s.at)]
    if realized.open_lots:
        log.warning(
            "positions still open after the day: carried to the next day at their average cost",
            extra={"follower_id": follower_id, "date": day.isoformat(),
                   "con_ids": [lot.con_id for lot in realized.open_lots]},
        )
    doc = DailyPnL(
        follower_id=follower_id,
        date=day,
        realized_pnl=realized.net,
        commissions=realized.commissions,
        closing_mtm=marks[-1] if marks else realized.net,
        best_mtm=max(marks) if marks else realized.net,
        worst_mtm=min(marks) if marks else realized.net,
        trades=realized.trades,
        computed_at=computed_at,
    )
    return doc, realized.open_lots


def same_figures(a: DailyPnL, b: DailyPnL) -> bool:
    """Equal apart from when they were computed."""
    return a.model_copy(update={"computed_at": b.computed_at}) == b


@dataclass(frozen=True)
class DailyRun:
    """What one daily rollup did."""

    day: date
    written: tuple[str, ...]
    unchanged: tuple[str, ...]


def run_daily(records: PnLRecords, publisher: Publisher, day: date, now: datetime) -> DailyRun:
    """Roll up ``day`` for every follower with fills or snapshots on it."""
    start, end = day_bounds(day)
    fills: dict[str, list[Fill]] = defaultdict(list)
    snapshots: dict[str, list[PnLSnapshot]] = defaultdict(list)
    for fill in records.fills_between(start, end):
        if new_york(fill.at).date() == day:
            fills[fill.follower_id].append(fill)
    for snap in records.snapshots_between(start, end):
        if new_york(snap.at).date() == day:
            snapshots[snap.follower_id].append(snap)
    window = records.open_lots_between(day - timedelta(days=CARRY_DAYS), day)
    carried = {fid: by_day[max(d for d in by_day if d < day)] for fid, by_day in window.items()
               if any(d < day for d in by_day)}
    follower_ids = sorted(set(fills) | set(snapshots) | {fid for fid, lots in carried.items() if lots})
    existing = records.daily(day, follower_ids)
    written: list[str] = []
    unchanged: list[str] = []
    failed: list[str] = []
    for follower_id in follower_ids:
        try:
            doc, lots = daily_pnl(follower_id, day, fills[follower_id], snapshots[follower_id], now,
                                  carried.get(follower_id, ()))
        except Exception:  # isolate: one follower's bad data must not stop the others' rollup
            log.exception("daily rollup failed for a follower", extra={"follower_id": follower_id})
            report_failure(publisher, "pnl.daily_failed", follower_id, f"daily P&L of {day} failed", now)
            failed.append(follower_id)
            continue
        before = existing.get(follower_id)
        if before is not None and same_figures(doc, before) and window.get(follower_id, {}).get(day, ()) == lots:
            unchanged.append(follower_id)
            continue
        records.put_daily(doc, lots)
        written.append(follower_id)
        log.info(
            "daily P&L stored",
            extra={"follower_id": follower_id, "date": day.isoformat(), "realized_pnl": str(doc.realized_pnl),
                   "closing_mtm": str(doc.closing_mtm), "trades": doc.trades},
        )
    log.info("daily rollup done", extra={"date": day.isoformat(), "fills": sum(map(len, fills.values())),
                                         "snapshots": sum(map(len, snapshots.values())), "written": len(written),
                                         "unchanged": len(unchanged), "failed": len(failed)})
    if failed:
        raise Retryable(f"daily rollup of {day} failed for {', '.join(failed)}")
    return DailyRun(day=day, written=tuple(written), unchanged=tuple(unchanged))
