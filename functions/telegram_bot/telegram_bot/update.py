"""The Telegram webhook boundary: the secret-token check and the few fields of an update the bot reads."""

from __future__ import annotations

import hmac

from pydantic import BaseModel, ConfigDict, Field

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  # a header name, not a secret


class _Tg(BaseModel):
    # Telegram adds fields over time: read what we need, ignore the rest.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class TgUser(_Tg):
    id: int
    username: str | None = None


class TgChat(_Tg):
    id: int


class TgMessage(_Tg):
    message_id: int
    chat: TgChat
    sender: TgUser | None = Field(default=None, alias="from")
    text: str | None = None


class TgCallback(_Tg):
    """A press of one of our inline buttons (``data`` is what the button was sent with)."""

    id: str
    sender: TgUser = Field(alias="from")
    message: TgMessage | None = None
    data: str | None = None


class Update(_Tg):
    update_id: int
    message: TgMessage | None = None
    callback_query: TgCallback | None = None


def secret_matches(header: str | None, expected: str) -> bool:
    """Whether the request carries our webhook secret (constant-time comparison)."""
    return bool(header) and bool(expected) and hmac.compare_digest(str(header).encode(), expected.encode())
