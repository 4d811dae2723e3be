"""Performance counts trades, not days: win rate, profit factor, drawdown and losing runs from daily P&L."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from spreadpilot.models import DailyPnL
from spreadpilot.performance import overall, performance

START = date(2026, 3, 2)


def days(follower_id: str, *pnls: tuple[str, int]) -> list[DailyPnL]:
    """One DailyPnL per (realized, trades), on consecutive dates."""
    return [DailyPnL(follower_id=follower_id, date=START + timedelta(days=n), realized_pnl=Decimal(pnl),
                     commissions=Decimal(0), closing_mtm=Decimal(0), best_mtm=Decimal(0), worst_mtm=Decimal(0),
                     trades=trades, computed_at=datetime(2026, 4, 1, tzinfo=UTC)) for n, (pnl, trades) in
            enumerate(pnls)]


def test_trades_not_days_decide_the_win_rate_and_a_day_without_a_trade_only_moves_the_drawdown() -> None:
    # win 100, loss 40, a day without a trade that realizes -30 (stock sold the morning after), loss 20, win 50
    p = performance(days("f01", ("100", 2), ("-40", 2), ("-30", 0), ("-20", 4), ("50", 2)))
    assert (p.trades, p.winning, p.losing) == (4, 2, 2)
    assert p.win_rate == Decimal("0.5000")  # the day-based rate would have said 2 of 5
    assert p.profit_factor == Decimal("2.5000")  # 150 / 60
    assert p.net == Decimal(60)
    assert p.max_drawdown == Decimal(90)  # from +100 down to +10
    assert (p.max_consecutive_losses, p.consecutive_losses) == (2, 0)


def test_nothing_lost_has_no_profit_factor_and_a_run_still_going_is_the_current_one() -> None:
    assert performance(days("f01", ("10", 2), ("0", 2))).profit_factor is None  # a flat trade is neither
    assert performance([]).to_doc()["win_rate"] == "0"
    p = performance(days("f01", ("10", 2), ("-1", 2), ("-2", 2), ("-3", 2)))
    assert (p.max_consecutive_losses, p.consecutive_losses) == (3, 3)


def test_everyone_counts_each_followers_trades_and_the_books_drawdown_from_the_summed_days() -> None:
    both = overall([days("f01", ("100", 2), ("-40", 2)), days("f02", ("-10", 2), ("30", 2))])
    assert (both.trades, both.winning, both.losing) == (4, 2, 2)
    assert both.profit_factor == Decimal("2.6000")  # 130 / 50
    assert both.net == Decimal(80)
    assert both.max_drawdown == Decimal(10)  # the book: +90 on the first day, -10 on the second
    assert (both.max_consecutive_losses, both.consecutive_losses) == (1, 1)
