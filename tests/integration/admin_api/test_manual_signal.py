"""The day's signal entered by hand while the sheet is down, through the served admin API on a simulated morning:
read as the sheet's row would be, confirmed with a server-issued code, claimed once for the day (the sheet cannot add
a second one, nor can a second entry), published to ``signals`` and marked manual in the timeline and the audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from admin_harness import AdminClient
from google.cloud import firestore

from ibsim.testing import sim_clock
from identity.testing import SessionServers, TokenFactory
from spreadpilot.envelopes import SignalMessage, decode
from spreadpilot.models import Signal, Spread, Strategy, make_signal_id
from spreadpilot.signal_days import DayClaim, SignalDays
from stack.local_stack import LocalStack
from stack.topology import TopicTap

DAY = "2026-03-17"
TODAY = date(2026, 3, 17)
ENTRY = {"ticker": "qqq", "strategy": "Long", "qty_per_leg": 2, "sell_put": 485, "buy_put": 480,
         "reason": "the sheet is down (Google outage)"}
SIGNAL_ID = make_signal_id(TODAY, "QQQ", Spread(
    strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480)), 2)


@pytest.fixture
def at(clean_stack: LocalStack, serve_function: Callable[..., str],
       tokens: TokenFactory) -> Callable[[str], AdminClient]:
    """The admin API served on a simulated clock that reads ``start`` (New York) now; an admin's client to it."""

    def client(start: str) -> AdminClient:
        env = SessionServers.admin_api_env(clean_stack.project) | {
            "SPREADPILOT_CLOCK": sim_clock(f"{start}-04:00").spec()}
        return AdminClient(serve_function("admin_api", env), SessionServers.web_origin(), tokens.valid("admin"))

    return client


def confirm(admin: AdminClient, code: str) -> Any:
    return admin.call("POST", "/actions/confirm", {"confirm_code": code})


def test_a_signal_entered_by_hand_waits_for_its_code_then_is_the_days_one_signal_marked_manual(
    at: Callable[[str], AdminClient], tap: Callable[[str], TopicTap], firestore_db: firestore.Client,
) -> None:
    admin = at(f"{DAY}T09:40:00")
    signals = tap("signals")
    asked = admin.call("POST", "/signals/manual", ENTRY)
    assert asked.status_code == 202, asked.text
    assert (asked.json()["kind"], asked.json()["scope"], asked.json()["signal_id"]) == ("manual_signal", DAY,
                                                                                       SIGNAL_ID)
    assert signals.pull(1, timeout_s=1) == []  # nothing trades before the code comes back
    assert firestore_db.collection("signal_days").document(DAY).get().exists is False

    done = confirm(admin, asked.json()["confirm_code"])
    assert done.status_code == 201, done.text
    assert done.json()["signal_id"] == SIGNAL_ID
    [pulled] = signals.pull(1, timeout_s=10)
    signal = decode(pulled.data, SignalMessage).signal
    assert (signal.signal_id, signal.ticker, signal.qty_per_leg, signal.source_row) == (SIGNAL_ID, "QQQ", 2, None)

    day = firestore_db.collection("signal_days").document(DAY).get().to_dict() or {}
    assert (day["source"], day["entered_by"], day["message_id"]) == ("manual", "admin@spreadpilot.local",
                                                                    done.json()["message_id"])
    doc = firestore_db.collection("signals").document(SIGNAL_ID).get().to_dict() or {}
    assert doc["source"] == "manual"
    first = doc["timeline"][0]
    assert (first["event"], first["detail"]) == ("detected", "entered by hand by admin@spreadpilot.local")
    events = {e["kind"]: e for e in (s.to_dict() or {} for s in firestore_db.collection("events").stream())}
    assert "entered by hand by admin@spreadpilot.local" in events["signal.detected"]["message"]
    assert {"signal.claimed", "signal.published", "signal.manual", "confirmation.requested"} <= set(events)
    audit = {e["action"]: e for e in (s.to_dict() or {} for s in firestore_db.collection("audit").stream())}
    assert audit["signal.manual"]["reason"] == ENTRY["reason"]
    assert {"confirmation.manual_signal.requested", "confirmation.manual_signal.confirmed"} <= set(audit)

    again = admin.call("POST", "/signals/manual", {**ENTRY, "qty_per_leg": 1})
    assert again.status_code == 409
    assert SIGNAL_ID in again.json()["error"]["message"]
    assert signals.pull(1, timeout_s=1) == []


