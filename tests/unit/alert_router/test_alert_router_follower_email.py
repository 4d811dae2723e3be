"""A follower whose own gateway waits for its weekly 2FA is e-mailed too (their login, their IBKR Mobile), with the
text meant for them; operators still get the alert on their channels."""

from __future__ import annotations

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

from alert_router.ports import DeliveryStatus
from alert_router.routing import FOLLOWER, AlertRouter
from spreadpilot.events import MemoryEvents
from spreadpilot.models import Severity

TO_FOLLOWER = {"notify_follower": "email", "follower_email": "anna@example.com",
               "follower_message": "Please approve the login notification on IBKR Mobile."}


def router(email: ScriptedEmail, telegram: ScriptedTelegram, records: MemoryRecords) -> AlertRouter:
    time = FakeTime()
    return AlertRouter(make_settings(), records, RecordingDeadLetters(), telegram, email, time.sleep, time.wall,
                       MemoryEvents())


def test_a_2fa_wait_on_a_followers_own_gateway_e_mails_the_follower_and_tells_the_operators() -> None:
    email, telegram, records = ScriptedEmail(), ScriptedTelegram(), MemoryRecords()
    alert = make_alert("2fa-1", Severity.WARNING, follower_id="f01", context=TO_FOLLOWER)

    router(email, telegram, records).route(alert, AT)

    assert email.sent == [(("anna@example.com",), "SpreadPilot: action needed",
                           "Please approve the login notification on IBKR Mobile.")]
    assert len(telegram.sent) == 1  # the operators' WARNING channel
    assert records.alerts["2fa-1"].delivery[FOLLOWER].status is DeliveryStatus.SENT


def test_an_alert_that_does_not_ask_for_it_never_e_mails_a_follower() -> None:
    email, telegram, records = ScriptedEmail(), ScriptedTelegram(), MemoryRecords()
    router(email, telegram, records).route(make_alert("w-1", Severity.WARNING, follower_id="f01"), AT)
    assert email.sent == []
    assert FOLLOWER not in records.alerts["w-1"].delivery
