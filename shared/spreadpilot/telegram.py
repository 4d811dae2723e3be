"""Sending Telegram messages through python-telegram-bot.

Seam: with ``TELEGRAM_API_URL`` set (local stack only) the bot talks to the local sink instead of
``https://api.telegram.org``.

Errors: flood control (429) raises ``TelegramRetryAfter`` (a ``Retryable`` carrying ``retry_after`` seconds);
network errors and timeouts raise ``Retryable``; a bad request or a blocked chat raises ``Rejected``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from spreadpilot.errors import Rejected, Retryable

TELEGRAM_API_ENV = "TELEGRAM_API_URL"
SEND_TIMEOUT_S = 30.0
T = TypeVar("T")


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


Buttons = Sequence[tuple[str, str]]  # one row of inline buttons: (label, callback data of at most 64 bytes)


def _keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]])


async def send_message(bot: Bot, chat_id: int | str, text: str, *, parse_mode: str | None = None,
                       buttons: Buttons | None = None) -> int:
    """Send ``text`` to ``chat_id`` (with a row of inline ``buttons``); returns Telegram's message id."""
    try:
        message = await bot.send_message(chat_id=chat_id, text=text, parse_mode=parse_mode,
                                         reply_markup=_keyboard(buttons))
    except TelegramError as error:
        raise _translate(error) from error
    return int(message.message_id)


async def edit_message(bot: Bot, chat_id: int | str, message_id: int, text: str,
                       buttons: Buttons | None = None) -> None:
    """Replace a message's text and buttons (a page turned)."""
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=_keyboard(buttons))
    except TelegramError as error:
        raise _translate(error) from error


async def answer_callback(bot: Bot, callback_id: str, text: str = "") -> None:
    """Answer a button press (Telegram shows a spinner on the button until then)."""
    try:
        await bot.answer_callback_query(callback_id, text=text or None)
    except TelegramError as error:
        raise _translate(error) from error


async def send_document(bot: Bot, chat_id: int | str, filename: str, content: bytes, caption: str | None = None) -> int:
    """Send a file to ``chat_id``; returns Telegram's message id."""
    try:
        message = await bot.send_document(
            chat_id=chat_id, document=InputFile(content, filename=filename), caption=caption
        )
    except TelegramError as error:
        raise _translate(error) from error
    return int(message.message_id)


class SyncBot:
    """One bot whose async client lives on its own loop thread, so synchronous handlers (Cloud Functions) can use it.

    Started lazily in the process that uses it: functions-framework may import the function in a master process
    and then fork workers, and a thread started before the fork does not exist in the worker.
    """

    def __init__(self, token: str, timeout_s: float = SEND_TIMEOUT_S) -> None:
        self.token = token
        self.timeout_s = timeout_s
        self.lock = threading.Lock()
        self.pid = 0
        self.loop = asyncio.new_event_loop()
        self.bot: Bot | None = None

    def run(self, make: Callable[[Bot], Coroutine[Any, Any, T]]) -> T:
        """Run ``make(bot)`` on the bot's loop and wait for its result."""
        with self.lock:
            if self.pid != os.getpid() or self.bot is None:
                self.loop = asyncio.new_event_loop()
                threading.Thread(target=self.loop.run_forever, name="telegram-loop", daemon=True).start()
                self.bot = telegram_bot(self.token)
                self.pid = os.getpid()
            bot, loop = self.bot, self.loop
        return asyncio.run_coroutine_threadsafe(make(bot), loop).result(timeout=self.timeout_s)

    def send_message(self, chat_id: int | str, text: str, buttons: Buttons | None = None) -> int:
        """Send ``text`` to ``chat_id``; errors as ``send_message`` raises them."""
        return self.run(lambda bot: send_message(bot, chat_id, text, buttons=buttons))

    def edit_message(self, chat_id: int | str, message_id: int, text: str, buttons: Buttons | None = None) -> None:
        """Replace a message's text and buttons."""
        self.run(lambda bot: edit_message(bot, chat_id, message_id, text, buttons))

    def answer_callback(self, callback_id: str, text: str = "") -> None:
        """Answer a button press."""
        self.run(lambda bot: answer_callback(bot, callback_id, text))
