"""Margin is checked locally from the account's funds (one message per follower at entry); the broker's what-if
is asked only for a close call or an account that holds other positions."""

from __future__ import annotations

from decimal import Decimal

from executor_world import follower, trade_one_signal, world

from executor.broker import AccountState
from executor.checks import local_margin_decision, spread_margin
from executor.settings import MarginMode
from spreadpilot.models import IntentState

FUNDS = Decimal(100000)


def state(available: str, held: bool = False) -> AccountState:
    return AccountState(Decimal(available), Decimal(available), held)


def test_a_verticals_margin_is_its_width_times_the_multiplier_per_spread_credit_not_deducted() -> None:
    assert spread_margin(Decimal(5), 2) == Decimal(1000)


def test_funds_well_above_the_margin_decide_locally() -> None:
    local = local_margin_decision(2, Decimal(5), state("1200"), Decimal(10), MarginMode.SKIP)
    assert local.decision is not None
    assert local.decision.contracts == 2


def test_a_close_call_or_other_positions_ask_the_broker() -> None:
    assert local_margin_decision(2, Decimal(5), state("1050"), Decimal(10), MarginMode.SKIP).decision is None
    assert local_margin_decision(2, Decimal(5), state("9000", held=True), Decimal(10), MarginMode.SKIP).decision is None
    assert local_margin_decision(2, Decimal(5), None, Decimal(10), MarginMode.SKIP).decision is None


def test_funds_clearly_short_skip_or_reduce_locally() -> None:
    skip = local_margin_decision(4, Decimal(5), state("1200"), Decimal(10), MarginMode.SKIP).decision
    reduce = local_margin_decision(4, Decimal(5), state("1200"), Decimal(10), MarginMode.REDUCE).decision
    assert skip is not None
    assert skip.contracts == 0
    assert reduce is not None
    assert reduce.contracts == 2


def test_an_entry_with_clear_margin_sends_one_message_and_no_what_if() -> None:
    w = world([follower(n) for n in range(1, 6)])
    w.broker.funds["DU005"] = Decimal(1020)  # 2 spreads of $500: within 10 %, asked of the broker

    trade_one_signal(w)
    assert set(w.store.states().values()) == {IntentState.FILLED}
    assert w.broker.what_ifs == 1
    assert len(w.orders()) == 5
