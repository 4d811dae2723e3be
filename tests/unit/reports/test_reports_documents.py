"""The statement files: the PDF and the XLSX show the same figures, the IBAN only masked, every day and trade."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import UTC
from decimal import Decimal

from openpyxl import load_workbook
from pypdf import PdfReader
from reports_fixtures import IBAN, statement_data

from reports.data import cents
from reports.pdf import render_pdf
from reports.xlsx import render_xlsx


def pdf_text(content: bytes) -> str:
    """The PDF's text with table cells and lines joined by single spaces."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


def shown(amount: Decimal) -> str:
    return f"{cents(amount):,.2f}"


def test_pdf_shows_the_month_summary_hwm_and_commission() -> None:
    data = statement_data()
    text = pdf_text(render_pdf(data))

    s = data.statement
    for label, value in [("Net P&L", s.net_pnl), ("High-water mark before", s.hwm_before),
                         ("High-water mark after", s.hwm_after), ("Commission", s.commission),
                         ("Max drawdown", s.max_drawdown), ("Best day", s.best_day), ("Worst day", s.worst_day)]:
        assert f"{label} {shown(value)}" in text
    assert "SP-202603-f01" in text


def test_pdf_masks_the_iban_but_its_last_four() -> None:
    text = pdf_text(render_pdf(statement_data()))

    shown_iban = re.search(r"IBAN (\S*?)" + IBAN[-4:], text)
    assert shown_iban is not None
    assert not any(ch.isalnum() for ch in shown_iban.group(1))  # only mask characters before the last four
    assert IBAN[:8] not in text


def test_pdf_lists_every_day_and_every_trade() -> None:
    data = statement_data()
    text = pdf_text(render_pdf(data))

    for day in data.days:
        assert f"{day.date.isoformat()} {shown(day.realized_pnl)}" in text
    assert text.count("2026-03-0") >= len(data.days) + len(data.trades)
    for fill in data.trades:
        assert f"{fill.at:%Y-%m-%d %H:%M:%S}" in text


def test_xlsx_holds_numbers_with_formats_and_a_chart() -> None:
    data = statement_data()
    book = load_workbook(io.BytesIO(render_xlsx(data)))

    summary = {row[0].value: row[1] for row in book["Summary"].iter_rows(min_row=2) if row[0].value}
    assert summary["Net P&L"].value == float(cents(data.statement.net_pnl))
    assert summary["Net P&L"].number_format.startswith("#,##0.00")
    assert summary["Commission"].value == float(cents(data.statement.commission))
    assert summary["IBAN"].value == "*" * (len(IBAN) - 4) + IBAN[-4:]
    daily = book["Daily"]
    values = [row[1].value for row in daily.iter_rows(min_row=2) if row[0].value != "Total"]
    assert values == [float(cents(d.realized_pnl)) for d in data.days]
    assert all(isinstance(v, float | int) for v in values)
    assert len(daily._charts) == 1
    assert book["Trades"].max_row == len(data.trades) + 1


def test_the_same_month_rendered_a_second_later_is_the_same_workbook_bytes() -> None:
    # openpyxl's save stamps the "modified" property with the wall clock: a regeneration must not change the bytes
    first = render_xlsx(statement_data())
    time.sleep(1.1)
    assert render_xlsx(statement_data()) == first


def test_the_same_month_renders_the_same_bytes() -> None:
    assert render_pdf(statement_data()) == render_pdf(statement_data())
    assert render_xlsx(statement_data()) == render_xlsx(statement_data())


def test_every_member_of_the_workbook_is_dated_by_the_statement_not_the_wall_clock() -> None:
    data = statement_data()
    stamp = data.generated_at.astimezone(UTC).timetuple()[:6]

    with zipfile.ZipFile(io.BytesIO(render_xlsx(data))) as package:
        dates = {member.filename: member.date_time for member in package.infolist()}

    assert dates
    assert set(dates.values()) == {stamp}, dates  # openpyxl alone dates each member by time.localtime()


def test_a_month_without_trading_still_renders_both_files() -> None:
    data = statement_data().model_copy(update={"days": (), "trades": (), "invoice": None})

    text = pdf_text(render_pdf(data))
    book = load_workbook(io.BytesIO(render_xlsx(data)))

    assert "No trades this month" in text
    assert f"Net P&L {shown(data.statement.net_pnl)}" in text
    assert book["Daily"].max_row == 1


def test_both_files_show_the_months_fill_against_the_best_fill_and_the_time_to_fill() -> None:
    data = statement_data()
    figures = [("-0.03", "4.0"), ("0.00", "2.0"), (None, None), ("-0.05", "6.5")]  # a day without an entry: left out
    days = tuple(d.model_copy(update={"fill_vs_best": None if vs is None else Decimal(vs),
                                      "fill_seconds": None if t is None else Decimal(t)})
                 for d, (vs, t) in zip(data.days, [*figures, *[(None, None)] * len(data.days)], strict=False))
    data = data.model_copy(update={"days": days})

    text = pdf_text(render_pdf(data))
    assert "Fill credit vs the day's best fill (average) -0.03" in text  # (−0.03 + 0 − 0.05) / 3, to the cent
    assert "Time to fill (average) 4.2 s" in text
    summary = {row[0].value: row[1].value for row in load_workbook(io.BytesIO(render_xlsx(data)))["Summary"]
               .iter_rows(min_row=2) if row[0].value}
    assert summary["Fill credit vs the day's best fill (average)"] == -0.03
    assert summary["Time to fill (average)"] == "4.2 s"
    assert "Fill credit" not in pdf_text(render_pdf(statement_data()))  # no entry figures: no line
