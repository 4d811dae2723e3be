"""The underlying travels from the sheet row to the order: a SPY signal is traded as SPY options where SPY is allowed
(the position lifecycle follows it by its own symbol: tests/unit/lifecycle/test_lifecycle_underlying.py), and refused
with a clear reason where it is not."""

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


def test_a_spy_signal_is_traded_as_spy_options_where_spy_is_allowed() -> None:
    w = world([follower(1), follower(2)], allowed_tickers="QQQ,SPY")

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(spy_signal())
        await engine.idle()

    run(scenario)
    assert {o["symbol"] for o in w.orders()} == {"SPY"}
    assert {i.symbol for i in w.store.intents.values()} == {"SPY"}
    assert {i.state for i in w.store.intents.values()} == {IntentState.FILLED}


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
