"""Encoders for connection, contract, market-data and account messages (server version 176 layouts)."""

from __future__ import annotations

from ibsim import tables
from ibsim.codes import (
    TICK_ASK,
    TICK_ASK_SIZE,
    TICK_BID,
    TICK_BID_SIZE,
    TICK_CLOSE,
    TICK_LAST,
    TICK_MODEL_OPTION,
    Out,
)
from ibsim.contracts import OPTION_EXCHANGES, UNDERLYINGS, Listing
from ibsim.pricing import Greeks, Quote
from ibsim.protocol import Field
from ibsim.wire_orders import contract_values

Message = list[Field]


def next_valid_id(order_id: int) -> Message:
    """nextValidId (9)."""
    return [Out.NEXT_VALID_ID, 1, order_id]


def managed_accounts(accounts: list[str]) -> Message:
    """managedAccounts (15): the comma-separated account list."""
    return [Out.MANAGED_ACCTS, 1, ",".join(accounts)]


def error(req_id: int, code: int, text: str) -> Message:
    """errorMsg (4); server >= 166 adds the advanced-reject JSON field."""
    return [Out.ERR_MSG, 2, req_id, code, text, ""]


def current_time(epoch: int) -> Message:
    """currentTime (49)."""
    return [Out.CURRENT_TIME, 1, epoch]


def contract_details(req_id: int, listing: Listing, exchange: str) -> Message:
    """contractDetails (10) for one listing."""
    values = contract_values(listing, exchange=exchange or listing.exchange)
    values.update(
        {
            "lastTimes": listing.expiry,
            "marketName": listing.trading_class,
            "validExchanges": OPTION_EXCHANGES if listing.is_option else "SMART,NASDAQ,ARCA",
            "underConId": UNDERLYINGS[listing.symbol].stock_con_id if listing.is_option else 0,
            "longName": UNDERLYINGS[listing.symbol].long_name,
            "primaryExchange": listing.primary_exchange,
            "contractMonth": listing.expiry[:6],
            "underSymbol": listing.symbol,
            "underSecType": "STK" if listing.is_option else "",
            "realExpirationDate": listing.expiry,
            "stockType": "" if listing.is_option else "ETF",
            "minTick": 0.01,
        }
    )
    return [Out.CONTRACT_DATA, req_id, *tables.fill(tables.CONTRACT_DETAILS, values)]


def contract_details_end(req_id: int) -> Message:
    """contractDetailsEnd (52)."""
    return [Out.CONTRACT_DATA_END, 1, req_id]


def sec_def_opt_params(req_id: int, symbol: str, expiries: list[str], strikes: list[float]) -> Message:
    """securityDefinitionOptionParameter (75) for one underlying on SMART."""
    return [
        Out.SECURITY_DEFINITION_OPTION_PARAMETER,
        req_id,
        "SMART",
        UNDERLYINGS[symbol].stock_con_id,
        symbol,
        "100",
        len(expiries),
        *expiries,
        len(strikes),
        *strikes,
    ]


def sec_def_opt_params_end(req_id: int) -> Message:
    """securityDefinitionOptionParameterEnd (76)."""
    return [Out.SECURITY_DEFINITION_OPTION_PARAMETER_END, req_id]


def tick_price(req_id: int, tick_type: int, price: float, size: int) -> Message:
    """tickPrice (1); a zero size would make the client blank the price, so sizes stay positive."""
    return [Out.TICK_PRICE, 6, req_id, tick_type, price, size, 0]


def tick_size(req_id: int, tick_type: int, size: int) -> Message:
    """tickSize (2)."""
    return [Out.TICK_SIZE, 6, req_id, tick_type, size]


def quote_ticks(req_id: int, quote: Quote) -> list[Message]:
    """The price and size ticks for a quote (bid, ask, last at mid, close at mid)."""
    return [
        tick_price(req_id, TICK_BID, quote.bid, quote.bid_size),
        tick_price(req_id, TICK_ASK, quote.ask, quote.ask_size),
        tick_price(req_id, TICK_LAST, quote.mid, 1),
        tick_price(req_id, TICK_CLOSE, quote.mid, 1),
        tick_size(req_id, TICK_BID_SIZE, quote.bid_size),
        tick_size(req_id, TICK_ASK_SIZE, quote.ask_size),
    ]


