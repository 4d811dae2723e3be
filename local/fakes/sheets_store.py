"""The Sheets fake's in-memory spreadsheets and the semantics of the v4 ``values`` calls on them."""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from fakes.a1 import A1Range, cell_name, parse, quote_tab

DEFAULT_ROWS = 1000
DEFAULT_COLS = 26
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

Cell = str | int | float | bool | None


class SheetsError(Exception):
    """An API error the fake answers with ``status`` and Google's error body."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


@dataclass
class Tab:
    """One worksheet: its grid properties and its cell values (ragged rows, as entered)."""

    sheet_id: int
    title: str
    rows: list[list[Cell]] = field(default_factory=list)
    row_count: int = DEFAULT_ROWS
    col_count: int = DEFAULT_COLS

    def last_row(self) -> int:
        """0-based index of the last non-empty row (-1 if empty)."""
        for index in range(len(self.rows) - 1, -1, -1):
            if any(value not in (None, "") for value in self.rows[index]):
                return index
        return -1

    def last_col(self) -> int:
        """0-based index of the last non-empty column (-1 if empty)."""
        return max((_trimmed_len(row) for row in self.rows), default=0) - 1

    def write(self, row0: int, col0: int, values: list[list[Cell]]) -> None:
        """Write a block of values with its top-left at (row0, col0), growing the grid as needed."""
        for r, row in enumerate(values):
            while len(self.rows) <= row0 + r:
                self.rows.append([])
            target = self.rows[row0 + r]
            for c, value in enumerate(row):
                while len(target) <= col0 + c:
                    target.append(None)
                target[col0 + c] = value
        self.row_count = max(self.row_count, row0 + len(values))
        self.col_count = max(self.col_count, col0 + max((len(row) for row in values), default=0))

    def read(self, rng: A1Range) -> list[list[Cell]]:
        """The block under ``rng``, trailing empty cells and rows trimmed (as the API does)."""
        row1 = rng.row1 if rng.row1 is not None else len(self.rows) - 1
        out: list[list[Cell]] = []
        for r in range(rng.row0, min(row1, len(self.rows) - 1) + 1):
            row = self.rows[r]
            col1 = rng.col1 if rng.col1 is not None else len(row) - 1
            out.append(row[rng.col0 : col1 + 1])
        out = [row[: _trimmed_len(row)] for row in out]
        while out and not out[-1]:
            out.pop()
        return out

    def clear(self, rng: A1Range) -> None:
        """Empty every cell under ``rng``."""
        row1 = rng.row1 if rng.row1 is not None else len(self.rows) - 1
        for r in range(rng.row0, min(row1, len(self.rows) - 1) + 1):
            row = self.rows[r]
            col1 = rng.col1 if rng.col1 is not None else len(row) - 1
            for c in range(rng.col0, min(col1, len(row) - 1) + 1):
                row[c] = None


def _trimmed_len(row: list[Cell]) -> int:
    length = len(row)
    while length and row[length - 1] in (None, ""):
        length -= 1
    return length


def user_entered(value: Cell) -> Cell:
    """What Sheets stores for a USER_ENTERED value: numbers and booleans typed as text become typed."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if _NUMBER.match(text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE"
    return value


