"""The Firestore ledger on the emulator keeps the same once-only promises as the in-memory one the unit tests use."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from google.cloud import firestore

from signal_poller.ledger import FirestoreLedger, Rejection
from spreadpilot.clock import NEW_YORK
from spreadpilot.models import Signal, Spread, Strategy, make_signal_id
from spreadpilot.signal_days import DayClaim
from stack import LocalStack

DAY = date(2026, 3, 17)
AT = datetime(2026, 3, 17, 9, 30, tzinfo=NEW_YORK)


def claim(qty: int = 2) -> DayClaim:
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
    signal = Signal(signal_id=make_signal_id(DAY, "QQQ", spread, qty), date=DAY, ticker="QQQ", spread=spread,
                    qty_per_leg=qty, source_row=2, detected_at=AT)
    return DayClaim(signal=signal, row_number=2, row={"Data": "2026-03-17", "Sell Put": 485}, claimed_at=AT)


def test_a_day_is_claimed_once_and_a_second_signal_cannot_take_it(
    clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    ledger = FirestoreLedger(firestore_db)
    assert ledger.claim_day(claim(), AT)
    assert not ledger.claim_day(claim(qty=3), AT)
    held = ledger.day_claim(DAY)
    assert held is not None
    assert held.signal == claim().signal
    assert held.claimed_at == AT
    assert held.message_id is None


def test_a_failed_publish_is_remembered_until_the_publish_succeeds(
    clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    ledger = FirestoreLedger(firestore_db)
    ledger.claim_day(claim(), AT)
    ledger.record_publish_failed(claim())
    failed = ledger.day_claim(DAY)
    assert failed is not None
    assert failed.publish_failed
    ledger.record_published(claim(), "m-1", AT)
    published = ledger.day_claim(DAY)
    assert published is not None
    assert (published.message_id, published.publish_failed) == ("m-1", False)
    signal_doc = firestore_db.document(f"signals/{claim().signal.signal_id}").get().to_dict() or {}
    assert signal_doc["status"] == "published"
    assert [e["event"] for e in signal_doc["timeline"]] == ["detected", "claimed", "published"]


def test_an_alert_is_claimed_once_and_a_released_claim_can_be_taken_again(
    clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    ledger = FirestoreLedger(firestore_db)
    assert ledger.claim_alert("signal_poller:2026-03-17:none_yet", AT)
    assert not ledger.claim_alert("signal_poller:2026-03-17:none_yet", AT)
    ledger.release_alert("signal_poller:2026-03-17:none_yet")
    assert ledger.claim_alert("signal_poller:2026-03-17:none_yet", AT)


def test_a_rejected_row_is_stored_once_with_its_reason(clean_stack: LocalStack, firestore_db: firestore.Client) -> None:
    ledger = FirestoreLedger(firestore_db)
    rejection = Rejection(key="abc", date=DAY, row_number=4, column="Ticker", value="SPY",
                          reason='row 4, column "Ticker", value "SPY": is not an allowed ticker (QQQ)',
                          row={"Ticker": "SPY"})
    assert ledger.record_rejection(rejection, AT)
    assert not ledger.record_rejection(rejection, AT)
    stored = firestore_db.document("rejected_rows/2026-03-17:abc").get().to_dict() or {}
    assert stored == {"date": "2026-03-17", "row_number": 4, "column": "Ticker", "value": "SPY",
                      "reason": rejection.reason, "row": {"Ticker": "SPY"}, "first_seen_at": AT.isoformat()}


def test_poll_status_counts_reads_and_ticks(clean_stack: LocalStack, firestore_db: firestore.Client) -> None:
    ledger = FirestoreLedger(firestore_db)
    ledger.record_poll(DAY, AT, 27, "waiting")
    ledger.record_poll(DAY, AT, 3, "published")
    ledger.record_alert_sent(DAY, "signal_poller:2026-03-17:none_yet", "m-2")
    day = firestore_db.document("poll_days/2026-03-17").get().to_dict() or {}
    assert (day["polls"], day["ticks"], day["status"]) == (30, 2, "published")
    assert day["alerts_sent"] == ["signal_poller:2026-03-17:none_yet"]


def test_the_signal_enters_the_event_stream_detected_claimed_published_each_once(
    clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    ledger = FirestoreLedger(firestore_db)
    signal_id = claim().signal.signal_id
    assert ledger.claim_day(claim(), AT + timedelta(seconds=1))
    ledger.record_published(claim(), "m-1", AT + timedelta(seconds=2))
    ledger.record_published(claim(), "m-1", AT + timedelta(seconds=9))  # a retried tick adds no event
    events = [s.to_dict() for s in firestore_db.collection("events").order_by("at").stream()]
    assert [e["kind"] for e in events] == ["signal.detected", "signal.claimed", "signal.published"]
    assert {e["signal_id"] for e in events} == {signal_id}
    assert {e["source"] for e in events} == {"signal_poller"}