@pytest.mark.parametrize(("entry", "where", "says"), [
    ({**ENTRY, "ticker": "SPY"}, "body.ticker", 'column "Ticker", value "SPY": is not an allowed ticker (QQQ)'),
    ({**ENTRY, "sell_put": 475}, "body.sell_put", "Long (bull put) needs Sell Put above Buy Put"),
    ({**ENTRY, "strategy": "Sideways"}, "body.strategy", "is not a strategy (expected Long or Short)"),
    ({**ENTRY, "sell_call": 495}, "body.sell_call", "must be empty for Long (bull put)"),
    ({k: v for k, v in ENTRY.items() if k != "qty_per_leg"}, "body", "qty_per_leg missing"),
    ({**ENTRY, "qty_per_leg": 0}, "body.qty_per_leg", "Quantità per Leg"),
])
def test_an_entry_the_sheet_would_reject_is_a_400_naming_the_field_and_issues_no_code(
    at: Callable[[str], AdminClient], firestore_db: firestore.Client, entry: dict[str, object], where: str,
    says: str,
) -> None:
    refused = at(f"{DAY}T09:40:00").call("POST", "/signals/manual", entry)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["where"] == where
    assert says in refused.json()["error"]["message"]
    assert list(firestore_db.collection("pending_confirmations").stream()) == []


def test_after_the_cutoff_and_on_a_closed_day_nothing_can_be_entered(at: Callable[[str], AdminClient]) -> None:
    late = at(f"{DAY}T10:31:00").call("POST", "/signals/manual", ENTRY)
    assert late.status_code == 409
    assert "past the cutoff (10:30 New York)" in late.json()["error"]["message"]
    saturday = at("2026-03-21T09:40:00").call("POST", "/signals/manual", ENTRY)
    assert saturday.status_code == 409
    assert "the market is closed on 2026-03-21" in saturday.json()["error"]["message"]


def test_the_sheet_claiming_the_day_before_the_code_comes_back_wins_and_nothing_is_published_twice(
    at: Callable[[str], AdminClient], tap: Callable[[str], TopicTap], firestore_db: firestore.Client,
) -> None:
    admin = at(f"{DAY}T09:40:00")
    signals = tap("signals")
    code = admin.call("POST", "/signals/manual", ENTRY).json()["confirm_code"]
    spread = Spread(strategy=Strategy.BEAR_CALL, short_strike=Decimal(495), long_strike=Decimal(500))
    sheet = Signal(signal_id=make_signal_id(TODAY, "QQQ", spread, 1),
                   date=TODAY, ticker="QQQ", spread=spread, qty_per_leg=1, source_row=2,
                   detected_at=datetime.now(UTC))
    assert SignalDays(firestore_db, "signal_poller").claim_day(
        DayClaim(signal=sheet, row_number=2, row={}), datetime.now(UTC))  # the sheet came back meanwhile

    refused = confirm(admin, code)
    assert refused.status_code == 409
    assert f"{sheet.signal_id} (sheet row 2)" in refused.json()["error"]["message"]
    assert signals.pull(1, timeout_s=1) == []
    day = firestore_db.collection("signal_days").document(DAY).get().to_dict() or {}
    assert (day["signal_id"], day["source"]) == (sheet.signal_id, "sheet")


def test_a_viewer_cannot_enter_a_signal(at: Callable[[str], AdminClient], tokens: TokenFactory) -> None:
    admin = at(f"{DAY}T09:40:00")
    viewer = AdminClient(admin.base_url, admin.origin, tokens.valid("viewer", "viewer@spreadpilot.local"))
    assert viewer.call("POST", "/signals/manual", ENTRY).status_code == 403
