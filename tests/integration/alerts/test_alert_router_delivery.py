"""The alert router served by functions-framework, fed by the Pub/Sub emulator's pushes, delivering through the real
python-telegram-bot and SendGrid clients to the local sink."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from alerts_support import OPS_CHAT, ROUTER_ENV, WEB, make_alert, wait_for
from google.cloud import firestore

from fakes.control import SinkControl
from spreadpilot.envelopes import AlertMessage, decode
from spreadpilot.models import Alert, Severity
from spreadpilot.publisher import PubSubPublisher
from stack.local_stack import LocalStack
from stack.topology import TopicTap


@pytest.fixture
def router(clean_stack: LocalStack, serve_function: Callable[..., str]) -> PubSubPublisher:
    serve_function("alert_router", ROUTER_ENV)
    return PubSubPublisher(clean_stack.project)


def publish(publisher: PubSubPublisher, alert: Alert) -> None:
    publisher.publish("alerts", AlertMessage(alert=alert))


def record(db: firestore.Client, alert_id: str) -> dict[str, Any] | None:
    snap = db.collection("alerts").document(alert_id).get()
    return snap.to_dict() if snap.exists else None


def delivered(db: firestore.Client, alert_id: str, *channels: str) -> Callable[[], dict[str, Any] | None]:
    def probe() -> dict[str, Any] | None:
        doc = record(db, alert_id)
        ok = doc and all(doc["delivery"].get(c, {}).get("status") == "sent" for c in channels)
        return doc if ok else None

    return probe


def test_critical_alert_reaches_telegram_and_email_with_its_deep_link(
    router: PubSubPublisher, firestore_db: firestore.Client, sink: SinkControl
) -> None:
    alert = make_alert("it-critical-1")
    publish(router, alert)
    doc = wait_for(delivered(firestore_db, alert.alert_id, "telegram", "email"), "both channels delivered")
    [message] = sink.telegram_messages()
    [email] = sink.emails()
    link = f"{WEB}/orders/{alert.order_ref}"
    assert str(message["summary"]["chat_id"]) == OPS_CHAT
    assert link in message["summary"]["text"]
    assert link in str(email["payload"])
    assert email["summary"]["subject"].startswith("[SpreadPilot CRITICAL] order.rejected")
    assert (doc["severity"], doc["count"], doc["delivery"]["telegram"]["attempts"]) == ("CRITICAL", 1, 1)


def test_duplicate_within_the_cooldown_is_collapsed_into_one_message_with_a_count(
    router: PubSubPublisher, firestore_db: firestore.Client, sink: SinkControl
) -> None:
    publish(router, make_alert("it-dup-1", Severity.WARNING))
    wait_for(delivered(firestore_db, "it-dup-1", "telegram"), "the first alert delivered")
    publish(router, make_alert("it-dup-2", Severity.WARNING))
    second = wait_for(lambda: (record(firestore_db, "it-dup-2") or {}).get("collapsed_into"), "the duplicate stored")
    assert second == "it-dup-1"
    assert record(firestore_db, "it-dup-1")["count"] == 2  # type: ignore[index]
    assert len(sink.telegram_messages()) == 1


def test_with_telegram_failing_the_email_still_goes_out_and_telegram_is_retried(
    router: PubSubPublisher, firestore_db: firestore.Client, sink: SinkControl
) -> None:
    sink.fail_next("telegram", count=2, status=502)
    alert = make_alert("it-failing-1")
    publish(router, alert)
    doc = wait_for(delivered(firestore_db, alert.alert_id, "telegram", "email"), "telegram delivered on a retry")
    assert doc["delivery"]["telegram"]["attempts"] == 3
    assert len(sink.emails()) == 1
    assert len(sink.telegram_messages()) == 1
    assert [m["status"] for m in sink.received("telegram", "sendMessage", include_failed=True)] == [502, 502, 200]


def test_telegram_retry_after_is_honoured_before_sending_again(
    router: PubSubPublisher, firestore_db: firestore.Client, sink: SinkControl
) -> None:
    sink.fail_next("telegram", count=1, status=429, retry_after=1)
    publish(router, make_alert("it-429-1", Severity.WARNING))
    wait_for(delivered(firestore_db, "it-429-1", "telegram"), "telegram delivered after the wait")
    refused, accepted = sink.received("telegram", "sendMessage", include_failed=True)
    assert (refused["status"], accepted["status"]) == (429, 200)
    assert accepted["at"] - refused["at"] >= 1.0


def test_after_max_attempts_the_alert_goes_to_the_dead_letter_topic_and_a_critical_record_remains(
    router: PubSubPublisher, firestore_db: firestore.Client, sink: SinkControl, tap: Callable[[str], TopicTap]
) -> None:
    dead_letters = tap("alerts-dead-letter")
    sink.fail_next("telegram", count=20, status=502)
    alert = make_alert("it-dead-1", Severity.WARNING)
    publish(router, alert)
    [message, *_] = dead_letters.pull(1, timeout_s=60)
    assert decode(message.data, AlertMessage).alert == alert
    doc = wait_for(lambda: record(firestore_db, "it-dead-1.undelivered"), "the undeliverable record")
    assert (doc["severity"], doc["type"]) == ("CRITICAL", "alert.undeliverable")
    assert record(firestore_db, "it-dead-1")["delivery"]["telegram"]["status"] == "dead_letter"  # type: ignore[index]


def test_a_redelivered_alert_is_sent_once_per_channel(
    router: PubSubPublisher, firestore_db: firestore.Client, sink: SinkControl
) -> None:
    alert = make_alert("it-redelivered-1")
    publish(router, alert)
    wait_for(delivered(firestore_db, alert.alert_id, "telegram", "email"), "the first delivery")
    publish(router, alert)  # the same message again, as Pub/Sub may deliver it
    publish(router, make_alert("it-marker-1", Severity.WARNING, type="order.filled"))
    wait_for(delivered(firestore_db, "it-marker-1", "telegram"), "a later alert delivered")
    assert len(sink.emails()) == 1
    assert [m["summary"]["text"].count("it-redelivered-1") for m in sink.telegram_messages()] == [1, 0]


def test_a_burst_of_identical_alerts_sends_one_message_and_counts_them_all(
    router: PubSubPublisher, firestore_db: firestore.Client, sink: SinkControl
) -> None:
    for n in range(5):
        publish(router, make_alert(f"it-burst-{n}", Severity.WARNING))
    def all_five() -> dict[str, dict[str, Any]] | None:
        found = {d.id: d.to_dict() for d in firestore_db.collection("alerts").stream()}
        return found if len(found) == 5 else None

    docs = wait_for(all_five, "all five alerts stored")
    [primary] = [k for k, d in docs.items() if d["collapsed_into"] is None]
    assert {d["collapsed_into"] for k, d in docs.items() if k != primary} == {primary}
    assert docs[primary]["count"] == 5
    wait_for(delivered(firestore_db, primary, "telegram"), "the one message delivered")
    assert len(sink.telegram_messages()) == 1
