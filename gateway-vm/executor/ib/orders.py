"""The entry's ``Broker`` operations over the session: qualify the legs, quote, what-if, place, modify, cancel."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ib_async import Contract, LimitOrder, Option, OrderState

from executor.broker import (
    Combo,
    ComboLegSpec,
    ComboQuote,
    Margin,
    MarketDataTimeout,
    OrderAck,
    OrderRejected,
    OrderRequest,
)
from executor.ib.convert import bag, decimal_or_none, quote_price
from executor.ib.session import IBSession
from executor.pricing import to_cents
from spreadpilot.errors import Rejected
from spreadpilot.models import Right


class EntryOrders(IBSession):
    """A vertical spread from its two strikes to a working combo limit order."""

    async def qualify(self, symbol: str, expiry: date, right: Right, short_strike: Decimal,
                      long_strike: Decimal) -> Combo:
        """Qualify both legs (one slot per leg; ``None`` = not listed)."""
        legs = [Option(symbol, f"{expiry:%Y%m%d}", float(k), str(right), "SMART", tradingClass=symbol)
                for k in (short_strike, long_strike)]
        result = await self._call(self.ib.qualifyContractsAsync(*legs), "qualify", MarketDataTimeout)
        qualified = [c for c in result if isinstance(c, Contract) and c.conId]  # None / list = not one listing
        if len(qualified) != 2:
            raise Rejected(f"{symbol} {expiry} {right} {short_strike}/{long_strike} is not listed")
        short, long_ = qualified
        return Combo(symbol, (ComboLegSpec(short.conId, "SELL", right, short_strike, expiry),
                              ComboLegSpec(long_.conId, "BUY", right, long_strike, expiry)))

    async def quote(self, combo: Combo) -> ComboQuote | None:
        """The combo quote from both legs' snapshot quotes (BUY price: bought legs − sold legs)."""
        contracts = [Option(conId=leg.con_id, exchange="SMART") for leg in combo.legs]
        tickers = await self._call(self.ib.reqTickersAsync(*contracts), "quote", MarketDataTimeout)
        by_con = {t.contract.conId: t for t in tickers if t.contract is not None}
        bid = ask = Decimal(0)
        for leg in combo.legs:
            ticker = by_con.get(leg.con_id)
            leg_bid, leg_ask = (quote_price(ticker.bid), quote_price(ticker.ask)) if ticker else (None, None)
            if leg_bid is None or leg_ask is None:
                return None
            if leg.action == "BUY":
                bid, ask = bid + leg_bid, ask + leg_ask
            else:
                bid, ask = bid - leg_ask, ask - leg_bid
        return ComboQuote(bid=to_cents(bid), ask=to_cents(ask), mid=to_cents((bid + ask) / 2))

    def _order(self, request: OrderRequest) -> LimitOrder:
        return LimitOrder(request.action, request.qty, float(request.limit), account=request.account,
                          orderRef=request.order_ref, tif="DAY", transmit=True)

    async def what_if(self, request: OrderRequest) -> Margin:
        """What-if margin; unset figures count as zero (the broker still checks margin on the real order)."""
        await self._slot()  # a what-if is a placeOrder: one paced message and one order id
        order = self._order(request)
        order.transmit = True  # without it IB answers 321 and the what-if never returns
        state = await self._call(self.ib.whatIfOrderAsync(bag(request.combo), order), "what-if", MarketDataTimeout)
        if not isinstance(state, OrderState):  # ib_async resolves a failed what-if with no state
            raise OrderRejected(f"what-if refused: {state!r}")
        return Margin(init_margin_change=decimal_or_none(state.initMarginChange) or Decimal(0),
                      init_margin_after=decimal_or_none(state.initMarginAfter) or Decimal(0),
                      equity_with_loan_after=decimal_or_none(state.equityWithLoanAfter) or Decimal(0))

    async def place(self, request: OrderRequest) -> OrderAck:
        """Send a new combo order and wait for the broker's acknowledgement."""
        await self._slot()
        trade = self.ib.placeOrder(bag(request.combo), self._order(request))
        self._trades[request.order_ref] = trade
        return await self._ack(trade, "place")

    async def modify(self, order_ref: str, limit: Decimal) -> OrderAck:
        """Send the working order again with a new limit (same order id) and wait for the acknowledgement."""
        trade = self._changeable(order_ref)
        await self._slot()
        trade = self._changeable(order_ref)  # still, after the wait
        trade.order.lmtPrice = float(limit)
        self.ib.placeOrder(trade.contract, trade.order)
        return await self._ack(trade, "modify")

    async def cancel(self, order_ref: str) -> None:
        """Ask for a cancel; the outcome arrives as an order update."""
        self._changeable(order_ref)
        await self._slot()
        trade = self._changeable(order_ref)
        self.ib.cancelOrder(trade.order)
