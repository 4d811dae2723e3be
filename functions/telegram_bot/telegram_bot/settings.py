"""The operator bot's settings (env prefix ``SPREADPILOT_``; secrets are injected as plain env vars)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from spreadpilot.settings import CommonSettings


def split_ids(value: str) -> frozenset[int]:
    """``"12, -100345"`` → ``{12, -100345}``."""
    return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)


class TelegramBotSettings(CommonSettings):
    """Who may talk to the bot and how long a flatten confirmation stays valid."""

    telegram_bot_token: SecretStr = Field(
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "SPREADPILOT_TELEGRAM_BOT_TOKEN"),
        description="Telegram bot token (secret telegram-bot-token), used to reply",
    )
    telegram_webhook_secret: SecretStr = Field(
        validation_alias=AliasChoices("TELEGRAM_WEBHOOK_SECRET", "SPREADPILOT_TELEGRAM_WEBHOOK_SECRET"),
        description="expected X-Telegram-Bot-Api-Secret-Token (secret telegram-webhook-secret)",
        min_length=1,
    )
    bot_allowed_chat_ids: str = Field(
        default="",
        pattern=r"^[-0-9, ]*$",
        validation_alias=AliasChoices("SPREADPILOT_BOT_ALLOWED_CHAT_IDS", "SPREADPILOT_TELEGRAM_ALLOWED_CHAT_IDS"),
        description="comma-separated chat ids the bot answers (empty: none)",
    )
    bot_allowed_user_ids: str = Field(
        default="",
        pattern=r"^[-0-9, ]*$",
        validation_alias=AliasChoices("SPREADPILOT_BOT_ALLOWED_USER_IDS", "SPREADPILOT_TELEGRAM_ALLOWED_USER_IDS"),
        description="comma-separated Telegram user ids allowed to command (empty: none)",
    )
    bot_username: str = Field(default="", description="the bot's @username; '/cmd@other_bot' is ignored when set")
    bot_confirm_ttl_s: int = Field(default=120, ge=10, description="seconds a /flatten confirmation code stays valid")
    bot_heartbeat_max_age_s: int = Field(
        default=60, ge=1, description="a heartbeat older than this is shown as stale in /status"
    )

    @property
    def allowed_chats(self) -> frozenset[int]:
        """Chat ids the bot serves."""
        return split_ids(self.bot_allowed_chat_ids)

    @property
    def allowed_users(self) -> frozenset[int]:
        """User ids allowed to command."""
        return split_ids(self.bot_allowed_user_ids)
