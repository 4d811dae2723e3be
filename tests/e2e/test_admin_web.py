"""The admin web app end to end in headless Chromium (the system's), against the served API on the local stack.

Sign in, add a follower, pause it (the pause CommandMessage is pulled from the real ``commands`` topic: what the
executor receives), acknowledge an alert, open a statement, follow a deep link; screenshots go to ``out/e2e/``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from e2e_support import shot as _shot
from e2e_support import signed_in
from google.cloud import firestore
from playwright.sync_api import Browser, expect
from reportlab.pdfgen import canvas

from identity.server import LOCAL_PASSWORD
from identity.testing import SessionServers
from spreadpilot.clock import new_york
from spreadpilot.envelopes import CommandMessage, decode
from spreadpilot.models import Alert, Gateway, Severity, Signal, Spread, Strategy, make_signal_id
from spreadpilot.store import Store
from stack.local_stack import LocalStack
from stack.topology import TopicTap

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _pdf() -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 760, "SpreadPilot statement e2e01 2026-02")
    page.save()
    return buffer.getvalue()


def _seed(db: firestore.Client) -> Signal:
    now = datetime.now(UTC)
    today = new_york(now).date()
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
    signal = Signal(signal_id=make_signal_id(today, "QQQ", spread, 2), date=today, ticker="QQQ", spread=spread,
                    qty_per_leg=2, detected_at=now)
    store = Store(db)
    store.signals.put(signal, timeline=[{"at": now.isoformat(), "event": "detected", "note": "sheet row 2"},
                                        {"at": now.isoformat(), "event": "published"}])
    store.alerts.put(Alert(alert_id="alert-e2e", type="gateway.disconnected", severity=Severity.CRITICAL,
                           message="gw1 lost its connection", at=now, source="executor"))
    db.collection("heartbeats").document("executor").set(
        {"at": now.isoformat(), "gateways": {"gw1": {"connected": True, "since": now.isoformat()}}})
    store.gateways.put(Gateway(id="gw1", port=4002, client_id=1))  # a follower must name an existing gateway
    pdf = SessionServers.statements_dir() / "e2e01-2026-02.pdf"
    pdf.write_bytes(_pdf())
    db.collection("statements").document("e2e01:2026-02").set(
        {"follower_id": "e2e01", "month": "2026-02", "pdf_path": str(pdf), "net_pnl": "812.50", "commission": "162.50"})
    for day, value in (("2026-02-02", "120"), ("2026-02-03", "-45"), ("2026-02-04", "210")):
        db.collection("daily_pnl").document(f"e2e01:{day}").set(
            {"follower_id": "e2e01", "date": day, "realized_pnl": value, "commissions": "4", "trades": 1,
             "closing_mtm": "0", "best_mtm": "0", "worst_mtm": "0", "computed_at": now.isoformat()})
    return signal


def test_admin_signs_in_adds_and_pauses_a_follower_acknowledges_an_alert_opens_a_statement_and_flattens(
    clean_stack: LocalStack, web_app: str, browser: Browser, tap: Callable[[str], TopicTap],
    firestore_db: firestore.Client,
) -> None:
    signal = _seed(firestore_db)
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    page.goto(web_app + "/")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.fill("#email", "admin@spreadpilot.local")
    page.fill("#password", LOCAL_PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#heartbeat")).to_contain_text("alive")
    expect(page.locator("#who")).to_contain_text("admin@spreadpilot.local · admin")
    _shot(page, "01-dashboard")

    page.click("a[href='/followers']")
    page.click("a[href='/followers/new']")
    for field, value in (("id", "e2e01"), ("name", "Elena Bianchi"), ("email", "elena@example.com"),
                         ("iban", "IT60X0542811101000000123456"), ("commission_pct", "20"), ("gateway_id", "gw1"),
                         ("ibkr_account", "DU001")):
        page.fill(f"#f-{field}", value)
    _shot(page, "02-add-follower")
    page.click("#follower-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Elena Bianchi (e2e01)")
    assert page.url == web_app + "/followers/e2e01"

    commands = tap("commands")
    page.click("a[href='/followers']")
    page.click("button[data-action=pause][data-follower=e2e01]")
    expect(page.locator("#flash")).to_contain_text("pause sent for e2e01")
    _shot(page, "03-followers-paused")
    [pulled] = commands.pull(1, timeout_s=10)
    command = decode(pulled.data, CommandMessage).command
    assert (command.kind, command.scope, command.source) == ("pause", "e2e01", "web")

    page.click("a[href='/alerts']")
    page.click("button[data-ack=alert-e2e]")
    expect(page.locator("#view")).to_contain_text("ack admin@spreadpilot.local")
    _shot(page, "04-alert-acknowledged")
    assert firestore_db.collection("alerts").document("alert-e2e").get().to_dict()["acknowledged_by"] == (
        "admin@spreadpilot.local")

    page.click("a[href='/statements']")
    with page.expect_response(lambda r: "/statements/e2e01:2026-02/files/pdf" in r.url) as opened:
        page.click("button[data-statement='e2e01:2026-02'][data-kind=pdf]")
    assert opened.value.status == 200
    assert opened.value.headers["content-type"] == "application/pdf"
    expect(page.locator("#statement-link")).to_be_visible()
    _shot(page, "05-statement")

    flattens = tap("commands")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("a[href='/controls']")
    page.click("#flatten-request")
    code = page.locator("#flatten-code").inner_text()
    page.fill("#confirm-code", code)
    page.click("#flatten-confirm")
    expect(page.locator("#flash")).to_contain_text("Flatten confirmed")
    _shot(page, "06-controls-flatten-confirmed")
    kinds = [(c.command.kind, c.command.confirm_code) for c in
             (decode(m.data, CommandMessage) for m in flattens.pull(2, timeout_s=10))]
    assert kinds == [("flatten_request", code), ("flatten_confirm", code)]

    page.goto(web_app + f"/signals/{signal.signal_id}")
    expect(page.locator("h1")).to_have_text(f"Signal {signal.signal_id}")
    expect(page.locator("#timeline")).to_contain_text("published")
    _shot(page, "07-signal-timeline")
    page.goto(web_app + "/positions")
    expect(page.locator("svg.chart rect")).to_have_count(3)
    # three trades: +120, -45, +210 → 2 of 3 won, profit factor 330 / 45
    everyone = page.locator("#performance tr", has_text="everyone")
    expect(everyone).to_contain_text("66.7 %")
    expect(everyone).to_contain_text("7.33")
    _shot(page, "08-pnl-chart")

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.goto(web_app + "/signin")
    phone.fill("#email", "viewer@spreadpilot.local")
    phone.fill("#password", LOCAL_PASSWORD)
    phone.click("#signin-form button[type=submit]")
    expect(phone.locator("h1")).to_have_text("Dashboard")
    phone.goto(web_app + "/followers")
    expect(phone.locator("button[data-action=pause][data-follower=e2e01]")).to_be_disabled()
    _shot(phone, "09-phone-viewer-followers")


def test_an_admin_marks_an_invoice_paid_and_resends_its_statement_and_the_iban_is_never_shown(
    clean_stack: LocalStack, web_app: str, browser: Browser, firestore_db: firestore.Client,
) -> None:
    iban = "DE89370400440532013000"
    firestore_db.collection("invoices").document("e2e01:2026-02").set({
        "follower_id": "e2e01", "month": "2026-02", "iban": iban, "account": "DU001", "commission": "162.50",
        "adjustments": [], "amount": "162.50", "currency": "USD", "status": "unpaid",
        "payment_reference": "SP-202602-e2e01", "created_at": datetime.now(UTC).isoformat()})
    page = signed_in(browser, web_app)
    page.click("a[href='/invoices']")
    expect(page.locator("h1")).to_have_text("Invoices")
    row = page.locator("tr", has=page.locator("[data-invoice='e2e01:2026-02']"))
    expect(row).to_contain_text("162.50 USD")
    expect(row).to_contain_text("unpaid")
    assert iban not in page.content()
    _shot(page, "06-invoice-unpaid")
    page.once("dialog", lambda dialog: dialog.accept("transfer 8812"))
    page.click("[data-invoice='e2e01:2026-02']")
    expect(page.locator(".flash")).to_contain_text("Invoice e2e01:2026-02 marked paid")
    expect(page.locator("tr", has_text="SP-202602-e2e01")).to_contain_text("paid")
    expect(page.locator("[data-invoice='e2e01:2026-02']")).to_have_count(0)
    _shot(page, "07-invoice-paid")
    doc = firestore_db.collection("invoices").document("e2e01:2026-02").get().to_dict()
    assert (doc["status"], doc["paid_by"]) == ("paid", "admin@spreadpilot.local")
    [audit] = [d.to_dict() for d in firestore_db.collection("audit").stream()
               if (d.to_dict() or {}).get("action") == "invoice.paid"]
    assert audit["note"] == "transfer 8812"

    # the same month's statement, e-mailed again from the statements page
    firestore_db.collection("monthly_pnl").document("e2e01:2026-02").set({"follower_id": "e2e01", "month": "2026-02"})
    firestore_db.collection("statements").document("e2e01:2026-02").set(
        {"follower_id": "e2e01", "month": "2026-02", "net_pnl": "812.50", "commission": "162.50"})
    page.click("a[href='/statements']")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-ask='resend:e2e01:2026-02']")
    expect(page.locator(".flash")).to_contain_text("Statement e2e01:2026-02: resend asked")
    assert [d.to_dict()["action"] for d in firestore_db.collection("audit").stream()
            if (d.to_dict() or {}).get("action", "").startswith("statement.")] == ["statement.resend"]


def test_an_admin_is_offered_the_manual_signal_form_the_sheets_rule_refuses_a_bad_entry_and_a_viewer_has_none(
    clean_stack: LocalStack, web_app: str, browser: Browser, firestore_db: firestore.Client,
) -> None:
    # the whole entry (code, claim, publish) is tests/integration/admin_api/test_manual_signal.py on a simulated
    # morning; here the page: the form, the server's reason for a refusal, no code issued for a bad entry
    page = signed_in(browser, web_app)
    page.click("a[href='/signals']")
    expect(page.locator("h1")).to_have_text("Signals")
    page.fill("#manual-qty_per_leg", "2")
    page.fill("#manual-sell_put", "475")
    page.fill("#manual-buy_put", "480")
    page.fill("#manual-reason", "the sheet is down")
    page.click("#manual-submit")
    expect(page.locator(".flash")).to_contain_text("Long (bull put) needs Sell Put above Buy Put")
    expect(page.locator("#confirm-form")).to_have_count(0)
    assert list(firestore_db.collection("pending_confirmations").stream()) == []
    _shot(page, "13-manual-signal-refused")

    viewer = signed_in(browser, web_app, "viewer@spreadpilot.local")
    viewer.click("a[href='/signals']")
    expect(viewer.locator("h1")).to_have_text("Signals")
    expect(viewer.locator("#manual-signal")).to_have_count(0)