def formatted(value: Cell) -> str:
    """A value as FORMATTED_VALUE renders it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class Spreadsheet:
    """One spreadsheet: an id, a title and its tabs in order."""

    spreadsheet_id: str
    title: str
    tabs: list[Tab] = field(default_factory=list)

    def tab(self, title: str | None) -> Tab:
        """The tab named ``title`` (the first tab when ``None``)."""
        if title is None:
            return self.tabs[0]
        for tab in self.tabs:
            if tab.title == title:
                return tab
        raise SheetsError(400, f"Unable to parse range: {title}", "INVALID_ARGUMENT")

    def add_tab(self, title: str) -> Tab:
        """Append a new empty tab."""
        if any(tab.title == title for tab in self.tabs):
            raise SheetsError(400, f'A sheet with the name "{title}" already exists.', "INVALID_ARGUMENT")
        tab = Tab(sheet_id=0 if not self.tabs else max(t.sheet_id for t in self.tabs) + 1, title=title)
        self.tabs.append(tab)
        return tab

    def batch_update(self, requests: list[dict[str, Any]]) -> dict[str, Any]:
        """The ``spreadsheets.batchUpdate`` body; only ``addSheet`` requests are supported."""
        replies: list[dict[str, Any]] = []
        for request in requests:
            if "addSheet" not in request:
                raise SheetsError(
                    400, f"The Sheets fake supports only addSheet, got {list(request)}", "INVALID_ARGUMENT"
                )
            title = request["addSheet"].get("properties", {}).get("title", f"Sheet{len(self.tabs) + 1}")
            self.add_tab(title)
            replies.append({"addSheet": {"properties": self.metadata()["sheets"][-1]["properties"]}})
        return {"spreadsheetId": self.spreadsheet_id, "replies": replies}

    def metadata(self) -> dict[str, Any]:
        """The ``GET spreadsheets/{id}`` body."""
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": {"title": self.title, "locale": "en_US", "timeZone": "America/New_York"},
            "sheets": [
                {
                    "properties": {
                        "sheetId": tab.sheet_id,
                        "title": tab.title,
                        "index": index,
                        "sheetType": "GRID",
                        "gridProperties": {"rowCount": tab.row_count, "columnCount": tab.col_count},
                    }
                }
                for index, tab in enumerate(self.tabs)
            ],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit",
        }

    def resolve(self, text: str) -> tuple[Tab, A1Range]:
        """The tab and rectangle an A1 string names."""
        try:
            rng = parse(text, {tab.title for tab in self.tabs})
        except ValueError as bad:
            raise SheetsError(400, str(bad), "INVALID_ARGUMENT") from bad
        return self.tab(rng.tab), rng

    def get_values(self, text: str, render: str = "FORMATTED_VALUE", major: str = "ROWS") -> dict[str, Any]:
        """The ``values.get`` body for one range."""
        tab, rng = self.resolve(text)
        values: list[list[Any]] = tab.read(rng)
        if render == "FORMATTED_VALUE":
            values = [[formatted(v) for v in row] for row in values]
        if major == "COLUMNS":
            width = max((len(row) for row in values), default=0)
            values = [[row[c] if c < len(row) else "" for row in values] for c in range(width)]
        label = rng.label(tab.title, max(tab.last_row(), rng.row0), max(tab.last_col(), rng.col0))
        body: dict[str, Any] = {"range": label, "majorDimension": major}
        if values:
            body["values"] = values
        return body

    def update_values(self, text: str, values: list[list[Cell]], input_option: str) -> dict[str, Any]:
        """The ``values.update`` body; writes ``values`` at the range's top-left cell."""
        tab, rng = self.resolve(text)
        if input_option == "USER_ENTERED":
            values = [[user_entered(v) for v in row] for row in values]
        tab.write(rng.row0, rng.col0, values)
        return self._updated(tab, rng.row0, rng.col0, values)

    def append_values(self, text: str, values: list[list[Cell]], input_option: str) -> dict[str, Any]:
        """The ``values.append`` body; writes ``values`` below the last non-empty row of the tab."""
        tab, rng = self.resolve(text)
        if input_option == "USER_ENTERED":
            values = [[user_entered(v) for v in row] for row in values]
        last = tab.last_row()
        table_range = None
        if last >= 0:
            table_range = f"{quote_tab(tab.title)}!{cell_name(0, rng.col0)}:{cell_name(last, max(tab.last_col(), 0))}"
        start = last + 1 if last >= 0 else rng.row0
        tab.write(start, rng.col0, values)
        body: dict[str, Any] = {
            "spreadsheetId": self.spreadsheet_id,
            "updates": self._updated(tab, start, rng.col0, values),
        }
        if table_range:
            body["tableRange"] = table_range
        return body

    def clear_values(self, text: str) -> dict[str, Any]:
        """The ``values.clear`` body."""
        tab, rng = self.resolve(text)
        tab.clear(rng)
        label = rng.label(tab.title, max(tab.row_count - 1, rng.row0), max(tab.col_count - 1, rng.col0))
        return {"spreadsheetId": self.spreadsheet_id, "clearedRange": label}

    def _updated(self, tab: Tab, row0: int, col0: int, values: list[list[Cell]]) -> dict[str, Any]:
        width = max((len(row) for row in values), default=0)
        rows = len(values)
        end = cell_name(row0 + max(rows, 1) - 1, col0 + max(width, 1) - 1)
        label = f"{quote_tab(tab.title)}!{cell_name(row0, col0)}:{end}"
        return {
            "spreadsheetId": self.spreadsheet_id,
            "updatedRange": label,
            "updatedRows": rows,
            "updatedColumns": width,
            "updatedCells": sum(len(row) for row in values),
        }


class SheetsStore:
    """Every spreadsheet the fake holds, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.spreadsheets: dict[str, Spreadsheet] = {}

    def create(self, title: str, tabs: dict[str, list[list[Cell]]], spreadsheet_id: str | None = None) -> Spreadsheet:
        """Create a spreadsheet with ``tabs`` (title → rows; at least one tab, ``Sheet1`` by default)."""
        with self.lock:
            sheet = Spreadsheet(spreadsheet_id=spreadsheet_id or uuid.uuid4().hex, title=title)
            for name, rows in (tabs or {"Sheet1": []}).items():
                sheet.add_tab(name).write(0, 0, rows)
            self.spreadsheets[sheet.spreadsheet_id] = sheet
            return sheet

    def get(self, spreadsheet_id: str) -> Spreadsheet:
        """The spreadsheet, or a 404 as the API answers."""
        found = self.spreadsheets.get(spreadsheet_id)
        if found is None:
            raise SheetsError(404, "Requested entity was not found.", "NOT_FOUND")
        return found
