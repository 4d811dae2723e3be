"""Read-only views of what the system did, straight from Firestore (documents as the console shows them).

Queries stay single-field (equality or one ``order_by``) so they need no composite index; small result sets are
filtered and sorted here.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict
from typing import Any

from google.cloud import firestore
from pydantic import ValidationError

from admin_api.deps import Deps, Route
from admin_api.eventlog import note
from admin_api.http import Call, not_found
from spreadpilot.clock import new_york
from spreadpilot.fill_quality import fill_quality, summary
from spreadpilot.models import DailyPnL, OrderIntent
from spreadpilot.performance import overall, performance
from spreadpilot.store import (
    ALERTS,
    AUDIT,
    CONTROLS,
    DAILY_PNL,
    FILLS,
    HEARTBEATS,
    MONTHLY_PNL,
    ORDERS,
    POSITIONS,
    SIGNALS,
)

log = logging.getLogger("admin_api.views")


def _docs(query: Any) -> list[dict[str, Any]]:
    return [{"id": snap.id, **(snap.to_dict() or {})} for snap in query.stream()]


def _where(db: firestore.Client, collection: str, field: str, value: object) -> list[dict[str, Any]]:
    return _docs(db.collection(collection).where(filter=firestore.FieldFilter(field, "==", value)))


def _latest(db: firestore.Client, collection: str, field: str, limit: int) -> list[dict[str, Any]]:
    return _docs(db.collection(collection).order_by(field, direction=firestore.Query.DESCENDING).limit(limit))


def _get(db: firestore.Client, collection: str, doc_id: str) -> dict[str, Any] | None:
    snap = db.collection(collection).document(doc_id).get()
    return {"id": snap.id, **(snap.to_dict() or {})} if snap.exists else None


def _order_summary(doc: dict[str, Any]) -> dict[str, Any]:
    keys = ("intent_id", "kind", "signal_id", "follower_id", "gateway_id", "account", "contracts", "state",
            "filled_qty", "avg_price", "limit", "ladder_step", "reason", "created_at", "updated_at")
    return {k: doc.get(k) for k in keys}


def fan_out(orders: list[dict[str, Any]], enabled_followers: int) -> dict[str, object]:
    """Progress of one signal across followers: intents by state, and how many reached a final state."""
    entries = [o for o in orders if o.get("kind", "entry") == "entry"]
    states = Counter(str(o.get("state", "unknown")) for o in entries)
    final = {"filled", "partially_filled", "cancelled", "rejected", "skipped"}
    return {"followers": enabled_followers, "intents": len(entries), "by_state": dict(states),
            "done": sum(n for s, n in states.items() if s in final)}


def dashboard(deps: Deps, call: Call) -> object:
    db = deps.store.db
    today = new_york(call.now).date().isoformat()
    signals = sorted(_where(db, SIGNALS, "date", today), key=lambda s: str(s.get("detected_at", "")))
    signal = signals[-1] if signals else None
    enabled = sum(1 for f in deps.store.followers.all() if f.enabled)
    progress = fan_out(_where(db, ORDERS, "signal_id", signal["id"]), enabled) if signal else None
    alerts = [a for a in _latest(db, ALERTS, "at", 50) if not a.get("acknowledged_at")][:10]
    return {
        "now": call.now.isoformat(), "today": today,
        "heartbeat": _get(db, HEARTBEATS, "executor"),
        "gateways": gateways(deps, call)["gateways"],
        "signal": signal, "fan_out": progress,
        "alerts": alerts,
        "controls": _get(db, CONTROLS, "global") or {},
    }


def gateways(deps: Deps, call: Call) -> dict[str, list[dict[str, Any]]]:
    """Configured gateways with the connection state the executor's heartbeat reports."""
    db = deps.store.db
    beat = _get(db, HEARTBEATS, "executor") or {}
    live = beat.get("gateways") or {}
    configured = {g.id: g.to_doc() for g in deps.store.gateways.all()}
    rows = []
    for gateway_id in sorted(set(configured) | set(live)):
        state = live.get(gateway_id) or {}
        rows.append({"id": gateway_id, **configured.get(gateway_id, {}), "connected": state.get("connected"),
                     "since": state.get("since"), "heartbeat_at": beat.get("at")})
    return {"gateways": rows}


