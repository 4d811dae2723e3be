"""The live web app in headless Chromium at desktop and phone widths: pages redraw from Firestore listeners within
2 s of a change without reloading, the event console shows a signal's timeline in order with filters, the dashboard
counts followers, positions and today's P&L, the ID token is refreshed silently, and dangerous actions ask for a
server-issued code. Screenshots go to ``out/e2e/``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from e2e_support import shot, signed_in
from google.cloud import firestore
from playwright.sync_api import Browser, expect

from identity.testing import SessionServers
from spreadpilot.actions import ActionKind, ActionPart, ActionState, OperatorAction, PartState
from spreadpilot.clock import new_york
from spreadpilot.envelopes import CommandMessage, decode
from spreadpilot.events import FirestoreEvents, make_event
from spreadpilot.models import (
    Fill,
    Follower,
    IntentState,
    OrderIntent,
    PnLSnapshot,
    Severity,
    Signal,
    Spread,
    Strategy,
    make_signal_id,
)
from spreadpilot.store import Store
from stack.local_stack import LocalStack
from stack.topology import TopicTap

pytestmark = pytest.mark.integration
IBAN = "DE89370400440532013000"
LIVE_WITHIN_MS = 2000


def follower(n: int, *, enabled: bool = True) -> Follower:
    return Follower(id=f"f{n:02d}", name=f"Follower {n}", email=f"f{n}@example.com", iban=IBAN, commission_pct=20,
                    gateway_id="gw1", ibkr_account=f"DU{n:03d}", enabled=enabled, created_at=datetime.now(UTC))


@pytest.fixture
def day(clean_stack: LocalStack, firestore_db: firestore.Client) -> tuple[Store, Signal, datetime]:
    now = datetime.now(UTC)
    store = Store(firestore_db)
    for n, enabled in ((1, True), (2, True), (3, False)):
        store.followers.put(follower(n, enabled=enabled))
    firestore_db.collection("controls").document("f02").set({"entries_paused": True, "updated_at": now.isoformat()})
    firestore_db.collection("heartbeats").document("executor").set({
        "at": now.isoformat(), "started_at": (now - timedelta(hours=2, minutes=5)).isoformat(), "version": "0.1.0",
        "gateways": {"gw1": {"connected": True, "since": now.isoformat(), "accounts": ["DU001", "DU002"]}}})
    today = new_york(now).date()
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
    signal = Signal(signal_id=make_signal_id(today, "QQQ", spread, 2), date=today, ticker="QQQ", spread=spread,
                    qty_per_leg=2, detected_at=now)
    store.signals.put(signal)
    return store, signal, now


def intent(signal: Signal, follower_id: str, state: IntentState, at: datetime, filled: int = 0) -> OrderIntent:
    return OrderIntent(intent_id=f"entry-{signal.signal_id}-{follower_id}", signal_id=signal.signal_id,
                       follower_id=follower_id, gateway_id="gw1", account="DU001", spread=signal.spread,
                       expiry=signal.date, contracts=2, state=state, filled_qty=filled,
                       avg_price=Decimal("0.82") if filled else None, created_at=at, updated_at=at)


def test_the_follower_page_shows_a_fill_within_two_seconds_of_it_being_recorded_without_reloading(
    day: tuple[Store, Signal, datetime], web_app: str, browser: Browser,
) -> None:
    store, signal, now = day
    store.orders.put(intent(signal, "f01", IntentState.WORKING, now))
    page = signed_in(browser, web_app)
    page.click("a[href='/followers']")
    expect(page.locator("#follower-total")).to_have_text("3 followers")
    page.click("a[href='/followers/f01']")
    expect(page.locator("#follower-orders")).to_contain_text("working")
    page.evaluate("window.__notReloaded = true")

    filled = intent(signal, "f01", IntentState.FILLED, datetime.now(UTC), filled=2)
    written = time.monotonic()
    store.orders.put(filled)
    store.fills.put(Fill(exec_id="0001.01", intent_id=filled.intent_id, order_ref=filled.intent_id, follower_id="f01",
                         account="DU001", con_id=11, side="SLD", qty=2, price=Decimal("1.10"), at=datetime.now(UTC)))
    expect(page.locator(f"[data-filled='{filled.intent_id}']")).to_have_text("2/2", timeout=LIVE_WITHIN_MS)
    expect(page.locator("[data-exec='0001.01']")).to_be_visible(timeout=LIVE_WITHIN_MS)
    assert time.monotonic() - written < LIVE_WITHIN_MS / 1000
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "10-follower-live-fill")


def test_the_dashboard_counts_followers_positions_and_todays_pnl_and_follows_the_fan_out_live(
    day: tuple[Store, Signal, datetime], web_app: str, browser: Browser, firestore_db: firestore.Client,
) -> None:
    store, signal, now = day
    store.pnl_snapshots.put(PnLSnapshot(follower_id="f01", account="DU001", at=now, daily_pnl=Decimal("120.50"),
                                        unrealized_pnl=Decimal("80"), realized_pnl=Decimal("40.50")))
    store.pnl_snapshots.put(PnLSnapshot(follower_id="f02", account="DU002", at=now, daily_pnl=Decimal("-20.25"),
                                        unrealized_pnl=Decimal("-20.25"), realized_pnl=Decimal(0)))
    page = signed_in(browser, web_app)
    expect(page.locator("[data-count=enabled]")).to_have_text("1")
    expect(page.locator("[data-count=paused]")).to_have_text("1")
    expect(page.locator("[data-count=disabled]")).to_have_text("1")
    expect(page.locator("#uptime")).to_contain_text("Up 2 h 5 min")
    expect(page.locator("#mtm-total")).to_contain_text("100.25 across 2 followers")
    expect(page.locator("#open-positions")).to_contain_text("0 open positions")

    firestore_db.collection("positions").document(f"f01:{signal.signal_id}").set({
        "follower_id": "f01", "account": "DU001", "signal_id": signal.signal_id, "assignment": "NONE",
        "updated_at": datetime.now(UTC).isoformat(), "legs": [{"con_id": 1, "qty": -2}, {"con_id": 2, "qty": 2}]})
    store.orders.put(intent(signal, "f01", IntentState.FILLED, now, filled=2))
    expect(page.locator("#open-positions")).to_contain_text("1 open positions", timeout=LIVE_WITHIN_MS)
    expect(page.locator("#fan-out")).to_contain_text("1 of 2 followers done", timeout=LIVE_WITHIN_MS)
    shot(page, "11-dashboard-numbers")
    phone = signed_in(browser, web_app, "viewer@spreadpilot.local", phone=True)
    expect(phone.locator("#mtm-total")).to_contain_text("100.25")
    shot(phone, "12-phone-dashboard")


def test_the_event_console_shows_a_signals_timeline_in_order_and_filters_by_severity_and_follower(
    day: tuple[Store, Signal, datetime], web_app: str, browser: Browser, firestore_db: firestore.Client,
) -> None:
    _, signal, now = day
    sink = FirestoreEvents(firestore_db)
    steps = [("signal.detected", "signal_poller", None, Severity.INFO), ("signal.published", "signal_poller", None,
             Severity.INFO), ("order.sent", "executor", "f01", Severity.INFO),
             ("alert.raised", "alert_router", "f02", Severity.WARNING), ("order.filled", "executor", "f01",
             Severity.INFO)]
    for n, (kind, source, follower_id, severity) in reversed(list(enumerate(steps))):  # written out of order
        sink.record(make_event(kind, source=source, at=now + timedelta(seconds=n), message=f"step {n}",
                               signal_id=signal.signal_id, follower_id=follower_id, severity=severity))
    sink.record(make_event("command.pause", source="admin_api", at=now, message="another day's business"))
    page = signed_in(browser, web_app)
    page.goto(web_app + f"/events?signal_id={signal.signal_id}")
    kinds = page.locator("#event-list code[data-kind]")
    expect(kinds).to_have_count(len(steps))
    assert kinds.all_inner_texts() == [kind for kind, *_ in steps]
    assert "logs/query" in (page.locator("#logging-link").get_attribute("href") or "")
    shot(page, "13-event-console-signal-timeline")

    page.select_option("#filter-severity", "WARNING")
    page.click("#event-filters button[type=submit]")
    expect(kinds).to_have_count(1)
    expect(kinds).to_have_text("alert.raised")
    page.goto(web_app + "/events?follower_id=f01")
    expect(kinds).to_have_count(2)
    sink.record(make_event("order.cancelled", source="executor", at=datetime.now(UTC) + timedelta(seconds=30),
                           message="live", follower_id="f01"))
    expect(kinds).to_have_count(3, timeout=LIVE_WITHIN_MS)
    phone = signed_in(browser, web_app, "viewer@spreadpilot.local", phone=True)
    phone.goto(web_app + f"/events?signal_id={signal.signal_id}")
    expect(phone.locator("#event-list code[data-kind]")).to_have_count(len(steps))
    shot(phone, "14-phone-event-console")


def test_the_id_token_is_refreshed_silently_and_the_api_keeps_answering(
    clean_stack: LocalStack, web_app: str, browser: Browser,
) -> None:
    issuer = SessionServers.issuer_for(clean_stack.project).issuer
    lifetime = issuer.token_lifetime_s
    # The SDK renews a token 5 minutes before it expires: a 302 s token is renewed about 2 s after sign-in.
    issuer.token_lifetime_s = 302
    try:
        before = issuer.refreshes
        page = signed_in(browser, web_app)
        deadline = time.monotonic() + 20
        while issuer.refreshes == before and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert issuer.refreshes > before
        with page.expect_response(lambda r: r.url.endswith("/api/v1/controls")) as answered:
            page.click("a[href='/controls']")
        assert answered.value.status == 200
        expect(page.locator("h1")).to_have_text("Controls")
    finally:
        issuer.token_lifetime_s = lifetime


def test_pausing_everyone_needs_the_code_the_server_issued_to_this_admin(
    day: tuple[Store, Signal, datetime], web_app: str, browser: Browser, tap: Callable[[str], TopicTap],
) -> None:
    commands = tap("commands")
    page = signed_in(browser, web_app)
    page.click("a[href='/controls']")
    page.click("#pause-all")
    code = page.locator("#confirm-code-shown").inner_text()
    shot(page, "15-confirm-pause-all")
    assert commands.pull(1, timeout_s=2) == []  # nothing is published before the code comes back
    page.fill("#confirm-input", "WRONG1")
    page.click("#confirm-submit")
    expect(page.locator("#flash")).to_contain_text("unknown confirmation code")
    page.fill("#confirm-input", code)
    page.click("#confirm-submit")
    expect(page.locator("#flash")).to_contain_text("confirmed")
    [pulled] = commands.pull(1, timeout_s=10)
    command = decode(pulled.data, CommandMessage).command
    assert (command.kind, command.scope, command.issued_by) == ("pause", "all", "admin@spreadpilot.local")


def test_an_operator_action_shows_on_the_controls_page_until_it_ends_with_what_is_left_undone(
    day: tuple[Store, Signal, datetime], web_app: str, browser: Browser,
) -> None:
    store, _, now = day
    action = OperatorAction(
        action_id="flatten-ABC123", kind=ActionKind.FLATTEN, scope="all", reason="flatten by admin",
        requested_by="admin@spreadpilot.local", source="web", command_id="c1",
        parts=(ActionPart(key="controls:global", state=PartState.DONE), ActionPart(key="flatten:f01", phase=1),
               ActionPart(key="flatten:f02", phase=1)), created_at=now, updated_at=now)
    actions = store.db.collection("operator_actions")
    actions.document(action.action_id).set(action.to_doc())
    page = signed_in(browser, web_app)
    page.click("a[href='/controls']")
    shown = page.locator("[data-action-id='flatten-ABC123']")
    expect(shown).to_contain_text("1 of 3 part(s) done", timeout=LIVE_WITHIN_MS * 3)
    page.evaluate("window.__notReloaded = true")

    later = datetime.now(UTC)
    parts = (action.parts[0], action.parts[1].model_copy(update={"state": PartState.DONE}),
             action.parts[2].model_copy(update={"state": PartState.FAILED, "attempts": 6,
                                                "note": "DU002 still holds 1 spread"}))
    ended = action.model_copy(update={"parts": parts, "updated_at": later}).finished(later)
    assert ended.state is ActionState.PARTLY_DONE
    written = time.monotonic()
    actions.document(action.action_id).set(ended.to_doc())
    expect(shown).to_contain_text("f02", timeout=LIVE_WITHIN_MS)
    expect(page.locator("#operator-actions")).to_contain_text("partly done")
    assert time.monotonic() - written < LIVE_WITHIN_MS / 1000 + 0.5
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "17-controls-operator-action-ended")
