"""Turn one sheet row into what it means for today: nothing yet, not complete yet, rejected (and why), or a signal.

Cells arrive as the Sheets API renders them unformatted: text, numbers, booleans or nothing. Values are trimmed
and compared without regard to case (`` long `` is ``Long``, ``qqq`` is ``QQQ``, ``"2"`` is 2). Every rejection
names the row, the column and the value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, ValidationError

from spreadpilot.models import Signal, Spread, Strategy, make_signal_id
from spreadpilot.sheet_header import Cell, Column, Header, column_of

MAX_QTY = 1000
MAX_STRIKE = Decimal(100_000)
_SHEETS_EPOCH = date(1899, 12, 30)  # day 0 of Google Sheets (and Excel) serial dates
_MAX_SERIAL = (date(9999, 12, 31) - _SHEETS_EPOCH).days
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", re.ASCII)
_DMY = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})$", re.ASCII)
_SERIAL = re.compile(r"^\d{1,7}(?:\.\d+)?$", re.ASCII)
_NUMBER = re.compile(r"^\d{1,7}(?:[.,]\d{1,8})?$", re.ASCII)
_STRATEGIES = {"long": Strategy.BULL_PUT, "short": Strategy.BEAR_CALL}
_LEGS = {
    Strategy.BULL_PUT: (Column.SELL_PUT, Column.BUY_PUT),
    Strategy.BEAR_CALL: (Column.SELL_CALL, Column.BUY_CALL),
}
_STRIKES = (Column.BUY_PUT, Column.SELL_PUT, Column.SELL_CALL, Column.BUY_CALL)


class RowStatus(StrEnum):
    BLANK = "blank"  # nothing in any known column, or no date: not a signal row (yet)
    OTHER_DAY = "other_day"  # a row for another day
    INCOMPLETE = "incomplete"  # today's row, some cells still empty: wait for them (until the cutoff)
    REJECTED = "rejected"  # a row that can never trade as it stands
    VALID = "valid"  # today's signal


class RowOutcome(BaseModel):
    """What one row means today."""

    model_config = ConfigDict(frozen=True)

    status: RowStatus
    row_number: int
    cells: dict[str, Cell] = {}
    day: date | None = None
    signal: Signal | None = None
    column: str = ""
    value: str = ""
    reason: str = ""
    missing: tuple[str, ...] = ()


class _Bad(Exception):
    """A cell that can never be valid; carries the column, the value and why."""

    def __init__(self, column: Column | str, value: Cell, why: str) -> None:
        super().__init__(why)
        self.column = str(column)
        self.value = show(value)
        self.why = why


def show(value: Cell) -> str:
    """A cell as quoted in a reason: short and printable, whatever the strategist (or an attacker) typed."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= 40 else text[:37] + "..."


def row_cells(row: Sequence[Cell], header: Header) -> dict[str, Cell]:
    """The known columns of ``row`` as read, keyed by their sheet names (what Firestore keeps as ``row``)."""
    cells: dict[str, Cell] = {}
    for column in header.positions:
        value = header.cell(row, column)
        cells[column.value] = value.strip() if isinstance(value, str) else value
    return cells


