"""The operators' console at 300 followers with 10 browsers open on the live dashboard, for one minute of trading.

Real parts: the local stack (Firestore emulator with the security rules), the admin API served by
functions-framework, the local issuer, the web app in headless Chromium (10 tabs, each signed in). During the
minute the bench writes what the executor writes at 300 followers: a heartbeat every 15 s, an MTM snapshot per
follower every 30 s (the executor's MTM pass when every P&L moves), and order updates. Counted:
    Firestore reads by the browsers: documents delivered to their listeners (what Firestore bills), from the app's
        own counter (``window.spreadpilotReads``), per minute after the pages settled.
    Admin API requests by the browsers per minute (token refreshes and actions only: the pages do not poll).
    The polling design it replaces, for comparison: every tab asked GET /dashboard every 5 s, and each answer read
        every follower, every intent of the day's signal and 50 alerts (counted from those queries here).
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from google.cloud import firestore
from playwright.sync_api import sync_playwright

from identity.server import LOCAL_PASSWORD, Issuer, IssuerServer
from identity.webserve import WebConfig, WebServer
from spreadpilot.clock import new_york
from spreadpilot.models import Follower, IntentState, OrderIntent, Signal, Spread, Strategy, make_signal_id
from spreadpilot.store import Store, follower_card
from stack.local_stack import FIRESTORE_EMULATOR_HOST, LocalStack
from stack.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
FOLLOWERS = 300
BROWSERS = 10
MINUTE_S = 60.0
POLL_EVERY_S = 5.0
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _seed(db: firestore.Client, now: datetime) -> tuple[Signal, list[OrderIntent]]:
    today = new_york(now).date()
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
    signal = Signal(signal_id=make_signal_id(today, "QQQ", spread, 2), date=today, ticker="QQQ", spread=spread,
                    qty_per_leg=2, detected_at=now)
    store = Store(db)
    store.signals.put(signal)
    intents = []
    batch = db.batch()
    for n in range(FOLLOWERS):
        follower = Follower(id=f"b{n:03d}", name=f"Bench {n}", email=f"b{n}@example.com",
                            iban="DE89370400440532013000", commission_pct=20, gateway_id="gw1",
                            ibkr_account=f"DU{n:04d}", created_at=now)
        intent = OrderIntent(intent_id=f"entry-{signal.signal_id}-{follower.id}", signal_id=signal.signal_id,
                             follower_id=follower.id, gateway_id="gw1", account=follower.ibkr_account, spread=spread,
                             expiry=today, contracts=2, state=IntentState.FILLED, filled_qty=2, created_at=now,
                             updated_at=now)
        intents.append(intent)
        batch.set(store.followers.ref(follower.id), follower.to_doc())
        batch.set(store.followers.card_ref(follower.id), follower_card(follower))
        batch.set(store.orders.ref(intent.intent_id), intent.to_doc())
        if n % 100 == 99:
            batch.commit()
            batch = db.batch()
    batch.commit()
    return signal, intents


def _heartbeat(db: firestore.Client, at: datetime) -> None:
    db.collection("heartbeats").document("executor").set(
        {"at": at.isoformat(), "started_at": at.isoformat(), "gateways": {"gw1": {"connected": True}}})


def _mtm_pass(db: firestore.Client, at: datetime, n: int) -> int:
    batch = db.batch()
    for i in range(FOLLOWERS):
        batch.set(db.collection("pnl_snapshots").document(f"b{i:03d}:{int(at.timestamp())}"), {
            "follower_id": f"b{i:03d}", "account": f"DU{i:04d}", "at": at.isoformat(),
            "daily_pnl": str(Decimal(n * 3 + i % 17)), "unrealized_pnl": "10", "realized_pnl": "0"})
        if i % 100 == 99:
            batch.commit()
            batch = db.batch()
    batch.commit()
    return FOLLOWERS


def _polling_reads_per_answer(db: firestore.Client, signal: Signal) -> int:
    """Documents one GET /dashboard of the polling design read (followers, the signal's intents, alerts, ...)."""
    followers = sum(1 for _ in db.collection("followers").stream())
    orders = sum(1 for _ in db.collection("orders").where(
        filter=firestore.FieldFilter("signal_id", "==", signal.signal_id)).stream())
    alerts = min(50, sum(1 for _ in db.collection("alerts").limit(50).stream()))
    return followers + orders + max(alerts, 1) + 4  # + signals of today, heartbeat, controls/global, gateways


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp, ExitStack() as cleanup:
        stack = LocalStack.start(ROOT, state_dir=Path(tmp) / "stack", die_with_parent=True)
        cleanup.callback(stack.stop)
        saved = dict(os.environ)
        os.environ.update(stack.env)  # the official clients find the emulators through these
        def restore_environ() -> None:
            os.environ.clear()
            os.environ.update(saved)

        cleanup.callback(restore_environ)
        issuer = cleanup.enter_context(IssuerServer(Issuer(stack.project)))
        web_port = free_port("127.0.0.1")
        api_url = stack.serve_function("admin_api", {
            "SPREADPILOT_AUTH_CERT_URL": issuer.cert_url, "SPREADPILOT_WEB_BASE_URL": f"http://127.0.0.1:{web_port}",
            "IDENTITY_TOOLKIT_API_URL": issuer.base_url})
        config = WebConfig(api_url, issuer.sign_in_url, stack.project, issuer.emulator_url,
                           stack.env[FIRESTORE_EMULATOR_HOST])
        web = cleanup.enter_context(WebServer(ROOT / "web", config, port=web_port))
        db = firestore.Client(project=stack.project)
        now = datetime.now(UTC)
        signal, intents = _seed(db, now)
        _heartbeat(db, now)
        playwright = cleanup.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        cleanup.callback(browser.close)
        api_requests = [0]
        pages = []
        for _ in range(BROWSERS):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: api_requests.__setitem__(0, api_requests[0] + ("/api/v1/" in r.url)))
            page.goto(web.base_url + "/signin")
            page.fill("#email", "admin@spreadpilot.local")
            page.fill("#password", LOCAL_PASSWORD)
            page.click("#signin-form button[type=submit]")
            page.wait_for_selector("#fan-out", timeout=60_000)
            pages.append(page)
        time.sleep(3)  # the first answers of every listener are in: count from here

        def reads() -> int:
            return sum(int(p.evaluate("window.spreadpilotReads.documents")) for p in pages)

        initial, api_before, started = reads(), api_requests[0], time.monotonic()
        written = 0
        beat = mtm = 0
        while (elapsed := time.monotonic() - started) < MINUTE_S:
            at = datetime.now(UTC)
            if elapsed >= beat * 15:
                _heartbeat(db, at)
                beat += 1
                written += 1
            if elapsed >= mtm * 30:
                written += _mtm_pass(db, at, mtm)
                mtm += 1
                intent = intents[mtm % FOLLOWERS]
                db.collection("orders").document(intent.intent_id).update({"updated_at": at.isoformat()})
                written += 1
            time.sleep(0.5)
        time.sleep(2)  # the last changes reach the listeners
        minute = time.monotonic() - started
        per_minute = (reads() - initial) * 60 / minute
        api_per_minute = (api_requests[0] - api_before) * 60 / minute
        polling_answer = _polling_reads_per_answer(db, signal)
        polling_requests = BROWSERS * 60 / POLL_EVERY_S
        return [
            {"name": "console.firestore_reads_per_min.300_followers_10_browsers", "value": round(per_minute),
             "unit": "reads/min", "note": f"documents delivered to the dashboards' listeners while {written} "
             f"documents were written ({FOLLOWERS} MTM snapshots every 30 s, heartbeat every 15 s); "
             f"{round(per_minute / BROWSERS)} per browser"},
            {"name": "console.firestore_reads_initial.per_browser", "value": round(initial / BROWSERS),
             "unit": "reads", "note": "first answers of a dashboard's listeners (300 follower cards, the signal's "
             "300 intents, recent MTM, alerts)"},
            {"name": "console.admin_api_requests_per_min.10_browsers", "value": round(api_per_minute, 1),
             "unit": "requests/min", "note": "the live pages do not poll the API"},
            {"name": "console.polling_design.admin_api_requests_per_min", "value": round(polling_requests),
             "unit": "requests/min", "note": f"for comparison: GET /dashboard every {POLL_EVERY_S:g} s per browser"},
            {"name": "console.polling_design.firestore_reads_per_min", "value": round(polling_requests
             * polling_answer), "unit": "reads/min", "note": f"for comparison: {polling_answer} documents read per "
             "/dashboard answer at 300 followers"},
        ]


if __name__ == "__main__":
    for row in run():
        print(row)
