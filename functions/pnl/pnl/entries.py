"""A follower's ledger entries of one day as trades: executions (corrections applied) and settlement events.

An execution is a trade at its price with its commission (a combo's BAG-level report repeats its legs' cash and is
left out). A settlement is the option leaving at no price and, when it delivers stock, the stock arriving at the
strike, without commission (``spreadpilot.ledger`` has the rules).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pnl.lots import Trade
from spreadpilot.ledger import SettlementEvent, contract_multiplier, current_executions, position_key, signed_qty
from spreadpilot.models import Fill

ZERO_PRICE = Decimal(0)
multiplier = contract_multiplier


def fill_trade(fill: Fill) -> Trade:
    """The trade one execution made."""
    return Trade(at=fill.at, order=1, key=position_key(fill.sec_type, fill.symbol, fill.con_id), con_id=fill.con_id,
                 symbol=fill.symbol, sec_type=fill.sec_type, right=fill.right, strike=fill.strike,
                 expiry=fill.expiry, mult=multiplier(fill.sec_type), qty=signed_qty(fill), price=fill.price,
                 commission=fill.commission, ref=fill.exec_id)


def settlement_trades(event: SettlementEvent) -> list[Trade]:
    """The option leaving at no price, and the stock it delivered at the strike."""
    option = Trade(at=event.at, order=0, key=position_key("OPT", event.symbol, event.con_id), con_id=event.con_id,
                   symbol=event.symbol, sec_type="OPT", right=event.right, strike=event.strike, expiry=event.expiry,
                   mult=multiplier("OPT"), qty=event.option_qty, price=ZERO_PRICE, commission=ZERO_PRICE,
                   ref=event.event_id)
    if not event.shares:
        return [option]
    stock = Trade(at=event.at, order=0, key=position_key("STK", event.symbol, 0), con_id=0, symbol=event.symbol,
                  sec_type="STK", right=None, strike=None, expiry=None, mult=multiplier("STK"), qty=event.shares,
                  price=event.strike, commission=ZERO_PRICE, ref=event.event_id)
    return [option, stock]


def day_trades(fills: Iterable[Fill], settlements: Iterable[SettlementEvent]) -> list[Trade]:
    """Every trade of the day in the order it happened (a settlement first at the same instant)."""
    trades = [fill_trade(f) for f in current_executions(f for f in fills if f.sec_type != "BAG")]
    for event in settlements:
        trades += settlement_trades(event)
    return sorted(trades, key=lambda t: (t.at, t.order, t.ref))
