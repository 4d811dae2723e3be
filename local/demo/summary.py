"""``out/demo/summary.json``: what the day did, from Firestore, the simulators' journals and the sink."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from fakes.control import SinkControl
from spreadpilot.store import Store


def _docs(store: Store, collection: str) -> list[dict[str, Any]]:
    return [{"_id": snap.id, **(snap.to_dict() or {})} for snap in store.db.collection(collection).stream()]


def _at(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def read_journals(paths: list[Path]) -> list[dict[str, Any]]:
    """Every journal line of every simulator (the broker-side truth)."""
    lines: list[dict[str, Any]] = []
    for path in paths:
        if path.exists():
            lines.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return lines


def broker_orders(journal: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per ``order_ref``: how many distinct orders reached the broker, and the contracts filled."""
    orders: dict[str, set[tuple[str, object]]] = defaultdict(set)
    fills: dict[str, int] = Counter()
    refs_by_order: dict[tuple[str, object], str] = {}
    for line in journal:
        ref = line.get("order_ref")
        key = (str(line.get("account")), line.get("perm_id") or line.get("order_id"))
        if line.get("event") == "order" and not line.get("what_if") and ref:
            orders[ref].add(key)
            refs_by_order[key] = ref
        elif line.get("event") == "fill":
            ref = ref or refs_by_order.get(key)
            if (ref and line.get("sec_type", "BAG") in ("BAG", None)) or (ref and not line.get("legs")):
                fills[ref] += int(line.get("qty") or 0)
    return {ref: {"orders": len(keys), "filled_qty": fills.get(ref, 0)} for ref, keys in orders.items()}


def signal_rows(store: Store) -> list[dict[str, Any]]:
    """Accepted signals with their strikes and publish record."""
    rows = []
    for doc in _docs(store, "signals"):
        spread = doc.get("spread") or {}
        rows.append(
            {
                "signal_id": doc.get("signal_id", doc["_id"]),
                "strategy": spread.get("strategy"),
                "short_strike": spread.get("short_strike"),
                "long_strike": spread.get("long_strike"),
                "qty": doc.get("qty_per_leg"),
                "message_id": doc.get("message_id"),
                "status": doc.get("status"),
                "timeline": doc.get("timeline", []),
            }
        )
    return rows


def order_rows(store: Store) -> list[dict[str, Any]]:
    """Every order intent, entry and exit, as the executor recorded it."""
    rows = []
    for doc in _docs(store, "orders"):
        rows.append(
            {
                "follower_id": doc.get("follower_id"),
                "signal_id": doc.get("signal_id"),
                "order_ref": doc.get("intent_id", doc["_id"]),
                "kind": doc.get("kind", "entry"),
                "status": doc.get("state"),
                "contracts": doc.get("contracts"),
                "filled_qty": doc.get("filled_qty", 0),
                "avg_price": doc.get("avg_price"),
                "reason": doc.get("reason", ""),
                "history": doc.get("history", []),
            }
        )
    return sorted(rows, key=lambda r: (str(r["follower_id"]), str(r["kind"])))


def _state_times(order: dict[str, Any], states: tuple[str, ...]) -> list[datetime]:
    return [t for h in order["history"] if h.get("state") in states and (t := _at(h.get("at"))) is not None]


def fan_out_timing(signals: list[dict[str, Any]], orders: list[dict[str, Any]], speed: float) -> dict[str, Any]:
    """How fast the day's signal reached every follower's broker, in simulated and real seconds.

    ``signal_to_all_orders``: from the publish to the last entry acknowledged (a signal published before 09:30 waits
    for the entry window, so this includes the wait); ``fan_out``: from the first entry submitted to the last one
    acknowledged, the executor's own speed.
    """
    published = [t for s in signals for e in s["timeline"] if e.get("event") == "published" and (t := _at(e.get("at")))]
    entries = [o for o in orders if o["kind"] == "entry"]
    acked = [min(times) for o in entries if (times := _state_times(o, ("working", "filled")))]
    submitted = [min(times) for o in entries if (times := _state_times(o, ("submitted",)))]
    if not published or not acked:
        return {}
    total = (max(acked) - min(published)).total_seconds()
    timings = {"signal_to_all_orders_sim_s": round(total, 2), "signal_to_all_orders_s": round(total / speed, 3)}
    if submitted:
        fan_out = (max(acked) - min(submitted)).total_seconds()
        timings |= {"fan_out_sim_s": round(fan_out, 2), "fan_out_s": round(fan_out / speed, 3)}
    return timings


