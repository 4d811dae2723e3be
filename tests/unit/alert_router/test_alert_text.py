from __future__ import annotations

import pytest
from alert_fakes import make_alert, make_settings

from alert_router.settings import AlertRouterSettings
from alert_router.text import alert_text, deep_links, email_subject
from spreadpilot.errors import ConfigError
from spreadpilot.models import Severity
from spreadpilot.settings import load_settings


def test_deep_links_point_at_order_signal_and_follower_pages() -> None:
    alert = make_alert(follower_id="f01", signal_id="20260317-QQQ-bull_put-ab12cd34", order_ref="entry-x-f01")
    assert deep_links(alert, "https://admin.example/") == (
        "https://admin.example/orders/entry-x-f01",
        "https://admin.example/signals/20260317-QQQ-bull_put-ab12cd34",
        "https://admin.example/followers/f01",
    )


def test_alert_without_a_subject_has_no_link() -> None:
    assert deep_links(make_alert(), "https://admin.example") == ()


def test_text_names_severity_type_time_in_new_york_and_the_alert_id() -> None:
    text = alert_text(make_alert(context={"age_s": "95"}), "https://admin.example")
    assert text.splitlines()[0].endswith("CRITICAL · executor.heartbeat_stale")
    assert "age_s: 95" in text
    assert "2026-03-17 10:40:00 ET · watchdog · alert a-1" in text


def test_text_fits_in_one_telegram_message() -> None:
    assert len(alert_text(make_alert(message="x" * 4000, context={"k": "y" * 500}), "https://a")) <= 4096


def test_email_subject_is_one_short_line() -> None:
    subject = email_subject(make_alert(severity=Severity.WARNING, message="first line\nsecond line"))
    assert subject == "[SpreadPilot WARNING] executor.heartbeat_stale: first line"


def test_severity_channels_are_read_from_comma_separated_settings() -> None:
    settings = make_settings(alert_critical_channels="telegram, email", alert_info_channels="")
    assert settings.channels_for(Severity.CRITICAL) == ("telegram", "email")
    assert settings.channels_for(Severity.INFO) == ()


def test_an_unknown_channel_is_a_config_error_naming_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "test")
    monkeypatch.setenv("SPREADPILOT_ALERT_CRITICAL_CHANNELS", "telegram,pager")
    with pytest.raises(ConfigError, match="SPREADPILOT_ALERT_CRITICAL_CHANNELS"):
        load_settings(AlertRouterSettings)


def test_a_routed_channel_without_credentials_or_recipients_is_reported_missing() -> None:
    settings = make_settings(alert_email_to="", alert_info_channels="")
    assert settings.missing_channel_settings() == ["TELEGRAM_BOT_TOKEN", "SENDGRID_API_KEY",
                                                   "SPREADPILOT_ALERT_EMAIL_TO"]
    quiet = make_settings(alert_critical_channels="", alert_warning_channels="", alert_email_to="",
                          SPREADPILOT_ALERT_TELEGRAM_CHAT_IDS="")
    assert quiet.missing_channel_settings() == []
