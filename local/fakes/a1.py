"""A1 notation for the Sheets fake: ``'Tab name'!A1:C3``, ``Tab!A:C``, ``Tab!2:5``, ``Tab``, ``A1``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")


@dataclass(frozen=True)
class A1Range:
    """A rectangle on one tab; 0-based inclusive indices, ``None`` = unbounded on that side."""

    tab: str | None
    row0: int
    col0: int
    row1: int | None
    col1: int | None

    def label(self, default_tab: str, last_row: int, last_col: int) -> str:
        """The range as the API echoes it, with open ends closed at ``last_row``/``last_col`` (0-based)."""
        row1 = self.row1 if self.row1 is not None else max(last_row, self.row0)
        col1 = self.col1 if self.col1 is not None else max(last_col, self.col0)
        return f"{quote_tab(self.tab or default_tab)}!{cell_name(self.row0, self.col0)}:{cell_name(row1, col1)}"


def column_index(letters: str) -> int:
    """``A`` → 0, ``Z`` → 25, ``AA`` → 26."""
    index = 0
    for char in letters.upper():
        index = index * 26 + (ord(char) - ord("A") + 1)
    return index - 1


def column_letters(index: int) -> str:
    """0 → ``A``, 26 → ``AA``."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def cell_name(row: int, col: int) -> str:
    """0-based (row, col) → ``A1`` style."""
    return f"{column_letters(col)}{row + 1}"


def quote_tab(tab: str) -> str:
    """A tab name as it appears in a range (quoted when it has anything but letters, digits and _)."""
    if re.fullmatch(r"[A-Za-z0-9_]+", tab):
        return tab
    return "'" + tab.replace("'", "''") + "'"


def _split_tab(text: str) -> tuple[str | None, str]:
    if text.startswith("'"):
        end = 1
        name = ""
        while end < len(text):
            if text[end] == "'":
                if text[end + 1 : end + 2] == "'":
                    name += "'"
                    end += 2
                    continue
                break
            name += text[end]
            end += 1
        rest = text[end + 1 :]
        return name, rest[1:] if rest.startswith("!") else rest
    if "!" in text:
        tab, _, cells = text.rpartition("!")
        return tab, cells
    return None, text


def _cell(text: str) -> tuple[int | None, int | None]:
    match = _CELL.match(text)
    if not match or not (match.group(1) or match.group(2)):
        raise ValueError(f"Unable to parse range: {text}")
    col = column_index(match.group(1)) if match.group(1) else None
    row = int(match.group(2)) - 1 if match.group(2) else None
    return row, col


def parse(text: str, tabs: set[str]) -> A1Range:
    """Parse ``text``; a bare word naming an existing tab is the whole tab (the API does the same)."""
    tab, cells = _split_tab(text.strip())
    if tab is None and cells in tabs:
        return A1Range(tab=cells, row0=0, col0=0, row1=None, col1=None)
    if cells == "":
        return A1Range(tab=tab, row0=0, col0=0, row1=None, col1=None)
    start, _, end = cells.partition(":")
    row0, col0 = _cell(start)
    if end:
        row1, col1 = _cell(end)
    else:
        row1, col1 = row0, col0
    return A1Range(tab=tab, row0=row0 or 0, col0=col0 or 0, row1=row1, col1=col1)
