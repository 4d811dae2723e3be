"""Find the sheet's header row and map its columns, in Italian or English, whatever the case, accents or spaces."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

Cell = str | int | float | bool | None


class Column(StrEnum):
    """The fields of a signal row; the value is the name the strategist's (Italian) sheet uses."""

    DATE = "Data"
    TICKER = "Ticker"
    STRATEGY = "Strategia"
    QTY = "Quantità per Leg"
    BUY_PUT = "Buy Put"
    SELL_PUT = "Sell Put"
    SELL_CALL = "Sell Call"
    BUY_CALL = "Buy Call"


# Header spellings after normalisation (accents dropped, lower case, no spaces or punctuation).
_ALIASES: dict[Column, tuple[str, ...]] = {
    Column.DATE: ("data", "date", "giorno", "day"),
    Column.TICKER: ("ticker", "symbol", "simbolo", "sottostante", "underlying"),
    Column.STRATEGY: ("strategia", "strategy"),
    Column.QTY: (
        "quantitaperleg", "qtaperleg", "qtyperleg", "quantityperleg", "quantita", "quantity", "qty", "qta",
        "contrattiperleg", "contractsperleg",
    ),
    Column.BUY_PUT: ("buyput", "compraput", "putbuy", "longput"),
    Column.SELL_PUT: ("sellput", "vendiput", "putsell", "shortput"),
    Column.SELL_CALL: ("sellcall", "vendicall", "callsell", "shortcall"),
    Column.BUY_CALL: ("buycall", "compracall", "callbuy", "longcall"),
}
_BY_SPELLING = {spelling: column for column, spellings in _ALIASES.items() for spelling in spellings}
REQUIRED = (Column.DATE, Column.TICKER, Column.STRATEGY, Column.QTY)


class Header(BaseModel):
    """Where each known column sits: ``positions[column]`` is the 0-based cell index; ``row_number`` is 1-based."""

    model_config = ConfigDict(frozen=True)

    row_number: int
    positions: dict[Column, int]

    def cell(self, row: Sequence[Cell], column: Column) -> Cell:
        """The cell of ``column`` in ``row`` (``None`` when the column or the cell is absent)."""
        index = self.positions.get(column)
        if index is None or index >= len(row):
            return None
        return row[index]


def normalise(text: str) -> str:
    """A header as compared: accents dropped, lower case, letters and digits only (``Quantità per Leg`` → …)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", "", plain.casefold())


def column_of(cell: Cell) -> Column | None:
    """The column a header cell names, if any."""
    if not isinstance(cell, str):
        return None
    return _BY_SPELLING.get(normalise(cell))


def find_header(rows: Sequence[Sequence[Cell]], search_rows: int = 10) -> Header | None:
    """The first row among the first ``search_rows`` that names every required column, or ``None``."""
    for index, row in enumerate(rows[:search_rows]):
        positions: dict[Column, int] = {}
        for position, cell in enumerate(row):
            column = column_of(cell)
            if column is not None and column not in positions:
                positions[column] = position
        if all(column in positions for column in REQUIRED):
            return Header(row_number=index + 1, positions=positions)
    return None


def missing_columns(rows: Sequence[Sequence[Cell]], search_rows: int = 10) -> tuple[Column, ...]:
    """The required columns the best header candidate lacks (to say what is wrong when no header is found)."""
    best: set[Column] = set()
    for row in rows[:search_rows]:
        found = {column for cell in row if (column := column_of(cell)) is not None}
        if len(found & set(REQUIRED)) > len(best & set(REQUIRED)):
            best = found
    return tuple(column for column in REQUIRED if column not in best)
