"""Replying on Telegram through python-telegram-bot (``spreadpilot.telegram``) from a synchronous handler."""

from __future__ import annotations

import asyncio
import os
import threading

from telegram import Bot

from spreadpilot.telegram import send_message, telegram_bot

SEND_TIMEOUT_S = 30.0


class TelegramReplier:
    """``Replier`` over one bot whose async client lives on its own loop thread.

    Started lazily in the process that uses it: functions-framework imports the function in gunicorn's master and
    then forks workers, and a thread started before the fork does not exist in the worker.
    """

    def __init__(self, token: str) -> None:
        self.token = token
        self.lock = threading.Lock()
        self.pid = 0
        self.loop = asyncio.new_event_loop()
        self.bot: Bot | None = None

    def send_message(self, chat_id: str, text: str) -> str:
        """Send ``text`` to ``chat_id``; Telegram's errors surface as ``Retryable``/``Rejected``."""
        with self.lock:
            if self.pid != os.getpid() or self.bot is None:
                self.loop = asyncio.new_event_loop()
                threading.Thread(target=self.loop.run_forever, name="telegram-loop", daemon=True).start()
                self.bot = telegram_bot(self.token)
                self.pid = os.getpid()
            bot, loop = self.bot, self.loop
        future = asyncio.run_coroutine_threadsafe(send_message(bot, chat_id, text), loop)
        return str(future.result(timeout=SEND_TIMEOUT_S))
