"""The poller served by functions-framework on a simulated 1x clock (a Tuesday, 09:40 ET), plus sheet helpers."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import gspread
import requests
from google.cloud import firestore

from spreadpilot.clock import NEW_YORK
from spreadpilot.envelopes import AlertMessage, SignalMessage, decode
from spreadpilot.sheets_client import sheets_client
from stack import LocalStack
from stack.topology import PulledMessage

DAY = "2026-03-17"
SPREADSHEET_ID = "poller-integration"
TAB = "Segnali"
HEADER = ["Data", "Ticker", "Strategia", "Quantità per Leg", "Buy Put", "Sell Put", "Sell Call", "Buy Call"]
SIM_START = datetime(2026, 3, 17, 9, 40, tzinfo=NEW_YORK)
TICK_TOPIC = "tick-signal-poller"

# Short business durations keep the suite fast; the default 2 s interval is measured by `make bench`.
FUNCTION_ENV = {
    "SPREADPILOT_SHEET_ID": SPREADSHEET_ID,
    "SPREADPILOT_SHEET_TAB": TAB,
    "SPREADPILOT_POLL_INTERVAL_S": "0.3",
    "SPREADPILOT_INVOCATION_BUDGET_S": "2.5",
    "SPREADPILOT_QUOTA_BACKOFF_S": "0.2",
    "SPREADPILOT_QUOTA_BACKOFF_MAX_S": "0.5",
}


def serve_poller(stack: LocalStack) -> str:
    """Serve the poller (once per session) on a 1x simulated clock starting at 09:40 ET of a trading day."""
    clock = f"sim:{SIM_START.isoformat()}@1x/{time.time():.3f}"
    return stack.serve_function("signal_poller", FUNCTION_ENV | {"SPREADPILOT_CLOCK": clock})


def new_sheet(stack: LocalStack) -> gspread.Worksheet:
    """A fresh signal spreadsheet holding only the header, opened with real gspread through the fake."""
    stack.sheets.create_spreadsheet({TAB: [HEADER]}, spreadsheet_id=SPREADSHEET_ID)
    return sheets_client(write=True).open_by_key(SPREADSHEET_ID).worksheet(TAB)


def tick(stack: LocalStack) -> str:
    """What Cloud Scheduler does every minute: publish a tick (the emulator pushes it to the function)."""
    return stack.pubsub.publish(TICK_TOPIC, b'{"job":"signal-poller"}')


def redeliver(url: str, stack: LocalStack, message_id: str) -> int:
    """POST the same push envelope again, as Pub/Sub does when it redelivers."""
    envelope = {
        "message": {"data": base64.b64encode(b'{"job":"signal-poller"}').decode(), "messageId": message_id,
                    "publishTime": "2026-03-17T13:40:00Z"},
        "subscription": f"projects/{stack.project}/subscriptions/signal-poller-tick-push",
    }
    response = requests.post(f"{url}/projects/{stack.project}/topics/{TICK_TOPIC}", json=envelope, timeout=30)
    return response.status_code


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def doc(db: firestore.Client, path: str) -> dict[str, Any]:
    snap = db.document(path).get()
    return (snap.to_dict() or {}) if snap.exists else {}


def ticks(db: firestore.Client) -> int:
    """How many ticks the poller has finished for the day."""
    return int(doc(db, f"poll_days/{DAY}").get("ticks") or 0)


def signals_of(messages: list[PulledMessage]) -> list[SignalMessage]:
    return [decode(m.data, SignalMessage) for m in messages]


def alerts_of(messages: list[PulledMessage]) -> list[AlertMessage]:
    return [decode(m.data, AlertMessage) for m in messages]


def dumps(value: object) -> str:
    return json.dumps(value, default=str)
