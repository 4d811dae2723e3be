from __future__ import annotations

from datetime import timedelta

import pytest
from alert_fakes import (
    AT,
    FakeTime,
    MemoryRecords,
    RecordingDeadLetters,
    ScriptedEmail,
    ScriptedTelegram,
    make_alert,
    make_settings,
)

from alert_router.ports import ChannelError, DeliveryStatus
from alert_router.routing import AlertRouter
from spreadpilot.errors import Retryable
from spreadpilot.events import MemoryEvents
from spreadpilot.models import Severity


class Rig:
    def __init__(self, telegram: ScriptedTelegram | None = None, email: ScriptedEmail | None = None,
                 **settings: object) -> None:
        self.records = MemoryRecords()
        self.dead = RecordingDeadLetters()
        self.telegram = telegram or ScriptedTelegram()
        self.email = email or ScriptedEmail()
        self.time = FakeTime()
        self.events = MemoryEvents()
        self.router = AlertRouter(make_settings(**settings), self.records, self.dead, self.telegram, self.email,
                                  self.time.sleep, self.time.wall, self.events)

    def delivery(self, alert_id: str, channel: str) -> DeliveryStatus:
        return self.records.alerts[alert_id].delivery[channel].status


def test_critical_alert_goes_to_telegram_and_email_with_its_deep_link() -> None:
    rig = Rig()
    rig.router.route(make_alert(follower_id="f01", order_ref="entry-sig-f01"), AT)
    [(chat, text)] = rig.telegram.sent
    [(to, subject, body)] = rig.email.sent
    assert chat == "-1001"
    assert to == ("ops@example.com",)
    assert "https://admin.example/orders/entry-sig-f01" in text
    assert "https://admin.example/followers/f01" in body
    assert subject.startswith("[SpreadPilot CRITICAL] executor.heartbeat_stale")
    assert rig.delivery("a-1", "telegram") is DeliveryStatus.SENT
    assert rig.delivery("a-1", "email") is DeliveryStatus.SENT


def test_warning_goes_to_telegram_only_and_info_is_only_stored() -> None:
    rig = Rig()
    rig.router.route(make_alert("w-1", Severity.WARNING), AT)
    rig.router.route(make_alert("i-1", Severity.INFO, message="informational"), AT)
    assert len(rig.telegram.sent) == 1
    assert rig.email.sent == []
    assert set(rig.records.alerts) == {"w-1", "i-1"}
    assert rig.records.alerts["i-1"].delivery == {}


def test_channels_per_severity_are_settings() -> None:
    rig = Rig(alert_warning_channels="telegram,email", alert_critical_channels="email")
    rig.router.route(make_alert("c-1", Severity.CRITICAL), AT)
    rig.router.route(make_alert("w-1", Severity.WARNING, message="other"), AT)
    assert len(rig.email.sent) == 2
    assert len(rig.telegram.sent) == 1


def test_identical_alert_within_the_cooldown_is_collapsed_into_the_first_with_a_count() -> None:
    rig = Rig()
    rig.router.route(make_alert("a-1"), AT)
    outcome = rig.router.route(make_alert("a-2", at=AT + timedelta(seconds=60)), AT + timedelta(seconds=60))
    assert outcome.collapsed_into == "a-1"
    assert len(rig.telegram.sent) == 1
    assert len(rig.email.sent) == 1
    assert rig.records.alerts["a-1"].count == 2
    assert rig.records.alerts["a-2"].collapsed_into == "a-1"


def test_an_alert_enters_the_event_stream_once_with_its_ids_and_a_collapsed_duplicate_does_not() -> None:
    rig = Rig()
    rig.router.route(make_alert("a-1", follower_id="f01", order_ref="entry-sig-f01"), AT)
    rig.router.route(make_alert("a-1", follower_id="f01", order_ref="entry-sig-f01"), AT)  # a redelivery
    rig.router.route(make_alert("a-2", follower_id="f01", order_ref="entry-sig-f01",
                                at=AT + timedelta(seconds=60)), AT + timedelta(seconds=60))
    [event] = rig.events.events
    assert (event.kind, event.alert_id, event.follower_id, event.order_ref, event.severity) == (
        "alert.raised", "a-1", "f01", "entry-sig-f01", Severity.CRITICAL)


def test_identical_alert_after_the_cooldown_is_sent_again_and_says_how_many_were_collapsed() -> None:
    rig = Rig()
    rig.router.route(make_alert("a-1"), AT)
    rig.router.route(make_alert("a-2", at=AT + timedelta(seconds=10)), AT)
    later = AT + timedelta(seconds=301)
    rig.router.route(make_alert("a-3", at=later), later)
    assert len(rig.telegram.sent) == 2
    assert "1 identical alert(s) were collapsed" in rig.telegram.sent[1][1]


def test_alerts_about_different_subjects_are_not_collapsed() -> None:
    rig = Rig()
    rig.router.route(make_alert("a-1", follower_id="f01"), AT)
    rig.router.route(make_alert("a-2", follower_id="f02"), AT)
    assert len(rig.telegram.sent) == 2


def test_redelivered_alert_sends_nothing_twice() -> None:
    rig = Rig()
    alert = make_alert()
    rig.router.route(alert, AT)
    rig.router.route(alert, AT + timedelta(seconds=5))
    assert len(rig.telegram.sent) == 1
    assert len(rig.email.sent) == 1
    assert rig.records.alerts["a-1"].count == 1


