"""Properties over malformed and hostile sheets: nothing escapes, nothing invalid trades, every rejection says why."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from poller_fakes import DAY, HEADER, World, et, long_row

from spreadpilot.models import Strategy, make_signal_id
from spreadpilot.sheet_header import Cell, find_header
from spreadpilot.signal_rows import RowStatus, parse_signal_row

TOKENS = [
    "QQQ", "qqq ", "SPY", "Long", " short", "LONG", "Sideways", "2026-03-17", "17/03/2026", "2026-03-16", "46098",
    "480", "485", "485,5", "-1", "0", "1e309", "NaN", "Infinity", "2.5", "=IMPORTXML(\"x\")", "'; DROP TABLE", "\x00",
    "١٢٣", "Ⅻ", "４８５", " ", "", "Data", "Ticker",
]
cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60),
    st.sampled_from(TOKENS),
)
rows = st.lists(cells, max_size=12)
HEADER_ROW = find_header([HEADER])
assert HEADER_ROW is not None


@settings(max_examples=400, deadline=None, derandomize=True)
@given(row=rows)
def test_any_row_parses_without_raising_and_only_a_valid_row_carries_a_signal(row: list[Cell]) -> None:
    outcome = parse_signal_row(row, HEADER_ROW, DAY, row_number=7, detected_at=et("09:30"))
    if outcome.status is RowStatus.VALID:
        assert outcome.signal is not None
    else:
        assert outcome.signal is None
    if outcome.status is RowStatus.REJECTED:
        assert outcome.reason.startswith(f'row 7, column "{outcome.column}"')
        assert outcome.column


@settings(max_examples=400, deadline=None, derandomize=True)
@given(row=rows)
def test_every_signal_satisfies_the_trading_rules(row: list[Cell]) -> None:
    outcome = parse_signal_row(row, HEADER_ROW, DAY, row_number=2, detected_at=et("09:30"))
    signal = outcome.signal
    if signal is None:
        return
    assert signal.ticker == "QQQ"
    assert signal.date == DAY
    assert 1 <= signal.qty_per_leg <= 1000
    spread = signal.spread
    if spread.strategy is Strategy.BULL_PUT:
        assert spread.short_strike > spread.long_strike > 0
    else:
        assert 0 < spread.short_strike < spread.long_strike
    assert signal.signal_id == make_signal_id(DAY, "QQQ", spread, signal.qty_per_leg)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(index=st.integers(min_value=1, max_value=5), junk=cells)
def test_one_corrupted_cell_in_a_valid_row_never_yields_a_different_trade_silently(index: int, junk: Cell) -> None:
    row = long_row()
    row[index] = junk
    outcome = parse_signal_row(row, HEADER_ROW, DAY, row_number=2, detected_at=et("09:30"))
    assert outcome.status in (RowStatus.VALID, RowStatus.INCOMPLETE, RowStatus.REJECTED)
    if outcome.signal is not None:  # the junk happened to be a valid spelling of a valid value
        spread = outcome.signal.spread
        assert spread.strategy is Strategy.BULL_PUT
        assert spread.short_strike > spread.long_strike
        assert isinstance(spread.short_strike, Decimal)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(sheet=st.lists(rows, max_size=8), header_at=st.integers(min_value=0, max_value=3))
def test_a_tick_over_any_sheet_returns_normally_and_publishes_at_most_one_signal(
    sheet: list[list[Cell]], header_at: int
) -> None:
    content = [list(r) for r in sheet]
    content.insert(min(header_at, len(content)), list(HEADER))
    world = World.at(et("09:40"), content)
    world.tick()
    world.tick(et("09:41"))
    assert len(world.publisher.signals()) <= 1
    for rejection in world.ledger.rejections.values():
        assert rejection.reason
    for alert in world.publisher.alerts():
        assert alert.message
        assert alert.alert_id


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    buy=st.integers(min_value=1, max_value=1000),
    sell=st.integers(min_value=1, max_value=1000),
    qty=st.integers(min_value=-5, max_value=2000),
)
def test_a_sheet_whose_only_row_breaks_a_rule_never_trades_and_says_why(buy: int, sell: int, qty: int) -> None:
    valid = sell > buy and 1 <= qty <= 1000
    world = World.at(et("09:40"), [HEADER, long_row(qty=qty, buy_put=buy, sell_put=sell)])
    world.tick()
    if valid:
        assert len(world.publisher.signals()) == 1
    else:
        assert world.publisher.signals() == []
        [rejection] = world.ledger.rejections.values()
        assert rejection.reason.startswith(f'row 2, column "{rejection.column}", value "{rejection.value}": ')


strike_cells = st.one_of(
    st.integers(min_value=470, max_value=500), st.sampled_from(["480", "485,5", " 490 ", 0, -480, "", None, "x"])
)


@st.composite
def near_valid_rows(draw: st.DrawFn) -> list[Cell]:
    """Rows shaped like the strategist's, each cell usually right and sometimes subtly wrong."""
    long = draw(st.booleans())
    legs = [draw(strike_cells), draw(strike_cells)]
    unused = [draw(st.sampled_from([None, None, None, None, "", 495]))] * 2
    return [
        draw(st.sampled_from(["2026-03-17", "17/03/2026", 46098, "2026-03-17", "2026-03-16", "3/17/2026"])),
        draw(st.sampled_from(["QQQ", " qqq", "QQQ", "QQQ", "SPY", ""])),
        draw(st.sampled_from(["Long", " long "] if long else ["Short", "SHORT "]) | st.sampled_from(["Neutral", ""])),
        draw(st.one_of(st.integers(min_value=1, max_value=5), st.integers(min_value=-1, max_value=1001),
                       st.sampled_from(["2", "2.0", "2,5", "", True]))),
        *(legs + unused if long else unused + legs),
    ]


@settings(max_examples=500, deadline=None, derandomize=True)
@given(row=near_valid_rows())
def test_rows_close_to_valid_trade_only_when_every_rule_holds(row: list[Cell]) -> None:
    outcome = parse_signal_row(row, HEADER_ROW, DAY, row_number=2, detected_at=et("09:30"))
    if outcome.signal is None:
        assert outcome.status is not RowStatus.VALID
        return
    spread = outcome.signal.spread
    legs = (row[5], row[4]) if spread.strategy is Strategy.BULL_PUT else (row[6], row[7])
    unused = (row[6], row[7]) if spread.strategy is Strategy.BULL_PUT else (row[4], row[5])
    assert all(str(leg).strip() for leg in legs)
    assert all(cell in (None, "") for cell in unused)
    assert (spread.short_strike > spread.long_strike) == (spread.strategy is Strategy.BULL_PUT)
    assert 1 <= outcome.signal.qty_per_leg <= 1000
