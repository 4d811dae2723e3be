"""The statement as an XLSX workbook (openpyxl): the PDF's rows, numbers as numbers with formats, and a chart.

Money cells hold the shown cents and rate cells the shown rounding (``reports.data``), so the spreadsheet's own
display and sums agree with the PDF.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from reports.data import (
    StatementData,
    cell_value,
    cents,
    settlement_cash,
    settlement_label,
    summary_rows,
    trade_cash,
)
from spreadpilot.clock import new_york

MONEY = '#,##0.00;[Red]-#,##0.00'
PERCENT = "0.0%"
FORMATS = {"money": MONEY, "percent": PERCENT, "pct": "0.0#%", "count": "0"}
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
    sheet.title = "Summary"
    sheet.append([data.title])
    sheet["A1"].font = Font(bold=True, size=14)
    rows: list[tuple[str, object, str]] = [
        ("Follower", data.follower_name, "text"),
        ("Follower id", data.follower_id, "text"),
        ("Email", data.follower_email, "text"),
        ("IBAN", data.iban_masked, "text"),
        ("Statement month", data.month, "text"),
        ("Currency", data.currency, "text"),
        *((label, cell_value(value, kind), kind) for label, value, kind in summary_rows(data)),
    ]
    for label, value, kind in rows:
        sheet.append([label, value])
        sheet.cell(row=sheet.max_row, column=1).font = HEADER_FONT
        number_format = FORMATS.get(kind)
        if number_format:
            sheet.cell(row=sheet.max_row, column=2).number_format = number_format
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 40


def _daily(sheet: Worksheet, data: StatementData) -> None:
    _header(sheet, ["Date", "Realized P&L", "Commissions", "Closing MTM", "Best MTM", "Worst MTM", "Trades",
                    "Cumulative", "Broker check"], [12, 14, 13, 13, 13, 13, 8, 14, 14])
    for day, running in zip(data.days, data.cumulative(), strict=True):
        sheet.append([day.date, cents(day.realized_pnl), cents(day.commissions), cents(day.closing_mtm),
                      cents(day.best_mtm), cents(day.worst_mtm), day.trades, running, str(day.reconciliation)])
        row = sheet.max_row
        sheet.cell(row=row, column=1).number_format = "yyyy-mm-dd"
        for column in (2, 3, 4, 5, 6, 8):
            sheet.cell(row=row, column=column).number_format = MONEY
    if not data.days:
        return
    last = sheet.max_row
    realized, commissions, trades = data.totals()
    sheet.append(["Total", realized, commissions, None, None, None, trades, None, None])  # the PDF's total row
    for column in (1, 2, 3, 7):
        sheet.cell(row=sheet.max_row, column=column).font = HEADER_FONT
    for column in (2, 3):
        sheet.cell(row=sheet.max_row, column=column).number_format = MONEY
    bars = BarChart()
    bars.title = "Daily P&L and cumulative P&L"
    bars.y_axis.title = data.currency
    bars.add_data(Reference(sheet, min_col=2, min_row=1, max_row=last), titles_from_data=True)
    bars.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=last))
    line = LineChart()
    line.add_data(Reference(sheet, min_col=8, min_row=1, max_row=last), titles_from_data=True)
    bars += line
    bars.width, bars.height = 22, 10
    sheet.add_chart(bars, "K2")


def _trades(sheet: Worksheet, data: StatementData) -> None:
    _header(sheet, ["Time (ET)", "Order", "Exec id", "Side", "Qty", "Type", "Right", "Strike", "Expiry", "Price",
                    "Commission", "Cash"], [20, 44, 18, 6, 6, 6, 6, 8, 12, 10, 11, 12])
    for fill in data.trades:
        sheet.append([
            new_york(fill.at).replace(tzinfo=None), fill.intent_id or fill.order_ref or "foreign", fill.exec_id,
            fill.side, fill.qty, fill.sec_type, str(fill.right or ""), fill.strike, fill.expiry, fill.price,
            cents(fill.commission), trade_cash(fill),
        ])
        row = sheet.max_row
        sheet.cell(row=row, column=1).number_format = "yyyy-mm-dd hh:mm:ss"
        sheet.cell(row=row, column=9).number_format = "yyyy-mm-dd"
        sheet.cell(row=row, column=10).number_format = "0.00##"
        sheet.cell(row=row, column=11).number_format = MONEY
        sheet.cell(row=row, column=12).number_format = MONEY


def _settlements(sheet: Worksheet, data: StatementData) -> None:
    _header(sheet, ["Time (ET)", "Event", "Symbol", "Expiry", "Strike", "Right", "Side", "Contracts", "Close",
                    "Stock", "Cash"], [18, 20, 8, 12, 8, 6, 6, 10, 10, 8, 12])
    for event in data.settlements:
        sheet.append([new_york(event.at).replace(tzinfo=None), settlement_label(event), event.symbol, event.expiry,
                      event.strike, str(event.right), event.side, event.qty, event.closing_price, event.shares,
                      settlement_cash(event)])
        row = sheet.max_row
        sheet.cell(row=row, column=1).number_format = "yyyy-mm-dd hh:mm"
        sheet.cell(row=row, column=4).number_format = "yyyy-mm-dd"
        sheet.cell(row=row, column=11).number_format = MONEY


def _positions(sheet: Worksheet, data: StatementData) -> None:
    _header(sheet, ["When", "Position", "Qty", "Opened at", "Mark", "Value at mark"], [16, 26, 8, 12, 12, 14])
    for when, lots in (("start of month", data.opening), ("end of month", data.closing)):
        for lot in lots:
            value = cents(lot.mark * lot.qty * lot.mult) if lot.mark is not None else None
            sheet.append([when, lot.description, lot.qty, lot.price, lot.mark, value])
            sheet.cell(row=sheet.max_row, column=6).number_format = MONEY


def render_xlsx(data: StatementData) -> bytes:
    """The statement workbook: Summary, Daily (with the chart and the total row), Trades, Settlements, Positions."""
    workbook = Workbook()
    _summary(workbook.active, data)
    _daily(workbook.create_sheet("Daily"), data)
    _trades(workbook.create_sheet("Trades"), data)
    _settlements(workbook.create_sheet("Settlements"), data)
    _positions(workbook.create_sheet("Positions"), data)
    stamp = data.generated_at.astimezone(UTC).replace(tzinfo=None)  # XLSX document properties are naive UTC
    workbook.properties.created = workbook.properties.modified = stamp
    workbook.properties.creator = data.company
    workbook.properties.title = data.title
    buffer = io.BytesIO()
    # ExcelWriter, not workbook.save: save_workbook sets the "modified" property to the wall clock, so the same month
    # rendered a second later differed in bytes (and the content-hashed statements bucket kept a new copy)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(workbook, archive).save()
    return _stamped(buffer.getvalue(), stamp)


def _stamped(package: bytes, stamp: datetime) -> bytes:
    """The package with every member dated ``stamp``.

    openpyxl dates each member by the wall clock, so two renders of one month a second apart would differ in bytes,
    and the statements bucket (``storage``), which names an object by its content hash, would keep a new copy of an
    unchanged statement on every regeneration.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            dated = zipfile.ZipInfo(member.filename, date_time=stamp.timetuple()[:6])
            dated.compress_type = zipfile.ZIP_DEFLATED
            dated.external_attr = member.external_attr
            target.writestr(dated, source.read(member.filename))
    return out.getvalue()
