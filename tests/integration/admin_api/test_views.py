"""Views read what the executor and functions wrote to Firestore; alerts can be acknowledged; statements opened."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from admin_harness import AdminClient, new_follower
from google.cloud import firestore

from identity.testing import SessionServers
from spreadpilot.clock import new_york
from spreadpilot.models import Alert, IntentState, OrderIntent, Severity, Signal, Spread, Strategy, make_signal_id
from spreadpilot.store import Store


def _seed_day(db: firestore.Client) -> Signal:
    now = datetime.now(UTC)
    today = new_york(now).date()
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
    signal = Signal(signal_id=make_signal_id(today, "QQQ", spread, 2), date=today, ticker="QQQ", spread=spread,
                    qty_per_leg=2, detected_at=now)
    store = Store(db)
    store.signals.put(signal, timeline=[{"at": now.isoformat(), "event": "detected"}])
    for follower_id, state in (("f01", IntentState.FILLED), ("f02", IntentState.WORKING)):
        intent = OrderIntent(intent_id=f"entry-{signal.signal_id}-{follower_id}", signal_id=signal.signal_id,
                             follower_id=follower_id, gateway_id="gw1", account="DU001", spread=spread,
                             expiry=today, contracts=2, state=state, created_at=now, updated_at=now)
        store.orders.put(intent)
    db.collection("fills").document("0001").set({"exec_id": "0001", "intent_id": f"entry-{signal.signal_id}-f01",
                                                  "follower_id": "f01", "qty": 2, "price": "0.85"})
    db.collection("heartbeats").document("executor").set(
        {"at": now.isoformat(), "gateways": {"gw1": {"connected": True, "since": now.isoformat()}}})
    return signal


def test_dashboard_shows_heartbeat_gateways_todays_signal_fan_out_and_open_alerts(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    admin.call("POST", "/followers", new_follower("f01"))
    admin.call("POST", "/followers", new_follower("f02", ibkr_account="DU002"))
    signal = _seed_day(firestore_db)
    Store(firestore_db).alerts.put(Alert(alert_id="a1", type="order.ladder_exhausted", severity=Severity.WARNING,
                                         message="f02 not filled", at=datetime.now(UTC), source="executor"))
    view = admin.call("GET", "/dashboard").json()

    assert view["signal"]["id"] == signal.signal_id
    assert view["signal"]["timeline"][0]["event"] == "detected"
    assert view["fan_out"] == {"followers": 2, "intents": 2, "by_state": {"filled": 1, "working": 1}, "done": 1}
    assert view["gateways"][0]["id"] == "gw1"
    assert view["gateways"][0]["connected"] is True
    assert [a["id"] for a in view["alerts"]] == ["a1"]


def test_signal_and_order_details_follow_the_alert_routers_deep_links(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    signal = _seed_day(firestore_db)
    detail = admin.call("GET", f"/signals/{signal.signal_id}").json()
    intent_id = f"entry-{signal.signal_id}-f01"
    order = admin.call("GET", f"/orders/{intent_id}").json()

    assert [o["follower_id"] for o in detail["orders"]] == ["f01", "f02"]
    assert order["order"]["state"] == "filled"
    assert [f["exec_id"] for f in order["fills"]] == ["0001"]
    assert admin.call("GET", "/orders/entry-nope").status_code == 404


def test_acknowledging_an_alert_records_who_and_when_and_is_audited(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    Store(firestore_db).alerts.put(Alert(alert_id="a1", type="gateway.down", severity=Severity.CRITICAL,
                                         message="gw1 lost", at=datetime.now(UTC), source="executor"))
    acked = admin.call("POST", "/alerts/a1/acknowledge")
    stored = firestore_db.collection("alerts").document("a1").get().to_dict()
    open_alerts = admin.call("GET", "/alerts?acknowledged=false").json()["alerts"]
    audit = admin.call("GET", "/audit").json()["entries"]

    assert acked.status_code == 200
    assert stored["acknowledged_by"] == "admin@spreadpilot.local"
    assert stored["acknowledged_at"]
    assert open_alerts == []
    assert audit[0]["action"] == "alert.acknowledge"
    assert audit[0]["alert_id"] == "a1"


def test_statement_links_open_the_file_only_from_the_statements_folder(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    folder = SessionServers.statements_dir()
    pdf = folder / "f01-2026-02.pdf"
    pdf.write_bytes(b"%PDF-1.4 statement")
    firestore_db.collection("statements").document("f01:2026-02").set(
        {"follower_id": "f01", "month": "2026-02", "pdf_path": str(pdf), "sent_at": "2026-03-01T05:10:00Z"})
    firestore_db.collection("statements").document("f02:2026-02").set(
        {"follower_id": "f02", "month": "2026-02", "pdf_path": "/etc/passwd"})

    listed = admin.call("GET", "/statements?follower_id=f01").json()["statements"]
    link = listed[0]["links"]["pdf"]
    opened = admin.call("GET", link["url"].removeprefix("/api/v1"))
    outside = admin.call("GET", "/statements/f02:2026-02/files/pdf")

    assert [s["id"] for s in listed] == ["f01:2026-02"]
    assert link["auth"] is True
    assert opened.status_code == 200
    assert opened.headers["Content-Type"] == "application/pdf"
    assert opened.content == b"%PDF-1.4 statement"
    assert outside.status_code == 403


def test_pnl_views_return_rows_per_follower_in_date_order(admin: AdminClient, firestore_db: firestore.Client) -> None:
    for day, pnl in (("2026-03-17", "120"), ("2026-03-16", "-40")):
        firestore_db.collection("daily_pnl").document(f"f01:{day}").set(
            {"follower_id": "f01", "date": day, "realized_pnl": pnl})
    rows = admin.call("GET", "/pnl/daily?follower_id=f01").json()["rows"]
    assert [(r["date"], r["realized_pnl"]) for r in rows] == [("2026-03-16", "-40"), ("2026-03-17", "120")]
    assert admin.call("GET", "/pnl/daily?limit=abc").status_code == 400
