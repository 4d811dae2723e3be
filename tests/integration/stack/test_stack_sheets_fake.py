"""Real gspread reads and writes the Sheets fake through spreadpilot.sheets_client."""

from __future__ import annotations

import gspread
import pytest

from fakes.control import SheetsControl
from spreadpilot.sheets_client import sheets_client
from stack import LocalStack

HEADER = ["Data", "Ticker", "Strategia", "Quantità per Leg", "Buy Put", "Sell Put", "Sell Call", "Buy Call"]
ROW = ["2026-03-17", "QQQ", "Long", 2, 480, 485, "", ""]


def test_gspread_reads_rows_written_to_the_fake(clean_stack: LocalStack, sheets: SheetsControl) -> None:
    key = sheets.create_spreadsheet({"Segnali": [HEADER, ROW]}, title="Signals")

    worksheet = sheets_client().open_by_key(key).worksheet("Segnali")

    # gspread pads every row to the widest one, as with the real API.
    assert worksheet.get_all_values() == [HEADER, ["2026-03-17", "QQQ", "Long", "2", "480", "485", "", ""]]
    assert worksheet.get_all_records()[0]["Quantità per Leg"] == 2


def test_gspread_metadata_lists_the_tabs(clean_stack: LocalStack, sheets: SheetsControl) -> None:
    key = sheets.create_spreadsheet({"First": [["a"]], "Second tab": []}, title="Book")

    book = sheets_client().open_by_key(key)

    assert book.title == "Book"
    assert [w.title for w in book.worksheets()] == ["First", "Second tab"]
    assert book.sheet1.title == "First"


def test_gspread_update_append_and_batch_get(clean_stack: LocalStack, sheets: SheetsControl) -> None:
    key = sheets.create_spreadsheet({"Sheet1": [HEADER]})
    worksheet = sheets_client().open_by_key(key).sheet1

    worksheet.append_row(["2026-03-17", "QQQ", "Short", "1", "", "", "500", "505"], value_input_option="USER_ENTERED")
    worksheet.update([["2026-03-18", "QQQ"]], "A3")
    ranges = worksheet.batch_get(["A1:B1", "G2:H2"])

    assert sheets.tab_values(key, "Sheet1")[1] == ["2026-03-17", "QQQ", "Short", 1, "", "", 500, 505]
    assert sheets.tab_values(key, "Sheet1")[2] == ["2026-03-18", "QQQ"]
    assert [list(r) for r in ranges] == [[["Data", "Ticker"]], [["500", "505"]]]


def test_clear_empties_a_range(clean_stack: LocalStack, sheets: SheetsControl) -> None:
    key = sheets.create_spreadsheet({"Sheet1": [HEADER, ROW]})
    worksheet = sheets_client().open_by_key(key).sheet1

    worksheet.batch_clear(["A2:H2"])

    assert worksheet.get_all_values() == [HEADER]


def test_injected_429_fails_the_next_reads_then_clears(clean_stack: LocalStack, sheets: SheetsControl) -> None:
    key = sheets.create_spreadsheet({"Sheet1": [HEADER, ROW]})
    worksheet = sheets_client().open_by_key(key).sheet1
    sheets.fail_next(2, status=429)

    for _ in range(2):
        with pytest.raises(gspread.exceptions.APIError) as raised:
            worksheet.get_all_values()
        assert raised.value.code == 429
    assert worksheet.get_all_values()[0] == HEADER
    assert [r["status"] for r in sheets.requests()][-3:] == [429, 429, 200]


def test_read_quota_answers_429_above_the_rate(clean_stack: LocalStack, sheets: SheetsControl) -> None:
    key = sheets.create_spreadsheet({"Sheet1": [HEADER]})
    worksheet = sheets_client().open_by_key(key).sheet1
    sheets.set_read_quota(2)

    worksheet.get_all_values()
    worksheet.get_all_values()
    with pytest.raises(gspread.exceptions.APIError) as raised:
        worksheet.get_all_values()

    assert raised.value.code == 429


def test_unknown_spreadsheet_is_not_found(clean_stack: LocalStack) -> None:
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        sheets_client().open_by_key("no-such-sheet")


def test_gspread_adds_a_worksheet_and_writes_to_it(clean_stack: LocalStack, sheets: SheetsControl) -> None:
    key = sheets.create_spreadsheet({"Sheet1": []})

    added = sheets_client().open_by_key(key).add_worksheet("Archive", rows=10, cols=5)
    added.update([["kept"]], "A1")

    assert sheets.tab_values(key, "Archive") == [["kept"]]
