"""Account values, portfolio lines and P&L as IB reports them, computed from the books at the current marks."""

from __future__ import annotations

from decimal import Decimal

from ibsim import settlement, wire
from ibsim.accounts import Account
from ibsim.broker import Broker
from ibsim.protocol import Field
from spreadpilot.clock import new_york

SUMMARY_TAGS = (
    "AccountType", "NetLiquidation", "TotalCashValue", "SettledCash", "AccruedCash", "BuyingPower",
    "EquityWithLoanValue", "GrossPositionValue", "InitMarginReq", "MaintMarginReq", "AvailableFunds",
    "ExcessLiquidity", "Cushion", "FullInitMarginReq", "FullMaintMarginReq", "FullAvailableFunds",
    "FullExcessLiquidity", "UnrealizedPnL", "RealizedPnL",
)


def account_values(broker: Broker, acct: Account) -> dict[str, str]:
    """Tag → value (USD) for one account."""
    und = broker.underlying()
    net = acct.net_liquidation(broker.mark)
    margin = acct.margin(broker.mark, und)
    available = net - margin
    gross = sum((abs(Decimal(str(broker.mark(p.listing))) * p.listing.multiplier * p.qty) for p in acct.held()),
                Decimal("0"))
    cushion = (available / net) if net else Decimal("0")
    after = settlement.projected_after_expiry(broker, acct, new_york(broker.now()).date())
    margin_after = after.margin(broker.mark, und)
    values = {
        "AccountType": "INDIVIDUAL",
        "NetLiquidation": net,
        "TotalCashValue": acct.cash,
        "SettledCash": acct.cash,
        "AccruedCash": Decimal("0"),
        "BuyingPower": available * 4,
        "EquityWithLoanValue": net,
        "GrossPositionValue": gross,
        "InitMarginReq": margin,
        "MaintMarginReq": margin,
        "AvailableFunds": available,
        "ExcessLiquidity": available,
        "Cushion": cushion,
        "FullInitMarginReq": margin,
        "FullMaintMarginReq": margin,
        "FullAvailableFunds": available,
        "FullExcessLiquidity": available,
        "UnrealizedPnL": acct.unrealized(broker.mark),
        "RealizedPnL": acct.realized,
        # account updates only (not an account-summary tag): the account once today's options have expired
        "PostExpirationMargin": margin_after,
        "PostExpirationExcess": after.net_liquidation(broker.mark) - margin_after,
    }
    return {k: v if isinstance(v, str) else f"{v:.2f}" for k, v in values.items()}


def portfolio_messages(broker: Broker, acct: Account) -> list[list[Field]]:
    """updatePortfolio lines for every position."""
    messages = []
    for p in acct.held():
        price = broker.mark(p.listing)
        value = price * p.listing.multiplier * p.qty
        unrealized = value - float(p.avg_cost) * p.qty
        numbers = (float(p.qty), price, round(value, 2), float(p.avg_cost), round(unrealized, 2), 0.0)
        messages.append(wire.portfolio_value(p.listing, numbers, acct.account_id))
    return messages


def pnl_figures(broker: Broker, acct: Account) -> tuple[float, float, float]:
    """Daily, unrealized, realized P&L of the day (reqPnL): realized since the day began, daily = realized plus the
    change of the open positions' unrealized P&L since the day began."""
    unrealized = acct.unrealized(broker.mark)
    realized = acct.day_realized
    daily = realized + unrealized - acct.day_open_unrealized
    return round(float(daily), 2), round(float(unrealized), 2), round(float(realized), 2)


def pnl_single_figures(broker: Broker, acct: Account, con_id: int) -> tuple[int, float, float, float, float]:
    """Position, daily, unrealized, realized, value of one position (zeros when flat)."""
    pos = acct.positions.get(con_id)
    if pos is None or pos.qty == 0:
        return 0, 0.0, 0.0, 0.0, 0.0
    value = broker.mark(pos.listing) * pos.listing.multiplier * pos.qty
    unrealized = value - float(pos.avg_cost) * pos.qty
    return pos.qty, round(unrealized, 2), round(unrealized, 2), 0.0, round(value, 2)
