"""ib_async objects → the executor's value types; IB's "no value" figures become ``None``."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from ib_async import ComboLeg, Contract, Trade
from ib_async import Fill as IBFill

from executor.broker import Combo, Execution, OrderUpdate
from spreadpilot.models import Right

UNSET = 1.0e300  # IB's "no value" is 1.7976931348623157E308


def decimal_or_none(value: object) -> Decimal | None:
    """``value`` as a Decimal; ``None`` for NaN, IB's unset marker or anything not a number."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    if math.isnan(number) or abs(number) >= UNSET:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def quote_price(value: float) -> Decimal | None:
    """A quote side as a Decimal; ``None`` when IB has none (NaN, -1, unset)."""
    return None if value is None or math.isnan(value) or value < 0 or value >= UNSET else Decimal(str(value))


def right_of(value: str) -> Right | None:
    """IB's ``right`` ("P", "PUT", "C", "CALL", "") as ours."""
    return {"P": Right.PUT, "PUT": Right.PUT, "C": Right.CALL, "CALL": Right.CALL}.get((value or "").upper())


def expiry_of(contract: Contract) -> date | None:
    """The contract's expiry date, if it has one."""
    text = contract.lastTradeDateOrContractMonth or ""
    try:
        return datetime.strptime(text[:8], "%Y%m%d").replace(tzinfo=UTC).date() if len(text) >= 8 else None
    except ValueError:
        return None


def bag(combo: Combo) -> Contract:
    """The BAG contract for a combo, routed SMART."""
    return Contract(secType="BAG", symbol=combo.symbol, exchange="SMART", currency="USD",
                    comboLegs=[ComboLeg(conId=leg.con_id, ratio=leg.ratio, action=leg.action, exchange="SMART")
                               for leg in combo.legs])


def order_update(trade: Trade, status: str | None = None, message: str = "") -> OrderUpdate:
    """A live order's update (``status`` overrides the trade's own)."""
    s = trade.orderStatus
    return OrderUpdate(order_ref=trade.order.orderRef, account=trade.order.account, order_id=trade.order.orderId,
                       perm_id=trade.order.permId or s.permId, status=status or s.status,
                       filled=int(s.filled or 0), remaining=int(s.remaining or 0),
                       limit=decimal_or_none(trade.order.lmtPrice), message=message)


def completed_update(trade: Trade) -> OrderUpdate:
    """A completed order's final update."""
    filled = decimal_or_none(trade.order.filledQuantity)
    return OrderUpdate(order_ref=trade.order.orderRef, account=trade.order.account, order_id=trade.order.orderId,
                       perm_id=trade.order.permId, status=trade.orderStatus.status or "Cancelled",
                       filled=int(filled or 0), remaining=0, limit=decimal_or_none(trade.order.lmtPrice))


def execution(fill: IBFill) -> Execution:
    """One leg's execution (commission zero until IB's report arrives)."""
    e, c = fill.execution, fill.contract
    at = e.time if isinstance(e.time, datetime) and e.time.tzinfo else datetime.now(UTC)
    return Execution(exec_id=e.execId, order_ref=e.orderRef, account=e.acctNumber, order_id=e.orderId,
                     perm_id=e.permId, con_id=c.conId, sec_type=c.secType, right=right_of(c.right),
                     strike=decimal_or_none(c.strike) if c.strike else None, expiry=expiry_of(c), side=e.side,
                     qty=int(e.shares), price=Decimal(str(e.price)),
                     at=at, commission=decimal_or_none(fill.commissionReport.commission) or Decimal(0),
                     symbol=c.symbol)
