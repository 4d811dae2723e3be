"""The statement as an XLSX workbook (openpyxl): the PDF's data, numbers as numbers with formats, and a chart."""

from __future__ import annotations

import io
from datetime import UTC

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from reports.data import StatementData, cents
from spreadpilot.clock import new_york

MONEY = '#,##0.00;[Red]-#,##0.00'
PERCENT = "0.0%"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E8EEF7")


def _header(sheet: Worksheet, names: list[str], widths: list[int]) -> None:
    sheet.append(names)
    for cell in sheet[sheet.max_row]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for i, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    sheet.freeze_panes = f"A{sheet.max_row + 1}"


def _summary(sheet: Worksheet, data: StatementData) -> None:
    s = data.statement
    sheet.title = "Summary"
    sheet.append([data.title])
    sheet["A1"].font = Font(bold=True, size=14)
    rows: list[tuple[str, object, str | None]] = [
        ("Follower", data.follower_name, None),
        ("Follower id", data.follower_id, None),
        ("Email", data.follower_email, None),
        ("IBAN", data.iban_masked, None),
        ("Statement month", data.month, None),
        ("Net P&L", cents(s.net_pnl), MONEY),
        ("Best day", cents(s.best_day), MONEY),
        ("Worst day", cents(s.worst_day), MONEY),
        ("Winning days", s.winning_days, "0"),
        ("Losing days", s.losing_days, "0"),
        ("Win rate", s.win_rate, PERCENT),
        ("Max drawdown", cents(s.max_drawdown), MONEY),
        ("High-water mark before", cents(s.hwm_before), MONEY),
        ("High-water mark after", cents(s.hwm_after), MONEY),
        ("Commission rate", s.commission_pct / 100, PERCENT),
        ("Commission", cents(s.commission), MONEY),
    ]
    if data.invoice is not None:
        rows.append(("Payment reference", data.invoice.payment_reference, None))
        rows.append(("Invoice status", data.invoice.status, None))
    for label, value, number_format in rows:
        sheet.append([label, value])
        sheet.cell(row=sheet.max_row, column=1).font = HEADER_FONT
        if number_format:
            sheet.cell(row=sheet.max_row, column=2).number_format = number_format
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 36


def _daily(sheet: Worksheet, data: StatementData) -> None:
    _header(sheet, ["Date", "Realized P&L", "Commissions", "Closing MTM", "Best MTM", "Worst MTM", "Trades",
                    "Cumulative"], [12, 14, 13, 13, 13, 13, 8, 14])
    for day, running in zip(data.days, data.cumulative(), strict=True):
        sheet.append([day.date, cents(day.realized_pnl), cents(day.commissions), cents(day.closing_mtm),
                      cents(day.best_mtm), cents(day.worst_mtm), day.trades, cents(running)])
        row = sheet.max_row
        sheet.cell(row=row, column=1).number_format = "yyyy-mm-dd"
        for column in (2, 3, 4, 5, 6, 8):
            sheet.cell(row=row, column=column).number_format = MONEY
    if not data.days:
        return
    last = sheet.max_row
    bars = BarChart()
    bars.title = "Daily P&L and cumulative P&L"
    bars.y_axis.title = "USD"
    bars.add_data(Reference(sheet, min_col=2, min_row=1, max_row=last), titles_from_data=True)
    bars.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=last))
    line = LineChart()
    line.add_data(Reference(sheet, min_col=8, min_row=1, max_row=last), titles_from_data=True)
    bars += line
    bars.width, bars.height = 22, 10
    sheet.add_chart(bars, "J2")


def _trades(sheet: Worksheet, data: StatementData) -> None:
    _header(sheet, ["Time (ET)", "Order", "Exec id", "Side", "Qty", "Type", "Right", "Strike", "Expiry", "Price",
                    "Commission"], [20, 44, 18, 6, 6, 6, 6, 8, 12, 10, 11])
    for fill in data.trades:
        sheet.append([
            new_york(fill.at).replace(tzinfo=None), fill.intent_id, fill.exec_id, fill.side, fill.qty, fill.sec_type,
            str(fill.right or ""), fill.strike, fill.expiry, fill.price, fill.commission,
        ])
        row = sheet.max_row
        sheet.cell(row=row, column=1).number_format = "yyyy-mm-dd hh:mm:ss"
        sheet.cell(row=row, column=9).number_format = "yyyy-mm-dd"
        sheet.cell(row=row, column=10).number_format = "0.00##"
        sheet.cell(row=row, column=11).number_format = MONEY


def render_xlsx(data: StatementData) -> bytes:
    """The statement workbook: Summary, Daily (with the chart) and Trades sheets."""
    workbook = Workbook()
    _summary(workbook.active, data)
    _daily(workbook.create_sheet("Daily"), data)
    _trades(workbook.create_sheet("Trades"), data)
    stamp = data.generated_at.astimezone(UTC).replace(tzinfo=None)  # XLSX document properties are naive UTC
    workbook.properties.created = workbook.properties.modified = stamp
    workbook.properties.creator = data.company
    workbook.properties.title = data.title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
