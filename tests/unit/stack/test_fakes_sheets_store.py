"""The Sheets fake's value semantics (what gspread relies on)."""

from __future__ import annotations

from fakes.sheets_store import Spreadsheet, formatted, user_entered


def _sheet(rows: list[list[object]]) -> Spreadsheet:
    sheet = Spreadsheet("id", "Book")
    sheet.add_tab("Sheet1").write(0, 0, rows)  # type: ignore[arg-type]
    return sheet


def test_user_entered_text_becomes_numbers_and_booleans() -> None:
    assert [user_entered(v) for v in ["2", "480.5", "TRUE", "QQQ", "2026-03-17", 3]] == [
        2,
        480.5,
        True,
        "QQQ",
        "2026-03-17",
        3,
    ]


def test_formatted_values_render_like_sheets() -> None:
    assert [formatted(v) for v in [2, 2.0, 2.5, True, None, "x"]] == ["2", "2", "2.5", "TRUE", "", "x"]


def test_get_trims_trailing_empty_cells_and_rows() -> None:
    sheet = _sheet([["a", "b", ""], ["c", None], [None, ""]])

    body = sheet.get_values("Sheet1")

    assert body["values"] == [["a", "b"], ["c"]]
    assert body["range"] == "Sheet1!A1:B2"


def test_empty_range_has_no_values_key() -> None:
    assert "values" not in _sheet([]).get_values("Sheet1!A1:B2")


def test_append_goes_below_the_last_non_empty_row() -> None:
    sheet = _sheet([["h1", "h2"], ["r1", "x"], [None, None]])

    body = sheet.append_values("Sheet1!A1", [["r2", "2"]], "USER_ENTERED")

    assert body["updates"]["updatedRange"] == "Sheet1!A3:B3"
    assert body["tableRange"] == "Sheet1!A1:B2"
    assert sheet.tab("Sheet1").rows[2] == ["r2", 2]


def test_update_writes_at_the_top_left_and_grows_the_grid() -> None:
    sheet = _sheet([])

    body = sheet.update_values("Sheet1!C1500", [["x", "y"]], "RAW")

    assert body["updatedRange"] == "Sheet1!C1500:D1500"
    assert sheet.metadata()["sheets"][0]["properties"]["gridProperties"]["rowCount"] == 1500


def test_columns_major_dimension_transposes() -> None:
    assert _sheet([["a", "b"], ["c"]]).get_values("Sheet1", major="COLUMNS")["values"] == [["a", "c"], ["b", ""]]
