"""The tick at the edge (only a trigger, junk tolerated) and the poller's settings (names, defaults, failures)."""

from __future__ import annotations

import base64
from datetime import time

import pytest

from signal_poller.settings import PollerSettings
from signal_poller.tick import parse_tick
from spreadpilot.errors import ConfigError
from spreadpilot.settings import load_settings


def test_scheduler_push_envelope_is_a_tick_with_its_message_id() -> None:
    envelope = {"message": {"data": base64.b64encode(b"tick").decode(), "messageId": "42"}, "subscription": "s"}
    tick = parse_tick(envelope)
    assert (tick.message_id, tick.problem) == ("42", "")


@pytest.mark.parametrize(
    "junk",
    [[1, 2], "garbage", 17, {"message": "nope"}, {"message": {"data": "%%% not base64 %%%"}},
     {"message": {"data": 5, "messageId": ["x"]}}],
)
def test_junk_tick_is_described_not_raised(junk: object) -> None:
    tick = parse_tick(junk)
    assert tick.problem


@pytest.mark.parametrize("empty", [None, {}, b"", {"message": {"messageId": "1"}}, {"anything": "http body"}])
def test_empty_or_plain_http_ticks_are_fine(empty: object) -> None:
    assert parse_tick(empty).problem == ""


def test_settings_defaults_follow_the_trading_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.setenv("SPREADPILOT_SHEET_ID", "abc")
    settings = load_settings(PollerSettings)
    assert settings.poll_interval_s == 2.0
    assert settings.invocation_budget_s == 55.0
    assert (settings.poll_start, settings.alert_if_none_at, settings.cutoff) == (time(9, 27), time(9, 35),
                                                                                time(10, 30))
    assert settings.tickers == frozenset({"QQQ"})


def test_settings_are_read_from_spreadpilot_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.setenv("SPREADPILOT_SHEET_ID", "abc")
    monkeypatch.setenv("SPREADPILOT_SHEET_TAB", "Segnali")
    monkeypatch.setenv("SPREADPILOT_POLL_INTERVAL_S", "0.5")
    monkeypatch.setenv("SPREADPILOT_CUTOFF", "10:15")
    settings = load_settings(PollerSettings)
    assert (settings.sheet_tab, settings.poll_interval_s, settings.cutoff) == ("Segnali", 0.5, time(10, 15))


def test_missing_sheet_id_fails_at_startup_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.delenv("SPREADPILOT_SHEET_ID", raising=False)
    with pytest.raises(ConfigError, match="SPREADPILOT_SHEET_ID is missing"):
        load_settings(PollerSettings)
