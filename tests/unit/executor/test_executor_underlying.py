"""The underlying travels from the sheet row to the order: a SPY signal is traded as SPY options where SPY is allowed
(the position lifecycle follows it by its own symbol: tests/unit/lifecycle/test_lifecycle_underlying.py), and refused
with a clear reason where it is not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from executor_world import follower, run, signal, started, trade_one_signal, world
from pydantic import ValidationError

from executor.broker import Execution
from executor.ledger import Owner, to_ledger_fill
from executor.settings import ExecutorSettings
from spreadpilot.models import IntentKind, IntentState, OrderIntent, make_signal_id


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


def test_an_execution_whose_contract_has_no_symbol_is_booked_under_its_intents_underlying() -> None:
    # ib_async hands a one-contract order's own contract to its executions: sent without a symbol, a SPY stock sale
    # came back with none and was booked as "STK:" beside the "STK:SPY" the assignment delivered
    intent = OrderIntent(intent_id="flatten-x-f01-1", kind=IntentKind.FLATTEN, signal_id="x", follower_id="f01",
                         gateway_id="gw", account="DU001", symbol="SPY", spread=signal().spread, expiry=signal().date,
                         contracts=1, created_at=datetime(2026, 3, 17, 15, tzinfo=UTC),
                         updated_at=datetime(2026, 3, 17, 15, tzinfo=UTC))
    sale = Execution(exec_id="0001.01", order_ref=intent.intent_id, account="DU001", order_id=9, perm_id=9,
                     con_id=756733, sec_type="STK", right=None, strike=None, expiry=None, side="SLD", qty=100,
                     price=Decimal("583.00"), at=datetime(2026, 3, 17, 15, 1, tzinfo=UTC), symbol="")

    assert to_ledger_fill(sale, Owner("f01", intent)).symbol == "SPY"
    assert to_ledger_fill(replace(sale, symbol="SPY"), Owner("f01", None)).symbol == "SPY"  # a foreign one: as sent
