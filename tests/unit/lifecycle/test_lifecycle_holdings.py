"""Reading broker positions: spreads, orphans, stock, and when a spread must be closed."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from lifecycle_fakes import option, stock

from executor.lifecycle.holdings import (
    classify,
    in_or_near_money,
    intrinsic,
    pin_risk_reason,
    session_open_for_exits,
    time_value_exit_reason,
)
from spreadpilot.models import Right, Spread, Strategy

A = "DU001"
SIGNAL = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))


def test_a_short_and_a_long_put_of_equal_size_form_one_spread_without_orphans() -> None:
    h = classify(A, [option(A, 485, -2), option(A, 480, 2)], [SIGNAL])
    assert [(s.short_strike, s.long_strike, s.qty) for s in h.spreads] == [(485, 480, 2)]
    assert h.orphans == ()
    assert h.stock is None


def test_a_short_without_its_long_is_a_naked_short_orphan() -> None:
    h = classify(A, [option(A, 485, -2), option(A, 480, 1)], [SIGNAL])
    assert [s.qty for s in h.spreads] == [1]
    assert [(o.position.strike, o.qty) for o in h.orphans] == [(485, -1)]


def test_the_signals_strikes_are_paired_before_the_nearest_strike() -> None:
    h = classify(A, [option(A, 485, -1), option(A, 484, 1), option(A, 480, 1)], [SIGNAL])
    assert [(s.short_strike, s.long_strike) for s in h.spreads] == [(485, 480)]
    assert [o.position.strike for o in h.orphans] == [484]


def test_puts_and_calls_never_pair_and_other_accounts_are_ignored() -> None:
    h = classify(A, [option(A, 485, -1), option(A, 490, 1, Right.CALL), option("DU002", 480, 1)])
    assert h.spreads == ()
    assert sorted(o.qty for o in h.orphans) == [-1, 1]


def test_stock_in_the_account_is_reported_apart_from_options() -> None:
    h = classify(A, [stock(A, 200), option(A, 480, 2)])
    assert h.stock is not None
    assert h.stock.qty == 200
    assert [o.qty for o in h.orphans] == [2]
    assert not h.flat


def test_intrinsic_value_and_moneyness_of_puts_and_calls() -> None:
    assert intrinsic(Right.PUT, Decimal(485), Decimal(480)) == 5
    assert intrinsic(Right.CALL, Decimal(485), Decimal(480)) == 0
    assert in_or_near_money(Right.PUT, Decimal(485), Decimal("485.9"), Decimal(1))
    assert not in_or_near_money(Right.PUT, Decimal(485), Decimal("486.5"), Decimal(1))
    assert in_or_near_money(Right.CALL, Decimal(490), Decimal("489.2"), Decimal(1))


def test_an_in_the_money_short_with_ten_cents_of_time_value_closes_the_spread() -> None:
    spread = classify(A, [option(A, 485, -1), option(A, 480, 1)]).spreads[0]
    reason = time_value_exit_reason(spread, Decimal("5.10"), Decimal(480), Decimal("0.10"), Decimal(1))
    assert reason is not None
    assert "time value 0.10" in reason


def test_a_short_with_time_value_left_or_far_out_of_the_money_is_kept() -> None:
    spread = classify(A, [option(A, 485, -1), option(A, 480, 1)]).spreads[0]
    assert time_value_exit_reason(spread, Decimal("5.30"), Decimal(480), Decimal("0.10"), Decimal(1)) is None
    assert time_value_exit_reason(spread, Decimal("0.02"), Decimal(490), Decimal("0.10"), Decimal(1)) is None
    assert time_value_exit_reason(spread, None, Decimal(480), Decimal("0.10"), Decimal(1)) is None


def test_pin_risk_closes_only_from_1555_and_only_within_a_dollar_of_the_short_strike() -> None:
    spread = classify(A, [option(A, 485, -1), option(A, 480, 1)]).spreads[0]
    at_1555 = datetime(2026, 3, 17, 19, 55, tzinfo=UTC)
    at_1554 = datetime(2026, 3, 17, 19, 54, tzinfo=UTC)
    args = (time(15, 55), time(16, 0), Decimal(1))
    assert pin_risk_reason(spread, Decimal("485.6"), at_1555, *args) is not None
    assert pin_risk_reason(spread, Decimal("485.6"), at_1554, *args) is None
    assert pin_risk_reason(spread, Decimal("486.2"), at_1555, *args) is None


def test_no_exit_is_sent_once_the_session_closed() -> None:
    assert session_open_for_exits(datetime(2026, 3, 17, 19, 59, tzinfo=UTC), time(16, 0))
    assert not session_open_for_exits(datetime(2026, 3, 17, 20, 0, tzinfo=UTC), time(16, 0))
