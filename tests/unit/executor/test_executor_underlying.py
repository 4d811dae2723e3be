"""The underlying travels from the sheet row to the order; a SPY signal is refused with a clear reason (the position
lifecycle follows QQQ only, so SPY cannot be allowed yet: refused at start-up)."""

from __future__ import annotations

import pytest
from executor_world import follower, run, signal, started, trade_one_signal, world
from pydantic import ValidationError

from executor.settings import ExecutorSettings
from spreadpilot.models import IntentState, make_signal_id


def spy_signal():  # type: ignore[no-untyped-def]
    base = signal()
    return base.model_copy(update={"ticker": "SPY",
                                   "signal_id": make_signal_id(base.date, "SPY", base.spread, base.qty_per_leg)})


def test_the_signals_underlying_is_the_one_every_order_and_intent_carries() -> None:
    w = world([follower(1), follower(2)])

    trade_one_signal(w)
    assert {o["symbol"] for o in w.orders()} == {"QQQ"}
    assert {i.symbol for i in w.store.intents.values()} == {"QQQ"}


def test_spy_is_refused_at_start_up_while_the_position_lifecycle_follows_qqq_only() -> None:
    # Entries carried SPY to the broker, but the monitor, closes, assignment repair and expiry settlement read QQQ
    # positions and QQQ's price only: a SPY spread would have been placed and then never pin-closed or settled.
    with pytest.raises(ValidationError, match="SPY would be entered but not watched"):
        ExecutorSettings(GOOGLE_CLOUD_PROJECT="p", allowed_tickers="QQQ,SPY")  # type: ignore[call-arg]


def test_a_spy_signal_is_refused_with_a_clear_reason_where_only_qqq_is_allowed() -> None:
    w = world([follower(1)])

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(spy_signal())
        await engine.idle()

    run(scenario)
    assert w.orders() == []
    (intent,) = w.store.intents.values()
    assert intent.state is IntentState.SKIPPED
    assert "SPY is not traded here" in intent.reason
    assert "signal.ticker_not_traded" in w.publisher.alert_types()


def test_an_allowed_ticker_without_daily_expiries_fails_at_start_up() -> None:
    with pytest.raises(ValidationError, match="no daily"):
        ExecutorSettings(GOOGLE_CLOUD_PROJECT="p", allowed_tickers="QQQ,AAPL")  # type: ignore[call-arg]
