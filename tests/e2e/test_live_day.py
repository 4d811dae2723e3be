"""The web app during a running day: the real executor (``python -m executor``) trades a signal on ibsim over the
emulators while an admin watches the follower's page in headless Chromium. The entry's fill shows within 2 s of the
broker's fill (ibsim's journal, on the simulated clock turned back into real time) without a reload, and the event
console shows the signal's timeline in the order it happened. Screenshots go to ``out/e2e/``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from e2e_support import shot, signed_in
from google.cloud import firestore
from playwright.sync_api import Browser, expect

from ibsim.testing import SimulatorProcess, running_simulator, sim_clock
from spreadpilot.clock import SimClock
from spreadpilot.envelopes import SignalMessage
from spreadpilot.models import Follower, Gateway, Signal, Spread, Strategy, make_intent_id, make_signal_id
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.signal_days import DayClaim, SignalDays
from spreadpilot.store import Store
from stack.executor_process import ExecutorProcess, wait_for
from stack.local_stack import LocalStack
from stack.topology import TopicTap

pytestmark = pytest.mark.integration
START = "2026-03-17T09:40:00-04:00"
DAY = date(2026, 3, 17)
SPEED = 20.0
LIVE_WITHIN_S = 2.0
IBAN = "DE89370400440532013000"


@pytest.fixture
def clock() -> SimClock:
    return sim_clock(START, SPEED)


@pytest.fixture
def sim(clock: SimClock, tmp_path: Path) -> Iterator[SimulatorProcess]:
    # the fills wait a few simulated seconds, so the page is open on the working order before the broker fills it
    with running_simulator(["DU001"], start=START, speed=SPEED, journal_path=tmp_path / "ibsim.jsonl",
                           extra_args=["--fill-delay", "20"]) as process:
        yield process


def test_the_follower_page_shows_the_entry_fill_within_2_s_of_the_brokers_fill_and_the_timeline_is_in_order(
    clean_stack: LocalStack, web_app: str, browser: Browser, firestore_db: firestore.Client,
    tap: Callable[[str], TopicTap], sim: SimulatorProcess, clock: SimClock, tmp_path: Path,
) -> None:
    store = Store(firestore_db)
    store.gateways.put(Gateway(id="gw-advisor", host=sim.host, port=sim.port, client_id=7))
    store.followers.put(Follower(id="f01", name="Follower 1", email="f01@example.com", iban=IBAN, commission_pct=20,
                                 gateway_id="gw-advisor", ibkr_account="DU001", created_at=datetime.now(UTC)))
    executor = ExecutorProcess(clock, tmp_path / "executor.log", signals_subscription=tap("signals").subscription,
                               lifecycle_enabled="false")
    try:
        wait_for(lambda: bool((firestore_db.collection("heartbeats").document("executor").get().to_dict() or {})
                              .get("gateways", {}).get("gw-advisor", {}).get("connected")), 60,
                 "the executor to connect to ibsim")
        page = signed_in(browser, web_app)
        page.goto(web_app + "/followers/f01")
        expect(page.locator("h1")).to_contain_text("Follower 1")
        page.evaluate("window.__notReloaded = true")

        # the day's signal as the poller brings it: the day claimed, then published to the executor
        spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
        signal = Signal(signal_id=make_signal_id(DAY, "QQQ", spread, 2), date=DAY, ticker="QQQ", spread=spread,
                        qty_per_leg=2, source_row=2, detected_at=clock.now())
        days, claim = SignalDays(firestore_db, "signal_poller"), DayClaim(signal=signal, row_number=2, row={})
        assert days.claim_day(claim, clock.now())
        days.record_published(claim, PubSubPublisher(clean_stack.project).publish(
            "signals", SignalMessage(signal=signal)), clock.now())

        intent_id = make_intent_id(signal.signal_id, "f01")
        expect(page.locator(f"[data-filled='{intent_id}']")).to_have_text("2/2", timeout=60_000)
        seen = time.time()
        fills = [e for e in sim.journal() if e["event"] == "fill" and e.get("order_ref") == intent_id]
        assert fills, "ibsim journaled no fill of the entry"
        broker_filled = max(clock.real_epoch_at(datetime.fromisoformat(e["ts"])) for e in fills)
        assert seen - broker_filled < LIVE_WITHIN_S, f"shown {seen - broker_filled:.2f} s after the broker's fill"
        assert page.evaluate("window.__notReloaded") is True
        shot(page, "15-live-day-follower-fill")

        page.goto(web_app + f"/events?signal_id={signal.signal_id}")
        kinds = page.locator("#event-list code[data-kind]")
        expect(kinds.last).to_have_text("order.filled", timeout=10_000)
        # the poller's three steps, then the executor's: planned, sent (submitted), acknowledged (working), filled
        assert kinds.all_inner_texts() == ["signal.detected", "signal.claimed", "signal.published", "intent.planned",
                                           "order.submitted", "order.working", "order.filled"]
        shot(page, "16-live-day-signal-timeline")

        # the signal's fill-quality table: the credit the follower got, and the best (the only follower's own)
        entry = store.orders.get(intent_id)
        assert entry is not None
        assert entry.avg_price is not None
        page.goto(web_app + f"/signals/{signal.signal_id}")
        expect(page.locator("[data-credit=f01]")).to_have_text(f"{entry.avg_price:.2f}")
        expect(page.locator("[data-vs-best=f01]")).to_have_text("0.00")
        expect(page.locator("#fill-summary")).to_contain_text("1 filled")
        shot(page, "17-live-day-fill-quality")
    finally:
        executor.stop()
