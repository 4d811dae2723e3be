"""Pricing, the fill model, margin and books, the price path, framing: the simulator's pure parts."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from ibsim.accounts import Account, margin_of
from ibsim.contracts import STOCK, Chain, listed_expiries
from ibsim.fills import combo_quote, fill_price, leg_prices
from ibsim.market import parse_path, price_on_path
from ibsim.orders import Leg
from ibsim.pricing import Quote, black_scholes, quote_around
from ibsim.protocol import FrameBuffer, encode_frame, parse_version_range, split_fields
from ibsim.scenario import load_scenario

CHAIN = Chain(date(2026, 3, 17), 480.0)
P479 = CHAIN.option(CHAIN.today, 479, "P")
P474 = CHAIN.option(CHAIN.today, 474, "P")
QUOTES = {P479.con_id: Quote(1.20, 1.30, 1.25), P474.con_id: Quote(0.40, 0.50, 0.45)}
SPREAD = [Leg(P479, "SELL"), Leg(P474, "BUY")]


def quote_of(leg: Leg) -> Quote:
    return QUOTES[leg.listing.con_id]


# --- pricing ------------------------------------------------------------------------------------------------------
def test_put_call_parity_holds() -> None:
    years, rate = 30 / 365, 0.04
    call = black_scholes("C", 480, 482, years, 0.2, rate).price
    put = black_scholes("P", 480, 482, years, 0.2, rate).price
    assert math.isclose(call - put, 482 - 480 * math.exp(-rate * years), abs_tol=1e-6)


def test_an_expiring_option_is_worth_its_intrinsic_value() -> None:
    assert black_scholes("P", 479, 470, 0.0, 0.2, 0.04).price == pytest.approx(9.0, abs=1e-6)
    assert black_scholes("P", 479, 490, 0.0, 0.2, 0.04).price == pytest.approx(0.0, abs=1e-9)


def test_a_quote_straddles_the_model_and_never_bids_below_zero() -> None:
    q = quote_around(1.234, 0.04)
    assert q.bid < 1.23 < q.ask
    assert q.mid == pytest.approx(1.23)
    assert quote_around(0.001, 0.04).bid == 0.0


# --- fill model ---------------------------------------------------------------------------------------------------
def test_a_credit_spread_bought_as_a_combo_has_a_negative_price() -> None:
    q = combo_quote(SPREAD, quote_of)
    assert (q.bid, q.mid, q.ask) == (-0.9, -0.8, -0.7)


def test_buy_at_the_negative_mid_fills_at_the_mid() -> None:
    assert fill_price("BUY", "LMT", Decimal("-0.80"), Quote(-0.9, -0.7, -0.8), Decimal("0")) == Decimal("-0.80")


def test_asking_more_credit_than_the_mid_does_not_fill_without_slippage() -> None:
    assert fill_price("BUY", "LMT", Decimal("-0.82"), Quote(-0.9, -0.7, -0.8), Decimal("0")) is None


def test_slippage_lets_a_limit_slightly_better_than_mid_fill_at_its_limit() -> None:
    assert fill_price("BUY", "LMT", Decimal("-0.82"), Quote(-0.9, -0.7, -0.8), Decimal("0.02")) == Decimal("-0.82")


def test_a_generous_limit_gets_the_mid() -> None:
    assert fill_price("BUY", "LMT", Decimal("-0.50"), Quote(-0.9, -0.7, -0.8), Decimal("0")) == Decimal("-0.80")
    assert fill_price("SELL", "LMT", Decimal("-1.00"), Quote(-0.9, -0.7, -0.8), Decimal("0")) == Decimal("-0.80")


def test_a_market_order_takes_the_far_side() -> None:
    assert fill_price("BUY", "MKT", None, Quote(-0.9, -0.7, -0.8), Decimal("0")) == Decimal("-0.70")
    assert fill_price("SELL", "MKT", None, Quote(-0.9, -0.7, -0.8), Decimal("0")) == Decimal("-0.90")


def test_leg_prices_are_non_negative_and_sum_to_the_combo_price() -> None:
    for combo in (Decimal("-0.80"), Decimal("-0.78"), Decimal("-1.20")):
        prices = leg_prices(SPREAD, quote_of, combo)
        assert all(p >= 0 for p in prices)
        assert -prices[0] + prices[1] == combo


# --- books and margin ---------------------------------------------------------------------------------------------
def _marks(listing: object) -> float:
    return {P479.con_id: 1.25, P474.con_id: 0.45}.get(getattr(listing, "con_id", 0), 480.0)


def test_credit_spread_margin_is_width_times_100_times_qty_less_the_credit() -> None:
    assert margin_of([(P479, -2), (P474, 2)], _marks, 480.0) == Decimal(5 * 100 * 2) - Decimal("160")


def test_a_long_option_needs_no_margin_beyond_its_premium() -> None:
    acct = Account("DU1", Decimal("1000"))
    acct.apply_trade(P474, 1, Decimal("0.45"), Decimal("0"))
    assert acct.margin(_marks, 480.0) == Decimal("45.00")
    assert acct.available_funds(_marks, 480.0) == Decimal("955.00")


def test_stock_needs_half_its_value() -> None:
    assert margin_of([(STOCK, 100)], _marks, 480.0) == Decimal("24000.00")


def test_closing_a_position_realizes_pnl_and_commission() -> None:
    acct = Account("DU1", Decimal("0"))
    acct.apply_trade(P479, -2, Decimal("1.25"), Decimal("1.30"))
    realized = acct.apply_trade(P479, 2, Decimal("0.25"), Decimal("1.30"))
    assert realized == Decimal("200.00") - Decimal("1.30")
    assert acct.cash == Decimal("250") - Decimal("50") - Decimal("2.60")
    assert acct.held() == []


# --- contracts, price path, scenario ------------------------------------------------------------------------------
def test_option_con_ids_round_trip_and_expiries_skip_weekends() -> None:
    assert CHAIN.by_con_id(P479.con_id) == P479
    assert CHAIN.by_con_id(12345) is None
    assert listed_expiries(date(2026, 3, 20))[:3] == [date(2026, 3, 20), date(2026, 3, 23), date(2026, 3, 24)]


def test_the_price_path_is_piecewise_linear_and_flat_outside() -> None:
    knots = parse_path({"09:30": 480.0, "10:30": 490.0})
    assert price_on_path(knots, time(10, 0)) == pytest.approx(485.0)
    assert price_on_path(knots, time(9, 0)) == 480.0
    assert price_on_path(knots, time(15, 0)) == 490.0


def test_a_scenario_file_gives_the_path_and_the_faults(tmp_path: Path) -> None:
    path = tmp_path / "day.yaml"
    path.write_text('name: t\ndate: 2026-03-17\nmarket:\n  underlying: {"09:30": 487.2, "16:00": 490.1}\n'
                    'faults:\n  - {at: "13:05", kind: assignment, follower: f01}\n  - {at: 09:31, kind: disconnect,'
                    ' seconds: 20}\n')
    scenario = load_scenario(str(path))
    assert scenario.day == date(2026, 3, 17)
    assert [(f.at, f.kind) for f in scenario.faults] == [(time(9, 31), "disconnect"), (time(13, 5), "assignment")]
    assert scenario.faults[0].params == {"seconds": 20}
    assert price_on_path(scenario.path, time(16, 0)) == 490.1


# --- framing ------------------------------------------------------------------------------------------------------
def test_frames_split_across_reads_are_reassembled() -> None:
    data = encode_frame([9, 1, 42]) + encode_frame([15, 1, "DU1,DU2"])
    buffer = FrameBuffer()
    bodies = buffer.feed(data[:5]) + buffer.feed(data[5:])
    assert [split_fields(b) for b in bodies] == [["9", "1", "42"], ["15", "1", "DU1,DU2"]]


def test_the_client_version_range_is_read_with_connect_options() -> None:
    assert parse_version_range("v157..178 +PACEAPI") == (157, 178)


def test_encode_frame_writes_unset_doubles_as_ibs_max_double() -> None:
    assert b"1.7976931348623157E308\0" in encode_frame([1, 1.7976931348623157e308])
    assert datetime(2026, 1, 1, tzinfo=UTC)  # every datetime in the simulator is aware


def test_accounts_come_from_a_list_a_counted_pattern_and_a_file(tmp_path: Path) -> None:
    from ibsim.__main__ import parse_accounts

    listing = tmp_path / "accounts.txt"
    listing.write_text("U900\n\nU901\n", encoding="utf-8")
    assert parse_accounts("DU001,DU002", None) == ["DU001", "DU002"]
    assert parse_accounts("DU%03d:300", None)[::299] == ["DU001", "DU300"]
    assert parse_accounts(None, str(listing)) == ["U900", "U901"]


def test_pacing_admits_fifty_messages_a_second_and_then_refuses() -> None:
    from ibsim.pacing import Pacer

    pacer = Pacer(50)
    assert all(pacer.admit(0.001 * i) for i in range(50))
    assert not pacer.admit(0.5)
    assert pacer.admit(1.0)
