"""The statement as a PDF (reportlab): follower, month summary, HWM and commission, daily table and chart, trades.

Built with ``invariant`` on, so the same data gives the same bytes (no creation time or random id inside).
"""

from __future__ import annotations

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reports.data import StatementData, cents, money
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


def summary_rows(data: StatementData) -> list[tuple[str, str]]:
    """The month summary as label/value pairs (the XLSX shows the same labels)."""
    s = data.statement
    rows = [
        ("Net P&L", money(s.net_pnl)),
        ("Best day", money(s.best_day)),
        ("Worst day", money(s.worst_day)),
        ("Winning days", str(s.winning_days)),
        ("Losing days", str(s.losing_days)),
        ("Win rate", f"{s.win_rate * 100:.1f}%"),
        ("Max drawdown", money(s.max_drawdown)),
        ("High-water mark before", money(s.hwm_before)),
        ("High-water mark after", money(s.hwm_after)),
        ("Commission rate", f"{s.commission_pct.normalize():f}%"),
        ("Commission", money(s.commission)),
    ]
    if data.invoice is not None:
        rows.append(("Payment reference", data.invoice.payment_reference))
        rows.append(("Invoice status", data.invoice.status))
    return rows


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
                              "Trades", "Cumulative"]]
    for day, running in zip(data.days, data.cumulative(), strict=True):
        rows.append([day.date.isoformat(), money(day.realized_pnl), money(day.commissions), money(day.closing_mtm),
                     money(day.best_mtm), money(day.worst_mtm), str(day.trades), money(running)])
    total = sum((d.realized_pnl for d in data.days), Decimal(0))
    rows.append(["Total", money(total), money(sum((d.commissions for d in data.days), Decimal(0))), "", "", "",
                 str(sum(d.trades for d in data.days)), ""])
    table = Table(rows, repeatRows=1)
    table.setStyle(GRID)
    return table


def _trades_table(data: StatementData) -> Table:
    rows: list[list[str]] = [["Time (ET)", "Order", "Side", "Qty", "Type", "Right", "Strike", "Expiry", "Price",
                              "Commission"]]
    for fill in data.trades:
        rows.append([
            f"{new_york(fill.at):%Y-%m-%d %H:%M:%S}", fill.intent_id.split("-")[0], fill.side, str(fill.qty),
            fill.sec_type, str(fill.right or ""), f"{fill.strike:f}" if fill.strike is not None else "",
            fill.expiry.isoformat() if fill.expiry else "", f"{fill.price:f}", money(fill.commission),
        ])
    if len(rows) == 1:
        rows.append(["No trades this month", "", "", "", "", "", "", "", "", ""])
    table = Table(rows, repeatRows=1)
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
        ("IBAN", data.iban_masked),
        ("Statement month", data.month),
        ("Generated", f"{new_york(data.generated_at):%Y-%m-%d %H:%M} ET"),
    ], hAlign="LEFT")
    follower.setStyle(PAIRS)
    summary = Table(summary_rows(data), hAlign="LEFT")
    summary.setStyle(PAIRS)
    story = [
        Paragraph(escape(data.title), styles["Title"]),
        Paragraph("Follower", styles["Heading2"]), follower,
        Paragraph("Month summary", styles["Heading2"]), summary,
        Paragraph("Daily P&amp;L", styles["Heading2"]), _pnl_chart(data), Spacer(1, 4 * mm), _daily_table(data),
        Paragraph("Trades", styles["Heading2"]), _trades_table(data),
        Spacer(1, 4 * mm),
        Paragraph("Amounts in USD. Commission is charged on net P&amp;L above the high-water mark; losses carry "
                  "forward and a losing month is never billed.", styles["Italic"]),
    ]
    doc.build(story)
    return buffer.getvalue()
