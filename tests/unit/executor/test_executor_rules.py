"""Pure rules: the combo limit sign, sizing, the ladder, the pre-trade checks."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from executor.broker import Margin
from executor.checks import (
    Controls,
    credit_reason,
    entry_window_reason,
    kill_switch_reason,
    margin_decision,
    stale_reason,
)
from executor.ladder import ladder_exhausted, next_limit
from executor.pricing import combo_limit, credit_of
from executor.settings import MarginMode
from executor.sizing import affordable_contracts, contracts_for
from spreadpilot.clock import NEW_YORK

D = Decimal


def test_buying_a_credit_combo_sends_a_negative_limit() -> None:
    assert combo_limit("BUY", D("0.85")) == D("-0.85")


def test_selling_a_credit_combo_sends_a_positive_limit() -> None:
    assert combo_limit("SELL", D("0.85")) == D("0.85")


def test_credit_of_inverts_combo_limit_for_both_actions() -> None:
    for action in ("BUY", "SELL"):
        assert credit_of(action, combo_limit(action, D("0.731"))) == D("0.73")


def test_a_non_positive_credit_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        combo_limit("BUY", D(0))


def test_contracts_are_qty_times_multiplier_floored_and_capped() -> None:
    assert contracts_for(2, D("1.5"), 10) == 3
    assert contracts_for(3, D("2.5"), 5) == 5
    assert contracts_for(1, D("0.5"), 10) == 0


def test_affordable_contracts_fit_the_available_funds() -> None:
    assert affordable_contracts(4, D(2000), D(1100)) == 2
    assert affordable_contracts(4, D(2000), D(100)) == 0


def test_ladder_starts_at_mid_and_concedes_a_cent_per_step() -> None:
    assert [next_limit(s, D("0.80"), D("0.70")) for s in range(3)] == [D("0.80"), D("0.79"), D("0.78")]


def test_ladder_never_goes_below_the_floor() -> None:
    assert next_limit(10, D("0.72"), D("0.70")) == D("0.70")


def test_ladder_is_exhausted_after_its_last_step() -> None:
    assert not ladder_exhausted(10, 10)
    assert ladder_exhausted(11, 10)


def at(hh: int, mm: int) -> datetime:
    return datetime(2026, 3, 17, hh, mm, tzinfo=NEW_YORK)


def test_entry_window_is_open_from_0930_to_1030_new_york_time() -> None:
    start, end = time(9, 30), time(10, 30)
    assert entry_window_reason(at(9, 30), start, end) is None
    assert entry_window_reason(at(10, 30), start, end) is None
    assert "outside" in (entry_window_reason(at(9, 29), start, end) or "")
    assert "outside" in (entry_window_reason(at(10, 31), start, end) or "")


def test_a_signal_from_another_day_is_stale() -> None:
    assert stale_reason(date(2026, 3, 17), at(10, 0)) is None
    assert stale_reason(date(2026, 3, 16), at(10, 0)) is not None


def test_kill_switches_default_to_allowing_entries() -> None:
    assert kill_switch_reason(Controls.from_doc(None), Controls.from_doc({})) is None


def test_global_or_follower_pause_stops_entries() -> None:
    paused = Controls.from_doc({"entries_paused": True, "updated_by": "ops"})
    assert "globally" in (kill_switch_reason(paused, Controls()) or "")
    assert "follower" in (kill_switch_reason(Controls(), paused) or "")
    assert kill_switch_reason(Controls(), Controls.from_doc({"flatten_pending": True})) is not None


def test_credit_below_minimum_or_missing_quote_is_refused() -> None:
    assert credit_reason(D("0.70"), D("0.70")) is None
    assert "below" in (credit_reason(D("0.69"), D("0.70")) or "")
    assert "quote" in (credit_reason(None, D("0.70")) or "")


def test_margin_that_fits_keeps_the_size() -> None:
    margin = Margin(init_margin_change=D(1000), init_margin_after=D(1000), equity_with_loan_after=D(5000))
    assert margin_decision(2, margin, MarginMode.SKIP).contracts == 2


def test_margin_short_skips_or_reduces_as_configured() -> None:
    margin = Margin(init_margin_change=D(2000), init_margin_after=D(2000), equity_with_loan_after=D(1100))
    assert margin_decision(4, margin, MarginMode.SKIP).contracts == 0
    reduced = margin_decision(4, margin, MarginMode.REDUCE)
    assert reduced.contracts == 2
    assert "reduced from 4 to 2" in reduced.reason


def test_seconds_until_the_window_opens() -> None:
    from executor.checks import seconds_until_window

    assert seconds_until_window(at(9, 27), time(9, 30)) == 180
    assert seconds_until_window(at(9, 45), time(9, 30)) == 0
