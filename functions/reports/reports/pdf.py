"""The statement as a PDF (reportlab): follower and account, month summary (fee basis, equity, HWM, billable gain,
commission and invoice), daily table with its total and chart, positions at the start and end, every trade with
its cash, every assignment, exercise and expiry.

Built with ``invariant`` on, so the same data gives the same bytes (no creation time or random id inside).
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reports.data import (
    LotView,
    StatementData,
    cents,
    money,
    settlement_cash,
    settlement_label,
    shown,
    summary_rows,
    trade_cash,
)
from spreadpilot.clock import new_york

GREEN = colors.HexColor("#1b7f3b")
RED = colors.HexColor("#b3261e")
GRID = TableStyle([
    ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
    ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
])
PAIRS = TableStyle([
    ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
    ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9),
    ("ALIGN", (1, 0), (1, -1), "RIGHT"),
    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
])


def _summary(data: StatementData) -> list[tuple[str, str]]:
    return [(label, shown(value, kind)) for label, value, kind in summary_rows(data)]


def _pnl_chart(data: StatementData) -> Drawing:
    width, height = 170 * mm, 60 * mm
    drawing = Drawing(width, height)
    values = [float(cents(d.realized_pnl)) for d in data.days] or [0.0]
    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = 30, 20, width - 50, height - 40
    bars.data = [values]
    bars.categoryAxis.categoryNames = [f"{d.date:%d}" for d in data.days] or [""]
    bars.categoryAxis.labels.fontSize = 6
    bars.valueAxis.labels.fontSize = 6
    bars.bars[0].fillColor = colors.HexColor("#4a78c2")
    for i, value in enumerate(values):
        bars.bars[(0, i)].fillColor = GREEN if value >= 0 else RED
    drawing.add(bars)
    cumulative = [float(cents(v)) for v in data.cumulative()]
    if len(cumulative) > 1:
        line = LinePlot()
        line.x, line.y, line.width, line.height = bars.x, bars.y, bars.width, bars.height
        line.data = [list(enumerate(cumulative))]
        line.lines[0].strokeColor = colors.black
        line.xValueAxis.visible = False
        line.yValueAxis.visible = False
        line.xValueAxis.valueMin, line.xValueAxis.valueMax = -0.5, len(cumulative) - 0.5  # bar centres
        low = min(min(values), min(cumulative), 0.0)
        high = max(max(values), max(cumulative), 0.0)
        bars.valueAxis.valueMin = line.yValueAxis.valueMin = low
        bars.valueAxis.valueMax = line.yValueAxis.valueMax = high if high > low else low + 1
        drawing.add(line)
    drawing.add(String(30, height - 12, "Daily P&L (bars) and cumulative P&L (line)", fontSize=8))
    return drawing


def _daily_table(data: StatementData) -> Table:
    rows: list[list[str]] = [["Date", "Realized P&L", "Commissions", "Closing MTM", "Best MTM", "Worst MTM",
                              "Trades", "Cumulative", "Broker check"]]
    for day, running in zip(data.days, data.cumulative(), strict=True):
        rows.append([day.date.isoformat(), money(day.realized_pnl), money(day.commissions), money(day.closing_mtm),
                     money(day.best_mtm), money(day.worst_mtm), str(day.trades), money(running),
                     str(day.reconciliation)])
    realized, commissions, trades = data.totals()
    rows.append(["Total", money(realized), money(commissions), "", "", "", str(trades), "", ""])
    table = Table(rows, repeatRows=1)
    table.setStyle(GRID)
    return table


def _trades_table(data: StatementData) -> Table:
    rows: list[list[str]] = [["Time (ET)", "Order", "Side", "Qty", "Type", "Right", "Strike", "Expiry", "Price",
                              "Commission", "Cash"]]
    for fill in data.trades:
        rows.append([
            f"{new_york(fill.at):%Y-%m-%d %H:%M:%S}", (fill.intent_id or fill.order_ref or "foreign").split("-")[0],
            fill.side, str(fill.qty), fill.sec_type, str(fill.right or ""),
            f"{fill.strike:f}" if fill.strike is not None else "", fill.expiry.isoformat() if fill.expiry else "",
            f"{fill.price:f}", money(fill.commission), money(trade_cash(fill)),
        ])
    if len(rows) == 1:
        rows.append(["No trades this month", "", "", "", "", "", "", "", "", "", ""])
    table = Table(rows, repeatRows=1)
    table.setStyle(GRID)
    return table


def _settlements_table(data: StatementData) -> Table:
    rows: list[list[str]] = [["Time (ET)", "Event", "Option", "Side", "Contracts", "Close", "Stock", "At",
                              "Cash"]]
    for event in data.settlements:
        rows.append([
            f"{new_york(event.at):%Y-%m-%d %H:%M}", settlement_label(event),
            f"{event.symbol} {event.expiry} {event.strike:f} {event.right}", event.side, str(event.qty),
            f"{event.closing_price:f}" if event.closing_price is not None else "", f"{event.shares:+d}",
            f"{event.strike:f}" if event.shares else "", money(settlement_cash(event)),
        ])
    if len(rows) == 1:
        rows.append(["No assignment, exercise or expiry this month", "", "", "", "", "", "", "", ""])
    table = Table(rows, repeatRows=1)
    table.setStyle(GRID)
    return table


def _positions_table(lots: tuple[LotView, ...], empty: str) -> Table:
    rows: list[list[str]] = [["Position", "Qty", "Opened at", "Mark", "Value at mark"]]
    for lot in lots:
        value = money(lot.mark * lot.qty * lot.mult) if lot.mark is not None else ""
        rows.append([lot.description, str(lot.qty), f"{lot.price:f}", f"{lot.mark:f}" if lot.mark is not None else "",
                     value])
    if len(rows) == 1:
        rows.append([empty, "", "", "", ""])
    table = Table(rows, repeatRows=1, hAlign="LEFT")
    table.setStyle(GRID)
    return table


def render_pdf(data: StatementData) -> bytes:
    """The statement PDF."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=data.title, author=data.company, invariant=1,
                            leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm)
    follower = Table([
        ("Follower", data.follower_name),
        ("Follower id", data.follower_id),
        ("Email", data.follower_email),
        ("IBKR account", data.ibkr_account),
        ("IBAN", data.iban_masked),
        ("Statement month", data.month),
        ("Generated", f"{new_york(data.generated_at):%Y-%m-%d %H:%M} ET"),
    ], hAlign="LEFT")
    follower.setStyle(PAIRS)
    summary = Table(_summary(data), hAlign="LEFT")
    summary.setStyle(PAIRS)
    story = [
        Paragraph(escape(data.title), styles["Title"]),
        Paragraph("Follower", styles["Heading2"]), follower,
        Paragraph("Month summary", styles["Heading2"]), summary,
        Paragraph("Daily P&amp;L", styles["Heading2"]), _pnl_chart(data), Spacer(1, 4 * mm), _daily_table(data),
        Paragraph("Positions at the start of the month", styles["Heading2"]),
        _positions_table(data.opening, "No open positions"),
        Paragraph("Positions at the end of the month", styles["Heading2"]),
        _positions_table(data.closing, "No open positions"),
        Paragraph("Trades", styles["Heading2"]), _trades_table(data),
        Paragraph("Assignments, exercises and expiries", styles["Heading2"]), _settlements_table(data),
        Spacer(1, 4 * mm),
        Paragraph(f"Amounts in {escape(data.currency)}. Net P&amp;L is realized P&amp;L plus the change in the "
                  "value of open positions at the month's last close. Commission is charged on the part of the "
                  "cumulative equity above the high-water mark; losses carry forward and a losing month is never "
                  "billed.", styles["Italic"]),
    ]
    doc.build(story)
    return buffer.getvalue()
