"""Positions through the day over the session (``executor.lifecycle.ports.LifecycleBroker``).

Live positions, leg and underlying snapshot quotes, closing orders (a combo, one leg or the stock; limit or market),
a working order turned to market, exercise, the account's live P&L and its post-expiration excess.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ib_async import Contract, LimitOrder, MarketOrder, Option, Stock
from ib_async.util import UNSET_DOUBLE

from executor.broker import HeldPosition, OrderAck
from executor.ib.convert import bag, decimal_or_none, expiry_of, quote_price, right_of
from executor.ib.session import IBSession
from executor.lifecycle.ports import AccountPnL, ComboOrder, LegQuote, SingleOrder

POST_EXPIRY_EXCESS = "PostExpirationExcess"  # what the account's excess liquidity would be once today's options expired


class LifecycleOperations(IBSession):
    """What the lifecycle asks of the broker after the entry."""

    async def positions(self, account: str | None = None) -> list[HeldPosition]:
        """Positions as ib_async keeps them live (the truth fetch after each connect subscribed to them), of every
        account or of one (a close's last look reads its own account only, not hundreds); of the underlyings traded
        only (``symbols``), each with its own symbol: anything else is the follower's own (``executor.foreign``)."""
        self._require()
        live = self.ib.positions(account) if account else self.ib.positions()
        return [HeldPosition(p.account, p.contract.conId, int(p.position), p.contract.secType,
                             right_of(p.contract.right),
                             decimal_or_none(p.contract.strike) if p.contract.strike else None,
                             expiry_of(p.contract), p.contract.symbol)
                for p in live if p.position and p.contract.symbol in self.symbols]

    async def option_quotes(self, con_ids: Sequence[int]) -> dict[int, LegQuote]:
        """Snapshot quotes by conId (contracts without a two-sided quote are left out)."""
        if not con_ids:
            return {}
        contracts = [Option(conId=c, exchange="SMART") for c in con_ids]
        tickers = await self._call(self.ib.reqTickersAsync(*contracts), "leg quotes")
        quotes: dict[int, LegQuote] = {}
        for t in tickers:
            bid, ask = quote_price(t.bid), quote_price(t.ask)
            if t.contract is not None and bid is not None and ask is not None:
                quotes[t.contract.conId] = LegQuote(t.contract.conId, bid, ask)
        return quotes

    async def underlying_price(self, symbol: str) -> Decimal | None:
        """The stock's midpoint (else its last price) from a snapshot quote."""
        stock = self._stocks.get(symbol)
        if stock is None:
            qualified = await self._call(self.ib.qualifyContractsAsync(Stock(symbol, "SMART", "USD")), "stock")
            found = [c for c in qualified if isinstance(c, Contract) and c.conId]
            if not found:
                return None
            stock = self._stocks[symbol] = found[0]
        tickers = await self._call(self.ib.reqTickersAsync(stock), "underlying quote")
        if not tickers:
            return None
        mid = tickers[0].midpoint()
        return decimal_or_none(round(mid, 4)) if mid == mid else decimal_or_none(tickers[0].last)  # NaN != NaN

    async def place_combo(self, order: ComboOrder) -> OrderAck:
        """Send a combo limit or market order and wait for the acknowledgement."""
        return await self._send(bag(order.combo), order.order_ref, order.account, order.action, order.qty,
                                order.limit)

    async def place_single(self, order: SingleOrder) -> OrderAck:
        """Send an order for one option or the stock and wait for the acknowledgement."""
        # with its symbol: ib_async gives the order's own contract to its executions, and a fill must say its underlying
        contract = (Option(order.symbol, conId=order.con_id, exchange="SMART") if order.sec_type == "OPT"
                    else Contract(conId=order.con_id, symbol=order.symbol, secType=order.sec_type, exchange="SMART",
                                  currency="USD"))
        return await self._send(contract, order.order_ref, order.account, order.action, order.qty, order.limit)

    async def _send(self, contract: Contract, order_ref: str, account: str, action: str, qty: int,
                    limit: Decimal | None) -> OrderAck:
        await self._slot()
        order = (MarketOrder(action, qty, account=account, orderRef=order_ref, tif="DAY", transmit=True)
                 if limit is None else LimitOrder(action, qty, float(limit), account=account, orderRef=order_ref,
                                                  tif="DAY", transmit=True))
        trade = self.ib.placeOrder(contract, order)
        self._trades[order_ref] = trade
        return await self._ack(trade, "place")

    async def to_market(self, order_ref: str) -> OrderAck:
        """Re-send the working order as a market order (same order id)."""
        await self._slot()
        trade = self._known(order_ref)
        trade.order.orderType = "MKT"
        trade.order.lmtPrice = UNSET_DOUBLE
        self.ib.placeOrder(trade.contract, trade.order)
        return await self._ack(trade, "to market")

    async def exercise(self, account: str, con_id: int, qty: int, exchange: str) -> None:
        """``exerciseOptions(contract, exerciseAction=1, exerciseQuantity=qty, account, override=0)``."""
        await self._slot()
        # IB refuses SMART here: the request goes to the option's listing exchange.
        self.ib.exerciseOptions(Option(conId=con_id, exchange=exchange), 1, qty, account, 0)

    async def post_expiry_excess(self, account: str) -> Decimal | None:
        """``PostExpirationExcess`` from the account's ``reqAccountUpdatesMulti`` subscription (an account-updates
        value, not an account-summary tag), started on first use and again after a reconnect; None until reported."""
        self._require()
        if account not in self._account_updates:
            self._account_updates.add(account)
            request = self.ib.client.reqAccountUpdatesMulti  # ib_async leaves it untyped
            request(self.ib.client.getReqId(), account, "", False)  # type: ignore[no-untyped-call]
            return None
        found = [v.value for v in self.ib.accountValues(account) if v.tag == POST_EXPIRY_EXCESS]
        return decimal_or_none(found[0]) if found else None

    async def account_pnl(self, account: str) -> AccountPnL | None:
        """The account's live ``reqPnL`` subscription (started on first use and again after a reconnect)."""
        self._require()
        live = self.ib.pnl(account)
        if not live:
            self.ib.reqPnL(account)
            return None
        pnl = live[0]
        daily = decimal_or_none(pnl.dailyPnL)
        unrealized, realized = decimal_or_none(pnl.unrealizedPnL), decimal_or_none(pnl.realizedPnL)
        if daily is None:
            return None
        return AccountPnL(daily, unrealized or Decimal(0), realized or Decimal(0))