def list_signals(deps: Deps, call: Call) -> object:
    day = call.query("date")
    db = deps.store.db
    rows = _where(db, SIGNALS, "date", day) if day else _latest(db, SIGNALS, "detected_at", call.query_int("limit", 30))
    return {"signals": sorted(rows, key=lambda s: str(s.get("detected_at", "")), reverse=True)}


def get_signal(deps: Deps, call: Call) -> object:
    signal_id = call.param("signal_id")
    signal = _get(deps.store.db, SIGNALS, signal_id)
    if signal is None:
        raise not_found("signal", signal_id)
    docs = _where(deps.store.db, ORDERS, "signal_id", signal_id)
    orders = [_order_summary(o) for o in docs]
    enabled = sum(1 for f in deps.store.followers.all() if f.enabled)
    return {"signal": signal, "orders": sorted(orders, key=lambda o: str(o["follower_id"])),
            "fan_out": fan_out(orders, enabled), "fill_quality": fill_quality_of(docs)}


def fill_quality_of(docs: list[dict[str, Any]]) -> dict[str, object]:
    """The signal's fill-quality table (``spreadpilot.fill_quality``, the figures the statement and the benchmark
    show) from its order documents; a document that does not parse is named, never guessed around."""
    intents, unreadable = [], []
    for doc in docs:
        try:
            intents.append(OrderIntent.from_stored(doc))
        except ValidationError:
            unreadable.append(str(doc.get("id")))
    rows = fill_quality(intents)
    return {"rows": [asdict(r) for r in rows], "summary": asdict(summary(rows)), "unreadable": sorted(unreadable)}


def list_orders(deps: Deps, call: Call) -> object:
    db = deps.store.db
    limit = call.query_int("limit", 200)
    if call.query("signal_id"):
        rows = _where(db, ORDERS, "signal_id", call.query("signal_id"))
    elif call.query("follower_id"):
        rows = _where(db, ORDERS, "follower_id", call.query("follower_id"))
    else:
        rows = _latest(db, ORDERS, "created_at", limit)
    rows.sort(key=lambda o: str(o.get("created_at", "")), reverse=True)
    return {"orders": [_order_summary(o) for o in rows[:limit]]}


def get_order(deps: Deps, call: Call) -> object:
    intent_id = call.param("intent_id")
    order = _get(deps.store.db, ORDERS, intent_id)
    if order is None:
        raise not_found("order", intent_id)
    fills = sorted(_where(deps.store.db, FILLS, "intent_id", intent_id), key=lambda f: str(f.get("at", "")))
    return {"order": order, "fills": fills}


def list_positions(deps: Deps, call: Call) -> object:
    db = deps.store.db
    follower_id = call.query("follower_id")
    rows = _where(db, POSITIONS, "follower_id", follower_id) if follower_id else _docs(db.collection(POSITIONS))
    return {"positions": sorted(rows, key=lambda p: str(p.get("updated_at", "")), reverse=True)}


def _pnl(deps: Deps, call: Call, collection: str, period: str) -> dict[str, object]:
    db = deps.store.db
    follower_id = call.query("follower_id")
    rows = _where(db, collection, "follower_id", follower_id) if follower_id else _docs(db.collection(collection))
    rows.sort(key=lambda r: (str(r.get(period, "")), str(r.get("follower_id", ""))))
    return {"rows": rows[-call.query_int("limit", 500, high=5000):]}


def daily_pnl(deps: Deps, call: Call) -> object:
    return _pnl(deps, call, DAILY_PNL, "date")


def monthly_pnl(deps: Deps, call: Call) -> object:
    return _pnl(deps, call, MONTHLY_PNL, "month")


