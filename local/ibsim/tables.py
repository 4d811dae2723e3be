"""Field tables: each outgoing message is a list of (field name, server default) in wire order.

The encoder fills a table from a mapping of names to values; anything not given goes out as IB's own default,
so a table reads like the decoder it must satisfy (ib_async ``decoder.py`` for server version 176).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ibsim.protocol import UNSET_DOUBLE, Field

Table = Sequence[tuple[str, Field]]

UNSET = UNSET_DOUBLE


def fill(table: Table, values: Mapping[str, Field]) -> list[Field]:
    """The fields of ``table`` in order, taking ``values[name]`` where given and the default otherwise."""
    return [values.get(name, default) for name, default in table]


# conId .. tradingClass as openOrder, completedOrder, execDetails, position and portfolio send them.
CONTRACT_WITH_EXCHANGE: Table = (
    ("conId", 0),
    ("symbol", ""),
    ("secType", ""),
    ("lastTradeDateOrContractMonth", ""),
    ("strike", 0.0),
    ("right", ""),
    ("multiplier", ""),
    ("exchange", ""),
    ("currency", ""),
    ("localSymbol", ""),
    ("tradingClass", ""),
)

# updatePortfolio puts primaryExchange where the others put exchange.
CONTRACT_WITH_PRIMARY: Table = tuple(
    ("primaryExchange", "") if name == "exchange" else (name, default) for name, default in CONTRACT_WITH_EXCHANGE
)

OPEN_ORDER_HEAD: Table = (
    ("action", ""),
    ("totalQuantity", 0.0),
    ("orderType", ""),
    ("lmtPrice", UNSET),
    ("auxPrice", UNSET),
    ("tif", ""),
    ("ocaGroup", ""),
    ("account", ""),
    ("openClose", ""),
    ("origin", 0),
    ("orderRef", ""),
    ("clientId", 0),
    ("permId", 0),
    ("outsideRth", False),
    ("hidden", False),
    ("discretionaryAmt", 0.0),
    ("goodAfterTime", ""),
    ("sharesAllocation", ""),  # deprecated, still on the wire
    ("faGroup", ""),
    ("faMethod", ""),
    ("faPercentage", ""),
    ("faProfile", ""),  # present while the server version is below 177
    ("modelCode", ""),
    ("goodTillDate", ""),
    ("rule80A", ""),
    ("percentOffset", UNSET),
    ("settlingFirm", ""),
    ("shortSaleSlot", 0),
    ("designatedLocation", ""),
    ("exemptCode", -1),
    ("auctionStrategy", 0),
    ("startingPrice", UNSET),
    ("stockRefPrice", UNSET),
    ("delta", UNSET),
    ("stockRangeLower", UNSET),
    ("stockRangeUpper", UNSET),
    ("displaySize", 0),
    ("blockOrder", False),
    ("sweepToFill", False),
    ("allOrNone", False),
    ("minQty", ""),
    ("ocaType", 3),
    ("eTradeOnly", False),
    ("firmQuoteOnly", False),
    ("nbboPriceCap", UNSET),
    ("parentId", 0),
    ("triggerMethod", 0),
    ("volatility", UNSET),
    ("volatilityType", 0),
    ("deltaNeutralOrderType", ""),  # empty: no delta-neutral block follows
    ("deltaNeutralAuxPrice", UNSET),
    ("continuousUpdate", False),
    ("referencePriceType", 0),
    ("trailStopPrice", UNSET),
    ("trailingPercent", UNSET),
    ("basisPoints", UNSET),
    ("basisPointsType", ""),
    ("comboLegsDescrip", ""),
)

COMBO_LEG: Table = (
    ("conId", 0),
    ("ratio", 1),
    ("action", ""),
    ("exchange", "SMART"),
    ("openClose", 0),
    ("shortSaleSlot", 0),
    ("designatedLocation", ""),
    ("exemptCode", -1),
)

# After the legs: no order combo leg prices, no smart routing params, no scale, no hedge.
OPEN_ORDER_MIDDLE: Table = (
    ("numOrderComboLegs", 0),
    ("numSmartComboRoutingParams", 0),
    ("scaleInitLevelSize", ""),
    ("scaleSubsLevelSize", ""),
    ("scalePriceIncrement", ""),
    ("hedgeType", ""),
    ("optOutSmartRouting", False),
    ("clearingAccount", ""),
    ("clearingIntent", ""),
    ("notHeld", False),
    ("deltaNeutralContractPresent", False),
    ("algoStrategy", ""),
    ("solicited", False),
    ("whatIf", False),
    ("status", ""),
    ("initMarginBefore", UNSET),
    ("maintMarginBefore", UNSET),
    ("equityWithLoanBefore", UNSET),
    ("initMarginChange", UNSET),
    ("maintMarginChange", UNSET),
    ("equityWithLoanChange", UNSET),
    ("initMarginAfter", UNSET),
    ("maintMarginAfter", UNSET),
    ("equityWithLoanAfter", UNSET),
    ("commission", UNSET),
    ("minCommission", UNSET),
    ("maxCommission", UNSET),
    ("commissionCurrency", ""),
    ("warningText", ""),
    ("randomizeSize", False),
    ("randomizePrice", False),
    ("numConditions", 0),
)

OPEN_ORDER_TAIL: Table = (
    ("adjustedOrderType", ""),
    ("triggerPrice", UNSET),
    ("trailStopPrice", UNSET),
    ("lmtPriceOffset", UNSET),
    ("adjustedStopPrice", UNSET),
    ("adjustedStopLimitPrice", UNSET),
    ("adjustedTrailingAmount", UNSET),
    ("adjustableTrailingUnit", 0),
    ("softDollarTierName", ""),
    ("softDollarTierValue", ""),
    ("softDollarTierDisplayName", ""),
    ("cashQty", UNSET),
    ("dontUseAutoPriceForHedge", False),
    ("isOmsContainer", False),
    ("discretionaryUpToLimitPrice", False),
    ("usePriceMgmtAlgo", False),
    ("duration", ""),  # server >= 159
    ("postToAts", ""),  # server >= 160
    ("autoCancelParent", False),  # server >= 162
    ("minTradeQty", ""),  # server >= 170 ...
    ("minCompeteSize", ""),
    ("competeAgainstBestOffset", UNSET),
    ("midOffsetAtWhole", UNSET),
    ("midOffsetAtHalf", UNSET),
)

COMPLETED_ORDER_HEAD: Table = tuple(
    (name, default)
    for name, default in OPEN_ORDER_HEAD
    if name not in {"clientId", "sharesAllocation", "auctionStrategy", "blockOrder", "eTradeOnly", "firmQuoteOnly",
                    "nbboPriceCap", "parentId", "basisPoints", "basisPointsType"}
)

COMPLETED_ORDER_MIDDLE: Table = (
    ("numOrderComboLegs", 0),
    ("numSmartComboRoutingParams", 0),
    ("scaleInitLevelSize", ""),
    ("scaleSubsLevelSize", ""),
    ("scalePriceIncrement", ""),
    ("hedgeType", ""),
    ("clearingAccount", ""),
    ("clearingIntent", ""),
    ("notHeld", False),
    ("deltaNeutralContractPresent", False),
    ("algoStrategy", ""),
    ("solicited", False),
    ("status", ""),
    ("randomizeSize", False),
    ("randomizePrice", False),
    ("numConditions", 0),
)

COMPLETED_ORDER_TAIL: Table = (
    ("trailStopPrice", UNSET),
    ("lmtPriceOffset", UNSET),
    ("cashQty", UNSET),
    ("dontUseAutoPriceForHedge", False),
    ("isOmsContainer", False),
    ("autoCancelDate", ""),
    ("filledQuantity", UNSET),
    ("refFuturesConId", 0),
    ("autoCancelParent", False),
    ("shareholder", ""),
    ("imbalanceOnly", False),
    ("routeMarketableToBbo", False),
    ("parentPermId", 0),
    ("completedTime", ""),
    ("completedStatus", ""),
    ("minTradeQty", ""),
    ("minCompeteSize", ""),
    ("competeAgainstBestOffset", UNSET),
    ("midOffsetAtWhole", UNSET),
    ("midOffsetAtHalf", UNSET),
)

ORDER_STATUS: Table = (
    ("orderId", 0),
    ("status", ""),
    ("filled", 0.0),
    ("remaining", 0.0),
    ("avgFillPrice", 0.0),
    ("permId", 0),
    ("parentId", 0),
    ("lastFillPrice", 0.0),
    ("clientId", 0),
    ("whyHeld", ""),
    ("mktCapPrice", 0.0),
)

EXECUTION: Table = (
    ("execId", ""),
    ("time", ""),
    ("acctNumber", ""),
    ("exchange", ""),
    ("side", ""),
    ("shares", 0.0),
    ("price", 0.0),
    ("permId", 0),
    ("clientId", 0),
    ("liquidation", 0),
    ("cumQty", 0.0),
    ("avgPrice", 0.0),
    ("orderRef", ""),
    ("evRule", ""),
    ("evMultiplier", ""),
    ("modelCode", ""),
    ("lastLiquidity", 2),
)

COMMISSION_REPORT: Table = (
    ("execId", ""),
    ("commission", 0.0),
    ("currency", "USD"),
    ("realizedPNL", UNSET),
    ("yield_", UNSET),
    ("yieldRedemptionDate", ""),
)

CONTRACT_DETAILS: Table = (
    ("symbol", ""),
    ("secType", ""),
    ("lastTimes", ""),
    ("strike", 0.0),
    ("right", ""),
    ("exchange", ""),
    ("currency", ""),
    ("localSymbol", ""),
    ("marketName", ""),
    ("tradingClass", ""),
    ("conId", 0),
    ("minTick", 0.01),
    ("multiplier", ""),
    ("orderTypes", "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,DAY,DEACT,GAT,GTC,GTD,LMT,MKT,NONALGO"),
    ("validExchanges", ""),
    ("priceMagnifier", 1),
    ("underConId", 0),
    ("longName", ""),
    ("primaryExchange", ""),
    ("contractMonth", ""),
    ("industry", ""),
    ("category", ""),
    ("subcategory", ""),
    ("timeZoneId", "US/Eastern"),
    ("tradingHours", ""),
    ("liquidHours", ""),
    ("evRule", ""),
    ("evMultiplier", ""),
    ("numSecIds", 0),
    ("aggGroup", 2),
    ("underSymbol", ""),
    ("underSecType", ""),
    ("marketRuleIds", "32,32"),
    ("realExpirationDate", ""),
    ("stockType", ""),
    ("minSize", 1),
    ("sizeIncrement", 1),
    ("suggestedSizeIncrement", 1),
)
