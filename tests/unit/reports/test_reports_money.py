"""Statements a follower can check: one rounding everywhere, a total row, the mask the font draws, the account,
the invoice and its currency, equity and the billable gain, positions, settlements and each trade's cash."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook
from reports_fixtures import (
    GENERATED,
    IBAN,
    MemoryStatementRecords,
    MemoryStorage,
    RecordingMailer,
    inputs,
    statement_data,
)
from test_reports_documents import pdf_text

from reports.data import AdjustmentView, InvoiceView, LotView, trade_cash
from reports.pdf import render_pdf
from reports.send import statement_email
from reports.settings import ReportsSettings
from reports.statement import deliver_statement
from reports.xlsx import render_xlsx
from spreadpilot.clock import NEW_YORK
from spreadpilot.envelopes import StatementRequest
from spreadpilot.ledger import SettlementEvent, SettlementKind
from spreadpilot.models import PnLSnapshot, Reconciliation, Right
from telegram_bot.views import pnl_text

HALF_CENT_DAY = Decimal("98.765")  # a figure from before amounts were stored in cents: the rounding tie


def workbook(content: bytes) -> dict[str, list[tuple[object, ...]]]:
    book = load_workbook(io.BytesIO(content))
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def test_pdf_xlsx_email_and_telegram_round_a_half_cent_and_a_rate_the_same_way() -> None:
    """Defect: PDF, XLSX and Telegram rounded differently (6.2% vs 6.3%, +98.76 vs 98.77)."""
    data = statement_data()
    statement = data.statement.model_copy(update={"net_pnl": HALF_CENT_DAY, "win_rate": Decimal("0.0625")})
    data = data.model_copy(update={"statement": statement})
    snapshot = PnLSnapshot(follower_id="f01", account="DU001", at=GENERATED, daily_pnl=HALF_CENT_DAY,
                           unrealized_pnl=Decimal(0), realized_pnl=HALF_CENT_DAY)

    text = pdf_text(render_pdf(data))
    summary = {row[0]: row[1] for row in workbook(render_xlsx(data))["Summary"]}
    email = statement_email(data, b"", b"", sender="s@example.com").text
    telegram = pnl_text([snapshot], [], None)

    assert "Net P&L 98.77" in text
    assert "Win rate 6.3%" in text
    assert summary["Net P&L"] == 98.77
    assert summary["Win rate"] == 0.063  # the cell holds the shown rounding: Excel's 0.0% shows 6.3%
    assert "Net P&L: 98.77 USD" in email
    assert "day +98.77" in telegram


def test_the_xlsx_has_a_total_row_equal_to_the_pdfs() -> None:
    """Defect: the XLSX had no total; its rows summed to 20.02 against a net of 20.01."""
    data = statement_data()

    rows = workbook(render_xlsx(data))["Daily"]
    text = pdf_text(render_pdf(data))

    [total] = [r for r in rows if r[0] == "Total"]
    day_rows = [r for r in rows[1:] if r[0] != "Total"]
    assert Decimal(str(total[1])) == sum(Decimal(str(r[1])) for r in day_rows) == data.statement.net_pnl
    assert f"Total {Decimal(str(total[1])):,.2f} {Decimal(str(total[2])):,.2f}" in text


def test_the_iban_mask_is_drawn_with_a_character_the_pdf_font_has() -> None:
    """Defect: the mask's bullets are not in the PDF's Helvetica: the IBAN showed as its last four alone."""
    text = pdf_text(render_pdf(statement_data()))

    assert f"IBAN {'*' * (len(IBAN) - 4)}{IBAN[-4:]}" in text


def test_a_statement_shows_account_invoice_equity_billable_gain_positions_settlements_and_cash() -> None:
    at = datetime(2026, 3, 31, 16, 0, tzinfo=NEW_YORK)
    event = SettlementEvent(event_id="expiry-DU001-101-20260331", kind=SettlementKind.EXPIRY, follower_id="f01",
                            account="DU001", con_id=101, right=Right.PUT, strike=Decimal(485), expiry=at.date(),
                            side="short", qty=1, shares=100, closing_price=Decimal("483.00"), at=at, recorded_at=at)
    stock = LotView(key="STK:QQQ", sec_type="STK", qty=100, price=Decimal(485), mark=Decimal(483), mult=1)
    statement = statement_data().statement.model_copy(update={
        "equity_before": Decimal(1000), "equity_after": Decimal(1300), "hwm_before": Decimal(1000),
        "hwm_after": Decimal(1300), "billable_gain": Decimal(300), "commission": Decimal("60.00")})
    invoice = InvoiceView(amount=Decimal("80.00"), currency="USD", payment_reference="SP-202603-f01",
                          status="unpaid", commission=Decimal("60.00"),
                          adjustments=(AdjustmentView(month="2026-02", amount=Decimal("20.00")),))
    data = statement_data().model_copy(update={"ibkr_account": "DU001", "statement": statement, "invoice": invoice,
                                               "settlements": (event,), "closing": (stock,)})

    text = pdf_text(render_pdf(data))
    sheets = workbook(render_xlsx(data))

    for shown in ("IBKR account DU001", "Cumulative equity before 1,000.00", "Cumulative equity after 1,300.00",
                  "Billable gain 300.00", "Commission basis 20% x 300.00 = 60.00", "Adjustment for 2026-02 20.00",
                  "Invoice amount 80.00", "Invoice currency USD", "expiry in the money", "QQQ stock 100 485 483",
                  "-48,500.00", "No open positions"):
        assert shown in text, shown
    first = data.trades[0]
    assert f"{trade_cash(first):,.2f}" in text  # 2 puts sold at 1.20 less 1.05: 238.95
    assert trade_cash(first) == Decimal("238.95")
    assert [r[-1] for r in sheets["Trades"][1:]] == [float(trade_cash(f)) for f in data.trades]
    assert sheets["Settlements"][1][1] == "expiry in the money"
    assert sheets["Positions"][1][:5] == ("end of month", "QQQ stock", 100, 485, 483)


def test_a_month_with_an_unreconciled_day_is_rendered_but_its_statement_waits(settings: ReportsSettings) -> None:
    records, storage, mailer = MemoryStatementRecords(), MemoryStorage(), RecordingMailer()
    stored = inputs()
    bad = stored.days[1].model_copy(update={"reconciliation": Reconciliation.UNRECONCILED})
    records.inputs["f01:2026-03"] = replace(stored, days=(stored.days[0], bad, *stored.days[2:]))

    delivered = deliver_statement(StatementRequest(follower_id="f01", month="2026-03"), "m1", GENERATED, records,
                                  storage, mailer, settings)

    assert delivered.emailed is False
    assert mailer.sent == []
    assert len(storage.files) == 2
    assert records.statements["f01:2026-03"]["email_status"] == "waiting"
    assert str(date(2026, 3, 3)) in str(records.statements["f01:2026-03"]["waiting_for"])