def test_failing_telegram_does_not_block_email_and_asks_pubsub_to_retry() -> None:
    rig = Rig(telegram=ScriptedTelegram([ChannelError("Internal Server Error")]))
    with pytest.raises(Retryable, match="telegram"):
        rig.router.route(make_alert(), AT)
    assert len(rig.email.sent) == 1
    assert rig.delivery("a-1", "telegram") is DeliveryStatus.FAILED
    assert rig.records.alerts["a-1"].delivery["telegram"].last_error == "Internal Server Error"


def test_retry_after_a_telegram_failure_sends_telegram_only() -> None:
    rig = Rig(telegram=ScriptedTelegram([ChannelError("Internal Server Error")]))
    alert = make_alert()
    with pytest.raises(Retryable):
        rig.router.route(alert, AT)
    rig.router.route(alert, AT + timedelta(seconds=10))
    assert len(rig.telegram.sent) == 1
    assert len(rig.email.sent) == 1
    assert rig.records.alerts["a-1"].delivery["telegram"].attempts == 2


def test_a_crashing_channel_is_isolated_like_a_failing_one() -> None:
    rig = Rig(email=ScriptedEmail([RuntimeError("boom")]))
    with pytest.raises(Retryable, match="email"):
        rig.router.route(make_alert(), AT)
    assert len(rig.telegram.sent) == 1
    assert "RuntimeError: boom" in rig.records.alerts["a-1"].delivery["email"].last_error


def test_telegram_retry_after_is_waited_then_the_message_is_sent() -> None:
    rig = Rig(telegram=ScriptedTelegram([ChannelError("Too Many Requests", retry_after=2)]))
    rig.router.route(make_alert(), AT)
    assert rig.time.waits == [2]
    assert len(rig.telegram.sent) == 1
    assert rig.records.alerts["a-1"].delivery["telegram"].attempts == 1


def test_retry_after_longer_than_the_inline_limit_is_left_to_pubsub() -> None:
    rig = Rig(telegram=ScriptedTelegram([ChannelError("Too Many Requests", retry_after=60)]))
    with pytest.raises(Retryable):
        rig.router.route(make_alert(), AT)
    assert rig.time.waits == []
    assert len(rig.email.sent) == 1


def test_a_redelivery_before_retry_after_has_passed_does_not_call_telegram() -> None:
    rig = Rig(telegram=ScriptedTelegram([ChannelError("Too Many Requests", retry_after=60)]))
    alert = make_alert()
    with pytest.raises(Retryable):
        rig.router.route(alert, AT)
    with pytest.raises(Retryable):
        rig.router.route(alert, AT)  # Pub/Sub redelivers at once: hold for the inline limit, then hand back
    assert rig.time.waits == [5.0]
    assert rig.telegram.sent == []
    assert rig.records.alerts["a-1"].delivery["telegram"].attempts == 1


def test_a_redelivery_close_to_the_end_of_retry_after_waits_the_rest_then_sends() -> None:
    rig = Rig(telegram=ScriptedTelegram([ChannelError("Too Many Requests", retry_after=8)]))
    alert = make_alert()
    with pytest.raises(Retryable):
        rig.router.route(alert, AT)
    rig.time.sleep(4)  # Pub/Sub's backoff
    rig.router.route(alert, AT)
    assert rig.time.waits == [4, 4]
    assert len(rig.telegram.sent) == 1


def test_after_max_attempts_the_alert_is_dead_lettered_and_a_critical_record_remains() -> None:
    rig = Rig(telegram=ScriptedTelegram([ChannelError("down")] * 3), alert_max_attempts=3)
    alert = make_alert(severity=Severity.WARNING)
    for attempt in range(2):
        with pytest.raises(Retryable):
            rig.router.route(alert, AT + timedelta(seconds=attempt))
    outcome = rig.router.route(alert, AT + timedelta(seconds=2))
    assert outcome.dead_lettered
    assert rig.dead.alerts == [alert]
    assert rig.delivery("a-1", "telegram") is DeliveryStatus.DEAD_LETTER
    assert [a.alert_id for a in rig.records.undeliverable] == ["a-1"]
    rig.router.route(alert, AT + timedelta(seconds=3))
    assert rig.telegram.sent == []
    assert rig.dead.alerts == [alert]


def test_a_channel_held_by_a_concurrent_delivery_is_retried_not_resent() -> None:
    rig = Rig()
    alert = make_alert()
    rig.records.admit(alert, ("telegram", "email"), timedelta(seconds=300))
    rig.records.begin("a-1", "telegram", AT, timedelta(seconds=60), rig.time.wall())
    with pytest.raises(Retryable, match="telegram"):
        rig.router.route(alert, AT + timedelta(seconds=1))
    assert rig.telegram.sent == []
    assert len(rig.email.sent) == 1


def test_unconfigured_channel_is_recorded_as_failed_not_silently_dropped() -> None:
    rig = Rig(alert_email_to="", alert_max_attempts=1)
    outcome = rig.router.route(make_alert(), AT)
    assert outcome.channels["email"].status is DeliveryStatus.DEAD_LETTER
    assert "not configured" in outcome.channels["email"].last_error
    assert len(rig.telegram.sent) == 1
