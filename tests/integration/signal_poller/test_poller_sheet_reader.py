"""The gspread reader against the Sheets fake: one read per poll, cells as typed, API errors named by what to do."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import functions_framework
import pytest
import requests
from google.cloud import firestore
from poller_harness import (
    DAY,
    FUNCTION_ENV,
    SIM_START,
    SPREADSHEET_ID,
    TAB,
    new_sheet,
    serve_poller,
    signals_of,
    tick,
    ticks,
    wait_for,
)

from signal_poller.runtime import runtime
from signal_poller.sheet_reader import GspreadSheetReader, SheetQuotaExceeded, SheetUnavailable, SheetUnreadable
from spreadpilot.sheet_header import find_header
from spreadpilot.sheets_client import sheets_client
from spreadpilot.signal_rows import RowStatus, parse_signal_row
from stack import LocalStack
from stack.topology import TopicTap


def reader(tab: str = TAB, spreadsheet_id: str = SPREADSHEET_ID) -> GspreadSheetReader:
    return GspreadSheetReader(sheets_client(), spreadsheet_id, tab)


def test_user_entered_cells_come_back_typed_and_parse_into_a_signal(clean_stack: LocalStack) -> None:
    sheet = new_sheet(clean_stack)
    sheet.append_row(["17/03/2026", " qqq", "short", "1", "", "", "495", "500"], value_input_option="USER_ENTERED")
    rows = reader().read_rows()
    assert rows[1][3] == 1  # USER_ENTERED made the quantity a number
    header = find_header(rows)
    assert header is not None
    outcome = parse_signal_row(rows[1], header, SIM_START.date(), row_number=2, detected_at=SIM_START)
    assert outcome.status is RowStatus.VALID


def test_each_poll_costs_exactly_one_read_request(clean_stack: LocalStack) -> None:
    new_sheet(clean_stack)
    before = len(clean_stack.sheets.requests())
    reader().read_rows()
    assert len(clean_stack.sheets.requests()) == before + 1


def test_quota_exceeded_is_its_own_error(clean_stack: LocalStack) -> None:
    new_sheet(clean_stack)
    clean_stack.sheets.fail_next(1, status=429)
    with pytest.raises(SheetQuotaExceeded):
        reader().read_rows()


def test_server_errors_are_transient(clean_stack: LocalStack) -> None:
    new_sheet(clean_stack)
    clean_stack.sheets.fail_next(1, status=503)
    with pytest.raises(SheetUnavailable):
        reader().read_rows()


@pytest.mark.parametrize(("tab", "spreadsheet_id"), [("No such tab", SPREADSHEET_ID), (TAB, "no-such-sheet")])
def test_a_missing_tab_or_spreadsheet_is_unreadable(clean_stack: LocalStack, tab: str, spreadsheet_id: str) -> None:
    new_sheet(clean_stack)
    with pytest.raises(SheetUnreadable):
        reader(tab, spreadsheet_id).read_rows()


def test_a_junk_tick_still_polls_and_is_acked(
    clean_stack: LocalStack, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    url = serve_poller(clean_stack)
    sheet = new_sheet(clean_stack)
    signals = tap("signals")
    sheet.append_row([DAY, "QQQ", "Long", 1, 470, 475], value_input_option="USER_ENTERED")
    junk = {"message": {"data": "%%% not base64", "messageId": "junk-1"}, "subscription": "projects/p/subscriptions/s"}
    response = requests.post(f"{url}/projects/{clean_stack.project}/topics/tick-signal-poller", json=junk, timeout=30)
    assert response.status_code == 200
    [message] = signals_of(signals.pull(1, timeout_s=20))
    assert message.signal.spread.short_strike == 475
    wait_for("the tick to be recorded", lambda: ticks(firestore_db) >= 1)


def test_the_http_form_polls_and_answers_what_it_did(clean_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = f"sim:{SIM_START.isoformat()}@1x/{time.time():.3f}"
    for key, value in (FUNCTION_ENV | {"SPREADPILOT_CLOCK": clock}).items():
        monkeypatch.setenv(key, value)
    runtime.cache_clear()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level  # the entry point configures JSON logging
    source = Path(__file__).resolve().parents[3] / "functions" / "signal_poller" / "main.py"
    app = functions_framework.create_app("on_http", str(source), "http")  # type: ignore[no-untyped-call]  # untyped library
    client = app.test_client()
    sheet = new_sheet(clean_stack)
    sheet.append_row([DAY, "QQQ", "Short", 3, "", "", 500, 505], value_input_option="USER_ENTERED")

    try:
        response = client.post("/", json={"job": "manual"})
    finally:
        runtime.cache_clear()
        root.handlers[:] = saved_handlers  # give pytest its log capture back
        root.setLevel(saved_level)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "published"
    assert body["signal_id"].startswith("20260317-QQQ-bear_call-")
    assert body["message_id"]


def test_pubsub_ticks_are_acked_even_when_the_sheet_is_missing(
    clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    serve_poller(clean_stack)  # no spreadsheet created: every read is a 404
    tick(clean_stack)
    wait_for("the tick to be recorded", lambda: ticks(firestore_db) >= 1)
    day = wait_for("the poll status", lambda: firestore_db.document(f"poll_days/{DAY}").get().to_dict())
    assert day["status"] == "sheet_unreadable"
    assert any(alert.startswith("signal_poller:") for alert in day["alerts_sent"])
