"""Sending Telegram messages through python-telegram-bot.

Seam: with ``TELEGRAM_API_URL`` set (local stack only) the bot talks to the local sink instead of
``https://api.telegram.org``.

Errors: flood control (429) raises ``TelegramRetryAfter`` (a ``Retryable`` carrying ``retry_after`` seconds);
network errors and timeouts raise ``Retryable``; a bad request or a blocked chat raises ``Rejected``.
"""

from __future__ import annotations

import os

from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from spreadpilot.errors import Rejected, Retryable

TELEGRAM_API_ENV = "TELEGRAM_API_URL"


class TelegramRetryAfter(Retryable):
    """Telegram's flood control: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Telegram flood control: retry after {retry_after} s")
        self.retry_after = retry_after


def telegram_bot(token: str) -> Bot:
    """The bot, pointed at the local sink when ``TELEGRAM_API_URL`` is set (use ``async with bot:``)."""
    local_url = os.environ.get(TELEGRAM_API_ENV)
    if local_url:
        base = local_url.rstrip("/")
        return Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
    return Bot(token)


def _translate(error: TelegramError) -> Exception:
    if isinstance(error, RetryAfter):
        retry_after = error.retry_after
        seconds = retry_after.total_seconds() if hasattr(retry_after, "total_seconds") else float(retry_after)
        return TelegramRetryAfter(seconds)
    if isinstance(error, BadRequest | Forbidden):
        return Rejected(error.message, where="telegram")
    if isinstance(error, NetworkError):
        return Retryable(f"Telegram network error: {error.message}")
    return Rejected(error.message, where="telegram")


async def send_message(bot: Bot, chat_id: int | str, text: str, *, parse_mode: str | None = None) -> int:
    """Send ``text`` to ``chat_id``; returns Telegram's message id."""
    try:
        message = await bot.send_message(chat_id=chat_id, text=text, parse_mode=parse_mode)
    except TelegramError as error:
        raise _translate(error) from error
    return int(message.message_id)


async def send_document(bot: Bot, chat_id: int | str, filename: str, content: bytes, caption: str | None = None) -> int:
    """Send a file to ``chat_id``; returns Telegram's message id."""
    try:
        message = await bot.send_document(
            chat_id=chat_id, document=InputFile(content, filename=filename), caption=caption
        )
    except TelegramError as error:
        raise _translate(error) from error
    return int(message.message_id)
