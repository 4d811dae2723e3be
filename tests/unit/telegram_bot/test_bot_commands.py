from __future__ import annotations

import pytest
from telegram_bot.bot import confirm_code
from telegram_bot.commands import Invalid, Parsed, parse_command
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
