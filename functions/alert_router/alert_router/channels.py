"""The real channels: Telegram (python-telegram-bot via ``spreadpilot.telegram``) and SendGrid (``spreadpilot.email``).

Both turn every failure into ``ChannelError`` so the router records it and carries on with the other channel.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from telegram import Bot

from alert_router.ports import ChannelError
from spreadpilot.email import EmailMessage, send_email, sendgrid_client
from spreadpilot.errors import SpreadPilotError
from spreadpilot.telegram import TelegramRetryAfter, send_message, telegram_bot

SEND_TIMEOUT_S = 30.0
T = TypeVar("T")


class _BotLoop:
    """The async bot on its own asyncio loop thread, so synchronous handlers can call it.

    Started lazily in the process that uses it: functions-framework imports the function in gunicorn's master and
    then forks workers, and a thread started before the fork does not exist in the worker.
    """

    def __init__(self, token: str) -> None:
        self.token = token
        self.lock = threading.Lock()
        self.pid = 0
        self.loop = asyncio.new_event_loop()
        self.bot: Bot | None = None

    def run(self, make: Callable[[Bot], Coroutine[Any, Any, T]]) -> T:
        with self.lock:
            if self.pid != os.getpid() or self.bot is None:
                self.loop = asyncio.new_event_loop()
                threading.Thread(target=self.loop.run_forever, name="telegram-loop", daemon=True).start()
                self.bot = telegram_bot(self.token)
                self.pid = os.getpid()
            bot, loop = self.bot, self.loop
        return asyncio.run_coroutine_threadsafe(make(bot), loop).result(timeout=SEND_TIMEOUT_S)


class TelegramChannel:
    """``TelegramSender`` over python-telegram-bot (one bot and one loop per process)."""

    def __init__(self, token: str) -> None:
        self.bot = _BotLoop(token)

    def send_message(self, chat_id: str, text: str) -> str:
        """Send ``text``; ``ChannelError`` (with ``retry_after`` on flood control) when Telegram refuses."""
        try:
            return str(self.bot.run(lambda bot: send_message(bot, chat_id, text)))
        except TelegramRetryAfter as exc:
            raise ChannelError(str(exc), retry_after=exc.retry_after) from exc
        except (SpreadPilotError, TimeoutError) as exc:
            raise ChannelError(f"telegram: {type(exc).__name__}: {exc}") from exc


class EmailChannel:
    """``EmailSender`` over SendGrid."""

    def __init__(self, api_key: str, sender: str) -> None:
        self.client = sendgrid_client(api_key)
        self.sender = sender

    def send(self, to: tuple[str, ...], subject: str, text: str) -> str:
        """Send one plain-text email; ``ChannelError`` when SendGrid refuses."""
        try:
            status = send_email(self.client, EmailMessage(sender=self.sender, to=to, subject=subject, text=text))
        except SpreadPilotError as exc:
            raise ChannelError(f"email: {exc}") from exc
        return f"sendgrid-{status}"
