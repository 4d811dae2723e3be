"""Signal latency: a row written into the sheet → its message on ``signals``, at the default 2 s poll interval.

The local stack is started; the poller is served by functions-framework exactly as deployed (default settings:
poll every 2 s, 55 s budget) on a simulated clock running at real speed (1x) on a trading morning, so business
seconds are real seconds. Each sample: empty the day (Firestore wiped, sheet back to its header), publish a
Scheduler tick (the emulator pushes it to the function), wait a varying phase, write the row with real gspread,
and time until the message is pulled from a subscription on ``signals``. The phase is spread over the poll interval
so the samples cover "just missed a poll" as well as "just before one".
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from spreadpilot.clock import NEW_YORK

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = 8
POLL_INTERVAL_S = 2.0  # the setting's default; the served function uses its defaults
SPREADSHEET_ID = "poller-bench"
TAB = "Sheet1"
HEADER = ["Data", "Ticker", "Strategia", "Quantità per Leg", "Buy Put", "Sell Put", "Sell Call", "Buy Call"]
SIM_START = datetime(2026, 3, 17, 9, 40, tzinfo=NEW_YORK)
WARMUP_S = 1.5  # let the tick's invocation start polling before the row appears


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def _samples(stack: Any) -> list[float]:
    from gspread.utils import ValueInputOption

    from spreadpilot.sheets_client import sheets_client

    stack.sheets.create_spreadsheet({TAB: [HEADER]}, spreadsheet_id=SPREADSHEET_ID)
    clock = f"sim:{SIM_START.isoformat()}@1x/{time.time():.3f}"
    stack.serve_function("signal_poller", {"SPREADPILOT_SHEET_ID": SPREADSHEET_ID,
                                           "SPREADPILOT_SHEET_TAB": TAB, "SPREADPILOT_CLOCK": clock})
    worksheet = sheets_client(write=True).open_by_key(SPREADSHEET_ID).worksheet(TAB)
    latencies: list[float] = []
    for sample in range(SAMPLES):
        stack.wipe_firestore()
        stack.sheets.set_tab_values(SPREADSHEET_ID, TAB, [HEADER])
        signals = stack.tap("signals")
        try:
            stack.pubsub.publish("tick-signal-poller", b'{"job":"signal-poller"}')
            time.sleep(WARMUP_S + POLL_INTERVAL_S * sample / SAMPLES)
            written = time.monotonic()
            worksheet.append_row([SIM_START.date().isoformat(), "QQQ", "Long", 1 + sample, 480, 485],
                                 value_input_option=ValueInputOption.user_entered)
            if not signals.pull(1, timeout_s=30):
                raise RuntimeError(f"sample {sample}: no message on signals within 30 s")
            latencies.append(time.monotonic() - written)
        finally:
            signals.close()
        time.sleep(0.5)  # the invocation returns right after publishing; let it finish before the next wipe
    return latencies


def run() -> list[dict[str, object]]:
    """Median and p95 of row-written → message-on-signals over several samples."""
    from stack.local_stack import LocalStack

    with tempfile.TemporaryDirectory(prefix="poller-bench-") as state:
        stack = LocalStack.start(ROOT, state_dir=Path(state), die_with_parent=True)
        saved = {key: os.environ.get(key) for key in stack.env}
        try:
            os.environ.update(stack.env)  # gspread and the Pub/Sub clients find the local servers through these
            latencies = _samples(stack)
        finally:
            stack.stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    note = (f"{len(latencies)} samples, min {min(latencies):.2f} s, max {max(latencies):.2f} s; poll interval "
            f"{POLL_INTERVAL_S:g} s (default); served function, real Pub/Sub push tick, gspread write")
    return [
        {"name": "signal_poller.row_to_signal_median", "value": round(statistics.median(latencies), 2), "unit": "s",
         "note": note},
        {"name": "signal_poller.row_to_signal_p95", "value": round(_p95(latencies), 2), "unit": "s",
         "note": "row written → message pulled from signals"},
    ]
