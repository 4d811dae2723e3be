"""How one sheet row reads on a given day: the strategist's formats, the shapes that trade and those that never do."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from poller_fakes import DAY, HEADER, et, long_row, short_row

from spreadpilot.models import Strategy, make_signal_id
from spreadpilot.sheet_header import Cell, find_header, missing_columns
from spreadpilot.signal_rows import RowOutcome, RowStatus, parse_signal_row

AT = et("09:28")


def parse(row: list[Cell], header: list[Cell] = HEADER, today: date = DAY, at: datetime = AT) -> RowOutcome:
    found = find_header([header])
    assert found is not None
    return parse_signal_row(row, found, today, row_number=5, detected_at=at)


# ── headers ─────────────────────────────────────────────────────────────────────────────────────────────────────────


def test_italian_header_is_found_below_a_title_row() -> None:
    header = find_header([["Segnali QQQ"], [], HEADER])
    assert header is not None
    assert header.row_number == 3


def test_english_headers_with_odd_case_spaces_and_accents_are_recognised() -> None:
    english = ["  DATE ", "ticker", "STRATEGY", "qty per leg", "buy put", "SELL PUT", "Sell  Call", "buycall"]
    header = find_header([english])
    assert header is not None
    assert len(header.positions) == 8


def test_quantita_without_its_accent_is_the_same_header() -> None:
    assert find_header([["Data", "Ticker", "Strategia", "QUANTITA  PER LEG"]]) is not None


def test_no_header_names_what_is_missing() -> None:
    rows: list[list[Cell]] = [["Data", "Ticker", "Buy Put"], ["2026-03-17", "QQQ", 480]]
    assert find_header(rows) is None
    assert missing_columns(rows) == ("Strategia", "Quantità per Leg")


def test_header_beyond_the_searched_rows_is_not_used() -> None:
    assert find_header([[], [], HEADER], search_rows=2) is None


# ── rows that trade ─────────────────────────────────────────────────────────────────────────────────────────────────


def test_long_row_is_a_bull_put_credit_spread_with_a_deterministic_id() -> None:
    outcome = parse(long_row())
    assert outcome.status is RowStatus.VALID
    signal = outcome.signal
    assert signal is not None
    assert signal.spread.strategy is Strategy.BULL_PUT
    assert (signal.spread.short_strike, signal.spread.long_strike) == (Decimal(485), Decimal(480))
    assert signal.qty_per_leg == 2
    assert signal.signal_id == make_signal_id(DAY, "QQQ", signal.spread, 2)
    assert signal.source_row == 5


def test_short_row_is_a_bear_call_credit_spread() -> None:
    signal = parse(short_row()).signal
    assert signal is not None
    assert signal.spread.strategy is Strategy.BEAR_CALL
    assert (signal.spread.short_strike, signal.spread.long_strike) == (Decimal(495), Decimal(500))


def test_values_are_trimmed_and_compared_without_case() -> None:
    messy = parse([" 2026-03-17 ", " qqq ", " long ", " 2 ", "480", " 485 "]).signal
    clean = parse(long_row()).signal
    assert messy is not None
    assert clean is not None
    assert messy.signal_id == clean.signal_id


@pytest.mark.parametrize("day", ["2026-03-17", "17/03/2026", "17.03.2026", "17-03-2026", 46098, 46098.4, "46098"])
def test_todays_date_is_read_in_every_accepted_format(day: Cell) -> None:
    assert parse([day, "QQQ", "Long", 2, 480, 485]).status is RowStatus.VALID


@pytest.mark.parametrize(("qty", "expected"), [("2", 2), (2.0, 2), ("2,0", 2), (" 3 ", 3)])
def test_quantity_written_as_text_or_float_is_a_whole_number(qty: Cell, expected: int) -> None:
    signal = parse(long_row(qty=qty)).signal
    assert signal is not None
    assert signal.qty_per_leg == expected


def test_decimal_comma_strikes_are_read_like_decimal_points() -> None:
    signal = parse(long_row(buy_put="480,5", sell_put="485.5")).signal
    assert signal is not None
    assert (signal.spread.long_strike, signal.spread.short_strike) == (Decimal("480.5"), Decimal("485.5"))


def test_same_trade_written_differently_gets_the_same_signal_id() -> None:
    one = parse(long_row(buy_put=480, sell_put=485, qty=2)).signal
    two = parse(long_row(day="17/03/2026", buy_put="480.00", sell_put=485.0, qty="2")).signal
    assert one is not None
    assert two is not None
    assert one.signal_id == two.signal_id


# ── rows that are not (yet) today's ─────────────────────────────────────────────────────────────────────────────────


def test_empty_row_means_not_yet() -> None:
    assert parse([]).status is RowStatus.BLANK
    assert parse(["", "  ", None]).status is RowStatus.BLANK


def test_row_for_another_day_is_ignored_whatever_it_holds() -> None:
    outcome = parse(["2026-03-16", "SPY", "Sideways"])
    assert outcome.status is RowStatus.OTHER_DAY
    assert outcome.day == date(2026, 3, 16)


def test_half_filled_row_for_today_waits_and_says_what_is_missing() -> None:
    outcome = parse(["2026-03-17", "QQQ", "Long", 2, 480])
    assert outcome.status is RowStatus.INCOMPLETE
    assert outcome.missing == ("Sell Put",)


def test_row_with_only_todays_date_is_incomplete() -> None:
    outcome = parse(["2026-03-17"])
    assert outcome.status is RowStatus.INCOMPLETE
    assert outcome.missing == ("Ticker", "Strategia", "Quantità per Leg")


# ── rows that never trade ───────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("row", "column", "value"),
    [
        (long_row(sell_put=480, buy_put=485), "Sell Put", "480"),
        (short_row(sell_call=500, buy_call=495), "Sell Call", "500"),
        (long_row(buy_put=485, sell_put=485), "Sell Put", "485"),
        (["2026-03-17", "SPY", "Long", 2, 480, 485], "Ticker", "SPY"),
        (["2026-03-17", "QQQ", "Sideways", 2, 480, 485], "Strategia", "Sideways"),
        (long_row(qty=0), "Quantità per Leg", "0"),
        (long_row(qty=-1), "Quantità per Leg", "-1"),
        (long_row(qty=1.5), "Quantità per Leg", "1.5"),
        (long_row(qty="two"), "Quantità per Leg", "two"),
        (long_row(qty=5000), "Quantità per Leg", "5000"),
        (long_row(qty=True), "Quantità per Leg", "True"),
        (long_row(buy_put="abc"), "Buy Put", "abc"),
        (long_row(buy_put=-480), "Buy Put", "-480"),
        (long_row(buy_put=480.123), "Buy Put", "480.123"),
        (long_row(sell_put=float("nan")), "Sell Put", "nan"),
        (["2026-02-30", "QQQ", "Long", 2, 480, 485], "Data", "2026-02-30"),
        (["tomorrow", "QQQ", "Long", 2, 480, 485], "Data", "tomorrow"),
        (["2026-03-17", "QQQ", "Long", 2, 480, 485, 495], "Sell Call", "495"),
    ],
)
def test_row_that_can_never_trade_is_rejected_naming_row_column_and_value(row: list[Cell], column: str,
                                                                          value: str) -> None:
    outcome = parse(row)
    assert outcome.status is RowStatus.REJECTED
    assert (outcome.column, outcome.value) == (column, value)
    assert outcome.reason.startswith(f'row 5, column "{column}", value "{value}": ')
    assert outcome.signal is None


def test_filled_but_invalid_cell_rejects_even_while_other_cells_are_empty() -> None:
    outcome = parse(["2026-03-17", "TSLA"])
    assert outcome.status is RowStatus.REJECTED
    assert outcome.column == "Ticker"


def test_short_row_in_a_sheet_without_call_columns_is_rejected() -> None:
    outcome = parse(["2026-03-17", "QQQ", "Short", 1, 495, 500], header=HEADER[:6])
    assert outcome.status is RowStatus.REJECTED
    assert outcome.column == "Sell Call"
    assert "no Sell Call column" in outcome.reason


def test_hostile_value_is_quoted_short_and_printable() -> None:
    outcome = parse(["2026-03-17", "QQQ\n\x00" + "A" * 500, "Long", 2, 480, 485])
    assert outcome.status is RowStatus.REJECTED
    assert len(outcome.value) <= 40
    assert outcome.value.isprintable()


@pytest.mark.parametrize("strike", ["４８５", "٤٨٥"])
def test_digits_from_other_scripts_are_not_numbers(strike: str) -> None:
    outcome = parse(long_row(sell_put=strike))
    assert outcome.status is RowStatus.REJECTED
    assert outcome.column == "Sell Put"


def test_a_header_repeated_further_down_is_not_a_row() -> None:
    assert parse(list(HEADER)).status is RowStatus.BLANK
