from __future__ import annotations

import pytest

from spreadpilot.errors import ConfigError
from spreadpilot.settings import load_settings
from telegram_bot.bot import confirm_code
from telegram_bot.commands import Invalid, Parsed, parse_command
from telegram_bot.settings import TelegramBotSettings
from telegram_bot.update import secret_matches


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/status", Parsed("status")),
        ("/status@spreadpilot_bot", Parsed("status")),
        ("/positions", Parsed("positions")),
        ("/pnl", Parsed("pnl")),
        ("/pnl f01", Parsed("pnl", "f01")),
        ("/pause", Parsed("pause", "all")),
        ("/pause f01", Parsed("pause", "f01")),
        ("/resume all", Parsed("resume", "all")),
        ("/flatten all", Parsed("flatten", "all")),
        ("/flatten f07", Parsed("flatten", "f07")),
        ("/confirm abc123", Parsed("confirm", "ABC123")),
        ("/ack wd-20260317-no-signal", Parsed("ack", "wd-20260317-no-signal")),
        ("/start", Parsed("help")),
    ],
)
def test_well_formed_commands_parse(text: str, expected: Parsed) -> None:
    assert parse_command(text, "spreadpilot_bot") == expected


@pytest.mark.parametrize(
    "text",
    ["hello", "/frobnicate", "/flatten", "/flatten all now", "/pause f01;drop", "/confirm", "/confirm !!",
     "/ack", "/status@other_bot", "/status extra"],
)
def test_anything_else_is_invalid_with_a_reason(text: str) -> None:
    parsed = parse_command(text, "spreadpilot_bot")
    assert isinstance(parsed, Invalid)
    assert parsed.reason


@pytest.mark.parametrize("header", [None, "", "wrong", "hook-secret "])
def test_a_missing_or_wrong_webhook_secret_does_not_match(header: str | None) -> None:
    assert not secret_matches(header, "hook-secret")


def test_the_configured_webhook_secret_matches() -> None:
    assert secret_matches("hook-secret", "hook-secret")


def test_confirm_codes_are_stable_per_update_and_differ_between_updates() -> None:
    assert confirm_code("k", 10) == confirm_code("k", 10)
    assert confirm_code("k", 10) != confirm_code("k", 11) != confirm_code("other", 11)


def test_allowlists_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "test")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s")
    monkeypatch.setenv("SPREADPILOT_BOT_ALLOWED_CHAT_IDS", "-1001, 42")
    monkeypatch.setenv("SPREADPILOT_TELEGRAM_ALLOWED_USER_IDS", "7")  # the alternative name is accepted too
    settings = load_settings(TelegramBotSettings)
    assert (settings.allowed_chats, settings.allowed_users) == (frozenset({-1001, 42}), frozenset({7}))


def test_a_missing_webhook_secret_stops_start_up_naming_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "test")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("SPREADPILOT_TELEGRAM_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(TelegramBotSettings)
