"""Replying on Telegram through python-telegram-bot (``spreadpilot.telegram``) from a synchronous handler."""

from __future__ import annotations

from spreadpilot.telegram import Buttons, SyncBot


class TelegramReplier:
    """``Replier`` over one bot (``spreadpilot.telegram.SyncBot``)."""

    def __init__(self, token: str) -> None:
        self.bot = SyncBot(token)

    def send_message(self, chat_id: str, text: str, buttons: Buttons | None = None) -> str:
        """Send ``text`` to ``chat_id``; Telegram's errors surface as ``Retryable``/``Rejected``."""
        return str(self.bot.send_message(chat_id, text, buttons))

    def edit_message(self, chat_id: str, message_id: int, text: str, buttons: Buttons | None = None) -> None:
        """Turn a page: the message's text and buttons replaced."""
        self.bot.edit_message(chat_id, message_id, text, buttons)

    def answer_callback(self, callback_id: str, text: str = "") -> None:
        """Answer a button press."""
        self.bot.answer_callback(callback_id, text)
