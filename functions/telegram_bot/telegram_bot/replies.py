"""Replying on Telegram through python-telegram-bot (``spreadpilot.telegram``) from a synchronous handler."""

from __future__ import annotations

from spreadpilot.telegram import SyncBot


class TelegramReplier:
    """``Replier`` over one bot (``spreadpilot.telegram.SyncBot``)."""

    def __init__(self, token: str) -> None:
        self.bot = SyncBot(token)

    def send_message(self, chat_id: str, text: str) -> str:
        """Send ``text`` to ``chat_id``; Telegram's errors surface as ``Retryable``/``Rejected``."""
        return str(self.bot.send_message(chat_id, text))