def option_computation(req_id: int, greeks: Greeks, vol: float, underlying: float) -> Message:
    """tickOptionComputation (21), model tick; server >= 156 sends no version field."""
    return [
        Out.TICK_OPTION_COMPUTATION,
        req_id,
        TICK_MODEL_OPTION,
        1,
        vol,
        greeks.delta,
        greeks.price,
        0.0,
        greeks.gamma,
        greeks.vega,
        greeks.theta,
        underlying,
    ]


def market_data_type(req_id: int, data_type: int) -> Message:
    """marketDataType (58)."""
    return [Out.MARKET_DATA_TYPE, 1, req_id, data_type]


def snapshot_end(req_id: int) -> Message:
    """tickSnapshotEnd (57)."""
    return [Out.TICK_SNAPSHOT_END, 1, req_id]


def position(account: str, listing: Listing, qty: float, avg_cost: float) -> Message:
    """position (61)."""
    return [
        Out.POSITION_DATA,
        3,
        account,
        *tables.fill(tables.CONTRACT_WITH_EXCHANGE, contract_values(listing, exchange="")),
        qty,
        avg_cost,
    ]


def position_multi(req_id: int, account: str, listing: Listing, qty: float, avg_cost: float) -> Message:
    """positionMulti (71)."""
    contract = tables.fill(tables.CONTRACT_WITH_EXCHANGE, contract_values(listing, exchange=""))
    return [Out.POSITION_MULTI, 1, req_id, account, *contract, qty, avg_cost, ""]


def position_multi_end(req_id: int) -> Message:
    """positionMultiEnd (72)."""
    return [Out.POSITION_MULTI_END, 1, req_id]


def position_end() -> Message:
    """positionEnd (62)."""
    return [Out.POSITION_END, 1]


def account_value(key: str, value: str, currency: str, account: str) -> Message:
    """updateAccountValue (6)."""
    return [Out.ACCT_VALUE, 2, key, value, currency, account]


def portfolio_value(listing: Listing, values: tuple[float, float, float, float, float, float], account: str) -> Message:
    """updatePortfolio (7): position, market price, market value, average cost, unrealized, realized."""
    contract = tables.fill(tables.CONTRACT_WITH_PRIMARY, contract_values(listing))
    return [Out.PORTFOLIO_VALUE, 8, *contract, *values, account]


def account_time(hhmm: str) -> Message:
    """updateAccountTime (8)."""
    return [Out.ACCT_UPDATE_TIME, 1, hhmm]


def account_download_end(account: str) -> Message:
    """accountDownloadEnd (54)."""
    return [Out.ACCT_DOWNLOAD_END, 1, account]


def account_update_multi(req_id: int, account: str, key: str, value: str, currency: str) -> Message:
    """accountUpdateMulti (73)."""
    return [Out.ACCOUNT_UPDATE_MULTI, 1, req_id, account, "", key, value, currency]


def account_update_multi_end(req_id: int) -> Message:
    """accountUpdateMultiEnd (74)."""
    return [Out.ACCOUNT_UPDATE_MULTI_END, 1, req_id]


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> Message:
    """accountSummary (63)."""
    return [Out.ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency]


def account_summary_end(req_id: int) -> Message:
    """accountSummaryEnd (64)."""
    return [Out.ACCOUNT_SUMMARY_END, 1, req_id]


def open_order_end() -> Message:
    """openOrderEnd (53)."""
    return [Out.OPEN_ORDER_END, 1]


def completed_orders_end() -> Message:
    """completedOrdersEnd (102)."""
    return [Out.COMPLETED_ORDERS_END]


def exec_details_end(req_id: int) -> Message:
    """execDetailsEnd (55)."""
    return [Out.EXECUTION_DATA_END, 1, req_id]


def pnl(req_id: int, daily: float, unrealized: float, realized: float) -> Message:
    """pnl (94)."""
    return [Out.PNL, req_id, daily, unrealized, realized]


def pnl_single(req_id: int, pos: int, daily: float, unrealized: float, realized: float, value: float) -> Message:
    """pnlSingle (95)."""
    return [Out.PNL_SINGLE, req_id, pos, daily, unrealized, realized, value]
