"""The real channels: Telegram (python-telegram-bot via ``spreadpilot.telegram``) and SendGrid (``spreadpilot.email``).

Both turn every failure into ``ChannelError`` so the router records it and carries on with the other channel.
"""

from __future__ import annotations

from alert_router.ports import ChannelError
from spreadpilot.email import EmailMessage, send_email, sendgrid_client
from spreadpilot.errors import SpreadPilotError
from spreadpilot.telegram import SyncBot, TelegramRetryAfter


class TelegramChannel:
    """``TelegramSender`` over python-telegram-bot (one bot and one loop per process)."""

    def __init__(self, token: str) -> None:
        self.bot = SyncBot(token)

    def send_message(self, chat_id: str, text: str) -> str:
        """Send ``text``; ``ChannelError`` (with ``retry_after`` on flood control) when Telegram refuses."""
        try:
            return str(self.bot.send_message(chat_id, text))
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
