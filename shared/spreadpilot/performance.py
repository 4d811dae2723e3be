"""Trading performance from a follower's daily P&L documents: trades, not days.

A trade is one day with executions (``DailyPnL.trades`` > 0): a follower takes one spread a day, and the day's
realized P&L (after commissions) is that spread's, its exits, assignment repair and expiry included. A day without
a trade counts for nothing but the drawdown (it can still realize, e.g. stock sold the morning after).

- win rate = winning trades / decided trades (a trade at exactly 0 is neither);
- profit factor = gross profit of winning trades / gross loss of losing trades (None while nothing was lost);
- maximum drawdown = deepest fall of the cumulative realized P&L below its running peak, over every day given;
- consecutive losses: the longest run of losing trades, and the run the follower is in now.
Amounts are cents in, cents out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from spreadpilot.models import DailyPnL

ZERO = Decimal(0)
RATIO_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Performance:
    """One follower's (or everyone's) trading performance."""

    trades: int
    winning: int
    losing: int
    win_rate: Decimal  # 0..1, four places
    profit_factor: Decimal | None
    net: Decimal
    gross_profit: Decimal
    gross_loss: Decimal  # positive
    max_drawdown: Decimal
    max_consecutive_losses: int
    consecutive_losses: int  # the losing run the follower is in now (0 after a win)

    def to_doc(self) -> dict[str, object]:
        """JSON-ready: amounts and ratios as strings, as every document here stores them."""
        return {"trades": self.trades, "winning": self.winning, "losing": self.losing, "win_rate": str(self.win_rate),
                "profit_factor": None if self.profit_factor is None else str(self.profit_factor),
                "net": str(self.net), "gross_profit": str(self.gross_profit), "gross_loss": str(self.gross_loss),
                "max_drawdown": str(self.max_drawdown), "max_consecutive_losses": self.max_consecutive_losses,
                "consecutive_losses": self.consecutive_losses}


def performance(days: Iterable[DailyPnL]) -> Performance:
    """Performance of one follower's days (in any order; each date once)."""
    return _of([(d.date, d.realized_pnl, d.trades) for d in days])


def overall(by_follower: Iterable[Iterable[DailyPnL]]) -> Performance:
    """Everyone together: every follower's trades counted one by one; the drawdown and the losing runs of the
    summed daily P&L (a day is a loss for the book when the followers' sum is)."""
    followers = [list(days) for days in by_follower]
    each = [performance(days) for days in followers]
    total: dict[date, tuple[Decimal, int]] = {}
    for days in followers:
        for d in days:
            pnl, trades = total.get(d.date, (ZERO, 0))
            total[d.date] = (pnl + d.realized_pnl, trades + d.trades)
    book = _of([(day, pnl, trades) for day, (pnl, trades) in total.items()])
    wins, losses = sum(p.winning for p in each), sum(p.losing for p in each)
    gross_profit, gross_loss = sum((p.gross_profit for p in each), ZERO), sum((p.gross_loss for p in each), ZERO)
    return Performance(
        trades=sum(p.trades for p in each), winning=wins, losing=losses, win_rate=_rate(wins, wins + losses),
        profit_factor=(gross_profit / gross_loss).quantize(RATIO_PLACES) if gross_loss else None,
        net=book.net, gross_profit=gross_profit, gross_loss=gross_loss, max_drawdown=book.max_drawdown,
        max_consecutive_losses=book.max_consecutive_losses, consecutive_losses=book.consecutive_losses,
    )


def _rate(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(RATIO_PLACES) if whole else ZERO


def _of(rows: list[tuple[date, Decimal, int]]) -> Performance:
    ordered = sorted(rows)
    trades = [pnl for _, pnl, count in ordered if count > 0]
    wins, losses = [p for p in trades if p > 0], [p for p in trades if p < 0]
    gross_profit, gross_loss = sum(wins, ZERO), -sum(losses, ZERO)
    run = longest = 0
    for pnl in trades:
        if pnl < 0:
            run += 1
            longest = max(longest, run)
        elif pnl > 0:
            run = 0
    peak = cumulative = deepest = ZERO
    for _, pnl, _ in ordered:
        cumulative += pnl
        peak = max(peak, cumulative)
        deepest = max(deepest, peak - cumulative)
    return Performance(
        trades=len(trades), winning=len(wins), losing=len(losses), win_rate=_rate(len(wins), len(wins) + len(losses)),
        profit_factor=(gross_profit / gross_loss).quantize(RATIO_PLACES) if gross_loss else None,
        net=cumulative, gross_profit=gross_profit, gross_loss=gross_loss, max_drawdown=deepest,
        max_consecutive_losses=longest, consecutive_losses=run,
    )