def _empty(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_day(value: Cell) -> date:
    """A date cell: ``YYYY-MM-DD``, ``DD/MM/YYYY`` (also with ``.`` or ``-``) or a sheet serial number."""
    if isinstance(value, bool):
        raise _Bad(Column.DATE, value, "is not a date")
    if isinstance(value, int | float):
        return _from_serial(value)
    text = str(value).strip()
    try:
        if match := _ISO.match(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _DMY.match(text):
            return date(int(match[4]), int(match[3]), int(match[1]))
    except ValueError as exc:
        raise _Bad(Column.DATE, value, "is not a real calendar date") from exc
    if _SERIAL.match(text):
        return _from_serial(float(text))
    raise _Bad(Column.DATE, value, "is not a date (expected YYYY-MM-DD, DD/MM/YYYY or a sheet date)")


def _from_serial(serial: float) -> date:
    if not math.isfinite(serial) or not 1 <= serial <= _MAX_SERIAL:
        raise _Bad(Column.DATE, serial, "is not a sheet date serial number")
    return _SHEETS_EPOCH + timedelta(days=int(serial))  # a fraction is the time of day


def _number(column: Column, value: Cell) -> Decimal:
    if isinstance(value, bool):
        raise _Bad(column, value, "is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad(column, value, "is not a finite number")
        return Decimal(repr(value))
    text = str(value).strip()
    if not _NUMBER.match(text):
        raise _Bad(column, value, "is not a number")
    return Decimal(text.replace(",", "."))


def _strike(column: Column, value: Cell) -> Decimal:
    strike = _number(column, value)
    if not 0 < strike <= MAX_STRIKE:
        raise _Bad(column, value, f"is not a strike (must be above 0 and at most {MAX_STRIKE})")
    if strike != strike.quantize(Decimal("0.01")):
        raise _Bad(column, value, "has more than 2 decimals (not a listed strike)")
    return strike


def _qty(value: Cell) -> int:
    number = _number(Column.QTY, value)
    if number != number.to_integral_value():
        raise _Bad(Column.QTY, value, "is not a whole number of contracts")
    if not 1 <= number <= MAX_QTY:
        raise _Bad(Column.QTY, value, f"must be a whole number from 1 to {MAX_QTY}")
    return int(number)


def _ticker(value: Cell, tickers: frozenset[str]) -> str:
    ticker = str(value).strip().upper() if isinstance(value, str) else ""
    if ticker not in tickers:
        raise _Bad(Column.TICKER, value, f"is not an allowed ticker ({', '.join(sorted(tickers))})")
    return ticker


def _strategy(value: Cell) -> Strategy:
    strategy = _STRATEGIES.get(value.strip().casefold()) if isinstance(value, str) else None
    if strategy is None:
        raise _Bad(Column.STRATEGY, value, "is not a strategy (expected Long or Short)")
    return strategy


def parse_signal_row(
    row: Sequence[Cell],
    header: Header,
    today: date,
    *,
    row_number: int,
    detected_at: datetime,
    tickers: frozenset[str] = frozenset({"QQQ"}),
) -> RowOutcome:
    """What ``row`` (1-based ``row_number``) means on ``today``; never raises on bad cells."""
    cells = row_cells(row, header)
    base = {"row_number": row_number, "cells": cells}
    date_cell = cells.get(Column.DATE.value)
    if all(_empty(value) for value in cells.values()) or _empty(date_cell) or column_of(date_cell) is Column.DATE:
        return RowOutcome(status=RowStatus.BLANK, **base)  # nothing yet, or the header repeated further down
    day: date | None = None
    try:
        day = parse_day(cells[Column.DATE.value])
        if day != today:
            return RowOutcome(status=RowStatus.OTHER_DAY, day=day, **base)
        return _todays_row(cells, header, today, row_number, detected_at, tickers)
    except _Bad as bad:
        reason = f'row {row_number}, column "{bad.column}", value "{bad.value}": {bad.why}'
        return RowOutcome(
            status=RowStatus.REJECTED, day=day, column=bad.column, value=bad.value, reason=reason, **base
        )


def _todays_row(
    cells: dict[str, Cell],
    header: Header,
    today: date,
    row_number: int,
    detected_at: datetime,
    tickers: frozenset[str],
) -> RowOutcome:
    def cell(column: Column) -> Cell:
        value = cells.get(column.value)
        return None if _empty(value) else value

    # A filled cell that can never be valid rejects the row now; empty cells only mean "not yet".
    ticker = _ticker(cell(Column.TICKER), tickers) if cell(Column.TICKER) is not None else None
    strategy = _strategy(cell(Column.STRATEGY)) if cell(Column.STRATEGY) is not None else None
    qty = _qty(cell(Column.QTY)) if cell(Column.QTY) is not None else None
    strikes = {c: _strike(c, cell(c)) for c in _STRIKES if cell(c) is not None}
    base = {"row_number": row_number, "cells": cells, "day": today}
    if strategy is not None:
        short_col, long_col = _LEGS[strategy]
        for column in (short_col, long_col):
            if column not in header.positions:
                raise _Bad(column, None, f"the sheet has no {column.value} column, which {_label(strategy)} needs")
        for column in _STRIKES:
            if column not in (short_col, long_col) and column in strikes:
                raise _Bad(column, cell(column), f"must be empty for {_label(strategy)}")
    needed = [Column.TICKER, Column.STRATEGY, Column.QTY, *(_LEGS[strategy] if strategy else ())]
    missing = tuple(c.value for c in needed if cell(c) is None)
    if missing or ticker is None or strategy is None or qty is None:
        return RowOutcome(status=RowStatus.INCOMPLETE, missing=missing, **base)
    short_col, long_col = _LEGS[strategy]
    short, long_ = strikes[short_col], strikes[long_col]
    if strategy is Strategy.BULL_PUT and not short > long_:
        raise _Bad(short_col, cell(short_col), f"Long (bull put) needs Sell Put above Buy Put ({long_})")
    if strategy is Strategy.BEAR_CALL and not short < long_:
        raise _Bad(short_col, cell(short_col), f"Short (bear call) needs Sell Call below Buy Call ({long_})")
    try:
        spread = Spread(strategy=strategy, short_strike=short, long_strike=long_)
        signal = Signal(
            signal_id=make_signal_id(today, ticker, spread, qty),
            date=today,
            ticker=ticker,
            spread=spread,
            qty_per_leg=qty,
            source_row=row_number,
            detected_at=detected_at,
        )
    except ValidationError as exc:
        raise _Bad(Column.STRATEGY, cell(Column.STRATEGY), f"not a valid spread ({exc.errors()[0]['msg']})") from exc
    return RowOutcome(status=RowStatus.VALID, signal=signal, **base)


def _label(strategy: Strategy) -> str:
    return "Long (bull put)" if strategy is Strategy.BULL_PUT else "Short (bear call)"