def per_day(daily: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each simulated day: every follower's realized P&L, commissions and whether it reconciled with the broker."""
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in daily:
        by_day[str(d.get("date"))].append({k: d.get(k) for k in (
            "follower_id", "realized_pnl", "commissions", "unrealized_pnl", "settlements", "reconciliation",
            "reconciliation_note")})
    return [{"date": day, "followers": sorted(rows, key=lambda r: str(r["follower_id"]))}
            for day, rows in sorted(by_day.items())]


def per_month(monthly: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each month closed: every follower's fee basis, equity, high-water mark and commission."""
    keys = ("follower_id", "net_pnl", "realized_pnl", "unrealized_change", "equity_after", "hwm_before",
            "hwm_after", "billable_gain", "commission_pct", "commission", "unreconciled_days")
    by_month: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in monthly:
        by_month[str(m.get("month"))].append({k: m.get(k) for k in keys})
    return [{"month": month, "followers": sorted(rows, key=lambda r: str(r["follower_id"]))}
            for month, rows in sorted(by_month.items())]


def build_summary(
    store: Store,
    sink: SinkControl,
    journals: list[Path],
    base: dict[str, Any],
    speed: float,
    alert_fallback: list[dict[str, Any]],
) -> dict[str, Any]:
    """Everything the day produced, in the shape DESIGN.md gives for ``summary.json``."""
    signals = signal_rows(store)
    orders = order_rows(store)
    journal = read_journals(journals)
    at_broker = broker_orders(journal)
    # A duplicate collapsed within the cooldown is its own document pointing at the notice that counts it.
    alerts = [
        {"type": a.get("type"), "severity": a.get("severity"), "message": a.get("message"), "count": a.get("count", 1)}
        for a in _docs(store, "alerts")
        if not a.get("collapsed_into")
    ] or alert_fallback
    emails = sink.emails()
    telegram = sink.telegram_messages()
    duplicates = {ref: b for ref, b in at_broker.items() if b["orders"] > 1}
    for order in orders:
        broker = at_broker.get(str(order["order_ref"]), {"orders": 0, "filled_qty": 0})
        order["broker_orders"] = broker["orders"]
    return {
        **base,
        "signals": [{k: v for k, v in s.items() if k != "timeline"} for s in signals],
        "signal_timelines": {s["signal_id"]: s["timeline"] for s in signals},
        "rejected_rows": [
            {
                "row": d.get("row"),
                "row_number": d.get("row_number"),
                "column": d.get("column"),
                "value": d.get("value"),
                "reason": d.get("reason"),
            }
            for d in _docs(store, "rejected_rows")
        ],
        "orders": [{k: v for k, v in o.items() if k != "history"} for o in orders],
        "broker_check": {
            "orders_at_broker": sum(b["orders"] for b in at_broker.values()),
            "journal_lines": len(journal),
            "duplicate_order_refs": duplicates,
            "events": dict(Counter(str(line.get("event")) for line in journal)),
        },
        "fills": len(_docs(store, "fills")),
        "alerts": alerts,
        "daily_pnl": [{k: v for k, v in d.items() if k != "_id"} for d in _docs(store, "daily_pnl")],
        "monthly_pnl": [{k: v for k, v in d.items() if k != "_id"} for d in _docs(store, "monthly_pnl")],
        "days": per_day(_docs(store, "daily_pnl")),
        "months": per_month(_docs(store, "monthly_pnl")),
        "invoices": [{k: d.get(k) for k in ("follower_id", "month", "commission", "adjustments", "amount", "currency",
                                           "status", "payment_reference")}
                     for d in sorted(_docs(store, "invoices"), key=lambda d: (str(d.get("month")),
                                                                               str(d.get("follower_id"))))],
        "statements": [
            {
                "follower_id": d.get("follower_id"),
                "pdf": d.get("pdf_path"),
                "xlsx": d.get("xlsx_path"),
                "commission": d.get("commission"),
                "emailed": bool(d.get("emailed_at")),
            }
            for d in _docs(store, "statements")
        ],
        "commands": [
            {k: d.get(k) for k in ("command_id", "kind", "scope", "status")} for d in _docs(store, "commands")
        ],
        "emails": {
            "count": len(emails),
            "subjects": [str((e.get("summary") or {}).get("subject", "")) for e in emails][:20],
        },
        "telegram_messages": {
            "count": len(telegram),
            "texts": [str((t.get("payload") or {}).get("text", ""))[:160] for t in telegram][:20],
        },
        "timings": fan_out_timing(signals, orders, speed),
    }
