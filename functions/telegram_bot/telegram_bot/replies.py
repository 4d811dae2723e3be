"""Replying on Telegram through python-telegram-bot (``spreadpilot.telegram``) from a synchronous handler."""

from __future__ import annotations

import asyncio
import threading

from spreadpilot.telegram import send_message, telegram_bot

SEND_TIMEOUT_S = 30.0


class TelegramReplier:
    """``Replier`` over one bot whose async client lives on its own loop thread (one per process)."""

    def __init__(self, token: str) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="telegram-loop", daemon=True).start()
        self.bot = telegram_bot(token)

    def send_message(self, chat_id: str, text: str) -> str:
        """Send ``text`` to ``chat_id``; Telegram's errors surface as ``Retryable``/``Rejected``."""
        future = asyncio.run_coroutine_threadsafe(send_message(self.bot, chat_id, text), self.loop)
        return str(future.result(timeout=SEND_TIMEOUT_S))
