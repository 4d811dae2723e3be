"""The poller as deployed: served by functions-framework, ticked by real Pub/Sub pushes, reading the Sheets fake
through real gspread, writing Firestore and publishing to the Pub/Sub emulator."""

from __future__ import annotations

from collections.abc import Callable

from google.cloud import firestore
from poller_harness import (
    DAY,
    alerts_of,
    doc,
    new_sheet,
    redeliver,
    serve_poller,
    signals_of,
    tick,
    ticks,
    wait_for,
)

from spreadpilot.models import Severity, Strategy
from stack import LocalStack
from stack.topology import TopicTap

ROW = [DAY, "QQQ", "Long", 2, 480, 485]


def test_row_written_with_gspread_is_published_once_on_signals_with_its_timeline(
    clean_stack: LocalStack, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    serve_poller(clean_stack)
    sheet = new_sheet(clean_stack)
    signals = tap("signals")
    sheet.append_row(ROW, value_input_option="USER_ENTERED")

    tick(clean_stack)

    [pulled] = signals.pull(1, timeout_s=20)
    [message] = signals_of([pulled])
    signal = message.signal
    assert (signal.spread.strategy, signal.spread.short_strike, signal.spread.long_strike, signal.qty_per_leg) == (
        Strategy.BULL_PUT, 485, 480, 2
    )
    stored = wait_for("the published status", lambda: doc(firestore_db, f"signals/{signal.signal_id}").get(
        "message_id") and doc(firestore_db, f"signals/{signal.signal_id}"))
    assert stored["message_id"] == pulled.message_id
    assert [event["event"] for event in stored["timeline"]] == ["detected", "claimed", "published"]
    assert stored["row"]["Sell Put"] == 485
    assert stored["row_number"] == 2
    assert doc(firestore_db, f"signal_days/{DAY}")["signal_id"] == signal.signal_id


def test_repeated_ticks_and_redelivered_pushes_still_publish_one_signal(
    clean_stack: LocalStack, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    url = serve_poller(clean_stack)
    sheet = new_sheet(clean_stack)
    signals = tap("signals")
    sheet.append_row(ROW, value_input_option="USER_ENTERED")
    first = tick(clean_stack)
    assert len(signals.pull(1, timeout_s=20)) == 1
    wait_for("the publish to be recorded", lambda: doc(firestore_db, f"signal_days/{DAY}").get("message_id"))
    before = ticks(firestore_db)

    for _ in range(3):
        tick(clean_stack)
    assert redeliver(url, clean_stack, first) == 200
    assert redeliver(url, clean_stack, first) == 200

    wait_for("five more ticks to be handled", lambda: ticks(firestore_db) >= before + 5)
    assert signals.pull(1, timeout_s=2) == []


def test_edited_row_raises_a_critical_alert_and_no_second_signal(
    clean_stack: LocalStack, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    serve_poller(clean_stack)
    sheet = new_sheet(clean_stack)
    signals, alerts = tap("signals"), tap("alerts")
    sheet.append_row(ROW, value_input_option="USER_ENTERED")
    tick(clean_stack)
    [original] = signals_of(signals.pull(1, timeout_s=20))
    wait_for("the publish to be recorded", lambda: doc(firestore_db, f"signal_days/{DAY}").get("message_id"))

    handled = ticks(firestore_db)
    sheet.update([[490]], "F2", value_input_option="USER_ENTERED")
    tick(clean_stack)
    tick(clean_stack)
    wait_for("both ticks to be handled", lambda: ticks(firestore_db) >= handled + 2)

    [alert] = alerts_of(alerts.pull(1, timeout_s=20))
    assert (alert.alert.type, alert.alert.severity) == ("signal.row_edited", Severity.CRITICAL)
    assert alert.alert.signal_id == original.signal.signal_id
    assert "Sell Put=490" in alert.alert.message
    assert signals.pull(1, timeout_s=1) == []
    assert alerts.pull(1, timeout_s=1) == []  # the second tick saw the same edit: no second alert


def test_rejected_row_is_stored_with_its_reason_and_warned_once(
    clean_stack: LocalStack, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    serve_poller(clean_stack)
    sheet = new_sheet(clean_stack)
    signals, alerts = tap("signals"), tap("alerts")
    sheet.append_row([DAY, "QQQ", "Long", 2, 485, 480], value_input_option="USER_ENTERED")

    tick(clean_stack)
    tick(clean_stack)

    wait_for("both ticks to be handled", lambda: ticks(firestore_db) >= 2)
    warnings = [a.alert for a in alerts_of(alerts.pull(3, timeout_s=3))]
    rejections = [(a.type, a.severity) for a in warnings if a.type == "signal.row_rejected"]
    assert rejections == [("signal.row_rejected", Severity.WARNING)]
    assert "signal.none_yet" in [a.type for a in warnings]  # 09:40 ET and still no valid row
    rejected = [snap.to_dict() or {} for snap in firestore_db.collection("rejected_rows").stream()]
    assert len(rejected) == 1
    assert (rejected[0]["row_number"], rejected[0]["column"], rejected[0]["value"]) == (2, "Sell Put", "480")
    assert rejected[0]["reason"].startswith('row 2, column "Sell Put", value "480"')
    assert signals.pull(1, timeout_s=1) == []


def test_sheet_quota_errors_back_off_and_the_signal_still_goes_out(
    clean_stack: LocalStack, tap: Callable[[str], TopicTap]
) -> None:
    serve_poller(clean_stack)
    sheet = new_sheet(clean_stack)
    signals, alerts = tap("signals"), tap("alerts")
    sheet.append_row(ROW, value_input_option="USER_ENTERED")
    clean_stack.sheets.fail_next(3, status=429)

    tick(clean_stack)

    assert len(signals.pull(1, timeout_s=20)) == 1
    [alert] = alerts_of(alerts.pull(1, timeout_s=10))
    assert (alert.alert.type, alert.alert.severity) == ("signal.sheet_quota", Severity.WARNING)
    statuses = [r["status"] for r in clean_stack.sheets.requests() if r["method"] == "GET" and "/values/" in r["path"]]
    assert statuses == [429, 429, 429, 200]
