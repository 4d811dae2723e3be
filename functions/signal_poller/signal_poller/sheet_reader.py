"""Reading the signal tab: the Protocol the poll loop needs, and its gspread adapter.

Errors, by what the poll loop does about them:
    SheetQuotaExceeded (Retryable)  429: back off, alert if it persists
    SheetUnavailable   (Retryable)  5xx or network: try again at the next poll
    SheetUnreadable    (Rejected)   404/403/400 (no such spreadsheet or tab, no permission): alert, stop this tick
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import requests

from spreadpilot.errors import Rejected, Retryable
from spreadpilot.sheet_header import Cell

Rows = list[list[Cell]]


class SheetQuotaExceeded(Retryable):
    """The Sheets API answered 429 (read requests per minute per user)."""


class SheetUnavailable(Retryable):
    """A transient failure reading the sheet (server error, network)."""


class SheetUnreadable(Rejected):
    """The sheet can't be read as configured; an operator must act."""


class SheetReader(Protocol):
    """Reads every row of the signal tab (cells unformatted: text, numbers, booleans)."""

    def read_rows(self) -> Rows:
        """The tab's rows, top to bottom (ragged: trailing empty cells omitted)."""
        ...


def quote_tab(tab: str) -> str:
    """A tab name as an A1 range covering the whole tab."""
    return "'" + tab.replace("'", "''") + "'"


def clean_rows(values: object) -> Rows:
    """The API's ``values`` as rows of plain cells (anything unexpected becomes text, never an exception)."""
    if not isinstance(values, list):
        return []
    rows: Rows = []
    for raw in values:
        cells: Sequence[Any] = raw if isinstance(raw, list) else []
        rows.append([c if c is None or isinstance(c, str | int | float | bool) else str(c) for c in cells])
    return rows


class GspreadSheetReader:
    """One ``values.get`` per read (no metadata call), so a poll costs one unit of the read quota."""

    def __init__(self, client: Any, spreadsheet_id: str, tab: str) -> None:
        self.client = client  # a gspread.Client (real credentials, or the local fake through its session seam)
        self.spreadsheet_id = spreadsheet_id
        self.tab = tab

    def read_rows(self) -> Rows:
        """Every row of the tab, numbers as numbers and dates as serial numbers."""
        import gspread  # imported here: only the adapter needs it (cold import ~0.4 s)

        try:
            body = self.client.http_client.values_get(
                self.spreadsheet_id,
                quote_tab(self.tab),
                params={
                    "valueRenderOption": "UNFORMATTED_VALUE",
                    "dateTimeRenderOption": "SERIAL_NUMBER",
                    "majorDimension": "ROWS",
                },
            )
        except gspread.exceptions.APIError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            message = str(exc.error.get("message", exc)) if isinstance(exc.error, dict) else str(exc)
            if status == 429:
                raise SheetQuotaExceeded(f"Sheets API 429: {message}") from exc
            if status in (400, 403, 404):
                raise SheetUnreadable(f"Sheets API {status} for spreadsheet {self.spreadsheet_id!r} "
                                      f"tab {self.tab!r}: {message}") from exc
            raise SheetUnavailable(f"Sheets API {status}: {message}") from exc
        except requests.RequestException as exc:
            raise SheetUnavailable(f"Sheets API unreachable: {exc}") from exc
        return clean_rows(body.get("values") if isinstance(body, dict) else None)