def performance_view(deps: Deps, call: Call) -> object:
    """Trade win rate, profit factor, drawdown and losing runs per follower and overall (``spreadpilot.performance``),
    from the daily P&L; a document that does not parse is listed by id and left out."""
    db = deps.store.db
    follower_id = call.query("follower_id")
    query = db.collection(DAILY_PNL)
    if follower_id:
        query = query.where(filter=firestore.FieldFilter("follower_id", "==", follower_id))
    by_follower: dict[str, list[DailyPnL]] = {}
    unreadable = []
    for snap in query.stream():
        try:
            day = DailyPnL.from_stored(snap.to_dict() or {})
        except ValidationError:
            unreadable.append(snap.id)
            continue
        by_follower.setdefault(day.follower_id, []).append(day)
    return {"followers": {fid: performance(days).to_doc() for fid, days in sorted(by_follower.items())},
            "overall": overall(by_follower.values()).to_doc(), "unreadable": sorted(unreadable)}


def list_alerts(deps: Deps, call: Call) -> object:
    rows = _latest(deps.store.db, ALERTS, "at", call.query_int("limit", 100, high=500))
    if call.query("acknowledged") in ("false", "0"):
        rows = [a for a in rows if not a.get("acknowledged_at")]
    return {"alerts": rows}


def acknowledge_alert(deps: Deps, call: Call) -> object:
    alert_id = call.param("alert_id")
    ref = deps.store.db.collection(ALERTS).document(alert_id)
    snap = ref.get()
    if not snap.exists:
        raise not_found("alert", alert_id)
    current = snap.to_dict() or {}
    if current.get("acknowledged_at"):  # acknowledging twice changes nothing
        return {"id": alert_id, **current}
    ack = {"acknowledged_by": call.principal.actor, "acknowledged_at": call.now.isoformat()}
    ref.update(ack)
    deps.store.audit("alert.acknowledge", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     alert_id=alert_id)
    log.info("alert acknowledged", extra={"alert_id": alert_id, "actor": call.principal.actor})
    note(deps, call, "alert.acknowledged", f"alert {alert_id} acknowledged", alert_id=alert_id,
         follower_id=current.get("follower_id"), signal_id=current.get("signal_id"))
    return {"id": alert_id, **current, **ack}


def audit_log(deps: Deps, call: Call) -> object:
    return {"entries": _latest(deps.store.db, AUDIT, "at", call.query_int("limit", 100, high=1000))}


def me(deps: Deps, call: Call) -> object:
    p = call.principal
    return {"uid": p.uid, "email": p.email, "role": str(p.role), "can_change": p.can_change}


def list_gateways(deps: Deps, call: Call) -> object:
    return gateways(deps, call)


ROUTES = [
    Route("GET", "/me", me, "Who the token belongs to and what it may do"),
    Route("GET", "/dashboard", dashboard, "Heartbeat, gateways, today's signal, fan-out progress, open alerts"),
    Route("GET", "/gateways", list_gateways, "Gateways and their connection state"),
    Route("GET", "/signals", list_signals, "Signals (query: date=YYYY-MM-DD, limit)"),
    Route("GET", "/signals/{signal_id}", get_signal, "One signal with its timeline and per-follower orders"),
    Route("GET", "/orders", list_orders, "Order intents (query: signal_id, follower_id, limit)"),
    Route("GET", "/orders/{intent_id}", get_order, "One order intent with its fills"),
    Route("GET", "/positions", list_positions, "Positions (query: follower_id)"),
    Route("GET", "/pnl/daily", daily_pnl, "Daily P&L (query: follower_id, limit)"),
    Route("GET", "/pnl/monthly", monthly_pnl, "Monthly P&L and commission (query: follower_id, limit)"),
    Route("GET", "/performance", performance_view, "Trade win rate, profit factor, max drawdown and consecutive "
          "losses per follower and overall (query: follower_id)"),
    Route("GET", "/alerts", list_alerts, "Latest alerts (query: acknowledged=false, limit)"),
    Route("POST", "/alerts/{alert_id}/acknowledge", acknowledge_alert, "Acknowledge an alert", changes=True),
    Route("GET", "/audit", audit_log, "The audit log, newest first (query: limit)"),
]
