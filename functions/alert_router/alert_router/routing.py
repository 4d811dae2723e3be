"""Route one alert: store it, collapse duplicates, deliver on each channel in isolation, retry or dead-letter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alert_router.ports import (
    AlertRecords,
    Busy,
    ChannelError,
    ChannelState,
    Claimed,
    DeadLetters,
    Deferred,
    DeliveryStatus,
    Done,
    EmailSender,
    TelegramSender,
)
from alert_router.settings import EMAIL, TELEGRAM, AlertRouterSettings, split_list
from alert_router.text import alert_text, email_subject
from spreadpilot.errors import Retryable
from spreadpilot.events import EventSink, make_event
from spreadpilot.models import Alert

log = logging.getLogger(__name__)

INLINE_RETRIES = 2  # Telegram 429s honoured in-process before handing the retry to Pub/Sub
# One more channel, per alert: the follower it concerns, by e-mail, when the alert asks for it (the gateway VM's
# supervisor does for a follower's own gateway waiting for its 2FA): context notify_follower=email, follower_email,
# follower_message (the text meant for the follower, not the operators' alert).
FOLLOWER = "follower"


@dataclass(frozen=True)
class Outcome:
    """What routing one alert did."""

    alert_id: str
    collapsed_into: str | None
    channels: dict[str, ChannelState]
    dead_lettered: bool = False


class AlertRouter:
    """Delivers alerts; one instance per process, built in the entry point with real adapters."""

    def __init__(
        self,
        settings: AlertRouterSettings,
        records: AlertRecords,
        dead_letters: DeadLetters,
        telegram: TelegramSender | None,
        email: EmailSender | None,
        sleep: Callable[[float], None],
        wall: Callable[[], float],
        events: EventSink,
    ) -> None:
        self.settings = settings
        self.records = records
        self.dead_letters = dead_letters
        self.telegram = telegram
        self.email = email
        self.sleep = sleep
        self.wall = wall
        self.events = events
        self.chat_ids = split_list(settings.alert_telegram_chat_ids)
        self.email_to = split_list(settings.alert_email_to)

    def route(self, alert: Alert, now: datetime) -> Outcome:
        """Handle one delivery of ``alert``; raises ``Retryable`` while a channel still has attempts left."""
        channels = self.settings.channels_for(alert.severity)
        if alert.context.get("notify_follower") == EMAIL and alert.context.get("follower_email"):
            channels = (*channels, FOLLOWER)
        admission = self.records.admit(alert, channels, timedelta(seconds=self.settings.alert_cooldown_s))
        extra = {"alert_id": alert.alert_id, "alert_type": alert.type, "alert_severity": str(alert.severity)}
        if admission.collapsed_into is not None:
            log.info("alert collapsed", extra={**extra, "collapsed_into": admission.collapsed_into})
            return Outcome(alert.alert_id, admission.collapsed_into, {})
        self.events.record(make_event(
            "alert.raised", source="alert_router", at=alert.at, severity=alert.severity, key=alert.alert_id,
            message=f"{alert.type}: {alert.message}", alert_id=alert.alert_id, follower_id=alert.follower_id,
            signal_id=alert.signal_id, order_ref=alert.order_ref, context={"type": alert.type, "from": alert.source}))
        text = alert_text(alert, self.settings.web_base_url, admission.suppressed_before)
        done: dict[str, ChannelState] = {}
        attempted: dict[str, ChannelState] = {}
        busy: list[str] = []
        for channel in channels:
            taken = self._take(alert.alert_id, channel, now)
            if isinstance(taken, Done):
                done[channel] = taken.state
            elif isinstance(taken, Busy | Deferred):
                busy.append(channel)
            else:
                attempted[channel] = self._attempt(channel, alert, text, taken)
        settled = self._settle(alert, attempted, busy, extra)
        return Outcome(alert.alert_id, None, done | settled.channels, settled.dead_lettered)

    def _take(self, alert_id: str, channel: str, now: datetime) -> Claimed | Busy | Done | Deferred:
        """Claim the channel; a short wait Telegram asked for is slept here, a long one is held then handed back."""
        lease = timedelta(seconds=self.settings.alert_delivery_lease_s)
        taken = self.records.begin(alert_id, channel, now, lease, self.wall())
        if isinstance(taken, Deferred):
            wait = taken.until - self.wall()
            self.sleep(max(0.0, min(wait, self.settings.alert_retry_after_max_wait_s)))
            if wait <= self.settings.alert_retry_after_max_wait_s:
                taken = self.records.begin(alert_id, channel, now, lease, self.wall())
        return taken

    def _settle(
        self, alert: Alert, results: dict[str, ChannelState], busy: list[str], extra: dict[str, str]
    ) -> Outcome:
        """Record failed attempts, dead-letter channels out of attempts, and ask for a retry if any remain."""
        retry: list[str] = list(busy)
        dead = False
        for channel, state in results.items():
            if state.status is DeliveryStatus.FAILED and state.attempts >= self.settings.alert_max_attempts:
                state = replace(state, status=DeliveryStatus.DEAD_LETTER)
                results[channel] = state
                dead = True
                log.error("alert undeliverable", extra={**extra, "channel": channel, "error": state.last_error})
            elif state.status is DeliveryStatus.FAILED:
                retry.append(channel)
            if state.status is not DeliveryStatus.SENT:  # a success was recorded as soon as it happened
                self.records.finish(alert.alert_id, channel, state)
        if dead:
            self.records.store_undeliverable(alert)
            self.dead_letters.dead_letter(alert)
        log.info("alert routed", extra={**extra, **{f"delivery_{c}": str(s.status) for c, s in results.items()}})
        if retry:
            raise Retryable(f"alert {alert.alert_id}: retry {', '.join(retry)}")
        return Outcome(alert.alert_id, None, results, dead)

    def _attempt(self, channel: str, alert: Alert, text: str, taken: Claimed) -> ChannelState:
        # The one broad except: a channel's failure is recorded and retried, it never stops the other channels.
        state = taken.state
        sent_to = list(state.sent_to)
        message_id = state.message_id
        try:
            if channel == TELEGRAM:
                message_id = self._send_telegram(text, sent_to) or message_id
            elif channel == EMAIL:
                message_id = self._send_email(alert, text)
            elif channel == FOLLOWER:
                message_id = self._send_follower(alert)
        except ChannelError as exc:
            log.warning("alert channel failed", extra={"alert_id": alert.alert_id, "channel": channel,
                                                       "error": str(exc)[:500], "attempt": state.attempts})
            not_before = self.wall() + exc.retry_after if exc.retry_after else None
            return replace(state, status=DeliveryStatus.FAILED, last_error=str(exc)[:500], message_id=message_id,
                           sent_to=tuple(sent_to), lease_until=None, retry_not_before=not_before)
        except Exception as exc:
            log.exception("alert channel crashed", extra={"alert_id": alert.alert_id, "channel": channel})
            return replace(state, status=DeliveryStatus.FAILED, last_error=f"{type(exc).__name__}: {exc}"[:500],
                           message_id=message_id, sent_to=tuple(sent_to), lease_until=None, retry_not_before=None)
        sent = replace(state, status=DeliveryStatus.SENT, last_error="", message_id=message_id,
                       sent_to=tuple(sent_to), lease_until=None, retry_not_before=None)
        self.records.finish(alert.alert_id, channel, sent)
        return sent

    def _send_telegram(self, text: str, sent_to: list[str]) -> str | None:
        """Send to every chat not reached yet (appending to ``sent_to``); the last message id."""
        if self.telegram is None or not self.chat_ids:
            raise ChannelError("telegram is not configured (bot token or chat ids missing)")
        message_id = None
        for chat_id in self.chat_ids:
            if chat_id in sent_to:
                continue
            message_id = self._send_one(chat_id, text)
            sent_to.append(chat_id)
        return message_id

    def _send_one(self, chat_id: str, text: str) -> str:
        assert self.telegram is not None  # checked by the caller
        for attempt in range(INLINE_RETRIES + 1):
            try:
                return str(self.telegram.send_message(chat_id, text))
            except ChannelError as exc:
                wait = exc.retry_after
                if wait is None or wait > self.settings.alert_retry_after_max_wait_s or attempt == INLINE_RETRIES:
                    raise
                log.warning("telegram asked to wait", extra={"retry_after_s": wait, "chat_id": chat_id})
                self.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send_follower(self, alert: Alert) -> str:
        if self.email is None:
            raise ChannelError("email is not configured (SendGrid key missing)")
        text = alert.context.get("follower_message") or alert.message
        return str(self.email.send((alert.context["follower_email"],), "SpreadPilot: action needed", text))

    def _send_email(self, alert: Alert, text: str) -> str:
        if self.email is None or not self.email_to:
            raise ChannelError("email is not configured (SendGrid key or recipients missing)")
        return str(self.email.send(self.email_to, email_subject(alert), text))
