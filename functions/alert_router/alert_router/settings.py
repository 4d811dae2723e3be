"""The alert router's settings (env prefix ``SPREADPILOT_``; secrets are injected as plain env vars)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator

from spreadpilot.models import Severity
from spreadpilot.settings import CommonSettings

TELEGRAM = "telegram"
EMAIL = "email"
CHANNELS = (TELEGRAM, EMAIL)


def split_list(value: str) -> tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")``."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


class AlertRouterSettings(CommonSettings):
    """Where alerts go, how long duplicates are collapsed and how often delivery is retried."""

    telegram_bot_token: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "SPREADPILOT_TELEGRAM_BOT_TOKEN"),
        description="Telegram bot token (secret telegram-bot-token); empty disables the Telegram channel",
    )
    sendgrid_api_key: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("SENDGRID_API_KEY", "SPREADPILOT_SENDGRID_API_KEY"),
        description="SendGrid API key (secret sendgrid-api-key); empty disables the email channel",
    )
    alert_telegram_chat_ids: str = Field(
        default="",
        validation_alias=AliasChoices("SPREADPILOT_ALERT_TELEGRAM_CHAT_IDS", "SPREADPILOT_TELEGRAM_CHAT_IDS"),
        description="comma-separated Telegram chat ids to notify",
    )
    alert_email_to: str = Field(default="", description="comma-separated operator email addresses")
    alert_email_from: str = Field(default="alerts@spreadpilot.local", description="sender address of alert emails")
    alert_critical_channels: str = Field(default="telegram,email", description="channels for CRITICAL alerts")
    alert_warning_channels: str = Field(default="telegram", description="channels for WARNING alerts")
    alert_info_channels: str = Field(default="", description="channels for INFO alerts (empty: stored only)")
    alert_cooldown_s: int = Field(
        default=300, ge=0, description="identical alerts within this many seconds collapse into the first one"
    )
    alert_max_attempts: int = Field(
        default=5, ge=1, description="failed deliveries on a channel before the alert goes to alerts-dead-letter"
    )
    alert_retry_after_max_wait_s: float = Field(
        default=10.0, ge=0, description="longest Telegram retry_after (real seconds) waited inline before retrying"
    )
    alert_delivery_lease_s: int = Field(
        default=60, ge=1, description="how long one delivery attempt holds a channel before another may take it"
    )

    @field_validator("alert_critical_channels", "alert_warning_channels", "alert_info_channels")
    @classmethod
    def _known_channels(cls, value: str) -> str:
        unknown = [channel for channel in split_list(value) if channel not in CHANNELS]
        if unknown:
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}; use {' and/or '.join(CHANNELS)}")
        return value

    def missing_channel_settings(self) -> list[str]:
        """Env vars a routed channel still needs (empty when every routed channel can deliver)."""
        routed = {channel for severity in Severity for channel in self.channels_for(severity)}
        needs = {
            TELEGRAM: (("TELEGRAM_BOT_TOKEN", self.telegram_bot_token.get_secret_value()),
                       ("SPREADPILOT_ALERT_TELEGRAM_CHAT_IDS", self.alert_telegram_chat_ids)),
            EMAIL: (("SENDGRID_API_KEY", self.sendgrid_api_key.get_secret_value()),
                    ("SPREADPILOT_ALERT_EMAIL_TO", self.alert_email_to)),
        }
        return [
            name for channel in CHANNELS if channel in routed for name, value in needs[channel] if not value.strip()
        ]

    def channels_for(self, severity: Severity) -> tuple[str, ...]:
        """The channels an alert of ``severity`` goes to, in order."""
        configured = {
            Severity.CRITICAL: self.alert_critical_channels,
            Severity.WARNING: self.alert_warning_channels,
            Severity.INFO: self.alert_info_channels,
        }[severity]
        return tuple(channel for channel in split_list(configured) if channel in CHANNELS)
