"""Encoders for order messages: openOrder, completedOrder, orderStatus, execDetails, commissionReport."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ibsim import tables
from ibsim.codes import Out
from ibsim.contracts import Listing
from ibsim.orders import Fill, SimOrder
from ibsim.protocol import UNSET_DOUBLE, Field
from spreadpilot.clock import NEW_YORK

BAG_CONTRACT: Mapping[str, Field] = {
    "conId": 28812380,  # IB's conId for an unnamed SMART combo
    "symbol": "QQQ",
    "secType": "BAG",
    "exchange": "SMART",
    "currency": "USD",
    "tradingClass": "COMB",
}


@dataclass(frozen=True)
class MarginFigures:
    """What-if answer: the account's margin before, the change, and after."""

    init_before: Decimal
    init_change: Decimal
    init_after: Decimal
    equity_before: Decimal
    equity_change: Decimal
    equity_after: Decimal
    commission: Decimal


def contract_values(listing: Listing, exchange: str | None = None) -> dict[str, Field]:
    """A listing in the decoder's contract field names."""
    return {
        "conId": listing.con_id,
        "symbol": listing.symbol,
        "secType": listing.sec_type,
        "lastTradeDateOrContractMonth": listing.expiry,
        "strike": listing.strike,
        "right": listing.right,
        "multiplier": str(listing.multiplier) if listing.is_option else "",
        "exchange": exchange or listing.exchange,
        "primaryExchange": listing.primary_exchange,
        "currency": listing.currency,
        "localSymbol": listing.local_symbol,
        "tradingClass": listing.trading_class,
    }


def _order_contract(order: SimOrder) -> Mapping[str, Field]:
    if order.is_combo:  # the combo's symbol is its legs' underlying
        return {**BAG_CONTRACT, "symbol": order.instrument_legs()[0].listing.symbol}
    assert order.listing is not None
    return contract_values(order.listing)


def _order_values(order: SimOrder) -> dict[str, Field]:
    return {
        "action": order.action,
        "totalQuantity": float(order.qty),
        "orderType": order.order_type,
        "lmtPrice": float(order.limit) if order.limit is not None else UNSET_DOUBLE,
        "tif": order.tif,
        "account": order.account,
        "openClose": "" if order.is_combo else "O",
        "orderRef": order.order_ref,
        "clientId": order.client_id,
        "permId": order.perm_id,
        "status": order.status.value,
        "filledQuantity": float(order.filled),
    }


def _legs(order: SimOrder) -> list[Field]:
    fields: list[Field] = [len(order.legs)]
    for leg in order.legs:
        values: dict[str, Field] = {"conId": leg.listing.con_id, "ratio": leg.ratio, "action": leg.action}
        fields += tables.fill(tables.COMBO_LEG, values)
    return fields


def _margin_values(margin: MarginFigures | None) -> dict[str, Field]:
    if margin is None:
        return {}
    return {
        "initMarginBefore": str(margin.init_before),
        "maintMarginBefore": str(margin.init_before),
        "equityWithLoanBefore": str(margin.equity_before),
        "initMarginChange": str(margin.init_change),
        "maintMarginChange": str(margin.init_change),
        "equityWithLoanChange": str(margin.equity_change),
        "initMarginAfter": str(margin.init_after),
        "maintMarginAfter": str(margin.init_after),
        "equityWithLoanAfter": str(margin.equity_after),
        "commission": float(margin.commission),
        "commissionCurrency": "USD",
    }


def open_order(order: SimOrder, margin: MarginFigures | None = None) -> list[Field]:
    """openOrder (5); with ``margin`` it is the answer to a what-if order."""
    values = {**_order_values(order), **_margin_values(margin), "whatIf": margin is not None}
    if margin is not None:
        values["status"] = "PreSubmitted"
    fields: list[Field] = [Out.OPEN_ORDER, order.order_id]
    fields += tables.fill(tables.CONTRACT_WITH_EXCHANGE, _order_contract(order))
    fields += tables.fill(tables.OPEN_ORDER_HEAD, values)
    fields += _legs(order)
    fields += tables.fill(tables.OPEN_ORDER_MIDDLE, values)
    fields += tables.fill(tables.OPEN_ORDER_TAIL, values)
    return fields


def completed_order(order: SimOrder) -> list[Field]:
    """completedOrder (101) for a finished order."""
    values = _order_values(order)
    if order.completed_at is not None:
        values["completedTime"] = ib_time(order.completed_at)
    values["completedStatus"] = order.status.value
    fields: list[Field] = [Out.COMPLETED_ORDER]
    fields += tables.fill(tables.CONTRACT_WITH_EXCHANGE, _order_contract(order))
    fields += tables.fill(tables.COMPLETED_ORDER_HEAD, values)
    fields += _legs(order)
    fields += tables.fill(tables.COMPLETED_ORDER_MIDDLE, values)
    fields += tables.fill(tables.COMPLETED_ORDER_TAIL, values)
    return fields


def order_status(order: SimOrder) -> list[Field]:
    """orderStatus (3)."""
    values: dict[str, Field] = {
        "orderId": order.order_id,
        "status": order.status.value,
        "filled": float(order.filled),
        "remaining": float(0 if order.status.value == "Cancelled" else order.remaining),
        "avgFillPrice": float(order.avg_fill_price),
        "permId": order.perm_id,
        "lastFillPrice": float(order.last_fill_price),
        "clientId": order.client_id,
    }
    return [Out.ORDER_STATUS, *tables.fill(tables.ORDER_STATUS, values)]


def ib_time(at: datetime) -> str:
    """IB's ``YYYYMMDD HH:MM:SS Zone`` in New York time."""
    return at.astimezone(NEW_YORK).strftime("%Y%m%d %H:%M:%S") + " US/Eastern"


def exec_details(req_id: int, fill: Fill) -> list[Field]:
    """execDetails (11) for one per-leg execution; ``req_id`` is -1 for live fills."""
    values: dict[str, Field] = {
        "execId": fill.exec_id,
        "time": ib_time(fill.time),
        "acctNumber": fill.account,
        "exchange": "CBOE" if fill.listing.is_option else "NASDAQ",
        "side": fill.side,
        "shares": float(fill.shares),
        "price": float(fill.price),
        "permId": fill.perm_id,
        "clientId": fill.client_id,
        "cumQty": float(fill.cum_qty),
        "avgPrice": float(fill.avg_price),
        "orderRef": fill.order_ref,
    }
    contract = contract_values(fill.listing, exchange=str(values["exchange"]))
    return [
        Out.EXECUTION_DATA,
        req_id,
        fill.order_id,
        *tables.fill(tables.CONTRACT_WITH_EXCHANGE, contract),
        *tables.fill(tables.EXECUTION, values),
    ]


def commission_report(fill: Fill) -> list[Field]:
    """commissionReport (59) for one execution."""
    values: dict[str, Field] = {"execId": fill.exec_id, "commission": float(fill.commission)}
    if fill.realized_pnl is not None:
        values["realizedPNL"] = float(fill.realized_pnl)
    return [Out.COMMISSION_REPORT, 1, *tables.fill(tables.COMMISSION_REPORT, values)]
